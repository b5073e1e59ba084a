/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An acknowledged shot survives a crash of the process (SIGKILL at random
 * moments) and a power cut (only fsynced bytes survive: see
 * helpers/powerloss-vfs.c). The second power-cut test runs the weaker
 * synchronous=NORMAL and expects losses, which shows the test can fail.
 */
#include <glib/gstdio.h>
#include <signal.h>

#include "fc-store.h"

static char *
writer_path (void)
{
  return g_test_build_filename (G_TEST_BUILT, "helpers", "shot-writer", NULL);
}

static char *
make_db (const char *dir)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "durable.db", NULL);
  g_autoptr(FcStore) store = fc_store_open (path, &error);

  g_assert_no_error (error);
  return path;
}

/* Complete lines only: a kill may cut the last one short. */
static GPtrArray *
read_ids (GSubprocess *proc)
{
  GInputStream *out = g_subprocess_get_stdout_pipe (proc);
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  guint8 chunk[8192];
  gssize n;
  guint start = 0;

  while ((n = g_input_stream_read (out, chunk, sizeof chunk, NULL, NULL)) > 0)
    g_byte_array_append (buf, chunk, n);
  for (guint i = 0; i < buf->len; i++)
    if (buf->data[i] == '\n')
      {
        g_ptr_array_add (ids, g_strndup ((char *) buf->data + start, i - start));
        start = i + 1;
      }
  return ids;
}

static void
assert_all_stored (const char *db,
                   GPtrArray  *ids)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = fc_store_open (db, &error);
  g_autofree char *report = NULL;

  g_assert_no_error (error);
  g_assert_true (fc_store_check_integrity (store, &report, &error));
  g_assert_cmpstr (report, ==, "ok");
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(FcShot) shot = fc_store_get_shot (store, g_ptr_array_index (ids, i), &error);
      if (shot == NULL)
        g_error ("acknowledged shot %s (#%u of %u) is missing: %s",
                 (char *) g_ptr_array_index (ids, i), i + 1, ids->len, error->message);
    }
}

static void
test_sigkill (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-kill-XXXXXX", NULL);
  g_autofree char *db = make_db (dir);
  g_autofree char *writer = writer_path ();
  guint total = 0;

  for (int round = 0; round < 20; round++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSubprocess) proc = NULL;
      g_autoptr(GPtrArray) ids = NULL;

      proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, writer, db, NULL);
      g_assert_no_error (error);
      g_usleep (g_test_rand_int_range (20, 400) * 1000);
      g_subprocess_send_signal (proc, SIGKILL);
      ids = read_ids (proc);
      g_subprocess_wait (proc, NULL, &error);
      g_assert_no_error (error);
      g_assert_false (g_subprocess_get_if_exited (proc));
      g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGKILL);
      assert_all_stored (db, ids);
      total += ids->len;
    }
  g_test_message ("%u acknowledged shots over 20 kills, all stored", total);
  /* The rounds must have done real work for the test to mean anything. */
  g_assert_cmpuint (total, >, 20);
}

static guint
run_power_cut (const char *synchronous,
               guint      *n_acked)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-power-XXXXXX", NULL);
  g_autofree char *db = make_db (dir);
  g_autofree char *writer = writer_path ();
  g_autofree char *shadow_db = g_strconcat (db, ".synced", NULL);
  g_autofree char *shadow_wal = g_strconcat (db, "-wal.synced", NULL);
  g_autofree char *rec_dir = g_build_filename (dir, "after-power-cut", NULL);
  g_autofree char *rec_db = g_build_filename (rec_dir, "durable.db", NULL);
  g_autofree char *rec_wal = g_strconcat (rec_db, "-wal", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(FcStore) store = NULL;
  gsize len;
  guint lost = 0;

  /* The database as created and closed cleanly is on disk. */
  g_assert_true (g_file_get_contents (db, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (shadow_db, contents, len, NULL));
  g_clear_pointer (&contents, g_free);

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                           writer, db, "60", "powerloss", synchronous, NULL);
  g_assert_no_error (error);
  ids = read_ids (proc);
  g_subprocess_wait_check (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 60);

  /* After the power cut only the synced copies exist. */
  g_assert_cmpint (g_mkdir (rec_dir, 0700), ==, 0);
  g_assert_true (g_file_get_contents (shadow_db, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (rec_db, contents, len, NULL));
  g_clear_pointer (&contents, g_free);
  if (g_file_get_contents (shadow_wal, &contents, &len, NULL))
    g_assert_true (g_file_set_contents (rec_wal, contents, len, NULL));

  store = fc_store_open (rec_db, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(FcShot) shot = fc_store_get_shot (store, g_ptr_array_index (ids, i), NULL);
      if (shot == NULL)
        lost++;
    }
  {
    g_autofree char *report = NULL;
    g_assert_true (fc_store_check_integrity (store, &report, &error));
    g_assert_cmpstr (report, ==, "ok");
  }
  *n_acked = ids->len;
  return lost;
}

static void
test_power_cut_full (void)
{
  guint acked;
  guint lost = run_power_cut ("FULL", &acked);

  g_assert_cmpuint (lost, ==, 0);
}

static void
test_power_cut_normal_loses (void)
{
  guint acked;
  guint lost = run_power_cut ("NORMAL", &acked);

  g_test_message ("synchronous=NORMAL lost %u of %u acknowledged shots", lost, acked);
  g_assert_cmpuint (lost, >, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/durability/sigkill-20-times", test_sigkill);
  g_test_add_func ("/durability/power-cut-synchronous-full", test_power_cut_full);
  g_test_add_func ("/durability/power-cut-synchronous-normal-loses", test_power_cut_normal_loses);
  return g_test_run ();
}
