#ifndef FLASHD_CSQLITE_SHIM_H
#define FLASHD_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <malloc.h>
// SQLITE_TRANSIENT is a cast macro that does not import into Swift.
static inline sqlite3_destructor_type flashd_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// mallopt's M_TRIM_THRESHOLD (see SQLiteDatabase.keepFreedMemory).
static inline int flashd_malloc_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }
#endif
