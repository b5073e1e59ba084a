/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test helper standing in for "another program": holds the write lock
 * of an SQLite database until its standard input closes or HOLD_MS pass.
 *
 *   db-locker DB HOLD_MS
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  sqlite3 *db;
  long hold_ms;

  if (argc != 3)
    return 2;
  hold_ms = atol (argv[2]);
  if (sqlite3_open (argv[1], &db) != SQLITE_OK ||
      sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      fprintf (stderr, "db-locker: %s\n", sqlite3_errmsg (db));
      return 1;
    }
  printf ("locked\n");
  fflush (stdout);
  usleep ((useconds_t) hold_ms * 1000);
  sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close (db);
  return 0;
}
