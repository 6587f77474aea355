#ifndef FLASHD_POWERCUT_H
#define FLASHD_POWERCUT_H

/* A SQLite VFS for power-cut tests, named "flashd-powercut". It wraps the default VFS and
 * keeps, beside every file it opens, an image of that file as of its last successful sync
 * (FILE.synced). A test that kills the process and then copies each image over its file has
 * the journal a power cut would have left: every write since the last sync gone.
 * Returns SQLITE_OK, or SQLite's error code. Registering twice is harmless. */
int flashd_powercut_register(void);

#endif
