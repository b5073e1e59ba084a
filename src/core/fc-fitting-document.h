/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-model.h"
#include "fc-shot.h"

G_BEGIN_DECLS

/*
 * A whole fitting as one document: what `fitclipctl export` writes and
 * what our JSON import reads back. JSON export → import → export gives
 * byte-identical output: ids are kept, numbers are written in their
 * shortest exact form, and nothing time-of-export is included.
 */
typedef struct _FcFittingDocument {
  FcCustomer *customer;   /* NULL for a practice session */
  FcFitting  *fitting;
  GPtrArray  *configs;    /* of FcClubConfig* */
  GPtrArray  *shots;      /* of FcShot*, in arrival order */
} FcFittingDocument;

#define FC_DOCUMENT_FORMAT "fitclip-fitting"
#define FC_DOCUMENT_FORMAT_VERSION 1

FcFittingDocument *fc_fitting_document_new      (void);
void               fc_fitting_document_free     (FcFittingDocument *document);

char              *fc_fitting_document_to_json  (const FcFittingDocument *document,
                                                 gsize                   *length);
/* One row per shot, values in SI with the schema's column names. */
char              *fc_fitting_document_to_csv   (const FcFittingDocument *document,
                                                 gsize                   *length);
FcFittingDocument *fc_fitting_document_from_json (const char  *display_name,
                                                  const char  *text,
                                                  gsize        length,
                                                  GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcFittingDocument, fc_fitting_document_free)

G_END_DECLS
