/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "powerloss-vfs.h"

#include <glib.h>
#include <sqlite3.h>
#include <string.h>

typedef struct {
  sqlite3_file  base;
  const char   *path;     /* valid until xClose (SQLite's promise) */
  gboolean      tracked;  /* main database or WAL */
  sqlite3_file *real;     /* follows this struct in the same allocation */
} PlFile;

static sqlite3_vfs powerloss_vfs;
static sqlite3_vfs *os_vfs;

#define REAL(f) (((PlFile *) (f))->real)

static int
pl_close (sqlite3_file *f)
{
  int rc = REAL (f)->pMethods->xClose (REAL (f));
  return rc;
}

static int pl_read (sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return REAL (f)->pMethods->xRead (REAL (f), b, n, o); }
static int pl_write (sqlite3_file *f, const void *b, int n, sqlite3_int64 o) { return REAL (f)->pMethods->xWrite (REAL (f), b, n, o); }
static int pl_truncate (sqlite3_file *f, sqlite3_int64 s) { return REAL (f)->pMethods->xTruncate (REAL (f), s); }
static int pl_file_size (sqlite3_file *f, sqlite3_int64 *s) { return REAL (f)->pMethods->xFileSize (REAL (f), s); }
static int pl_lock (sqlite3_file *f, int l) { return REAL (f)->pMethods->xLock (REAL (f), l); }
static int pl_unlock (sqlite3_file *f, int l) { return REAL (f)->pMethods->xUnlock (REAL (f), l); }
static int pl_check_reserved (sqlite3_file *f, int *r) { return REAL (f)->pMethods->xCheckReservedLock (REAL (f), r); }
static int pl_file_control (sqlite3_file *f, int op, void *a) { return REAL (f)->pMethods->xFileControl (REAL (f), op, a); }
static int pl_sector_size (sqlite3_file *f) { return REAL (f)->pMethods->xSectorSize (REAL (f)); }
static int pl_device_chars (sqlite3_file *f) { return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f)); }
static int pl_shm_map (sqlite3_file *f, int i, int sz, int e, void volatile **p) { return REAL (f)->pMethods->xShmMap (REAL (f), i, sz, e, p); }
static int pl_shm_lock (sqlite3_file *f, int o, int n, int fl) { return REAL (f)->pMethods->xShmLock (REAL (f), o, n, fl); }
static void pl_shm_barrier (sqlite3_file *f) { REAL (f)->pMethods->xShmBarrier (REAL (f)); }
static int pl_shm_unmap (sqlite3_file *f, int d) { return REAL (f)->pMethods->xShmUnmap (REAL (f), d); }

static int
pl_sync (sqlite3_file *f,
         int           flags)
{
  PlFile *p = (PlFile *) f;
  int rc = REAL (f)->pMethods->xSync (REAL (f), flags);

  if (rc == SQLITE_OK && p->tracked)
    {
      g_autofree char *contents = NULL;
      g_autofree char *shadow = g_strconcat (p->path, ".synced", NULL);
      gsize len;

      /* What the OS has now is what survives a power cut from here on. */
      if (g_file_get_contents (p->path, &contents, &len, NULL))
        g_file_set_contents (shadow, contents, len, NULL);
    }
  return rc;
}

static const sqlite3_io_methods pl_methods = {
  2,
  pl_close, pl_read, pl_write, pl_truncate, pl_sync, pl_file_size, pl_lock, pl_unlock,
  pl_check_reserved, pl_file_control, pl_sector_size, pl_device_chars,
  pl_shm_map, pl_shm_lock, pl_shm_barrier, pl_shm_unmap,
  NULL, NULL,
};

static int
pl_open (sqlite3_vfs  *vfs,
         const char   *name,
         sqlite3_file *f,
         int           flags,
         int          *out_flags)
{
  PlFile *p = (PlFile *) f;
  int rc;

  memset (p, 0, sizeof *p);
  p->real = (sqlite3_file *) (p + 1);
  p->path = name;
  p->tracked = name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL));
  rc = os_vfs->xOpen (os_vfs, name, p->real, flags, out_flags);
  if (rc == SQLITE_OK)
    p->base.pMethods = &pl_methods;
  return rc;
}

static int pl_delete (sqlite3_vfs *v, const char *n, int s) { return os_vfs->xDelete (os_vfs, n, s); }
static int pl_access (sqlite3_vfs *v, const char *n, int fl, int *r) { return os_vfs->xAccess (os_vfs, n, fl, r); }
static int pl_full_pathname (sqlite3_vfs *v, const char *n, int sz, char *o) { return os_vfs->xFullPathname (os_vfs, n, sz, o); }
static void *pl_dlopen (sqlite3_vfs *v, const char *n) { return os_vfs->xDlOpen (os_vfs, n); }
static void pl_dlerror (sqlite3_vfs *v, int n, char *m) { os_vfs->xDlError (os_vfs, n, m); }
static void (*pl_dlsym (sqlite3_vfs *v, void *h, const char *s)) (void) { return os_vfs->xDlSym (os_vfs, h, s); }
static void pl_dlclose (sqlite3_vfs *v, void *h) { os_vfs->xDlClose (os_vfs, h); }
static int pl_randomness (sqlite3_vfs *v, int n, char *o) { return os_vfs->xRandomness (os_vfs, n, o); }
static int pl_sleep (sqlite3_vfs *v, int us) { return os_vfs->xSleep (os_vfs, us); }
static int pl_current_time (sqlite3_vfs *v, double *t) { return os_vfs->xCurrentTime (os_vfs, t); }
static int pl_get_last_error (sqlite3_vfs *v, int n, char *b) { return os_vfs->xGetLastError ? os_vfs->xGetLastError (os_vfs, n, b) : 0; }
static int pl_current_time_int64 (sqlite3_vfs *v, sqlite3_int64 *t) { return os_vfs->xCurrentTimeInt64 (os_vfs, t); }

void
fc_test_powerloss_vfs_register (void)
{
  if (os_vfs != NULL)
    return;
  os_vfs = sqlite3_vfs_find (NULL);
  powerloss_vfs = (sqlite3_vfs) {
    .iVersion = 2,
    .szOsFile = (int) sizeof (PlFile) + os_vfs->szOsFile,
    .mxPathname = os_vfs->mxPathname,
    .zName = "powerloss",
    .xOpen = pl_open,
    .xDelete = pl_delete,
    .xAccess = pl_access,
    .xFullPathname = pl_full_pathname,
    .xDlOpen = pl_dlopen,
    .xDlError = pl_dlerror,
    .xDlSym = pl_dlsym,
    .xDlClose = pl_dlclose,
    .xRandomness = pl_randomness,
    .xSleep = pl_sleep,
    .xCurrentTime = pl_current_time,
    .xGetLastError = pl_get_last_error,
    .xCurrentTimeInt64 = pl_current_time_int64,
  };
  sqlite3_vfs_register (&powerloss_vfs, 0);
}
