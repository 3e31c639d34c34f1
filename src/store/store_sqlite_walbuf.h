/*
 * store_sqlite_walbuf: a SQLite VFS that writes a transaction's WAL frames
 * in a few large writes instead of two system calls per page.
 *
 * SQLite appends each page a commit dirtied to the WAL as a 24-byte frame
 * header and the 4 KiB page, each with its own pwrite(). A batch of
 * messages spread over many channels dirties thousands of pages, and on
 * the machines chatd is measured on the system calls themselves (not the
 * bytes) were a fifth of the writer thread's CPU. This VFS is the default
 * one for everything but WAL files; for those it gathers writes that follow
 * each other in the file into one buffer (WALBUF_CAP) and writes it at
 * once when the next write is elsewhere, the buffer is full, or before the
 * file is synced, read, truncated, sized or closed.
 *
 * Every commit is on the file before SQLite publishes it: a commit frame
 * (the WAL format marks it in its header) is written out as soon as its
 * page is in, with any sync setting (the search indexer commits with
 * synchronous = NORMAL, which does not sync). Other connections read only
 * published frames, so they never look for one still in a buffer. A failed
 * write fails the commit it belongs to, as SQLite's own failed write would.
 *
 * Threads: a file handle is used by one connection at a time (SQLite's
 * rule); registering is once per process.
 */
#ifndef CHATD_STORE_SQLITE_WALBUF_H
#define CHATD_STORE_SQLITE_WALBUF_H

#include <stdint.h>

/* The buffer a WAL handle keeps (bytes): 16 frames of 4 KiB pages. Not
 * more than 128 KiB: the unix VFS writes at most that in one call (it
 * masks a larger count and reports the disk full). */
#define WALBUF_CAP (64 * 1024)

/* Registers the VFS (not as the default), once; returns its name for
 * sqlite3_open_v2, or NULL when SQLite refused it (use the default). */
const char *store_sqlite_walbuf_vfs(void);

/* Process-wide counts, for tests and metrics: WAL writes asked for by
 * SQLite, and writes made to the file. */
typedef struct walbuf_stats {
    uint64_t writes_in, writes_out;
} walbuf_stats;
walbuf_stats store_sqlite_walbuf_stats(void);

#endif
