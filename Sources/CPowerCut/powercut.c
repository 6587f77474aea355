// The power-cut VFS (see powercut.h). Each file keeps the byte ranges written and the
// smallest size it was truncated to since its last sync; a sync that succeeds brings the
// image up to the file's content by copying exactly those ranges, so a test pays for what is
// written, not for the whole file at every commit. The image needs no fsync of its own: it
// only has to outlive the process (SIGKILL), not the machine.
#include "powercut.h"

#include <sqlite3.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    sqlite3_int64 offset;
    int amount;
} Range;

typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
    int image;              /* fd of FILE.synced, -1 when the file is not tracked */
    char *imagePath;
    Range *dirty;
    int dirtyCount, dirtyCap;
    sqlite3_int64 minSize;  /* smallest size truncated to since the last sync, -1 none */
} PcFile;

static sqlite3_vfs *realVfs;
static sqlite3_vfs pcVfs;

static int pcClose(sqlite3_file *f) {
    PcFile *p = (PcFile *)f;
    int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
    if (p->image >= 0) close(p->image);
    free(p->imagePath);
    free(p->dirty);
    return rc;
}

static int pcRead(sqlite3_file *f, void *buf, int amount, sqlite3_int64 offset) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xRead(p->real, buf, amount, offset);
}

/* The range is recorded before the write, whatever the write then returns: a write that
 * failed part-way (a full disk) may still have changed the file, and reading the range
 * back at the next sync is harmless when it didn't. */
static int pcWrite(sqlite3_file *f, const void *buf, int amount, sqlite3_int64 offset) {
    PcFile *p = (PcFile *)f;
    if (p->image >= 0) {
        if (p->dirtyCount == p->dirtyCap) {
            int cap = p->dirtyCap ? p->dirtyCap * 2 : 64;
            Range *grown = realloc(p->dirty, sizeof(Range) * (size_t)cap);
            if (!grown) return SQLITE_NOMEM;
            p->dirty = grown;
            p->dirtyCap = cap;
        }
        p->dirty[p->dirtyCount++] = (Range){offset, amount};
    }
    return p->real->pMethods->xWrite(p->real, buf, amount, offset);
}

static int pcTruncate(sqlite3_file *f, sqlite3_int64 size) {
    PcFile *p = (PcFile *)f;
    int rc = p->real->pMethods->xTruncate(p->real, size);
    if (rc == SQLITE_OK && p->image >= 0 && (p->minSize < 0 || size < p->minSize)) p->minSize = size;
    return rc;
}

/* The image becomes the file's content now: truncated as the file was, then every range
 * written since the last sync copied from the file. */
static int pcRefreshImage(PcFile *p) {
    sqlite3_int64 size = 0;
    int rc = p->real->pMethods->xFileSize(p->real, &size);
    if (rc != SQLITE_OK) return rc;
    if (p->minSize >= 0 && ftruncate(p->image, p->minSize) != 0) return SQLITE_IOERR_FSYNC;
    if (ftruncate(p->image, size) != 0) return SQLITE_IOERR_FSYNC;
    char *buf = NULL;
    int bufSize = 0;
    for (int i = 0; i < p->dirtyCount; i++) {
        Range r = p->dirty[i];
        if (r.offset >= size) continue;
        int amount = r.offset + r.amount > size ? (int)(size - r.offset) : r.amount;
        if (amount > bufSize) {
            char *grown = realloc(buf, (size_t)amount);
            if (!grown) { free(buf); return SQLITE_NOMEM; }
            buf = grown;
            bufSize = amount;
        }
        rc = p->real->pMethods->xRead(p->real, buf, amount, r.offset);
        if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) { free(buf); return rc; }
        if (pwrite(p->image, buf, (size_t)amount, r.offset) != amount) { free(buf); return SQLITE_IOERR_FSYNC; }
    }
    free(buf);
    p->dirtyCount = 0;
    p->minSize = -1;
    return SQLITE_OK;
}

static int pcSync(sqlite3_file *f, int flags) {
    PcFile *p = (PcFile *)f;
    int rc = p->real->pMethods->xSync(p->real, flags);
    if (rc == SQLITE_OK && p->image >= 0) rc = pcRefreshImage(p);
    return rc;
}

static int pcFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xFileSize(p->real, size);
}
static int pcLock(sqlite3_file *f, int level) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xLock(p->real, level);
}
static int pcUnlock(sqlite3_file *f, int level) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xUnlock(p->real, level);
}
static int pcCheckReservedLock(sqlite3_file *f, int *out) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}
static int pcFileControl(sqlite3_file *f, int op, void *arg) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xFileControl(p->real, op, arg);
}
static int pcSectorSize(sqlite3_file *f) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xSectorSize(p->real);
}
static int pcDeviceCharacteristics(sqlite3_file *f) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}
/* The WAL index (-shm) is memory shared between connections, rebuilt from the WAL after a
 * crash: passed straight through, never imaged. */
static int pcShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xShmMap(p->real, region, size, extend, out);
}
static int pcShmLock(sqlite3_file *f, int offset, int n, int flags) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}
static void pcShmBarrier(sqlite3_file *f) {
    PcFile *p = (PcFile *)f;
    p->real->pMethods->xShmBarrier(p->real);
}
static int pcShmUnmap(sqlite3_file *f, int deleteFlag) {
    PcFile *p = (PcFile *)f;
    return p->real->pMethods->xShmUnmap(p->real, deleteFlag);
}
static int pcFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    /* No memory-mapped reads: every read goes through xRead. */
    (void)f; (void)offset; (void)amount;
    *out = NULL;
    return SQLITE_OK;
}
static int pcUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    (void)f; (void)offset; (void)page;
    return SQLITE_OK;
}

static const sqlite3_io_methods pcMethods = {
    3, pcClose, pcRead, pcWrite, pcTruncate, pcSync, pcFileSize, pcLock, pcUnlock, pcCheckReservedLock,
    pcFileControl, pcSectorSize, pcDeviceCharacteristics, pcShmMap, pcShmLock, pcShmBarrier, pcShmUnmap,
    pcFetch, pcUnfetch,
};

/* A file's image is kept while the file exists: a second connection opening the same file
 * (the journal's reader) must not take the first one's unsynced writes for durable, and a
 * file left by a killed process keeps the image of its last sync, as a machine losing power
 * later could still lose what that process never synced. A file without an image starts
 * with one of its content now: a new file is empty, a file restored by a test is its last
 * synced self. */
static int pcStartImage(PcFile *p, const char *path) {
    size_t n = strlen(path);
    p->imagePath = malloc(n + 8);
    if (!p->imagePath) return SQLITE_NOMEM;
    memcpy(p->imagePath, path, n);
    memcpy(p->imagePath + n, ".synced", 8);
    p->image = open(p->imagePath, O_RDWR | O_CLOEXEC);
    if (p->image >= 0) return SQLITE_OK;
    p->image = open(p->imagePath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (p->image < 0) return SQLITE_CANTOPEN;
    sqlite3_int64 size = 0;
    int rc = p->real->pMethods->xFileSize(p->real, &size);
    if (rc != SQLITE_OK) return rc;
    if (size > 0) {
        p->dirtyCount = 0;
        p->minSize = -1;
        if (p->dirtyCap == 0) {
            p->dirty = malloc(sizeof(Range) * 64);
            if (!p->dirty) return SQLITE_NOMEM;
            p->dirtyCap = 64;
        }
        /* Copy in 1 MiB steps, through the same path a sync uses. */
        for (sqlite3_int64 at = 0; at < size; at += 1 << 20) {
            sqlite3_int64 left = size - at;
            p->dirty[p->dirtyCount++] = (Range){at, left > (1 << 20) ? (1 << 20) : (int)left};
            if (p->dirtyCount == p->dirtyCap) {
                rc = pcRefreshImage(p);
                if (rc != SQLITE_OK) return rc;
            }
        }
        return pcRefreshImage(p);
    }
    return SQLITE_OK;
}

static int pcOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    PcFile *p = (PcFile *)f;
    memset(p, 0, sizeof(PcFile));
    p->real = (sqlite3_file *)&p[1];
    p->image = -1;
    p->minSize = -1;
    int rc = realVfs->xOpen(realVfs, name, p->real, flags, outFlags);
    if (rc != SQLITE_OK) return rc;
    p->base.pMethods = &pcMethods;
    /* The database and its WAL are durable state; temp files, the -shm and rollback journals
     * of other modes are not what a power cut tests. */
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) {
        rc = pcStartImage(p, name);
        if (rc != SQLITE_OK) {
            pcClose(f);
            p->base.pMethods = NULL;
            return rc;
        }
    }
    return SQLITE_OK;
}

static int pcDelete(sqlite3_vfs *vfs, const char *name, int syncDir) {
    (void)vfs;
    int rc = realVfs->xDelete(realVfs, name, syncDir);
    if (rc == SQLITE_OK) {
        size_t n = strlen(name);
        char *image = malloc(n + 8);
        if (image) {
            memcpy(image, name, n);
            memcpy(image + n, ".synced", 8);
            unlink(image);
            free(image);
        }
    }
    return rc;
}

static int pcAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return realVfs->xAccess(realVfs, name, flags, out);
}
static int pcFullPathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    return realVfs->xFullPathname(realVfs, name, n, out);
}
static void *pcDlOpen(sqlite3_vfs *vfs, const char *name) { (void)vfs; return realVfs->xDlOpen(realVfs, name); }
static void pcDlError(sqlite3_vfs *vfs, int n, char *msg) { (void)vfs; realVfs->xDlError(realVfs, n, msg); }
static void (*pcDlSym(sqlite3_vfs *vfs, void *h, const char *sym))(void) { (void)vfs; return realVfs->xDlSym(realVfs, h, sym); }
static void pcDlClose(sqlite3_vfs *vfs, void *h) { (void)vfs; realVfs->xDlClose(realVfs, h); }
static int pcRandomness(sqlite3_vfs *vfs, int n, char *out) { (void)vfs; return realVfs->xRandomness(realVfs, n, out); }
static int pcSleep(sqlite3_vfs *vfs, int us) { (void)vfs; return realVfs->xSleep(realVfs, us); }
static int pcCurrentTime(sqlite3_vfs *vfs, double *out) { (void)vfs; return realVfs->xCurrentTime(realVfs, out); }
static int pcGetLastError(sqlite3_vfs *vfs, int n, char *out) { (void)vfs; return realVfs->xGetLastError(realVfs, n, out); }
static int pcCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return realVfs->xCurrentTimeInt64(realVfs, out);
}

int flashd_powercut_register(void) {
    if (sqlite3_vfs_find("flashd-powercut")) return SQLITE_OK;
    realVfs = sqlite3_vfs_find(NULL);
    if (!realVfs) return SQLITE_ERROR;
    pcVfs = (sqlite3_vfs){
        2, (int)(sizeof(PcFile) + (size_t)realVfs->szOsFile), realVfs->mxPathname, NULL, "flashd-powercut", NULL,
        pcOpen, pcDelete, pcAccess, pcFullPathname, pcDlOpen, pcDlError, pcDlSym, pcDlClose,
        pcRandomness, pcSleep, pcCurrentTime, pcGetLastError, pcCurrentTimeInt64,
    };
    return sqlite3_vfs_register(&pcVfs, 0);
}
