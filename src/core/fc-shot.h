/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "fc-shot-field.h"

G_BEGIN_DECLS

typedef enum {
  FC_SOURCE_DEVICE,   /* a launch monitor on the network */
  FC_SOURCE_FILE,     /* an imported export file */
  FC_SOURCE_MANUAL,   /* typed in by the fitter */
} FcSourceKind;

const char *fc_source_kind_to_string   (FcSourceKind  kind);
gboolean    fc_source_kind_from_string (const char   *text,
                                        FcSourceKind *kind);

/*
 * The unified shot record. Values are SI (see fc-shot-field.h); a value
 * the device did not measure is absent (its presence bit is clear) and
 * is stored as NULL, never as 0.
 *
 * A plain struct rather than a GObject: hundreds of thousands of them
 * are created by imports and statistics, and nothing observes them.
 */
typedef struct {
  char         *id;               /* agent-made UUID; set by the store when NULL */
  char         *fitting_id;       /* NULL: the bay's current fitting or practice session */
  char         *config_id;        /* NULL: the fitting's active configuration */
  char         *device_id;        /* which monitor (or file format) produced it */
  char         *device_shot_id;   /* the device's own id for the shot, if reliable */
  FcSourceKind  source_kind;
  char         *source_protocol;  /* "open-connect-v1", "csv/trackman-tps", ... */
  char         *source_detail;    /* peer address, or file name and line */
  char         *import_id;        /* the import batch a file shot came from */
  char         *club;             /* club as the device named it */
  char         *device_time;      /* the device's time stamp, verbatim */
  gint64        received_at;      /* agent clock, microseconds since the Unix epoch */
  int           spin_estimated;   /* -1 unknown, 0 measured, 1 estimated */
  guint64       present;          /* bit n set: values[n] was measured */
  double        values[FC_SHOT_N_FIELDS];
  GBytes       *raw;              /* the payload exactly as received */
  gboolean      excluded;
  char         *exclude_reason;
  GPtrArray    *tags;             /* of char*; never NULL */
} FcShot;

#define FC_TYPE_SHOT (fc_shot_get_type ())
GType     fc_shot_get_type   (void) G_GNUC_CONST;

FcShot   *fc_shot_new        (void);
FcShot   *fc_shot_copy       (const FcShot *shot);
void      fc_shot_free       (FcShot       *shot);

static inline gboolean
fc_shot_has (const FcShot *shot,
             FcShotField   field)
{
  return (shot->present & (G_GUINT64_CONSTANT (1) << field)) != 0;
}

/* NAN when absent. */
double    fc_shot_get        (const FcShot *shot,
                              FcShotField   field);
void      fc_shot_set        (FcShot       *shot,
                              FcShotField   field,
                              double        value_si);
void      fc_shot_unset      (FcShot       *shot,
                              FcShotField   field);
guint     fc_shot_count_values (const FcShot *shot);

void      fc_shot_add_tag    (FcShot       *shot,
                              const char   *tag);

/* Fill total spin / spin axis from back and side spin (and the reverse)
 * where only one representation was given. */
void      fc_shot_complete_spin (FcShot *shot);

/* Drop values a device writes as placeholders when their inputs were not
 * measured (a smash factor without club speed, a 0.0 face-to-path without
 * face or path). Returns the number of values dropped. */
guint     fc_shot_drop_orphan_values (FcShot *shot);

/* Every present value finite and physically possible. */
gboolean  fc_shot_validate   (const FcShot *shot,
                              GError      **error);

/* Hash of the measured values, for spotting a resent shot whose device
 * counter cannot be trusted. Equal values give equal fingerprints. */
gint64    fc_shot_fingerprint (const FcShot *shot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcShot, fc_shot_free)

G_END_DECLS
