/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test helper: inserts shots in a loop and prints each id on its own line
 * once fc_store_add_shot() has returned, i.e. once the shot is
 * acknowledged. The durability tests kill it and check that every printed
 * id is in the database.
 *
 *   shot-writer DB [COUNT] [VFS] [SYNCHRONOUS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fc-store.h"
#include "powerloss-vfs.h"

int
main (int argc, char **argv)
{
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GError) error = NULL;
  FcStoreOptions options = { 0 };
  long count = argc > 2 ? atol (argv[2]) : 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: shot-writer DB [COUNT] [VFS] [SYNCHRONOUS]\n");
      return 2;
    }
  if (argc > 3 && g_strcmp0 (argv[3], "powerloss") == 0)
    {
      fc_test_powerloss_vfs_register ();
      options.vfs = "powerloss";
    }
  if (argc > 4)
    options.synchronous = argv[4];

  store = fc_store_open_full (argv[1], &options, &error);
  if (store == NULL)
    {
      fprintf (stderr, "shot-writer: %s\n", error->message);
      return 1;
    }

  for (long i = 0; count == 0 || i < count; i++)
    {
      g_autoptr(FcShot) shot = fc_shot_new ();
      FcAddResult result;

      shot->source_kind = FC_SOURCE_DEVICE;
      shot->source_protocol = g_strdup ("test");
      shot->device_id = g_strdup_printf ("writer-%d", (int) getpid ());
      shot->device_shot_id = g_strdup_printf ("%ld", i);
      shot->raw = g_bytes_new_take (g_strdup_printf ("{\"n\":%ld}", i), 0);
      fc_shot_set (shot, FC_FIELD_BALL_SPEED, 60 + (i % 300) / 10.0);
      fc_shot_set (shot, FC_FIELD_CARRY, 150 + (i % 500) / 10.0);
      if (!fc_store_add_shot (store, shot, NULL, &result, &error))
        {
          fprintf (stderr, "shot-writer: %s\n", error->message);
          return 1;
        }
      /* One write per acknowledged id: a kill can cut the last line
       * short, which the parent ignores. */
      printf ("%s\n", shot->id);
      fflush (stdout);
    }

  if (argc > 3 && g_strcmp0 (argv[3], "powerloss") == 0)
    _exit (0);   /* power cut: no close, no checkpoint */
  return 0;
}
