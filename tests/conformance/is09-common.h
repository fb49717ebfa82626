/* Shared helpers of the IS09 conformance and benchmark programs: a small
 * 16-bit PCM WAV reader, a CSV row parser and the agreement statistics
 * (share of values within a tolerance, median error). */
#ifndef IS09_COMMON_H
#define IS09_COMMON_H

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

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

/* Agreement of n vectors with their references, as the issue measures it:
 * the relative error of every value, with the denominator
 * max(|ref|, 1 % of the feature's range over the n references); the share
 * of values within `within` and the median error. ours and ref hold
 * n * dim values, one vector after another. */
static inline int
is09_cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static inline void
is09_agreement (const float *ours, const double *ref, int n, int dim,
    double within, double *share, double *median, double *worst,
    int *worst_index)
{
  double *err = g_new (double, (gsize) n * dim);
  gsize n_in = 0;
  *worst = 0;
  *worst_index = -1;
  for (int f = 0; f < dim; f++) {
    double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
    for (int k = 0; k < n; k++) {
      lo = MIN (lo, ref[(gsize) k * dim + f]);
      hi = MAX (hi, ref[(gsize) k * dim + f]);
    }
    for (int k = 0; k < n; k++) {
      gsize i = (gsize) k * dim + f;
      double d = fabs ((double) ours[i] - ref[i]);
      double den = MAX (fabs (ref[i]), 0.01 * (hi - lo));
      double e = den > 0 ? d / den : d;
      if (!isfinite (e))
        e = G_MAXDOUBLE;
      err[i] = e;
      n_in += e <= within;
      if (e > *worst) {
        *worst = e;
        *worst_index = (int) i;
      }
    }
  }
  qsort (err, (gsize) n * dim, sizeof (double), is09_cmp_double);
  *share = n > 0 ? (double) n_in / ((double) n * dim) : 0;
  *median = n > 0 ? ((n * dim) % 2 ? err[n * dim / 2]
      : 0.5 * (err[n * dim / 2 - 1] + err[n * dim / 2])) : 0;
  g_free (err);
}

#endif
