/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "fc-store-private.h"

/*
 * Schema migrations, applied in order by user_version. A migration is
 * never edited once released: a database in a shop may be at any earlier
 * version, and tests/test-store-migrations.c upgrades from every one.
 * New shot fields are appended with ALTER TABLE in a new migration.
 */

static const char migration_1[] =
  /* Personal data (name, e-mail, phone, notes) only ever as AES-256-GCM
   * envelopes (docs/secrets.md): the *_enc columns accept nothing but
   * BLOBs, so a plaintext string cannot land there by mistake. */
  "CREATE TABLE customers (\n"
  "  id TEXT PRIMARY KEY NOT NULL,\n"
  "  name_enc BLOB NOT NULL CHECK (typeof(name_enc) = 'blob'),\n"
  "  email_enc BLOB CHECK (email_enc IS NULL OR typeof(email_enc) = 'blob'),\n"
  "  phone_enc BLOB CHECK (phone_enc IS NULL OR typeof(phone_enc) = 'blob'),\n"
  "  handedness TEXT NOT NULL DEFAULT 'unknown' CHECK (handedness IN ('unknown','right','left')),\n"
  "  handicap REAL,\n"
  "  notes_enc BLOB CHECK (notes_enc IS NULL OR typeof(notes_enc) = 'blob'),\n"
  "  created_at INTEGER NOT NULL,\n"
  "  updated_at INTEGER NOT NULL\n"
  ");\n"
  /* Facts about the database itself; 'pii_key_id' names the key the
   * customer columns are encrypted with (never the key). */
  "CREATE TABLE store_meta (\n"
  "  key TEXT PRIMARY KEY NOT NULL,\n"
  "  value TEXT NOT NULL\n"
  ") WITHOUT ROWID;\n"
  "CREATE TABLE fittings (\n"
  "  id TEXT PRIMARY KEY NOT NULL,\n"
  "  customer_id TEXT REFERENCES customers(id),\n"
  "  type TEXT NOT NULL CHECK (type IN ('driver','irons','full_bag','wedges','putter','practice')),\n"
  "  bay TEXT NOT NULL,\n"
  "  fitter TEXT,\n"
  "  status TEXT NOT NULL CHECK (status IN ('open','completed')),\n"
  "  started_at INTEGER NOT NULL,\n"
  "  completed_at INTEGER,\n"
  "  active_config_id TEXT,\n"
  "  notes TEXT,\n"
  "  created_at INTEGER NOT NULL,\n"
  "  updated_at INTEGER NOT NULL\n"
  ");\n"
  /* A bay has at most one open practice session to catch stray shots. */
  "CREATE UNIQUE INDEX fittings_one_practice_per_bay ON fittings(bay)\n"
  "  WHERE type = 'practice' AND status = 'open';\n"
  "CREATE INDEX fittings_by_bay ON fittings(bay, status, started_at);\n"
  "CREATE TABLE club_configs (\n"
  "  id TEXT PRIMARY KEY NOT NULL,\n"
  "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
  "  role TEXT NOT NULL CHECK (role IN ('baseline','test')),\n"
  "  label TEXT,\n"
  "  club_type TEXT,\n"
  "  head TEXT,\n"
  "  shaft TEXT,\n"
  "  loft_deg REAL,\n"
  "  setting TEXT,\n"
  "  position INTEGER NOT NULL,\n"
  "  created_at INTEGER NOT NULL,\n"
  "  updated_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE UNIQUE INDEX club_configs_one_baseline ON club_configs(fitting_id)\n"
  "  WHERE role = 'baseline';\n"
  "CREATE INDEX club_configs_by_fitting ON club_configs(fitting_id, position);\n"
  "CREATE TABLE imports (\n"
  "  id TEXT PRIMARY KEY NOT NULL,\n"
  "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
  "  file_name TEXT NOT NULL,\n"
  "  format TEXT NOT NULL,\n"
  /* Header lines (and units row) verbatim: with the shots' raw rows
   * they are the file again, for re-parsing. */
  "  header BLOB,\n"
  "  row_count INTEGER NOT NULL,\n"
  "  inserted INTEGER NOT NULL,\n"
  "  imported_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE shots (\n"
  "  seq INTEGER PRIMARY KEY,\n"
  "  id TEXT NOT NULL UNIQUE,\n"
  "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
  "  config_id TEXT NOT NULL REFERENCES club_configs(id),\n"
  "  device_id TEXT NOT NULL,\n"
  "  device_shot_id TEXT,\n"
  "  fingerprint INTEGER,\n"   /* device shots only: content match */
  /* Spelled out with OR: SQLite checks an IN list of three or more by
   * building a temporary table on every insert (a quarter of an import's
   * CPU time). */
  "  source_kind TEXT NOT NULL CHECK (source_kind = 'device' OR source_kind = 'file'\n"
  "                                   OR source_kind = 'manual'),\n"
  "  source_protocol TEXT NOT NULL,\n"
  "  source_detail TEXT,\n"
  "  import_id TEXT REFERENCES imports(id),\n"
  "  club TEXT,\n"
  "  device_time TEXT,\n"
  "  received_at INTEGER NOT NULL,\n"
  "  spin_estimated INTEGER CHECK (spin_estimated IN (0, 1)),\n"
  "  ball_speed_mps REAL,\n"
  "  launch_angle_deg REAL,\n"
  "  launch_direction_deg REAL,\n"
  "  spin_rate_rpm REAL,\n"
  "  spin_axis_deg REAL,\n"
  "  back_spin_rpm REAL,\n"
  "  side_spin_rpm REAL,\n"
  "  smash_factor REAL,\n"
  "  club_speed_mps REAL,\n"
  "  club_speed_at_impact_mps REAL,\n"
  "  attack_angle_deg REAL,\n"
  "  club_path_deg REAL,\n"
  "  face_angle_deg REAL,\n"
  "  face_to_path_deg REAL,\n"
  "  dynamic_loft_deg REAL,\n"
  "  spin_loft_deg REAL,\n"
  "  swing_plane_deg REAL,\n"
  "  swing_direction_deg REAL,\n"
  "  swing_radius_m REAL,\n"
  "  d_plane_tilt_deg REAL,\n"
  "  dynamic_lie_deg REAL,\n"
  "  club_lie_deg REAL,\n"
  "  impact_offset_m REAL,\n"
  "  impact_height_m REAL,\n"
  "  low_point_distance_m REAL,\n"
  "  low_point_height_m REAL,\n"
  "  low_point_side_m REAL,\n"
  "  closure_rate_dps REAL,\n"
  "  carry_m REAL,\n"
  "  total_m REAL,\n"
  "  carry_side_m REAL,\n"
  "  total_side_m REAL,\n"
  "  carry_side_angle_deg REAL,\n"
  "  total_side_angle_deg REAL,\n"
  "  max_height_m REAL,\n"
  "  max_height_distance_m REAL,\n"
  "  landing_angle_deg REAL,\n"
  "  landing_ball_speed_mps REAL,\n"
  "  hang_time_s REAL,\n"
  "  curve_m REAL,\n"
  "  air_temperature_degc REAL,\n"
  "  air_pressure_pa REAL,\n"
  "  air_density_kgpm3 REAL,\n"
  "  relative_humidity_pct REAL,\n"
  /* The same values packed as little-endian IEEE doubles, NaN for not
   * measured, in field order (a shorter blob from before a field was
   * added reads as NaN for it). Written once with the row; statistics
   * scan this one column instead of 44, which is 10x faster. The REAL
   * columns above stay the queryable truth. */
  "  measurements BLOB NOT NULL,\n"
  "  excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),\n"
  "  exclude_reason TEXT,\n"
  "  updated_at INTEGER NOT NULL\n"
  ");\n"
  /* Exact duplicate delivery: the device's own shot id within a fitting.
   * The shot id leads because it tells entries apart at once: with the
   * fitting first, every comparison of an insert walked 36 equal bytes. */
  "CREATE UNIQUE INDEX shots_device_identity ON shots(device_shot_id, device_id, fitting_id)\n"
  "  WHERE device_shot_id IS NOT NULL;\n"
  /* Content match within a time window, for devices whose counters reset. */
  "CREATE INDEX shots_by_content ON shots(device_id, fingerprint, received_at)\n"
  "  WHERE source_kind = 'device';\n"
  "CREATE INDEX shots_by_fitting ON shots(fitting_id, seq);\n"
  /* Statistics read a configuration's included shots from this index
   * alone (it covers the packed measurements): a sequential scan of
   * small entries instead of a lookup into the wide table per shot. */
  "CREATE INDEX shots_by_config ON shots(config_id, excluded, seq);\n"
  /* The raw payloads live apart from the measured values so that
   * statistics scan small rows. */
  "CREATE TABLE shot_payloads (\n"
  "  shot_seq INTEGER PRIMARY KEY REFERENCES shots(seq),\n"
  "  raw BLOB NOT NULL\n"
  ");\n"
  /* Statistics read a configuration's measured values from these blocks
   * — one row per 1024 shot sequence numbers, values stored column by
   * column (fc-store-stats.c) — instead of stepping through a row per
   * shot. A block is only written for a range no new shot can enter
   * (seq only grows), and any change to one of its shots deletes it, so
   * a block never disagrees with the shots table; a missing block just
   * means those shots are read one by one and the block written again. */
  "CREATE TABLE stats_blocks (\n"
  "  config_id TEXT NOT NULL,\n"
  "  block INTEGER NOT NULL,\n"
  "  shots INTEGER NOT NULL,\n"
  "  data BLOB NOT NULL,\n"
  "  PRIMARY KEY (config_id, block)\n"
  ") WITHOUT ROWID;\n"
  "CREATE TRIGGER stats_blocks_on_update AFTER UPDATE ON shots BEGIN\n"
  "  DELETE FROM stats_blocks WHERE block = old.seq >> 10\n"
  "    AND config_id IN (old.config_id, new.config_id);\n"
  "END;\n"
  /* A deleted last shot lets its seq be used again: drop the whole range. */
  "CREATE TRIGGER stats_blocks_on_delete AFTER DELETE ON shots BEGIN\n"
  "  DELETE FROM stats_blocks WHERE block = old.seq >> 10;\n"
  "END;\n"
  "CREATE TABLE shot_tags (\n"
  "  shot_id TEXT NOT NULL REFERENCES shots(id),\n"
  "  tag TEXT NOT NULL,\n"
  "  PRIMARY KEY (shot_id, tag)\n"
  ") WITHOUT ROWID;\n"
  "CREATE TABLE outbox (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  entity TEXT NOT NULL,\n"
  "  entity_id TEXT NOT NULL,\n"
  "  fitting_id TEXT,\n"
  "  operation TEXT NOT NULL,\n"
  "  payload TEXT,\n"
  "  attempt_count INTEGER NOT NULL DEFAULT 0,\n"
  "  next_attempt_at INTEGER NOT NULL,\n"
  "  last_error TEXT,\n"
  "  created_at INTEGER NOT NULL,\n"
  /* Sync queue state (fc-sync-queue.c): parked until a person retries;
   * when it last failed (for the status' last error); a fitting
   * creation's body and the entries it covers, frozen when first built
   * so that a resend is byte-identical (sealed with the customer cipher
   * when it holds a customer); an import's progress by shot seq. */
  "  parked INTEGER NOT NULL DEFAULT 0 CHECK (parked IN (0, 1)),\n"
  "  failed_at INTEGER,\n"
  "  body BLOB,\n"
  "  covers TEXT,\n"
  "  sent_seq INTEGER,\n"
  "  sent_count INTEGER NOT NULL DEFAULT 0\n"
  ");\n"
  "CREATE INDEX outbox_due ON outbox(next_attempt_at, id);\n"
  /* sync queue */
  /* Per fitting in commit order: each fitting's head is one seek, and a
   * batch's entries are read from the index alone. No index leads with
   * entity_id: keyed by random UUIDs, removing a batch of 500 entries
   * would rewrite ~500 scattered pages (4 ms a batch, measured). */
  "CREATE INDEX outbox_by_fitting ON outbox(fitting_id, id, entity, operation, entity_id);\n"
  "CREATE INDEX outbox_parked ON outbox(fitting_id) WHERE parked = 1;\n"
  "CREATE INDEX outbox_failed ON outbox(failed_at) WHERE failed_at IS NOT NULL;\n"
  "CREATE INDEX fittings_by_customer ON fittings(customer_id) WHERE customer_id IS NOT NULL;\n"
  /* Entries (and an import's unsent shots) per entity and operation:
   * the sync status is read every second, and counting a 100,000-entry
   * outbox costs ~40 ms. Inserts and progress count themselves by
   * trigger; whoever removes entries (only fc-sync-queue.c and the move
   * trigger below) subtracts them in the same transaction, once per
   * batch — a row trigger on delete cost 3.7 ms per 500 entries. */
  "CREATE TABLE outbox_totals (\n"
  "  entity TEXT NOT NULL,\n"
  "  operation TEXT NOT NULL,\n"
  "  entries INTEGER NOT NULL,\n"
  "  shots INTEGER NOT NULL,\n"
  "  PRIMARY KEY (entity, operation)\n"
  ") WITHOUT ROWID;\n"
  "CREATE TRIGGER outbox_totals_insert AFTER INSERT ON outbox BEGIN\n"
  "  INSERT INTO outbox_totals (entity, operation, entries, shots)\n"
  "    VALUES (new.entity, new.operation, 1,\n"
  "            CASE WHEN new.entity = 'import' AND json_valid(new.payload)\n"
  "                 THEN coalesce(json_extract(new.payload, '$.shots'), 0) - new.sent_count ELSE 0 END)\n"
  "    ON CONFLICT (entity, operation) DO UPDATE SET entries = entries + 1,\n"
  "      shots = shots + excluded.shots;\n"
  "END;\n"
  "CREATE TRIGGER outbox_totals_sent AFTER UPDATE OF sent_count ON outbox BEGIN\n"
  "  UPDATE outbox_totals SET shots = shots - (new.sent_count - old.sent_count)\n"
  "    WHERE entity = old.entity AND operation = old.operation;\n"
  "END;\n"
  /* A shot moved to another fitting: the cloud gets it in the new one
   * if it has not been sent yet (its pending creation moves along, to
   * the end of the new fitting's queue, after the configuration it now
   * uses); otherwise a 'move' entry that the queue parks, since the
   * cloud contract cannot move a shot between fittings. Here rather than
   * in fc_store_move_shots() so that no writer can forget it. Finding
   * the pending creation walks the old fitting's entries in
   * outbox_by_fitting (index only): short while sync keeps up. */
  "CREATE TRIGGER outbox_shot_moved AFTER UPDATE OF fitting_id ON shots\n"
  "  WHEN old.fitting_id IS NOT new.fitting_id BEGIN\n"
  "  INSERT INTO outbox (entity, entity_id, fitting_id, operation, payload, next_attempt_at, created_at)\n"
  "    SELECT 'shot', new.id, new.fitting_id, op,\n"
  "           CASE WHEN op = 'move' THEN json_object('from_fitting_id', old.fitting_id) END,\n"
  "           0, CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)\n"
  "    FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE fitting_id = old.fitting_id\n"
  "                                     AND entity = 'shot' AND operation = 'create'\n"
  "                                     AND entity_id = new.id)\n"
  "                        OR EXISTS (SELECT 1 FROM outbox WHERE fitting_id = old.fitting_id\n"
  "                                     AND entity = 'import' AND operation = 'create'\n"
  "                                     AND entity_id = new.import_id\n"
  "                                     AND coalesce(sent_seq, -1) < new.seq)\n"
  "                      THEN 'create' ELSE 'move' END AS op);\n"
  "  UPDATE outbox_totals SET entries = entries -\n"
  "    (SELECT count(*) FROM outbox WHERE fitting_id = old.fitting_id AND entity = 'shot'\n"
  "       AND operation = 'create' AND entity_id = new.id)\n"
  "    WHERE entity = 'shot' AND operation = 'create';\n"
  "  DELETE FROM outbox WHERE fitting_id = old.fitting_id AND entity = 'shot'\n"
  "    AND operation = 'create' AND entity_id = new.id;\n"
  "END;\n"
  /* Recap videos waiting for (or done with) their upload; the tus
   * state is kept so that an upload resumes after a crash. */
  "CREATE TABLE videos (\n"
  "  id TEXT PRIMARY KEY NOT NULL,\n"
  "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
  "  path TEXT NOT NULL,\n"
  "  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),\n"
  "  size INTEGER NOT NULL CHECK (size >= 0),\n"
  "  content_type TEXT NOT NULL,\n"
  "  upload_url TEXT,\n"
  "  upload_offset INTEGER NOT NULL DEFAULT 0,\n"
  "  upload_expires_at INTEGER,\n"
  "  created_at INTEGER NOT NULL,\n"
  "  uploaded_at INTEGER\n"
  ");\n"
  "CREATE INDEX videos_by_fitting ON videos(fitting_id);\n";
  /* /sync queue */

/* Version 2: what the sync queue learnt from the cloud's refusals. */
static const char migration_2[] =
  /* Shots the cloud refused one by one (422 invalid_shot naming the
   * shot): set aside, with the cloud's reason, so that the rest of their
   * batch goes on. Their outbox entries are gone (an import counts them
   * as sent); "Retry" queues them again. Keyed by shot only: a shot
   * moved meanwhile is retried in the fitting it is in then. */
  "CREATE TABLE sync_set_aside (\n"
  "  shot_id TEXT PRIMARY KEY NOT NULL,\n"
  "  code TEXT,\n"
  "  field TEXT,\n"
  "  reason TEXT NOT NULL,\n"
  "  set_aside_at INTEGER NOT NULL\n"
  ") WITHOUT ROWID;\n"
  /* The sync engine's memory across restarts: when the cloud last
   * applied a request ('last_success_at', µs since the epoch). */
  "CREATE TABLE sync_state (\n"
  "  key TEXT PRIMARY KEY NOT NULL,\n"
  "  value ANY\n"
  ") WITHOUT ROWID;\n";

const char * const fc_store_migrations[] = {
  NULL,            /* version 0: the empty database */
  migration_1,
  migration_2,
};

G_STATIC_ASSERT (G_N_ELEMENTS (fc_store_migrations) == FC_STORE_SCHEMA_VERSION + 1);
