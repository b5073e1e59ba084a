/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/*
 * The records of a fitting besides shots. Plain boxed structs: the store
 * owns the truth; these are snapshots handed to callers.
 */

typedef enum {
  FC_HANDEDNESS_UNKNOWN,
  FC_HANDEDNESS_RIGHT,
  FC_HANDEDNESS_LEFT,
} FcHandedness;

typedef enum {
  FC_FITTING_DRIVER,
  FC_FITTING_IRONS,
  FC_FITTING_FULL_BAG,
  FC_FITTING_WEDGES,
  FC_FITTING_PUTTER,
  FC_FITTING_PRACTICE,   /* the bay's open practice session */
} FcFittingType;

typedef enum {
  FC_FITTING_OPEN,
  FC_FITTING_COMPLETED,
} FcFittingStatus;

typedef enum {
  FC_CONFIG_BASELINE,    /* the customer's own club */
  FC_CONFIG_TEST,
} FcConfigRole;

/* Name, e-mail, phone and notes are personal data: the store keeps them
 * encrypted (docs/secrets.md). When their key is not available the store
 * hands out the record with @pii_locked set and those four NULL. */
typedef struct {
  char         *id;
  char         *name;
  char         *email;
  char         *phone;
  FcHandedness  handedness;
  double        handicap;   /* NAN when unknown */
  char         *notes;
  gboolean      pii_locked;
} FcCustomer;

typedef struct {
  char            *id;
  char            *customer_id;   /* NULL for a practice session */
  FcFittingType    type;
  char            *bay;
  char            *fitter;
  FcFittingStatus  status;
  gint64           started_at;    /* unix microseconds */
  gint64           completed_at;  /* 0 while open */
  char            *active_config_id;
  char            *notes;
} FcFitting;

typedef struct {
  char         *id;
  char         *fitting_id;
  FcConfigRole  role;
  char         *label;      /* "Own driver", "Test 1" */
  char         *club_type;  /* "Driver", "7 Iron" */
  char         *head;
  char         *shaft;
  double        loft_deg;   /* NAN when not given */
  char         *setting;    /* hosel / weight setting */
  int           position;   /* display order */
} FcClubConfig;

#define FC_TYPE_CUSTOMER    (fc_customer_get_type ())
#define FC_TYPE_FITTING     (fc_fitting_get_type ())
#define FC_TYPE_CLUB_CONFIG (fc_club_config_get_type ())

GType         fc_customer_get_type    (void) G_GNUC_CONST;
GType         fc_fitting_get_type     (void) G_GNUC_CONST;
GType         fc_club_config_get_type (void) G_GNUC_CONST;

FcCustomer   *fc_customer_new   (const char *name);
FcCustomer   *fc_customer_copy  (const FcCustomer *customer);
void          fc_customer_free  (FcCustomer *customer);

FcFitting    *fc_fitting_new    (FcFittingType type,
                                 const char   *bay);
FcFitting    *fc_fitting_copy   (const FcFitting *fitting);
void          fc_fitting_free   (FcFitting *fitting);

FcClubConfig *fc_club_config_new  (FcConfigRole  role,
                                   const char   *label);
FcClubConfig *fc_club_config_copy (const FcClubConfig *config);
void          fc_club_config_free (FcClubConfig *config);

const char *fc_handedness_to_string     (FcHandedness    handedness);
gboolean    fc_handedness_from_string   (const char     *text,
                                         FcHandedness   *handedness);
const char *fc_fitting_type_to_string   (FcFittingType   type);
gboolean    fc_fitting_type_from_string (const char     *text,
                                         FcFittingType  *type);
const char *fc_fitting_status_to_string (FcFittingStatus status);
gboolean    fc_fitting_status_from_string (const char    *text,
                                           FcFittingStatus *status);
const char *fc_config_role_to_string    (FcConfigRole    role);
gboolean    fc_config_role_from_string  (const char     *text,
                                         FcConfigRole   *role);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcCustomer, fc_customer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcFitting, fc_fitting_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcClubConfig, fc_club_config_free)

G_END_DECLS
