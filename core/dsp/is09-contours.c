/* IS09 contours of one item: F0 post-processing (cPitchACF's onset state
 * machine), 3-frame smoothing (cContourSmoother), delta regression
 * (cDeltaRegression, window 2) and the streaming functionals over the rows
 * the reference's functionals see.
 *
 * Row bookkeeping (docs/is09.md, "Frames seen by the functionals"): for N
 * raw frames the reference writes N+1 smoothed rows (the smoother's end
 * padding adds s[N] = (x[N-1] + x[N-1] + x[N-1]) / 3) but its functionals read only rows
 * 0..max(N-2,1)-1. Row r needs x[r+3] (smoother look-ahead 1, delta
 * look-ahead 2), so rows are folded into the functionals three frames late;
 * every row emitted before the end of input is below N-3 and therefore
 * always included, and only the last rows need the end-of-input rule.
 */
#include <string.h>

#include "is09-private.h"

#define HIST 8                  /* ring of smoothed rows (needs 5) */

struct _AffectIs09Contours
{
  AffectIs09PitchState pitch;

  guint64 n_frames;             /* raw frames pushed */
  float x1[AFFECT_IS09_N_LLD];  /* x[n-1] */
  float x2[AFFECT_IS09_N_LLD];  /* x[n-2] */
  float x0[AFFECT_IS09_N_LLD];  /* x[0] (left padding) */

  guint64 n_s;                  /* smoothed rows made */
  float s[HIST][AFFECT_IS09_N_LLD];
  guint64 n_rows;               /* rows (s, d) emitted */
  guint64 row_limit;            /* rows >= this are not fed to functionals */

  AffectIs09Functionals *func;
  AffectIs09LldFunc lld_func;
  gpointer lld_data;
};

AffectIs09Contours *
affect_is09_contours_new (void)
{
  AffectIs09Contours *c = g_new0 (AffectIs09Contours, 1);
  c->func = affect_is09_functionals_new ();
  affect_is09_contours_reset (c);
  return c;
}

void
affect_is09_contours_free (AffectIs09Contours * c)
{
  if (!c)
    return;
  affect_is09_functionals_free (c->func);
  g_free (c);
}

void
affect_is09_contours_reset (AffectIs09Contours * c)
{
  affect_is09_pitch_state_init (&c->pitch);
  c->n_frames = c->n_s = c->n_rows = 0;
  c->row_limit = G_MAXUINT64;
  affect_is09_functionals_reset (c->func);
}

void
affect_is09_contours_set_lld_func (AffectIs09Contours * c,
    AffectIs09LldFunc func, gpointer user_data)
{
  c->lld_func = func;
  c->lld_data = user_data;
}

guint64
affect_is09_contours_get_n_frames (const AffectIs09Contours * c)
{
  return c->n_frames;
}

void
affect_is09_pitch_state_init (AffectIs09PitchState * c)
{
  c->last = c->lastlast = c->gl_mean = c->ons = 0.0f;
}

/* cPitchACF's F0 output: built from the two previous pitch decisions, with
 * onset handling, suppression of isolated voiced frames and replacement of
 * octave jumps (outside +-40 % of a running mean) by that mean; all float
 * as in the reference */
float
affect_is09_pitch_post_process (AffectIs09PitchState * c, float p)
{
  float op, alpha = 0.3f, f0;

  if (c->last == 0.0f && p > 0.0f)
    c->ons = 1.0f;
  if (c->last > 0.0f && p == 0.0f && c->ons == 0.0f)
    c->ons = -1.0f;
  if (c->last > 0.0f && p > 0.0f)
    c->ons = 0.0f;
  if (c->last == 0.0f && p == 0.0f)
    c->ons = 0.0f;
  if (p == 0.0f && c->ons == 1.0f)
    c->last = 0.0f;
  op = p;
  if (p > 0.0f) {
    if (c->gl_mean == 0.0f)
      c->gl_mean = p;
    if (!(p < 1.4f * c->gl_mean && p > 0.6f * c->gl_mean)) {
      p = c->gl_mean;
      alpha = 0.3f / 3.0f;
    }
    if (c->ons != 0.0f && c->last > p)
      c->last *= 0.85f;
  }
  if (p > 0.0f && c->ons == -1.0f)
    c->last = p;
  if (op > 0.0f)
    c->gl_mean = (1.0f - alpha) * c->gl_mean + alpha * op;
  if (c->lastlast != 0.0f && c->last != 0.0f)
    f0 = 0.5f * (c->lastlast + c->last);
  else
    f0 = c->last;
  c->lastlast = c->last;
  c->last = p;
  return f0;
}

/* s[k] with the reader's edge rule: indices outside [0, last] repeat the
 * first / last row */
static inline const float *
s_at (AffectIs09Contours * c, gint64 k, gint64 last)
{
  if (k < 0)
    k = 0;
  if (k > last)
    k = last;
  return c->s[k % HIST];
}

static void
emit_row (AffectIs09Contours * c, gint64 last)
{
  const gint64 r = (gint64) c->n_rows;
  const float *sm2 = s_at (c, r - 2, last), *sm1 = s_at (c, r - 1, last);
  const float *s0 = s_at (c, r, last), *sp1 = s_at (c, r + 1, last);
  const float *sp2 = s_at (c, r + 2, last);
  float row[AFFECT_IS09_N_CONTOURS];
  int j;

  for (j = 0; j < AFFECT_IS09_N_LLD; j++) {
    float num = 1.0f * (sp1[j] - sm1[j]);
    num += 2.0f * (sp2[j] - sm2[j]);
    row[j] = s0[j];
    row[AFFECT_IS09_N_LLD + j] = num / 10.0f;
  }
  if (c->lld_func)
    c->lld_func ((guint64) r, row, c->lld_data);
  if ((guint64) r < c->row_limit)
    affect_is09_functionals_add (c->func, row);
  c->n_rows++;
}

static void
add_smoothed (AffectIs09Contours * c, const float *s)
{
  memcpy (c->s[c->n_s % HIST], s, sizeof (float) * AFFECT_IS09_N_LLD);
  c->n_s++;
  /* d[m-2] needs s[m]; during streaming no right padding is needed */
  if (c->n_s >= 3)
    emit_row (c, (gint64) c->n_s - 1);
}

static void
smooth (const float *xc, const float *xl, const float *xr, float *s)
{
  for (int j = 0; j < AFFECT_IS09_N_LLD; j++)
    s[j] = (xc[j] + xl[j] + xr[j]) / 3.0f;
}

void
affect_is09_contours_push (AffectIs09Contours * c,
    const AffectIs09Frame * frame)
{
  float x[AFFECT_IS09_N_LLD], s[AFFECT_IS09_N_LLD];
  const guint64 n = c->n_frames;

  memcpy (x, frame->lld, sizeof (x));
  x[AFFECT_IS09_LLD_F0] =
      affect_is09_pitch_post_process (&c->pitch, frame->pitch);

  if (n == 0)
    memcpy (c->x0, x, sizeof (x));
  if (n >= 1) {
    /* s[n-1] = (x[n-1] + x[n-2] + x[n]) / 3, x[-1] = x[0] */
    smooth (c->x1, n >= 2 ? c->x2 : c->x0, x, s);
    add_smoothed (c, s);
  }
  memcpy (c->x2, c->x1, sizeof (x));
  memcpy (c->x1, x, sizeof (x));
  c->n_frames = n + 1;
}

gboolean
affect_is09_contours_finish (AffectIs09Contours * c,
    float features[AFFECT_IS09_N_FEATURES])
{
  const guint64 N = c->n_frames;
  float s[AFFECT_IS09_N_LLD];
  gint64 last;

  if (N == 0) {
    memset (features, 0, sizeof (float) * AFFECT_IS09_N_FEATURES);
    affect_is09_contours_reset (c);
    return FALSE;
  }
  /* the functionals see the first max(N-2, 1) rows */
  c->row_limit = N >= 3 ? N - 2 : 1;

  /* smoother end padding: s[N-1] with x[N] = x[N-1], then the extra row
   * s[N] where every read is padded with x[N-1] */
  smooth (c->x1, N >= 2 ? c->x2 : c->x0, c->x1, s);
  memcpy (c->s[c->n_s % HIST], s, sizeof (s));
  c->n_s++;
  smooth (c->x1, c->x1, c->x1, s);
  memcpy (c->s[c->n_s % HIST], s, sizeof (s));
  c->n_s++;
  last = (gint64) c->n_s - 1;   /* = N */
  while ((gint64) c->n_rows <= last)
    emit_row (c, last);

  affect_is09_functionals_compute (c->func, features);
  affect_is09_contours_reset (c);
  return TRUE;
}
