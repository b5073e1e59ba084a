/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FC_ERROR (fc_error_quark ())

/*
 * One error domain for the engine. Messages are written for a shop
 * owner or a fitter: they name the file, line, column, value or record
 * that is wrong and, where possible, what to do about it.
 */
typedef enum {
  FC_ERROR_FAILED,          /* anything not covered below */
  FC_ERROR_INVALID_INPUT,   /* malformed data: bad CSV/JSON, wrong type, NaN */
  FC_ERROR_OUT_OF_RANGE,    /* a value no launch monitor can produce */
  FC_ERROR_UNKNOWN_FORMAT,  /* a file we cannot recognise */
  FC_ERROR_UNKNOWN_UNIT,    /* a column whose unit we cannot determine */
  FC_ERROR_NOT_FOUND,       /* no such fitting, configuration, shot ... */
  FC_ERROR_BUSY,            /* the database is locked by another program */
  FC_ERROR_STORAGE,         /* SQLite failed for another reason */
  FC_ERROR_DISK_FULL,       /* no space left for the database */
  FC_ERROR_READ_ONLY,       /* the database file cannot be written */
  FC_ERROR_CORRUPT,         /* the database file is damaged */
  FC_ERROR_SCHEMA_TOO_NEW,  /* written by a newer FitClip Agent */
  FC_ERROR_CONFLICT,        /* the change contradicts the stored state */
  FC_ERROR_SECRETS_UNAVAILABLE, /* no OS keyring, or it is locked */
  FC_ERROR_PII_LOCKED,      /* customer data is encrypted and its key is not available */
  FC_ERROR_NETWORK,         /* the cloud cannot be reached (offline, DNS, TLS, cut) */
  FC_ERROR_UNAUTHORIZED,    /* the device's pairing expired or was revoked: pair again */
  FC_ERROR_REJECTED,        /* the cloud refused the request (4xx): parked until retried */
  FC_ERROR_SERVER,          /* the cloud failed (5xx, malformed answer): retried later */
} FcError;

GQuark fc_error_quark (void);

G_END_DECLS
