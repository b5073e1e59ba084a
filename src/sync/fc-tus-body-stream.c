/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-tus-body-stream"

#include "config.h"

#include <string.h>

#include "fc-error.h"
#include "fc-tus-body-stream.h"

/* Never less than this in the bucket: a burst small enough to keep the
 * rate honest over a second, large enough not to wake up for every few
 * kilobytes on a slow cap. */
#define MIN_BURST 16384.0

FcTusBucket *
fc_tus_bucket_new (void)
{
  return g_rc_box_new0 (FcTusBucket);
}

FcTusBucket *
fc_tus_bucket_ref (FcTusBucket *bucket)
{
  return g_rc_box_acquire (bucket);
}

void
fc_tus_bucket_unref (FcTusBucket *bucket)
{
  g_rc_box_release (bucket);
}

void
fc_tus_bucket_set_rate (FcTusBucket *bucket,
                        guint64      bytes_per_second)
{
  bucket->rate = bytes_per_second;
  /* A new rate starts with an empty bucket: the bytes already sent at
   * the old rate must not buy a burst at the new one. */
  bucket->tokens = 0;
  bucket->updated_at = g_get_monotonic_time ();
}

static double
bucket_capacity (FcTusBucket *bucket)
{
  return MAX ((double) bucket->rate / 10.0, MIN_BURST);
}

/* Takes up to @want bytes' worth of tokens. Returns how many it took;
 * when none, *wait_ms says how long until @want (or a full burst) is
 * there. */
static gsize
bucket_take (FcTusBucket *bucket,
             gsize        want,
             guint       *wait_ms)
{
  gint64 now;
  double cap;
  double need;
  gsize n;

  *wait_ms = 0;
  if (bucket->rate == 0)
    return want;

  now = g_get_monotonic_time ();
  cap = bucket_capacity (bucket);
  if (bucket->updated_at == 0)
    bucket->tokens = 0;
  else
    bucket->tokens = MIN (cap, bucket->tokens +
                               (double) (now - bucket->updated_at) * (double) bucket->rate / G_USEC_PER_SEC);
  bucket->updated_at = now;

  if (bucket->tokens >= 1.0)
    {
      n = MIN (want, (gsize) bucket->tokens);
      bucket->tokens -= (double) n;
      return n;
    }

  need = MIN ((double) want, cap) - bucket->tokens;
  *wait_ms = (guint) MAX (1.0, need * 1000.0 / (double) bucket->rate);
  return 0;
}

static void
bucket_refund (FcTusBucket *bucket,
               gsize        n)
{
  if (bucket->rate > 0)
    bucket->tokens = MIN (bucket_capacity (bucket), bucket->tokens + (double) n);
}

struct _FcTusBodyStream
{
  GInputStream  parent_instance;

  GBytes       *bytes;     /* the chunk in memory, or NULL */
  GInputStream *base;      /* or the file, at the chunk's offset */
  guint64       length;
  guint64       position;
  FcTusBucket  *bucket;
};

G_DEFINE_FINAL_TYPE (FcTusBodyStream, fc_tus_body_stream, G_TYPE_INPUT_STREAM)

/* Failures of the file itself, in FC_ERROR so that the uploader does not
 * take them for the network (libsoup also reports a cut connection as
 * G_IO_ERROR_PARTIAL_INPUT). */
static GError *
file_error (FcTusBodyStream *self,
            const GError    *cause)
{
  if (cause == NULL)
    return g_error_new (FC_ERROR, FC_ERROR_CONFLICT,
                        "The video ended %" G_GUINT64_FORMAT " bytes early: it changed "
                        "while it was being uploaded and will be uploaded again",
                        self->length - self->position);
  return g_error_new (FC_ERROR, FC_ERROR_FAILED, "Cannot read the video: %s", cause->message);
}

typedef struct {
  void    *buffer;
  gsize    count;
  gsize    granted;
  GSource *timeout;
  GSource *cancelled;
} ReadData;

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
read_data_free (ReadData *data)
{
  clear_source (&data->timeout);
  clear_source (&data->cancelled);
  g_free (data);
}

static void try_read (GTask *task);

static gboolean
wake_cb (gpointer user_data)
{
  GTask *task = user_data;
  ReadData *data = g_task_get_task_data (task);

  clear_source (&data->timeout);
  clear_source (&data->cancelled);
  try_read (task);
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  return wake_cb (user_data);
}

static void
base_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcTusBodyStream *self = g_task_get_source_object (task);
  ReadData *data = g_task_get_task_data (task);
  GError *error = NULL;
  gssize nread;

  nread = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (nread < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          GError *mapped = file_error (self, error);

          g_error_free (error);
          error = mapped;
        }
      g_task_return_error (task, error);
      return;
    }
  if (nread == 0)
    {
      g_task_return_error (task, file_error (self, NULL));
      return;
    }
  bucket_refund (self->bucket, data->granted - (gsize) nread);
  self->position += (guint64) nread;
  g_task_return_int (task, nread);
}

static void
try_read (GTask *task)
{
  FcTusBodyStream *self = g_task_get_source_object (task);
  ReadData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint wait_ms;
  gsize want;
  gsize n;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  want = (gsize) MIN ((guint64) data->count, self->length - self->position);
  if (want == 0)
    {
      g_task_return_int (task, 0);
      g_object_unref (task);
      return;
    }

  n = bucket_take (self->bucket, want, &wait_ms);
  if (n == 0)
    {
      GMainContext *context = g_task_get_context (task);

      data->timeout = g_timeout_source_new (wait_ms);
      g_source_set_callback (data->timeout, wake_cb, task, NULL);
      g_source_attach (data->timeout, context);
      if (cancellable != NULL)
        {
          data->cancelled = g_cancellable_source_new (cancellable);
          g_source_set_callback (data->cancelled, G_SOURCE_FUNC (cancelled_cb), task, NULL);
          g_source_attach (data->cancelled, context);
        }
      return;
    }

  if (self->bytes != NULL)
    {
      const guint8 *bytes = g_bytes_get_data (self->bytes, NULL);

      memcpy (data->buffer, bytes + self->position, n);
      self->position += n;
      g_task_return_int (task, (gssize) n);
      g_object_unref (task);
      return;
    }

  data->granted = n;
  g_input_stream_read_async (self->base, data->buffer, n, g_task_get_priority (task),
                             cancellable, base_read_cb, task);
}

static void
fc_tus_body_stream_read_async (GInputStream        *stream,
                               void                *buffer,
                               gsize                count,
                               int                  io_priority,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  ReadData *data;

  task = g_task_new (stream, cancellable, callback, user_data);
  g_task_set_source_tag (task, fc_tus_body_stream_read_async);
  g_task_set_priority (task, io_priority);
  data = g_new0 (ReadData, 1);
  data->buffer = buffer;
  data->count = count;
  g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);
  try_read (task);
}

static gssize
fc_tus_body_stream_read_finish (GInputStream  *stream,
                                GAsyncResult  *result,
                                GError       **error)
{
  return g_task_propagate_int (G_TASK (result), error);
}

/* Blocking reads are for callers outside the main loop; libsoup's
 * asynchronous sends use read_async above, which is where the cap is
 * kept. */
static gssize
fc_tus_body_stream_read (GInputStream  *stream,
                         void          *buffer,
                         gsize          count,
                         GCancellable  *cancellable,
                         GError       **error)
{
  FcTusBodyStream *self = FC_TUS_BODY_STREAM (stream);
  gsize want = (gsize) MIN ((guint64) count, self->length - self->position);
  gssize nread;

  if (want == 0)
    return 0;
  if (self->bytes != NULL)
    {
      const guint8 *bytes = g_bytes_get_data (self->bytes, NULL);

      memcpy (buffer, bytes + self->position, want);
      self->position += want;
      return (gssize) want;
    }
  nread = g_input_stream_read (self->base, buffer, want, cancellable, error);
  if (nread == 0)
    {
      g_propagate_error (error, file_error (self, NULL));
      return -1;
    }
  if (nread > 0)
    self->position += (guint64) nread;
  return nread;
}

static gboolean
fc_tus_body_stream_close (GInputStream  *stream,
                          GCancellable  *cancellable,
                          GError       **error)
{
  FcTusBodyStream *self = FC_TUS_BODY_STREAM (stream);

  if (self->base != NULL)
    return g_input_stream_close (self->base, cancellable, error);
  return TRUE;
}

static void
fc_tus_body_stream_finalize (GObject *object)
{
  FcTusBodyStream *self = FC_TUS_BODY_STREAM (object);

  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_object (&self->base);
  g_clear_pointer (&self->bucket, fc_tus_bucket_unref);

  G_OBJECT_CLASS (fc_tus_body_stream_parent_class)->finalize (object);
}

static void
fc_tus_body_stream_class_init (FcTusBodyStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = fc_tus_body_stream_finalize;
  stream_class->read_fn = fc_tus_body_stream_read;
  stream_class->read_async = fc_tus_body_stream_read_async;
  stream_class->read_finish = fc_tus_body_stream_read_finish;
  stream_class->close_fn = fc_tus_body_stream_close;
}

static void
fc_tus_body_stream_init (FcTusBodyStream *self)
{
}

GInputStream *
fc_tus_body_stream_new_for_bytes (GBytes      *bytes,
                                  FcTusBucket *bucket)
{
  FcTusBodyStream *self;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (bucket != NULL, NULL);

  self = g_object_new (FC_TYPE_TUS_BODY_STREAM, NULL);
  self->bytes = g_bytes_ref (bytes);
  self->length = g_bytes_get_size (bytes);
  self->bucket = fc_tus_bucket_ref (bucket);
  return G_INPUT_STREAM (self);
}

GInputStream *
fc_tus_body_stream_new_for_stream (GInputStream *base,
                                   guint64       length,
                                   FcTusBucket  *bucket)
{
  FcTusBodyStream *self;

  g_return_val_if_fail (G_IS_INPUT_STREAM (base), NULL);
  g_return_val_if_fail (bucket != NULL, NULL);

  self = g_object_new (FC_TYPE_TUS_BODY_STREAM, NULL);
  self->base = g_object_ref (base);
  self->length = length;
  self->bucket = fc_tus_bucket_ref (bucket);
  return G_INPUT_STREAM (self);
}
