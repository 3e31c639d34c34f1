/*
 * store_sqlite_walbuf: WAL frame writes gathered into large writes (see
 * store_sqlite_walbuf.h).
 */
#include "store/store_sqlite_walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define VFS_NAME "chatd-walbuf"

static sqlite3_vfs *real_vfs; /* the default VFS, which does the I/O */
static sqlite3_vfs walbuf_vfs;
static int registered;
static _Atomic uint64_t writes_in, writes_out;

/* A WAL file: our methods in front, the default VFS's file right after. */
typedef struct walbuf_file {
    sqlite3_file base;
    sqlite3_file *real;
    char *buf;                /* bytes not yet written, NULL until the first write */
    size_t len;               /* how many */
    sqlite3_int64 off;        /* where in the file buf[0] goes */
    uint32_t page;            /* page size, from the WAL header; 0: not known */
    int page_looked;          /* the header on disk was read for it */
    sqlite3_int64 commit_end; /* a commit frame is being written: it ends here */
} walbuf_file;

static int real_write(walbuf_file *f, const void *p, int n, sqlite3_int64 off) {
    atomic_fetch_add_explicit(&writes_out, 1, memory_order_relaxed);
    return f->real->pMethods->xWrite(f->real, p, n, off);
}

/* Writes the buffer out. SQLITE_OK or the write's error (the buffer is
 * dropped either way: a failed write fails the sync that follows it). */
static int flush(walbuf_file *f) {
    if (f->len == 0) return SQLITE_OK;
    int rc = real_write(f, f->buf, (int)f->len, f->off);
    f->len = 0;
    return rc;
}

static int wb_close(sqlite3_file *file) {
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off) {
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A WAL header's page size, or 0 when it is not one (a power of two in
 * 512..65536). */
static uint32_t header_page(const unsigned char *h) {
    uint32_t p = be32(h + 8);
    return p >= 512 && p <= 65536 && (p & (p - 1)) == 0 ? p : 0;
}

/* The page size of a WAL this handle did not start: from the header on
 * disk, looked up once. */
static void look_up_page(walbuf_file *f) {
    unsigned char h[32];
    f->page_looked = 1;
    if (flush(f) == SQLITE_OK && f->real->pMethods->xRead(f->real, h, 32, 0) == SQLITE_OK)
        f->page = header_page(h);
}

/* Gathers the write into the buffer, or writes it through. A commit frame
 * (its header's "database size after commit" is not 0: the WAL format's
 * mark of a commit) is written out as soon as its page is in, whatever the
 * sync setting: SQLite publishes a commit in the wal-index right after
 * writing it (and syncing, with synchronous = FULL), and from then on other
 * connections may read every frame up to it from the file. Without a page
 * size to find frames by, nothing is buffered. */
static int wb_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off) {
    walbuf_file *f = (walbuf_file *)file;
    const unsigned char *b = p;
    atomic_fetch_add_explicit(&writes_in, 1, memory_order_relaxed);
    if (off == 0 && n >= 32) f->page = header_page(b); /* a WAL starting (over) */
    if (!f->page && !f->page_looked) look_up_page(f);
    if (!f->page) {
        int rc = flush(f);
        return rc != SQLITE_OK ? rc : real_write(f, p, n, off);
    }
    sqlite3_int64 frame = 24 + (sqlite3_int64)f->page;
    if (off >= 32 && (off - 32) % frame == 0 && n >= 24 && be32(b + 4) != 0)
        f->commit_end = off + frame;
    int rc = SQLITE_OK;
    if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > WALBUF_CAP))
        rc = flush(f); /* not next to the buffer, or no room */
    if (rc != SQLITE_OK) return rc;
    if ((size_t)n > WALBUF_CAP || (!f->buf && !(f->buf = malloc(WALBUF_CAP)))) {
        rc = real_write(f, p, n, off);
    } else {
        if (f->len == 0) f->off = off;
        memcpy(f->buf + f->len, p, (size_t)n);
        f->len += (size_t)n;
    }
    if (rc == SQLITE_OK && f->commit_end && off + n >= f->commit_end) {
        f->commit_end = 0;
        rc = flush(f);
    }
    return rc;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size) {
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags) {
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *file, int level) {
    walbuf_file *f = (walbuf_file *)file;
    return f->real->pMethods->xLock(f->real, level);
}

static int wb_unlock(sqlite3_file *file, int level) {
    walbuf_file *f = (walbuf_file *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int wb_check_reserved(sqlite3_file *file, int *out) {
    walbuf_file *f = (walbuf_file *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg) {
    walbuf_file *f = (walbuf_file *)file;
    int rc = flush(f); /* whatever the control looks at sees the file whole */
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *file) {
    walbuf_file *f = (walbuf_file *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device(sqlite3_file *file) {
    walbuf_file *f = (walbuf_file *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: a WAL file is never memory-mapped, and the shared memory
 * belongs to the database file, which is not wrapped. */
static const sqlite3_io_methods walbuf_io = {
    .iVersion = 1,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_file_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_reserved,
    .xFileControl = wb_file_control,
    .xSectorSize = wb_sector_size,
    .xDeviceCharacteristics = wb_device,
};

/* A WAL file is wrapped; any other is the default VFS's own, opened in
 * place (our szOsFile is larger than its). */
static int vfs_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                    int *out_flags) {
    if (!(flags & SQLITE_OPEN_WAL)) return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
    walbuf_file *f = (walbuf_file *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    f->base.pMethods = rc == SQLITE_OK ? &walbuf_io : NULL;
    return rc;
}

/* The rest is the default VFS's, called with its own sqlite3_vfs. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync_dir) {
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}
static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int vfs_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *vfs_dlopen(sqlite3_vfs *v, const char *name) {
    return real_vfs->xDlOpen(real_vfs, name);
}
static void vfs_dlerror(sqlite3_vfs *v, int n, char *msg) {
    real_vfs->xDlError(real_vfs, n, msg);
}
static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
    return real_vfs->xDlSym(real_vfs, h, sym);
}
static void vfs_dlclose(sqlite3_vfs *v, void *h) {
    real_vfs->xDlClose(real_vfs, h);
}
static int vfs_randomness(sqlite3_vfs *v, int n, char *out) {
    return real_vfs->xRandomness(real_vfs, n, out);
}
static int vfs_sleep(sqlite3_vfs *v, int us) {
    return real_vfs->xSleep(real_vfs, us);
}
static int vfs_current_time(sqlite3_vfs *v, double *out) {
    return real_vfs->xCurrentTime(real_vfs, out);
}
static int vfs_last_error(sqlite3_vfs *v, int n, char *out) {
    return real_vfs->xGetLastError(real_vfs, n, out);
}
static int vfs_current_time64(sqlite3_vfs *v, sqlite3_int64 *out) {
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void register_once(void) {
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs || real_vfs->iVersion < 2) return;
    walbuf_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(walbuf_file) + real_vfs->szOsFile,
        .mxPathname = real_vfs->mxPathname,
        .zName = VFS_NAME,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dlopen,
        .xDlError = vfs_dlerror,
        .xDlSym = vfs_dlsym,
        .xDlClose = vfs_dlclose,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time64,
    };
    registered = sqlite3_vfs_register(&walbuf_vfs, 0) == SQLITE_OK;
}

const char *store_sqlite_walbuf_vfs(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return registered ? VFS_NAME : NULL;
}

walbuf_stats store_sqlite_walbuf_stats(void) {
    return (walbuf_stats){atomic_load_explicit(&writes_in, memory_order_relaxed),
                          atomic_load_explicit(&writes_out, memory_order_relaxed)};
}
