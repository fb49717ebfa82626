/* IS09 streaming extractor: framing of the sample stream into 25 ms frames
 * every 10 ms (left-aligned, an incomplete last frame is dropped), input
 * sanitising, and the feature names / CSV layout of openSMILE.
 */
#include <math.h>
#include <string.h>

#include "is09-private.h"

typedef struct
{
  AffectIs09Contours *contours;
  guint64 start_frame;
} Is09Window;

struct _AffectIs09
{
  AffectIs09Plan *plan;
  AffectIs09Contours *contours;
  /* sliding windows: at most ceil(window / hop) + 1 active */
  guint64 win_samples, hop_frames, win_frames, next_start;
  GQueue active, pool;
  AffectIs09WindowFunc win_func;
  gpointer win_data;
  guint64 n_frames;
  double scale;
  float *buf;                   /* frame_size samples being filled */
  int fill;
  guint64 n_samples, n_invalid, n_clamped;
};

AffectIs09 *
affect_is09_new (AffectIs09Plan * plan)
{
  AffectIs09 *e = g_new0 (AffectIs09, 1);
  e->plan = plan;
  e->contours = affect_is09_contours_new ();
  e->scale = 1.0;
  e->buf = g_new0 (float, plan->frame_size);
  return e;
}

static void
window_free (gpointer data)
{
  Is09Window *w = data;
  affect_is09_contours_free (w->contours);
  g_free (w);
}

static void
windows_clear (AffectIs09 * e)
{
  Is09Window *w;
  while ((w = g_queue_pop_head (&e->active))) {
    affect_is09_contours_reset (w->contours);
    g_queue_push_tail (&e->pool, w);
  }
  e->next_start = 0;
}

void
affect_is09_free (AffectIs09 * e)
{
  if (!e)
    return;
  windows_clear (e);
  g_queue_clear_full (&e->pool, window_free);
  affect_is09_contours_free (e->contours);
  g_free (e->buf);
  g_free (e);
}

void
affect_is09_reset (AffectIs09 * e)
{
  affect_is09_contours_reset (e->contours);
  windows_clear (e);
  e->fill = 0;
  e->n_frames = 0;
  e->n_samples = e->n_invalid = e->n_clamped = 0;
}

gboolean
affect_is09_set_windows (AffectIs09 * e, guint64 window_samples,
    guint64 hop_samples, AffectIs09WindowFunc func, gpointer user_data)
{
  const guint64 len = e->plan->frame_size, step = e->plan->frame_step;

  windows_clear (e);
  e->win_samples = 0;
  if (window_samples == 0)
    return TRUE;
  if (window_samples < len)
    return FALSE;
  e->win_samples = window_samples;
  e->win_frames = (window_samples - len) / step + 1;
  /* windows start on the frame grid so that all share the frame analysis */
  e->hop_frames = MAX ((hop_samples + step / 2) / step, 1);
  e->win_func = func;
  e->win_data = user_data;
  return TRUE;
}

/* feed one analysed frame to every window that covers it */
static void
windows_push (AffectIs09 * e, const AffectIs09Frame * frame)
{
  const guint64 f = e->n_frames, step = e->plan->frame_step;
  float feat[AFFECT_IS09_N_FEATURES];
  Is09Window *w;
  GList *l;

  if (f == e->next_start) {
    w = g_queue_pop_head (&e->pool);
    if (!w) {
      w = g_new0 (Is09Window, 1);
      w->contours = affect_is09_contours_new ();
    }
    w->start_frame = f;
    g_queue_push_tail (&e->active, w);
    e->next_start += e->hop_frames;
  }
  for (l = e->active.head; l; l = l->next)
    affect_is09_contours_push (((Is09Window *) l->data)->contours, frame);
  /* the oldest window completes first */
  w = g_queue_peek_head (&e->active);
  if (w && f + 1 - w->start_frame == e->win_frames) {
    g_queue_pop_head (&e->active);
    affect_is09_contours_finish (w->contours, feat);
    if (e->win_func)
      e->win_func (w->start_frame * step, e->win_samples, TRUE, feat,
          e->win_data);
    g_queue_push_tail (&e->pool, w);
  }
}

void
affect_is09_set_input_scale (AffectIs09 * e, double scale)
{
  e->scale = scale;
}

void
affect_is09_set_lld_func (AffectIs09 * e, AffectIs09LldFunc func,
    gpointer user_data)
{
  affect_is09_contours_set_lld_func (e->contours, func, user_data);
}

void
affect_is09_push (AffectIs09 * e, const float *samples, gsize n)
{
  AffectIs09Plan *p = e->plan;
  const int len = p->frame_size, step = p->frame_step;
  AffectIs09Frame frame;
  gsize i;

  for (i = 0; i < n; i++) {
    /* scale in double so that s/32768 * (32768/32767) rounds to the same
     * float as openSMILE's s/32767 */
    float x = (float) ((double) samples[i] * e->scale);
    if (G_UNLIKELY (!isfinite (x))) {
      x = 0.0f;
      e->n_invalid++;
    } else if (G_UNLIKELY (fabsf (x) > AFFECT_IS09_CLAMP)) {
      x = x > 0.0f ? AFFECT_IS09_CLAMP : -AFFECT_IS09_CLAMP;
      e->n_clamped++;
    }
    e->buf[e->fill++] = x;
    if (e->fill == len) {
      affect_is09_analyse_frame (p, e->buf, &frame);
      affect_is09_contours_push (e->contours, &frame);
      if (e->win_samples)
        windows_push (e, &frame);
      e->n_frames++;
      memmove (e->buf, e->buf + step, sizeof (float) * (len - step));
      e->fill = len - step;
    }
  }
  e->n_samples += n;
}

guint64
affect_is09_get_n_frames (const AffectIs09 * e)
{
  return affect_is09_contours_get_n_frames (e->contours);
}

guint64
affect_is09_get_n_samples (const AffectIs09 * e)
{
  return e->n_samples;
}

guint64
affect_is09_get_n_invalid (const AffectIs09 * e)
{
  return e->n_invalid;
}

guint64
affect_is09_get_n_clamped (const AffectIs09 * e)
{
  return e->n_clamped;
}

gboolean
affect_is09_finish (AffectIs09 * e, float features[AFFECT_IS09_N_FEATURES])
{
  gboolean ok;
  Is09Window *w = g_queue_peek_head (&e->active);

  if (e->win_samples && w
      && affect_is09_contours_get_n_frames (w->contours) > 0) {
    float feat[AFFECT_IS09_N_FEATURES];
    guint64 start = w->start_frame * e->plan->frame_step;
    affect_is09_contours_finish (w->contours, feat);
    if (e->win_func)
      e->win_func (start, MIN (e->win_samples, e->n_samples - start), FALSE,
          feat, e->win_data);
  }
  ok = affect_is09_contours_finish (e->contours, features);
  affect_is09_reset (e);
  return ok;
}

/* ---- names ---- */

static const char *const contour_bases[AFFECT_IS09_N_LLD] = {
  "pcm_RMSenergy_sma", "pcm_fftMag_mfcc_sma[1]", "pcm_fftMag_mfcc_sma[2]",
  "pcm_fftMag_mfcc_sma[3]", "pcm_fftMag_mfcc_sma[4]",
  "pcm_fftMag_mfcc_sma[5]", "pcm_fftMag_mfcc_sma[6]",
  "pcm_fftMag_mfcc_sma[7]", "pcm_fftMag_mfcc_sma[8]",
  "pcm_fftMag_mfcc_sma[9]", "pcm_fftMag_mfcc_sma[10]",
  "pcm_fftMag_mfcc_sma[11]", "pcm_fftMag_mfcc_sma[12]", "pcm_zcr_sma",
  "voiceProb_sma", "F0_sma"
};

static const char *const functional_names[AFFECT_IS09_N_FUNCTIONALS] = {
  "max", "min", "range", "maxPos", "minPos", "amean", "linregc1",
  "linregc2", "linregerrQ", "stddev", "skewness", "kurtosis"
};

static char *lld_name_table[AFFECT_IS09_N_CONTOURS + 1];
static char *feature_name_table[AFFECT_IS09_N_FEATURES + 1];

static gpointer
make_names (gpointer unused)
{
  int j, f;

  for (j = 0; j < AFFECT_IS09_N_LLD; j++) {
    const char *b = contour_bases[j];
    const char *br = strchr (b, '[');
    lld_name_table[j] = g_strdup (b);
    /* deltas: "pcm_fftMag_mfcc_sma_de[3]", "F0_sma_de" */
    if (br)
      lld_name_table[AFFECT_IS09_N_LLD + j] =
          g_strdup_printf ("%.*s_de%s", (int) (br - b), b, br);
    else
      lld_name_table[AFFECT_IS09_N_LLD + j] = g_strdup_printf ("%s_de", b);
  }
  for (j = 0; j < AFFECT_IS09_N_CONTOURS; j++)
    for (f = 0; f < AFFECT_IS09_N_FUNCTIONALS; f++)
      feature_name_table[j * AFFECT_IS09_N_FUNCTIONALS + f] =
          g_strdup_printf ("%s_%s", lld_name_table[j], functional_names[f]);
  return NULL;
}

static void
ensure_names (void)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, make_names, NULL);
}

const char *const *
affect_is09_feature_names (void)
{
  ensure_names ();
  return (const char *const *) feature_name_table;
}

const char *const *
affect_is09_lld_names (void)
{
  ensure_names ();
  return (const char *const *) lld_name_table;
}

gboolean
affect_is09_csv_write_header (FILE * f)
{
  const char *const *names = affect_is09_feature_names ();
  fputs ("name", f);
  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++) {
    fputc (',', f);
    fputs (names[i], f);
  }
  fputc ('\n', f);
  return !ferror (f);
}

gboolean
affect_is09_csv_write_row (FILE * f, const char *name,
    const float features[AFFECT_IS09_N_FEATURES])
{
  fputs (name ? name : "unknown", f);
  /* %.9g round-trips float32 exactly, as the reference CSV */
  for (int i = 0; i < AFFECT_IS09_N_FEATURES; i++)
    fprintf (f, ",%.9g", (double) features[i]);
  fputc ('\n', f);
  return !ferror (f);
}
