/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-model"

#include "fc-model.h"

#include <math.h>

G_DEFINE_BOXED_TYPE (FcCustomer, fc_customer, fc_customer_copy, fc_customer_free)
G_DEFINE_BOXED_TYPE (FcFitting, fc_fitting, fc_fitting_copy, fc_fitting_free)
G_DEFINE_BOXED_TYPE (FcClubConfig, fc_club_config, fc_club_config_copy, fc_club_config_free)

/* The strings are the stored and exported spelling: never translate them. */
static const char *handedness_names[] = { "unknown", "right", "left" };
static const char *fitting_type_names[] = { "driver", "irons", "full_bag", "wedges", "putter", "practice" };
static const char *fitting_status_names[] = { "open", "completed" };
static const char *config_role_names[] = { "baseline", "test" };

static gboolean
lookup (const char  *const *names,
        guint        n_names,
        const char  *text,
        int         *out)
{
  for (guint i = 0; i < n_names; i++)
    if (g_strcmp0 (names[i], text) == 0)
      {
        *out = (int) i;
        return TRUE;
      }
  return FALSE;
}

#define DEFINE_ENUM_STRINGS(prefix, Type, names)                              \
  const char *                                                                \
  prefix##_to_string (Type value)                                             \
  {                                                                           \
    g_return_val_if_fail ((guint) value < G_N_ELEMENTS (names), NULL);        \
    return names[value];                                                      \
  }                                                                           \
  gboolean                                                                    \
  prefix##_from_string (const char *text, Type *value)                        \
  {                                                                           \
    int v;                                                                    \
    if (!lookup (names, G_N_ELEMENTS (names), text, &v))                      \
      return FALSE;                                                           \
    *value = (Type) v;                                                        \
    return TRUE;                                                              \
  }

DEFINE_ENUM_STRINGS (fc_handedness, FcHandedness, handedness_names)
DEFINE_ENUM_STRINGS (fc_fitting_type, FcFittingType, fitting_type_names)
DEFINE_ENUM_STRINGS (fc_fitting_status, FcFittingStatus, fitting_status_names)
DEFINE_ENUM_STRINGS (fc_config_role, FcConfigRole, config_role_names)

FcCustomer *
fc_customer_new (const char *name)
{
  FcCustomer *customer = g_new0 (FcCustomer, 1);

  customer->name = g_strdup (name);
  customer->handicap = NAN;
  return customer;
}

FcCustomer *
fc_customer_copy (const FcCustomer *customer)
{
  FcCustomer *copy = g_memdup2 (customer, sizeof *customer);

  copy->id = g_strdup (customer->id);
  copy->name = g_strdup (customer->name);
  copy->email = g_strdup (customer->email);
  copy->phone = g_strdup (customer->phone);
  copy->notes = g_strdup (customer->notes);
  return copy;
}

void
fc_customer_free (FcCustomer *customer)
{
  if (customer == NULL)
    return;
  g_free (customer->id);
  g_free (customer->name);
  g_free (customer->email);
  g_free (customer->phone);
  g_free (customer->notes);
  g_free (customer);
}

FcFitting *
fc_fitting_new (FcFittingType  type,
                const char    *bay)
{
  FcFitting *fitting = g_new0 (FcFitting, 1);

  fitting->type = type;
  fitting->bay = g_strdup (bay);
  fitting->status = FC_FITTING_OPEN;
  return fitting;
}

FcFitting *
fc_fitting_copy (const FcFitting *fitting)
{
  FcFitting *copy = g_memdup2 (fitting, sizeof *fitting);

  copy->id = g_strdup (fitting->id);
  copy->customer_id = g_strdup (fitting->customer_id);
  copy->bay = g_strdup (fitting->bay);
  copy->fitter = g_strdup (fitting->fitter);
  copy->active_config_id = g_strdup (fitting->active_config_id);
  copy->notes = g_strdup (fitting->notes);
  return copy;
}

void
fc_fitting_free (FcFitting *fitting)
{
  if (fitting == NULL)
    return;
  g_free (fitting->id);
  g_free (fitting->customer_id);
  g_free (fitting->bay);
  g_free (fitting->fitter);
  g_free (fitting->active_config_id);
  g_free (fitting->notes);
  g_free (fitting);
}

FcClubConfig *
fc_club_config_new (FcConfigRole  role,
                    const char   *label)
{
  FcClubConfig *config = g_new0 (FcClubConfig, 1);

  config->role = role;
  config->label = g_strdup (label);
  config->loft_deg = NAN;
  return config;
}

FcClubConfig *
fc_club_config_copy (const FcClubConfig *config)
{
  FcClubConfig *copy = g_memdup2 (config, sizeof *config);

  copy->id = g_strdup (config->id);
  copy->fitting_id = g_strdup (config->fitting_id);
  copy->label = g_strdup (config->label);
  copy->club_type = g_strdup (config->club_type);
  copy->head = g_strdup (config->head);
  copy->shaft = g_strdup (config->shaft);
  copy->setting = g_strdup (config->setting);
  return copy;
}

void
fc_club_config_free (FcClubConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->id);
  g_free (config->fitting_id);
  g_free (config->label);
  g_free (config->club_type);
  g_free (config->head);
  g_free (config->shaft);
  g_free (config->setting);
  g_free (config);
}
