/* IS09 conformance against openSMILE (../shared/reference/is09):
 *  - the 384 functionals of all 15 reference files at 16 kHz
 *    (reference_is09.csv) and of the same files resampled to 8, 22.05,
 *    44.1 and 48 kHz, each analysed at its own rate
 *    (rates/reference_is09_rates.csv, 60 files), exact float32 values
 *    printed with %.9g;
 *  - per-frame smoothed LLDs and deltas (N+1 rows) of three 16 kHz files
 *    and of four files of rates/, raw LLDs of the three 16 kHz files;
 *  - the frame, step and FFT sizes openSMILE derives at every rate it
 *    accepts (8, 11.025, 16, 22.05, 32, 44.1, 48 kHz).
 *
 * Error measures (docs/is09.md, "Conformance"):
 *  - agreement per rate: the relative error of every value with the
 *    denominator max(|ref|, 1 % of the feature's range over the rate's
 *    files); at least 99 % of the values within 1e-3 and a median error of
 *    at most 1e-5, at every rate;
 *  - each file: relative error with the denominator max(|ref|, floor),
 *    floor = 1e-3 of the largest |ref| of the vector (the measure of the
 *    reference's own cross-check), <= 1e-4. Skewness and kurtosis divide
 *    by stddev^3 / stddev^4, so LLD noise e (measured below: <= 2e-6 of
 *    the contour's level) grows to about 3 e / stddev: their tolerance is
 *    (1e-4 + 3e-5 * level / stddev) * max(1, |ref|), which is 1e-4 for
 *    well-spread contours and large only for near-constant ones (the
 *    voicing probability of a pure tone, stddev = 2e-5 of its level).
 *    maxPos / minPos may differ only at a tie: where our contour's value at
 *    the reference's position is within 1e-4 of the contour's level of our
 *    extreme (a flat contour, e.g. the deltas of a square wave, whose
 *    extreme is decided by float noise);
 *  - the functionals of the reference's own LLD rows (0..N-3) must match
 *    within 1e-6 everywhere: this isolates the streaming formulation;
 *  - RMS energy, ZCR and F0 rows (raw and smoothed): bit-exact float32;
 *    voiceProb: relative (floor 1e-3 of the column maximum) <= 1e-4;
 *  - MFCCs and all deltas: |ours - ref| <= 1e-4 * max|column|. MFCCs and
 *    deltas cross zero and their float noise is absolute (FFT rounding of
 *    low-energy bins amplified by the log), so they are measured at their
 *    column's scale; a delta at the larger of its own column's and its
 *    smoothed contour's scale, whose rounding noise it carries.
 * Through GStreamer: `filesrc ! decodebin ! audioconvert ! affectis09
 * location=out.csv` on five 16 kHz files and two files per other rate; the
 * CSV rows must be bit-identical to the library's vectors (the default
 * input-scale restores openSMILE's s/32767) and so meet the same
 * tolerances.
 * Skips (exit 77) when the reference directory is absent; the rates part
 * is skipped with a message when rates/ is absent.
 */
#include <math.h>
#include <gst/gst.h>
#include <glib/gstdio.h>

#include "affect/is09.h"
#include "is09-common.h"

#define TOL_FUNC 1e-4
#define TOL_LLD 1e-4
#define TOL_FROM_LLD 1e-6
#define SHARE_WITHIN 1e-3       /* agreement per rate: share of values ... */
#define MIN_SHARE 0.99          /* ... within 1e-3 */
#define MAX_MEDIAN 1e-5

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

/* rates/: every file at every rate; the element on two files per rate */
static const int other_rates[] = { 8000, 22050, 44100, 48000, 0 };

static const char *rate_element_files[] = {
  "sp01_en_default", "syn06_tone440_short", NULL
};

static const char *rate_lld_files[] = {
  "sp01_en_default_22050", "sp01_en_default_44100",
  "sp03_engb_p80_s220_8000", "syn05_square150_48000", NULL
};

/* openSMILE's sizes: frame round(0.025 fs), step round(0.010 fs) (half away
 * from zero: 220.5 -> 221, 1102.5 -> 1103), FFT the next power of two */
static const struct
{
  int rate, frame, step, fft;
} sizes[] = {
  {8000, 200, 80, 256}, {11025, 276, 110, 512}, {16000, 400, 160, 512},
  {22050, 551, 221, 1024}, {32000, 800, 320, 1024},
  {44100, 1103, 441, 2048}, {48000, 1200, 480, 2048}, {0, 0, 0, 0}
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

/* maxPos (fn 3) or minPos (fn 4) of contour j at the reference's position
 * instead of ours: a tie if our contour's value there is within TOL_LLD of
 * the contour's level of our extreme (rows: our LLD rows, 32 per row) */
static gboolean
is_position_tie (const GArray * rows, const float *ours, const double *ref,
    int contour, int fn)
{
  const double *lvl = ref + (contour % AFFECT_IS09_N_LLD)
      * AFFECT_IS09_N_FUNCTIONALS;
  double level = MAX (fabs (lvl[0]), fabs (lvl[1]));
  double pos = ref[contour * AFFECT_IS09_N_FUNCTIONALS + fn];
  double extreme = ours[contour * AFFECT_IS09_N_FUNCTIONALS + fn - 3];
  float v;

  if (!rows || pos < 0 || pos != floor (pos)
      || pos >= rows->len / AFFECT_IS09_N_CONTOURS)
    return FALSE;
  v = g_array_index (rows, float, (guint) pos * AFFECT_IS09_N_CONTOURS
      + contour);
  return fabs (v - extreme) <= TOL_LLD * level;
}

/* rows: our LLD rows of this file (for ties of maxPos/minPos), or NULL */
static void
check_functionals (const char *name, const float *ours, const double *ref,
    double tol, gboolean scaled_moments, const GArray * rows)
{
  const char *const *names = affect_is09_feature_names ();
  double vmax = 0, worst = 0, worst_sk = 0;
  int worst_i = -1, i, ties = 0;

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
    if ((fn == 3 || fn == 4) && err > tol
        && is_position_tie (rows, ours, ref, contour, fn)) {
      ties++;
      continue;
    }
    if (err > worst) {
      worst = err;
      worst_i = i;
    }
  }
  printf ("%-28s max rel %.3g%s%s; skew/kurt err/tol %.3g", name, worst,
      worst_i >= 0 ? " at " : "", worst_i >= 0 ? names[worst_i] : "", worst_sk);
  if (ties)
    printf ("; %d extreme position%s at a tie", ties, ties > 1 ? "s" : "");
  printf ("%s\n", worst > tol || worst_sk > 1.0 ? "  FAIL" : "");
  if (worst > tol || worst_sk > 1.0)
    failures++;
}

/* the reference's LLD CSV: `header` lines, then rows of `skip` leading
 * columns (frame index, time) and the 32 values */
static void
check_lld (const char *name, const char *path, int header, int skip,
    GArray * rows, guint64 n_frames, const double *ref_func)
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
  double overall = 0, worst_mfcc_de = 0;
  int overall_j = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    printf ("  cannot read %s\n", path);
    failures++;
    return;
  }
  lines = g_strsplit (text, "\n", -1);
  for (r = header; lines[r] && lines[r][0]; r++) {
    is09_parse_row (lines[r], skip, ref, AFFECT_IS09_N_CONTOURS);
    for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
      colmax[j] = MAX (colmax[j], fabs (ref[j]));
    n_ref++;
  }
  /* the functionals of the reference's rows 0..max(N-2,1)-1 */
  for (r = 0; r < MAX (n_ref - 3, 1); r++) {
    float row[AFFECT_IS09_N_CONTOURS];
    is09_parse_row (lines[r + header], skip, ref, AFFECT_IS09_N_CONTOURS);
    for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
      row[j] = (float) ref[j];
    affect_is09_functionals_add (func, row);
  }
  affect_is09_functionals_compute (func, from_lld);
  affect_is09_functionals_free (func);
  label = g_strdup_printf ("%s (ref. LLD)", name);
  if (ref_func)
    check_functionals (label, from_lld, ref_func, TOL_FROM_LLD, FALSE, NULL);
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
    is09_parse_row (lines[r + header], skip, ref, AFFECT_IS09_N_CONTOURS);
    for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++) {
      double den, err;
      if (j == 0 || j == 13 || j == 15) {
        /* RMS, ZCR, F0 smoothed: float-exact */
        if ((float) ref[j] != ours[j])
          inexact++;
      }
      if (j == 14 || j == 15)
        den = MAX (fabs (ref[j]), 1e-3 * colmax[j]);
      else if (j >= AFFECT_IS09_N_LLD)
        /* a delta's rounding noise is that of the smoothed values it
         * subtracts: measured at their scale (the deltas of a steady
         * square wave are nothing but that noise) */
        den = MAX (colmax[j], colmax[j - AFFECT_IS09_N_LLD]);
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
    if (j != 0 && j != 13 && j != 14 && j != 15)
      worst_mfcc_de = MAX (worst_mfcc_de, worst[j]);
  }
  printf ("%-28s LLD rows %d, max err %.3g at %s; voiceProb rel %.3g; "
      "MFCC/deltas %.3g; RMS/ZCR/F0 inexact %d%s\n", name, n_ref, overall,
      lld_names[overall_j], worst[14], worst_mfcc_de, inexact,
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
  printf ("%-28s raw frames %d: RMS/ZCR inexact %d, MFCC max abs %.3g, "
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

/* the reference files of one directory: <dir>/wav/<name>.wav, the
 * functionals' CSV lines, <dir>/lld/<name>.lld_exact.csv */
typedef struct
{
  const char *dir;
  gchar **csv_lines;
  int lld_header, lld_skip;     /* 1, 2 at 16 kHz; 0, 0 in rates/ */
  gboolean raw;                 /* <name>.raw_unsmoothed_lld_exact.csv */
} RefSet;

#define MAX_PLANS 8
static AffectIs09Plan *plans[MAX_PLANS];

static AffectIs09Plan *
plan_for_rate (int rate)
{
  int i;
  for (i = 0; i < MAX_PLANS && plans[i]; i++)
    if (affect_is09_plan_get_rate (plans[i]) == rate)
      return plans[i];
  g_assert (i < MAX_PLANS);
  plans[i] = affect_is09_plan_new (rate, NULL);
  return plans[i];
}

/* the CSV line of `name`, or NULL */
static const char *
find_row (gchar ** lines, const char *name)
{
  for (int l = 1; lines[l]; l++)
    if (g_str_has_prefix (lines[l], name) && lines[l][strlen (name)] == ',')
      return lines[l];
  return NULL;
}

static gboolean
in_list (const char *const *list, const char *name)
{
  for (int l = 0; list[l]; l++)
    if (!strcmp (list[l], name))
      return TRUE;
  return FALSE;
}

/* One file at `rate` through the library (odd chunk sizes: the result must
 * not depend on buffering), its functionals against the reference, and
 * optionally through the element and per frame. Our vector and the
 * reference's are stored in ours / ref; FALSE if either is missing. */
static gboolean
check_file (const RefSet * set, const char *name, int rate,
    gboolean element, gboolean lld, float *ours, double *ref)
{
  gchar *wav = g_strdup_printf ("%s/wav/%s.wav", set->dir, name);
  const char *line = find_row (set->csv_lines, name);
  LldSink sink = { g_array_new (FALSE, FALSE, sizeof (float)) };
  AffectIs09 *is09;
  gsize n = 0;
  int file_rate = 0;
  gint16 *pcm = is09_read_wav (wav, &n, &file_rate);
  float *x;
  guint64 n_frames;
  gboolean ok = FALSE;

  if (!pcm || file_rate != rate) {
    printf ("%s: cannot read a %d Hz 16-bit mono WAV  FAIL\n", wav, rate);
    failures++;
    goto done;
  }
  is09 = affect_is09_new (plan_for_rate (rate));
  x = g_new (float, MAX (n, 1));
  /* openSMILE's int16 -> float conversion */
  for (gsize i = 0; i < n; i++)
    x[i] = (float) pcm[i] / 32767.0f;
  affect_is09_set_lld_func (is09, collect_lld, &sink);
  for (gsize i = 0; i < n; i += 1237)
    affect_is09_push (is09, x + i, MIN (1237, n - i));
  n_frames = affect_is09_get_n_frames (is09);
  affect_is09_finish (is09, ours);
  affect_is09_free (is09);
  g_free (x);

  if (!line) {
    printf ("%s: not in the reference CSV  FAIL\n", name);
    failures++;
    goto done;
  }
  is09_parse_row (line, 1, ref, AFFECT_IS09_N_FEATURES);
  /* the reference's float32 values exactly (%.9g read as a double is the
   * decimal, not the float) */
  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
    ref[i] = (float) ref[i];
  check_functionals (name, ours, ref, TOL_FUNC, TRUE, sink.rows);
  ok = TRUE;

  if (element) {
    float el[AFFECT_IS09_N_FEATURES];
    gchar *label = g_strdup_printf ("%s (element)", name);
    if (!run_element (wav, name, el)) {
      printf ("%s: pipeline failed  FAIL\n", label);
      failures++;
    } else {
      int differ = 0;
      for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
        differ += el[i] != ours[i];
      check_functionals (label, el, ref, TOL_FUNC, TRUE, sink.rows);
      printf ("%-28s element vs library: %d of 384 values differ%s\n",
          name, differ, differ ? "  FAIL" : "");
      failures += differ > 0;
    }
    g_free (label);
  }
  if (lld) {
    gchar *p = g_strdup_printf ("%s/lld/%s.lld_exact.csv", set->dir, name);
    check_lld (name, p, set->lld_header, set->lld_skip, sink.rows, n_frames,
        ref);
    g_free (p);
    if (set->raw) {
      p = g_strdup_printf ("%s/lld/%s.raw_unsmoothed_lld_exact.csv",
          set->dir, name);
      check_raw (name, p, pcm, n, plan_for_rate (rate));
      g_free (p);
    }
  }
done:
  g_array_free (sink.rows, TRUE);
  g_free (pcm);
  g_free (wav);
  return ok;
}

/* agreement of one rate's files: >= 99 % of the values within 1e-3
 * (floor 1 % of the feature's range over the files), median <= 1e-5 */
static void
check_agreement (int rate, const float *ours, const double *ref, int n,
    int expected)
{
  const char *const *names = affect_is09_feature_names ();
  double share, median, worst;
  int worst_i;
  gboolean bad;

  is09_agreement (ours, ref, n, AFFECT_IS09_N_FEATURES, SHARE_WITHIN,
      &share, &median, &worst, &worst_i);
  bad = n != expected || share < MIN_SHARE || median > MAX_MEDIAN;
  printf ("%5d Hz, %d of %d files: %.3f %% of values within %g, median "
      "rel. error %.3g, worst %.3g (%s)%s\n", rate, n, expected,
      100.0 * share, SHARE_WITHIN, median, worst,
      worst_i >= 0 ? names[worst_i % AFFECT_IS09_N_FEATURES] : "-",
      bad ? "  FAIL" : "");
  failures += bad;
}

static gboolean
check_header (const char *line, const char *what)
{
  gchar **hdr = g_strsplit (line, ",", -1);
  const char *const *names = affect_is09_feature_names ();
  gboolean ok = TRUE;
  for (int k = 0; k < AFFECT_IS09_N_FEATURES; k++) {
    if (!hdr[k + 1] || strcmp (hdr[k + 1], names[k])) {
      printf ("%s: feature name %d: reference %s, ours %s  FAIL\n", what, k,
          hdr[k + 1], names[k]);
      failures++;
      ok = FALSE;
      break;
    }
  }
  g_strfreev (hdr);
  return ok;
}

int
main (int argc, char **argv)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  const int n_files = G_N_ELEMENTS (files) - 1;
  gchar *dir, *rates_dir, *csv_path, *csv = NULL, *rates_csv = NULL;
  float *ours = g_new (float, n_files * AFFECT_IS09_N_FEATURES);
  double *ref = g_new (double, n_files * AFFECT_IS09_N_FEATURES);
  RefSet set;
  int k, n;

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
  gst_init (&argc, &argv);

  /* the sizes openSMILE derives at every rate it accepts */
  for (k = 0; sizes[k].rate; k++) {
    AffectIs09Plan *p = plan_for_rate (sizes[k].rate);
    int fr = affect_is09_plan_get_frame_size (p);
    int st = affect_is09_plan_get_frame_step (p);
    int ff = affect_is09_plan_get_fft_size (p);
    gboolean bad = fr != sizes[k].frame || st != sizes[k].step
        || ff != sizes[k].fft;
    printf ("%5d Hz: frame %d, step %d, FFT %d%s\n", sizes[k].rate, fr, st,
        ff, bad ? "  FAIL" : "");
    failures += bad;
  }

  /* 16 kHz */
  set.dir = dir;
  set.csv_lines = g_strsplit (csv, "\n", -1);
  set.lld_header = 1;
  set.lld_skip = 2;
  set.raw = TRUE;
  check_header (set.csv_lines[0], "reference_is09.csv");
  for (k = n = 0; files[k]; k++)
    n += check_file (&set, files[k], 16000, in_list (element_files, files[k]),
        in_list (lld_files, files[k]), ours + n * AFFECT_IS09_N_FEATURES,
        ref + n * AFFECT_IS09_N_FEATURES);
  check_agreement (16000, ours, ref, n, n_files);
  g_strfreev (set.csv_lines);

  /* 8, 22.05, 44.1, 48 kHz: each file analysed at its own rate */
  rates_dir = g_build_filename (dir, "rates", NULL);
  g_free (csv_path);
  csv_path = g_build_filename (rates_dir, "reference_is09_rates.csv", NULL);
  if (!g_file_get_contents (csv_path, &rates_csv, NULL, NULL)) {
    printf ("SKIP (other rates): no reference at %s\n", csv_path);
  } else {
    set.dir = rates_dir;
    set.csv_lines = g_strsplit (rates_csv, "\n", -1);
    set.lld_header = 0;
    set.lld_skip = 0;
    set.raw = FALSE;
    check_header (set.csv_lines[0], "reference_is09_rates.csv");
    for (int r = 0; other_rates[r]; r++) {
      for (k = n = 0; files[k]; k++) {
        gchar *name = g_strdup_printf ("%s_%d", files[k], other_rates[r]);
        n += check_file (&set, name, other_rates[r],
            in_list (rate_element_files, files[k]),
            in_list (rate_lld_files, name),
            ours + n * AFFECT_IS09_N_FEATURES,
            ref + n * AFFECT_IS09_N_FEATURES);
        g_free (name);
      }
      check_agreement (other_rates[r], ours, ref, n, n_files);
    }
    g_strfreev (set.csv_lines);
  }

  for (k = 0; k < MAX_PLANS; k++)
    affect_is09_plan_free (plans[k]);
  g_free (ours);
  g_free (ref);
  g_free (csv);
  g_free (rates_csv);
  g_free (csv_path);
  g_free (rates_dir);
  g_free (dir);
  printf ("%s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
