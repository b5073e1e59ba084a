/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "config.h"

#include "fc-store-private.h"

#include <math.h>
#include <string.h>

/*
 * Reading a fitting's values for statistics.
 *
 * Stepping SQLite through one row per shot costs about a microsecond a
 * row, which is most of the time statistics over a large fitting take.
 * So the values of shots whose sequence numbers lie in one range of 1024
 * (a "block") are also kept per configuration as one row, column by
 * column (table stats_blocks, see fc-store-migrations.c for why it is
 * always consistent). Loading reads the blocks, reads the shots of
 * ranges without a block one by one, and writes the blocks it was
 * missing for ranges that are complete.
 *
 * Block format, little-endian: u32 version (1), u32 number of shots,
 * u64 mask of the fields present (bit = field number), then for each
 * present field in field order the shots' values as IEEE doubles (NaN =
 * not measured). Anything that does not parse is treated as absent.
 */

#define BLOCK_SHIFT 10
#define BLOCK_VERSION 1
#define BLOCK_HEADER 16

G_STATIC_ASSERT (FC_SHOT_N_FIELDS <= 64);

/* The shots of one configuration in one range, gathered to write a block. */
typedef struct {
  gint64  block;
  guint   n;
  guint   capacity;
  double *columns[FC_SHOT_N_FIELDS];
} Pending;

static void
pending_free (Pending *p)
{
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    g_free (p->columns[f]);
  g_free (p);
}

static void
pending_add (Pending      *p,
             const double *values)
{
  if (p->n == p->capacity)
    {
      p->capacity = MAX (64, p->capacity * 2);
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        p->columns[f] = g_renew (double, p->columns[f], p->capacity);
    }
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    p->columns[f][p->n] = values[f];
  p->n++;
}

static GBytes *
block_encode (const Pending *p)
{
  guint64 mask = 0;
  guint n_present = 0;
  gsize size;
  guint8 *data, *out;
  guint32 u32;
  guint64 u64;

  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    for (guint i = 0; i < p->n; i++)
      if (!isnan (p->columns[f][i]))
        {
          mask |= G_GUINT64_CONSTANT (1) << f;
          n_present++;
          break;
        }

  size = BLOCK_HEADER + (gsize) n_present * p->n * sizeof (double);
  out = data = g_malloc (size);
  u32 = GUINT32_TO_LE (BLOCK_VERSION);
  memcpy (out, &u32, 4);
  u32 = GUINT32_TO_LE (p->n);
  memcpy (out + 4, &u32, 4);
  u64 = GUINT64_TO_LE (mask);
  memcpy (out + 8, &u64, 8);
  out += BLOCK_HEADER;
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      if (!(mask & (G_GUINT64_CONSTANT (1) << f)))
        continue;
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      memcpy (out, p->columns[f], p->n * sizeof (double));
      out += p->n * sizeof (double);
#else
      for (guint i = 0; i < p->n; i++, out += 8)
        {
          memcpy (&u64, &p->columns[f][i], 8);
          u64 = GUINT64_TO_LE (u64);
          memcpy (out, &u64, 8);
        }
#endif
    }
  return g_bytes_new_take (data, size);
}

/* Appends a block's shots to @group; FALSE (nothing appended) when the
 * block is not one this version wrote. */
static gboolean
block_decode (const guint8 *data,
              gsize         size,
              FcStatsGroup *group)
{
  const double *columns[FC_SHOT_N_FIELDS] = { NULL };
  guint32 version, n;
  guint64 mask;
  guint n_present = 0;

  if (data == NULL || size < BLOCK_HEADER)
    return FALSE;
  memcpy (&version, data, 4);
  memcpy (&n, data + 4, 4);
  memcpy (&mask, data + 8, 8);
  version = GUINT32_FROM_LE (version);
  n = GUINT32_FROM_LE (n);
  mask = GUINT64_FROM_LE (mask);
  if (version != BLOCK_VERSION || n == 0 || n > (1u << BLOCK_SHIFT) ||
      (mask >> FC_SHOT_N_FIELDS) != 0)
    return FALSE;
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    if (mask & (G_GUINT64_CONSTANT (1) << f))
      n_present++;
  if (size != BLOCK_HEADER + (gsize) n_present * n * sizeof (double))
    return FALSE;

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  {
    const guint8 *p = data + BLOCK_HEADER;

    /* SQLite hands blobs out 8-byte aligned in practice, but that is not
     * a promise: copy when it is not so. */
    if (((guintptr) p) % G_ALIGNOF (double) == 0)
      {
        for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
          if (mask & (G_GUINT64_CONSTANT (1) << f))
            {
              columns[f] = (const double *) p;
              p += n * sizeof (double);
            }
        fc_stats_group_append_columns (group, n, columns);
        return TRUE;
      }
  }
#endif
  {
    g_autofree double *copy = g_new (double, (gsize) n_present * n);
    const guint8 *p = data + BLOCK_HEADER;
    double *c = copy;

    for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
      if (mask & (G_GUINT64_CONSTANT (1) << f))
        {
          columns[f] = c;
          for (guint i = 0; i < n; i++, p += 8, c++)
            {
              guint64 bits;

              memcpy (&bits, p, 8);
              bits = GUINT64_FROM_LE (bits);
              memcpy (c, &bits, 8);
            }
        }
    fc_stats_group_append_columns (group, n, columns);
  }
  return TRUE;
}

/* See the measurements column in fc-store-migrations.c. */
static void
unpack_measurements (const guint8 *blob,
                     gsize         len,
                     double       *values)
{
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    {
      guint64 bits;

      if (8 * (i + 1) > len)
        {
          values[i] = NAN;
          continue;
        }
      memcpy (&bits, blob + 8 * i, 8);
      bits = GUINT64_FROM_LE (bits);
      memcpy (&values[i], &bits, 8);
    }
}

/* Reads the included shots of @config_id with seq in [@from, @to) one by
 * one; those of complete ranges (every seq of the range below
 * @complete_below) are also gathered in @pending to become blocks. */
static gboolean
read_rows (FcStore      *self,
           const char   *config_id,
           gint64        from,
           gint64        to,
           gint64        complete_below,
           FcStatsGroup *group,
           GPtrArray    *pending,
           GError      **error)
{
  sqlite3_stmt *stmt;
  double values[FC_SHOT_N_FIELDS];
  Pending *current = NULL;
  int rc;

  stmt = fc_store_statement (self,
                             "SELECT seq, measurements FROM shots"
                             " WHERE config_id = ? AND excluded = 0 AND seq >= ? AND seq < ?"
                             " ORDER BY seq", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text_static (stmt, 1, config_id);
  sqlite3_bind_int64 (stmt, 2, from);
  sqlite3_bind_int64 (stmt, 3, to);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 seq = sqlite3_column_int64 (stmt, 0);
      gint64 block = seq >> BLOCK_SHIFT;

      unpack_measurements (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1), values);
      fc_stats_group_append (group, values);
      if ((block + 1) << BLOCK_SHIFT > complete_below)
        continue;
      if (current == NULL || current->block != block)
        {
          current = g_new0 (Pending, 1);
          current->block = block;
          g_ptr_array_add (pending, current);
        }
      pending_add (current, values);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading shots for statistics");
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_group (FcStore      *self,
            const char   *config_id,
            gint64        complete_below,
            FcStatsGroup *group,
            GPtrArray    *pending,
            GError      **error)
{
  sqlite3_stmt *stmt;
  gint64 next = G_MININT64;   /* first seq not yet read */
  int rc;

  /* Room for every shot at once: growing 44 columns by doubling costs
   * more than reading them. The shots after the last block are at most
   * a range or so. */
  stmt = fc_store_statement (self,
                             "SELECT coalesce(sum(shots), 0) FROM stats_blocks WHERE config_id = ?",
                             error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text_static (stmt, 1, config_id);
  if ((rc = sqlite3_step (stmt)) != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "reading statistics blocks");
      sqlite3_reset (stmt);
      return FALSE;
    }
  fc_stats_group_reserve (group, sqlite3_column_int (stmt, 0) + (1 << BLOCK_SHIFT));
  sqlite3_reset (stmt);

  /* Blocks and the rows between them, in seq order. The statement for
   * the rows is another one, so both can be stepped at once. */
  stmt = fc_store_statement (self,
                             "SELECT block, data FROM stats_blocks WHERE config_id = ? ORDER BY block",
                             error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text_static (stmt, 1, config_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 block = sqlite3_column_int64 (stmt, 0);
      gint64 first = block << BLOCK_SHIFT;

      if (!read_rows (self, config_id, next, first, complete_below, group, pending, error))
        goto fail;
      if (block_decode (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1), group))
        next = first + (1 << BLOCK_SHIFT);
      else
        {
          g_message ("Statistics block %" G_GINT64_FORMAT " of configuration %s is unreadable;"
                     " reading its shots instead", block, config_id);
          next = first;
        }
    }
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading statistics blocks");
      goto fail;
    }
  sqlite3_reset (stmt);
  return read_rows (self, config_id, next, G_MAXINT64, complete_below, group, pending, error);

fail:
  sqlite3_reset (stmt);
  return FALSE;
}

/* Best effort: a database another program is writing to, or one that
 * is read-only, just keeps reading those shots one by one. */
static void
save_blocks (FcStore    *self,
             GHashTable *pending_by_config,
             gint64      data_version)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key, value;
  sqlite3_stmt *stmt;
  gint64 now_version = -1;
  gboolean any = FALSE;

  g_hash_table_iter_init (&iter, pending_by_config);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    any |= ((GPtrArray *) value)->len > 0;
  if (!any)
    return;

  /* The blocks are a cache of what is already durable: their commit
   * need not wait for the disk (WAL with NORMAL is never corrupted by a
   * power cut, it may only forget the last commits, and the next load
   * would write them again). The level can only change between
   * transactions. */
  fc_store_exec (self, "PRAGMA synchronous = NORMAL", NULL);
  sqlite3_busy_timeout (self->db, 0);
  if (!fc_store_begin (self, &error))
    goto out;
  /* Someone else committed since the values were read: they may have
   * changed a shot of these ranges. */
  stmt = fc_store_statement (self, "PRAGMA data_version", &error);
  if (stmt && sqlite3_step (stmt) == SQLITE_ROW)
    now_version = sqlite3_column_int64 (stmt, 0);
  if (stmt)
    sqlite3_reset (stmt);
  if (now_version != data_version)
    {
      fc_store_rollback (self);
      goto out;
    }

  g_hash_table_iter_init (&iter, pending_by_config);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *pending = value;

      for (guint i = 0; i < pending->len; i++)
        {
          Pending *p = g_ptr_array_index (pending, i);
          g_autoptr(GBytes) data = block_encode (p);

          stmt = fc_store_statement (self,
                                     "INSERT OR REPLACE INTO stats_blocks (config_id, block, shots, data)"
                                     " VALUES (?, ?, ?, ?)", &error);
          if (stmt == NULL)
            {
              fc_store_rollback (self);
              goto out;
            }
          fc_bind_text_static (stmt, 1, key);
          sqlite3_bind_int64 (stmt, 2, p->block);
          sqlite3_bind_int (stmt, 3, p->n);
          sqlite3_bind_blob64 (stmt, 4, g_bytes_get_data (data, NULL), g_bytes_get_size (data),
                               SQLITE_STATIC);
          if (!fc_store_step_done (self, stmt, &error))
            {
              fc_store_rollback (self);
              goto out;
            }
        }
    }
  if (!fc_store_commit (self, &error))
    fc_store_rollback (self);

out:
  if (error)
    g_debug ("Statistics blocks not saved: %s", error->message);
  sqlite3_busy_timeout (self->db, (int) self->busy_timeout_ms);
  fc_store_exec (self, self->synchronous_sql, NULL);
}

FcStatsInput *
fc_store_load_stats_input (FcStore     *self,
                           const char  *fitting_id,
                           GError     **error)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GHashTable) pending_by_config = NULL;
  sqlite3_stmt *stmt;
  gint64 max_seq = 0, data_version = 0;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  /* The blocks are tens of megabytes: read them through a memory map
   * rather than a read() per page, but only while loading — mapped
   * pages count as the agent's resident memory for as long as the map
   * lasts (the sync engine's connection reads a whole database). */
  fc_store_exec (self, "PRAGMA mmap_size = 1073741824", NULL);

  /* One read transaction: all groups from the same snapshot. */
  if (!fc_store_exec (self, "BEGIN", error))
    {
      fc_store_exec (self, "PRAGMA mmap_size = 0", NULL);
      return NULL;
    }

  configs = fc_store_list_configs (self, fitting_id, error);
  if (configs == NULL)
    goto fail;

  stmt = fc_store_statement (self, "SELECT (SELECT coalesce(max(seq), 0) FROM shots),"
                                   " (SELECT data_version FROM pragma_data_version)", error);
  if (stmt == NULL)
    goto fail;
  if ((rc = sqlite3_step (stmt)) != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "reading shots for statistics");
      sqlite3_reset (stmt);
      goto fail;
    }
  max_seq = sqlite3_column_int64 (stmt, 0);
  data_version = sqlite3_column_int64 (stmt, 1);
  sqlite3_reset (stmt);

  /* Groups in configuration order, including ones without shots yet. */
  pending_by_config = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < configs->len; i++)
    {
      FcClubConfig *c = g_ptr_array_index (configs, i);
      FcStatsGroup *g = fc_stats_input_get_group (input, c->id, c->role == FC_CONFIG_BASELINE);
      GPtrArray *pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_free);

      g_hash_table_insert (pending_by_config, g_strdup (c->id), pending);
      /* A range is complete when its last seq exists (or is passed):
       * seq only grows, so no shot can join it any more. */
      if (!load_group (self, c->id, max_seq + 1, g, pending, error))
        goto fail;
    }
  fc_store_rollback (self);
  fc_store_exec (self, "PRAGMA mmap_size = 0", NULL);

  save_blocks (self, pending_by_config, data_version);
  return g_steal_pointer (&input);

fail:
  fc_store_rollback (self);
  fc_store_exec (self, "PRAGMA mmap_size = 0", NULL);
  return NULL;
}
