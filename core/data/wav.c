/* Minimal RIFF/WAVE I/O for the built-in corpora: 16-bit PCM out; 16-bit
 * PCM or 32-bit float in (what espeak-ng and our own writer produce). */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/synth.h"

static void
put_u32 (guint8 * p, guint32 v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static void
put_u16 (guint8 * p, guint16 v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
}

static guint32
get_u32 (const guint8 * p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((guint32) p[3] << 24);
}

static guint16
get_u16 (const guint8 * p)
{
  return p[0] | (p[1] << 8);
}

gboolean
affect_wav_write_s16 (const char *path, const float *samples, size_t n,
    int sample_rate, GError ** error)
{
  size_t bytes = 44 + 2 * n, i;
  guint8 *buf;
  gboolean ok;

  if (n > (G_MAXUINT32 - 44) / 2) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: %zu samples do not fit in a WAV file", path, n);
    return FALSE;
  }
  buf = g_malloc (bytes);
  memcpy (buf, "RIFF", 4);
  put_u32 (buf + 4, bytes - 8);
  memcpy (buf + 8, "WAVEfmt ", 8);
  put_u32 (buf + 16, 16);
  put_u16 (buf + 20, 1);        /* PCM */
  put_u16 (buf + 22, 1);        /* mono */
  put_u32 (buf + 24, sample_rate);
  put_u32 (buf + 28, sample_rate * 2);
  put_u16 (buf + 32, 2);
  put_u16 (buf + 34, 16);
  memcpy (buf + 36, "data", 4);
  put_u32 (buf + 40, 2 * n);
  for (i = 0; i < n; i++) {
    float x = samples[i];
    long v;

    if (!(x == x))
      x = 0.0f;                 /* NaN: write silence rather than garbage */
    x = CLAMP (x, -1.0f, 1.0f);
    v = lrintf (x * 32767.0f);
    put_u16 (buf + 44 + 2 * i, (guint16) (gint16) v);
  }
  ok = g_file_set_contents_full (path, (const char *) buf, bytes,
      G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
  g_free (buf);
  return ok;
}

float *
affect_wav_parse (const guint8 * data, size_t size, int *sample_rate,
    size_t *n, GError ** error)
{
  size_t pos = 12;
  int format = 0, channels = 0, bits = 0, rate = 0;
  float *out;
  size_t i, frames;

  if (size < 12 || memcmp (data, "RIFF", 4) != 0
      || memcmp (data + 8, "WAVE", 4) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "not a RIFF/WAVE file");
    return NULL;
  }
  while (pos + 8 <= size) {
    guint32 len = get_u32 (data + pos + 4);
    const guint8 *body = data + pos + 8;
    size_t avail = size - pos - 8;

    if (memcmp (data + pos, "fmt ", 4) == 0 && len >= 16 && avail >= 16) {
      format = get_u16 (body);
      channels = get_u16 (body + 2);
      rate = get_u32 (body + 4);
      bits = get_u16 (body + 14);
      if (format == 0xfffe && len >= 26 && avail >= 26)
        format = get_u16 (body + 24);   /* WAVE_FORMAT_EXTENSIBLE subformat */
    } else if (memcmp (data + pos, "data", 4) == 0) {
      /* streamed WAVs (espeak-ng --stdout) leave the length unknown */
      size_t bytes = MIN ((size_t) len, avail);
      int width = bits / 8;

      if (channels < 1 || rate <= 0 || !((format == 1 && bits == 16) ||
              (format == 3 && bits == 32))) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
            "unsupported WAV format %d, %d bits, %d channels", format, bits,
            channels);
        return NULL;
      }
      frames = bytes / (width * channels);
      out = g_new0 (float, MAX (frames, 1));
      for (i = 0; i < frames; i++) {
        double acc = 0.0;
        int c;

        for (c = 0; c < channels; c++) {
          const guint8 *p = body + (i * channels + c) * width;
          if (format == 1) {
            acc += (gint16) get_u16 (p) / 32768.0;
          } else {
            guint32 u = get_u32 (p);
            float f;
            memcpy (&f, &u, 4);
            acc += f;
          }
        }
        out[i] = (float) (acc / channels);
      }
      *sample_rate = rate;
      *n = frames;
      return out;
    }
    pos += 8 + (size_t) len + (len & 1);
  }
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
      "WAV file has no fmt/data chunk");
  return NULL;
}

float *
affect_wav_read (const char *path, int *sample_rate, size_t *n, GError ** error)
{
  gchar *contents = NULL;
  gsize len = 0;
  GError *err = NULL;
  float *out;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  out = affect_wav_parse ((const guint8 *) contents, len, sample_rate, n, &err);
  g_free (contents);
  if (out == NULL)
    g_propagate_prefixed_error (error, err, "%s: ", path);
  return out;
}
