/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-error.h"

G_DEFINE_QUARK (fc-error-quark, fc_error)
