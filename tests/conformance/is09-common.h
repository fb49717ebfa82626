/* Shared helpers of the IS09 conformance and benchmark programs: a small
 * 16-bit PCM WAV reader and a CSV row parser. */
#ifndef IS09_COMMON_H
#define IS09_COMMON_H

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 16-bit PCM mono WAV -> int16 samples; NULL on error */
static inline gint16 *
is09_read_wav (const char *path, gsize * n_samples, int *rate)
{
  gchar *data = NULL;
  gsize len = 0, pos = 12;
  gint16 *out = NULL;
  int channels = 0, bits = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  if (len < 12 || memcmp (data, "RIFF", 4) || memcmp (data + 8, "WAVE", 4))
    goto done;
  while (pos + 8 <= len) {
    guint32 sz;
    memcpy (&sz, data + pos + 4, 4);
    sz = GUINT32_FROM_LE (sz);
    if (!memcmp (data + pos, "fmt ", 4) && pos + 8 + 16 <= len) {
      guint16 ch, b;
      guint32 r;
      memcpy (&ch, data + pos + 10, 2);
      memcpy (&r, data + pos + 12, 4);
      memcpy (&b, data + pos + 22, 2);
      channels = GUINT16_FROM_LE (ch);
      *rate = (int) GUINT32_FROM_LE (r);
      bits = GUINT16_FROM_LE (b);
    } else if (!memcmp (data + pos, "data", 4)) {
      gsize n = MIN ((gsize) sz, len - pos - 8) / 2;
      if (channels != 1 || bits != 16)
        goto done;
      out = g_new (gint16, MAX (n, 1));
      memcpy (out, data + pos + 8, n * 2);
      for (gsize i = 0; i < n; i++)
        out[i] = GINT16_FROM_LE (out[i]);
      *n_samples = n;
      goto done;
    }
    pos += 8 + sz + (sz & 1);
  }
done:
  g_free (data);
  return out;
}

/* split one CSV line into doubles after skipping `skip` leading fields;
 * returns the number of values parsed */
static inline int
is09_parse_row (const char *line, int skip, double *vals, int max)
{
  gchar **f = g_strsplit (line, ",", -1);
  int n = 0;
  for (int i = skip; f[i] && n < max; i++)
    vals[n++] = g_ascii_strtod (f[i], NULL);
  g_strfreev (f);
  return n;
}

#endif
