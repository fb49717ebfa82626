/* IS09 conformance against openSMILE (../shared/reference/is09):
 *  - the 384 functionals of all 15 reference files (reference_is09.csv,
 *    exact float32 values printed with %.9g);
 *  - per-frame smoothed LLDs and deltas (lld/<name>.lld_exact.csv, N+1 rows)
 *    and raw LLDs (lld/<name>.raw_unsmoothed_lld_exact.csv) of three files.
 *
 * Error measures (docs/is09.md, "Conformance"):
 *  - functionals: relative error with the denominator max(|ref|, floor),
 *    floor = 1e-3 of the largest |ref| of the vector (the measure of the
 *    reference's own cross-check), <= 1e-4. Skewness and kurtosis divide
 *    by stddev^3 / stddev^4, so LLD noise e (measured below: <= 2e-6 of
 *    the contour's level) grows to about 3 e / stddev: their tolerance is
 *    (1e-4 + 3e-5 * level / stddev) * max(1, |ref|), which is 1e-4 for
 *    well-spread contours and large only for near-constant ones (the
 *    voicing probability of a pure tone, stddev = 2e-5 of its level);
 *  - the functionals of the reference's own LLD rows (0..N-3) must match
 *    within 1e-6 everywhere: this isolates the streaming formulation;
 *  - RMS energy, ZCR and F0 rows (raw and smoothed): bit-exact float32;
 *    voiceProb: relative (floor 1e-3 of the column maximum) <= 1e-4;
 *  - MFCCs and all deltas: |ours - ref| <= 1e-4 * max|column|. MFCCs and
 *    deltas cross zero and their float noise is absolute (FFT rounding of
 *    low-energy bins amplified by the log), so they are measured at their
 *    column's scale.
 * Through GStreamer: `filesrc ! decodebin ! audioconvert ! affectis09
 * location=out.csv` on five files; the CSV rows must be bit-identical to the
 * library's vectors (the default input-scale restores openSMILE's s/32767)
 * and so meet the same tolerances.
 * Skips (exit 77) when the reference directory is absent.
 */
#include <math.h>
#include <gst/gst.h>
#include <glib/gstdio.h>

#include "affect/is09.h"
#include "is09-common.h"

#define TOL_FUNC 1e-4
#define TOL_LLD 1e-4
#define TOL_FROM_LLD 1e-6

static const char *files[] = {
  "sp01_en_default", "sp02_enus_p20_s140", "sp03_engb_p80_s220",
  "sp04_en_f3_a40", "sp05_de_p60_s160", "sp06_en_m3_a200_s100",
  "sp07_fr_p35_s180", "sp08_en_whisper", "sp09_en_short_hi",
  "syn01_sweep_100_4000", "syn02_whitenoise", "syn03_silence",
  "syn04_tone220", "syn05_square150", "syn06_tone440_short", NULL
};

static const char *element_files[] = {
  "sp01_en_default", "sp06_en_m3_a200_s100", "sp09_en_short_hi",
  "syn04_tone220", "syn06_tone440_short", NULL
};

static const char *lld_files[] = {
  "sp01_en_default", "sp03_engb_p80_s220", "syn05_square150", NULL
};

typedef struct
{
  GArray *rows;                 /* floats, 32 per row */
} LldSink;

static void
collect_lld (guint64 row, const float *v, gpointer data)
{
  LldSink *s = data;
  g_array_append_vals (s->rows, v, AFFECT_IS09_N_CONTOURS);
}

static int failures;

/* tolerance of skewness / kurtosis: LLD noise divided by stddev */
static double
moment_tolerance (const double *ref, int contour)
{
  /* a delta contour's level is that of its smoothed contour */
  const double *lvl = ref + (contour % AFFECT_IS09_N_LLD)
      * AFFECT_IS09_N_FUNCTIONALS;
  double stddev = ref[contour * AFFECT_IS09_N_FUNCTIONALS + 9];
  double level = MAX (fabs (lvl[0]), fabs (lvl[1]));
  return stddev > 0 ? 1e-4 + 3e-5 * level / stddev : 1e-4;
}

static void
check_functionals (const char *name, const float *ours, const double *ref,
    double tol, gboolean scaled_moments)
{
  const char *const *names = affect_is09_feature_names ();
  double vmax = 0, worst = 0, worst_sk = 0;
  int worst_i = -1, i;

  for (i = 0; i < AFFECT_IS09_N_FEATURES; i++)
    vmax = MAX (vmax, fabs (ref[i]));
  for (i = 0; i < AFFECT_IS09_N_FEATURES; i++) {
    int contour = i / AFFECT_IS09_N_FUNCTIONALS;
    int fn = i % AFFECT_IS09_N_FUNCTIONALS;
    double den = MAX (fabs (ref[i]), 1e-3 * vmax);
    double err = den > 0 ? fabs (ours[i] - ref[i]) / den : fabs (ours[i]);
    if (!isfinite (ours[i])) {
      printf ("  %s: %s is not finite\n", name, names[i]);
      failures++;
      continue;
    }
    if (fn >= 10 && scaled_moments) {
      /* reported as a fraction of its tolerance */
      double e = fabs (ours[i] - ref[i]) / MAX (1.0, fabs (ref[i]));
      worst_sk = MAX (worst_sk, e / moment_tolerance (ref, contour));
      continue;
    }
    if (err > worst) {
      worst = err;
      worst_i = i;
    }
  }
  printf ("%-22s max rel %.3g%s%s; skew/kurt err/tol %.3g%s\n", name, worst,
      worst_i >= 0 ? " at " : "", worst_i >= 0 ? names[worst_i] : "",
      worst_sk, worst > tol || worst_sk > 1.0 ? "  FAIL" : "");
  if (worst > tol || worst_sk > 1.0)
    failures++;
}

static void
check_lld (const char *name, const char *path, GArray * rows, guint64 n_frames,
    const double *ref_func)
{
  AffectIs09Functionals *func = affect_is09_functionals_new ();
  float from_lld[AFFECT_IS09_N_FEATURES];
  gchar *label;
  gchar *text = NULL;
  gchar **lines;
  double ref[AFFECT_IS09_N_CONTOURS], colmax[AFFECT_IS09_N_CONTOURS] = { 0 };
  double worst[AFFECT_IS09_N_CONTOURS] = { 0 };
  int n_ref = 0, r, j, inexact = 0;
  const char *const *lld_names = affect_is09_lld_names ();
  double overall = 0;
  int overall_j = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    printf ("  cannot read %s\n", path);
    failures++;
    return;
  }
  lines = g_strsplit (text, "\n", -1);
  for (r = 1; lines[r] && lines[r][0]; r++) {
    is09_parse_row (lines[r], 2, ref, AFFECT_IS09_N_CONTOURS);
    for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
      colmax[j] = MAX (colmax[j], fabs (ref[j]));
    n_ref++;
  }
  /* the functionals of the reference's rows 0..max(N-2,1)-1 */
  for (r = 0; r < MAX (n_ref - 3, 1); r++) {
    float row[AFFECT_IS09_N_CONTOURS];
    is09_parse_row (lines[r + 1], 2, ref, AFFECT_IS09_N_CONTOURS);
    for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
      row[j] = (float) ref[j];
    affect_is09_functionals_add (func, row);
  }
  affect_is09_functionals_compute (func, from_lld);
  affect_is09_functionals_free (func);
  label = g_strdup_printf ("%s (ref. LLD)", name);
  if (ref_func)
    check_functionals (label, from_lld, ref_func, TOL_FROM_LLD, FALSE);
  g_free (label);
  if ((guint) n_ref != rows->len / AFFECT_IS09_N_CONTOURS
      || (guint64) n_ref != n_frames + 1) {
    printf ("  %s: %d reference LLD rows, we have %u (N = %" G_GUINT64_FORMAT
        ")  FAIL\n", name, n_ref, rows->len / AFFECT_IS09_N_CONTOURS, n_frames);
    failures++;
  }
  for (r = 0; r < n_ref && (guint) r < rows->len / AFFECT_IS09_N_CONTOURS; r++) {
    const float *ours =
        &g_array_index (rows, float, r * AFFECT_IS09_N_CONTOURS);
    is09_parse_row (lines[r + 1], 2, ref, AFFECT_IS09_N_CONTOURS);
    for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++) {
      double den, err;
      if (j == 0 || j == 13 || j == 15) {
        /* RMS, ZCR, F0 smoothed: float-exact */
        if ((float) ref[j] != ours[j])
          inexact++;
      }
      if (j == 14 || j == 15)
        den = MAX (fabs (ref[j]), 1e-3 * colmax[j]);
      else
        den = colmax[j];
      err = den > 0 ? fabs (ours[j] - ref[j]) / den : fabs (ours[j]);
      worst[j] = MAX (worst[j], err);
    }
  }
  for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++) {
    if (worst[j] > overall) {
      overall = worst[j];
      overall_j = j;
    }
  }
  printf ("%-22s LLD rows %d, max err %.3g at %s; voiceProb rel %.3g; "
      "RMS/ZCR/F0 inexact %d%s\n", name, n_ref, overall,
      lld_names[overall_j], worst[14], inexact,
      overall > TOL_LLD || inexact ? "  FAIL" : "");
  if (overall > TOL_LLD || inexact)
    failures++;
  g_strfreev (lines);
  g_free (text);
}

/* raw (unsmoothed) RMS, MFCC, ZCR, voiceProb straight from the frame
 * analysis; RMS and ZCR must be bit-exact */
static void
check_raw (const char *name, const char *path, const gint16 * pcm, gsize n,
    AffectIs09Plan * plan)
{
  gchar *text = NULL;
  gchar **lines;
  int len = affect_is09_plan_get_frame_size (plan);
  int step = affect_is09_plan_get_frame_step (plan);
  float *frame = g_new (float, len);
  double ref[AFFECT_IS09_N_LLD], worst_mfcc = 0, worst_vp = 0;
  int r, i, j, inexact = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    printf ("  cannot read %s\n", path);
    failures++;
    g_free (frame);
    return;
  }
  lines = g_strsplit (text, "\n", -1);
  for (r = 0; lines[r + 1] && lines[r + 1][0]; r++) {
    AffectIs09Frame out;
    if ((gsize) (r * step + len) > n)
      break;
    for (i = 0; i < len; i++)
      frame[i] = (float) pcm[r * step + i] / 32767.0f;
    affect_is09_analyse_frame (plan, frame, &out);
    is09_parse_row (lines[r + 1], 2, ref, AFFECT_IS09_N_LLD);
    if ((float) ref[0] != out.lld[0] || (float) ref[13] != out.lld[13])
      inexact++;
    for (j = 1; j <= 12; j++)
      worst_mfcc = MAX (worst_mfcc, fabs (out.lld[j] - ref[j]));
    worst_vp = MAX (worst_vp, fabs (out.lld[14] - ref[14]));
  }
  printf ("%-22s raw frames %d: RMS/ZCR inexact %d, MFCC max abs %.3g, "
      "voiceProb max abs %.3g%s\n", name, r, inexact, worst_mfcc, worst_vp,
      inexact ? "  FAIL" : "");
  if (inexact)
    failures++;
  g_strfreev (lines);
  g_free (text);
  g_free (frame);
}

/* run the element on one file; the CSV row's values, or FALSE */
static gboolean
run_element (const char *wav, const char *name, float *out)
{
  gchar *tmpdir = g_dir_make_tmp ("is09-XXXXXX", NULL);
  gchar *csv = g_build_filename (tmpdir, "out.csv", NULL);
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! "
      "audioconvert ! audio/x-raw,format=F32LE,channels=1 ! affectis09 "
      "location=\"%s\" instance-name=%s ! fakesink", wav, csv, name);
  GError *err = NULL;
  GstElement *pipe = gst_parse_launch (desc, &err);
  GstMessage *msg;
  gboolean ok = FALSE;
  gchar *text = NULL;

  if (!pipe) {
    printf ("  %s: %s\n", desc, err->message);
    g_clear_error (&err);
    goto done;
  }
  if (err) {
    /* recoverable parse problem: report it, the run decides */
    printf ("  %s: %s\n", name, err->message);
    g_clear_error (&err);
  }
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipe), 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
    ok = TRUE;
  else if (msg) {
    gst_message_parse_error (msg, &err, NULL);
    printf ("  %s: %s\n", name, err->message);
    g_clear_error (&err);
  }
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  if (ok && g_file_get_contents (csv, &text, NULL, NULL)) {
    gchar **lines = g_strsplit (text, "\n", -1);
    double v[AFFECT_IS09_N_FEATURES];
    ok = lines[0] && lines[1] && g_str_has_prefix (lines[1], name)
        && is09_parse_row (lines[1], 1, v, AFFECT_IS09_N_FEATURES)
        == AFFECT_IS09_N_FEATURES;
    for (int i = 0; ok && i < AFFECT_IS09_N_FEATURES; i++)
      out[i] = (float) v[i];
    g_strfreev (lines);
    g_free (text);
  } else {
    ok = FALSE;
  }
  g_unlink (csv);
done:
  g_rmdir (tmpdir);
  g_free (desc);
  g_free (csv);
  g_free (tmpdir);
  return ok;
}

int
main (int argc, char **argv)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  gchar *dir, *csv_path, *csv = NULL;
  gchar **csv_lines;
  AffectIs09Plan *plan;
  AffectIs09 *is09;
  int k;

  if (!shared) {
    printf ("SKIP: AFFECT_SHARED_DIR is not set\n");
    return 77;
  }
  dir = g_build_filename (shared, "reference", "is09", NULL);
  csv_path = g_build_filename (dir, "reference_is09.csv", NULL);
  if (!g_file_get_contents (csv_path, &csv, NULL, NULL)) {
    printf ("SKIP: no IS09 reference at %s\n", csv_path);
    g_free (csv_path);
    g_free (dir);
    return 77;
  }
  csv_lines = g_strsplit (csv, "\n", -1);

  /* the reference header is our feature names */
  {
    gchar **hdr = g_strsplit (csv_lines[0], ",", -1);
    const char *const *names = affect_is09_feature_names ();
    for (k = 0; k < AFFECT_IS09_N_FEATURES; k++) {
      if (!hdr[k + 1] || strcmp (hdr[k + 1], names[k])) {
        printf ("feature name %d: reference %s, ours %s  FAIL\n", k,
            hdr[k + 1], names[k]);
        failures++;
        break;
      }
    }
    g_strfreev (hdr);
  }

  gst_init (&argc, &argv);
  plan = affect_is09_plan_new (16000, NULL);
  is09 = affect_is09_new (plan);
  for (k = 0; files[k]; k++) {
    gchar *wav = g_strdup_printf ("%s/wav/%s.wav", dir, files[k]);
    gsize n = 0;
    int rate = 0;
    gint16 *pcm = is09_read_wav (wav, &n, &rate);
    float *x, feat[AFFECT_IS09_N_FEATURES];
    double ref[AFFECT_IS09_N_FEATURES];
    LldSink sink = { g_array_new (FALSE, FALSE, sizeof (float)) };
    gboolean with_lld = FALSE;
    guint64 n_frames;
    int line;

    if (!pcm || rate != 16000) {
      printf ("%s: cannot read  FAIL\n", wav);
      failures++;
      g_free (wav);
      continue;
    }
    for (int l = 0; lld_files[l]; l++)
      with_lld |= !strcmp (lld_files[l], files[k]);
    x = g_new (float, n);
    /* openSMILE's int16 -> float conversion */
    for (gsize i = 0; i < n; i++)
      x[i] = (float) pcm[i] / 32767.0f;
    affect_is09_set_lld_func (is09, with_lld ? collect_lld : NULL, &sink);
    /* odd chunk sizes: the result must not depend on buffering */
    for (gsize i = 0; i < n; i += 1237)
      affect_is09_push (is09, x + i, MIN (1237, n - i));
    n_frames = affect_is09_get_n_frames (is09);
    affect_is09_finish (is09, feat);

    for (line = 1; csv_lines[line]; line++)
      if (g_str_has_prefix (csv_lines[line], files[k])
          && csv_lines[line][strlen (files[k])] == ',')
        break;
    if (!csv_lines[line]) {
      printf ("%s: not in reference_is09.csv  FAIL\n", files[k]);
      failures++;
    } else {
      is09_parse_row (csv_lines[line], 1, ref, AFFECT_IS09_N_FEATURES);
      check_functionals (files[k], feat, ref, TOL_FUNC, TRUE);
    }
    for (int l = 0; element_files[l] && csv_lines[line]; l++) {
      float el[AFFECT_IS09_N_FEATURES];
      gchar *label;
      if (strcmp (element_files[l], files[k]))
        continue;
      label = g_strdup_printf ("%s (element)", files[k]);
      if (!run_element (wav, files[k], el)) {
        printf ("%s: pipeline failed  FAIL\n", label);
        failures++;
      } else {
        int differ = 0;
        for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
          differ += el[i] != feat[i];
        check_functionals (label, el, ref, TOL_FUNC, TRUE);
        printf ("%-22s element vs library: %d of 384 values differ%s\n",
            files[k], differ, differ ? "  FAIL" : "");
        failures += differ > 0;
      }
      g_free (label);
    }
    if (with_lld) {
      gchar *p = g_strdup_printf ("%s/lld/%s.lld_exact.csv", dir, files[k]);
      gchar *q = g_strdup_printf ("%s/lld/%s.raw_unsmoothed_lld_exact.csv",
          dir, files[k]);
      check_lld (files[k], p, sink.rows, n_frames,
          csv_lines[line] ? ref : NULL);
      check_raw (files[k], q, pcm, n, plan);
      g_free (p);
      g_free (q);
    }
    g_array_free (sink.rows, TRUE);
    g_free (x);
    g_free (pcm);
    g_free (wav);
  }
  affect_is09_free (is09);
  affect_is09_plan_free (plan);
  g_strfreev (csv_lines);
  g_free (csv);
  g_free (csv_path);
  g_free (dir);
  printf ("%s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
