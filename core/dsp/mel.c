/* Mel spectrogram: framing, window, real FFT (FFTW, single precision) over
 * batches of frames, |X|^power, sparse Mel filterbank, log, scale.
 *
 * docs/mel-presets.md gives every formula; the comments here say why.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <fftw3.h>

#include "affect/affect.h"
#include "affect/mel.h"

/* Frames windowed, then transformed, then reduced to Mel bands together:
 * each stage's loop runs over many frames while they stay in L2. */
#define MEL_BATCH 32
/* Frame strides are multiples of 16 floats (64 bytes), so every frame of a
 * batch has the alignment of the arrays the plan was made with, as FFTW's
 * new-array execute requires. */
#define STRIDE_ALIGN 16

/* FFTW's planner (plan creation and destruction) is not thread-safe; only
 * fftwf_execute* is. */

struct _AffectMelPlan
{
  AffectMelParams p;
  int n_bins;                   /* n_fft / 2 + 1 */
  int in_stride;                /* floats between frames of a batch */
  int out_stride;               /* complex values between frames of a batch */
  int pad;                      /* samples padded at each end (center) */
  int win_lo, win_hi;           /* the window is non-zero on [win_lo, win_hi) */
  float *window;                /* n_fft values */
  fftwf_plan plan_one;          /* one frame, run on every frame of a batch */
  /* sparse filterbank: band m covers bins from band_lo[m], band_len[m] of
   * them, with weights at weights + band_ofs[m] */
  int *band_lo, *band_len, *band_ofs;
  float *weights;
  int n_empty;
};

/* Scratch memory of one execution context */
typedef struct
{
  float *frames;                /* MEL_BATCH × in_stride */
  fftwf_complex *spec;          /* MEL_BATCH × out_stride */
  float *power;                 /* n_bins */
} MelWork;

struct _AffectMelStream
{
  const AffectMelPlan *plan;
  MelWork work;
  float *buf;                   /* padded-signal samples, contiguous */
  gsize len, cap;
  guint64 buf_pos;              /* padded index of buf[0] */
  guint64 n_in;                 /* original samples pushed */
  guint64 next_frame;
  guint64 end_frame;            /* frames of the whole signal, once finished */
  gboolean started;             /* the left padding is in buf */
  gboolean finished;            /* the right padding is in buf */
  guint64 n_invalid, n_clamped; /* since the last reset */
};

/* ---------------------------------------------------------------- params */

void
affect_mel_params_init (AffectMelParams * p, AffectMelPreset preset)
{
  /* librosa.feature.melspectrogram (librosa 0.10) */
  p->sample_rate = 22050;
  p->n_fft = 2048;
  p->hop = 512;
  p->win_length = 0;
  p->window = AFFECT_MEL_WINDOW_HANN;
  p->center = TRUE;
  p->pad_mode = AFFECT_MEL_PAD_ZEROS;   /* librosa >= 0.10: "constant" (0) */
  p->pad_value = 0.0;
  p->framing = AFFECT_MEL_FRAMING_LIBROSA;
  p->n_mels = 128;
  p->fmin = 0.0;
  p->fmax = 0.0;
  p->mel_scale = AFFECT_MEL_SCALE_SLANEY;
  p->norm = AFFECT_MEL_NORM_SLANEY;
  p->power = 2;
  p->log = AFFECT_MEL_LOG_NONE;
  p->amin = 1e-10;              /* librosa.power_to_db */
  p->top_db = 0.0;
  p->log_c = 10000.0;
  p->log_eps = 1e-6;
  p->scale = 1.0;

  switch (preset) {
    case AFFECT_MEL_PRESET_MTG_JAMENDO:
      p->sample_rate = 12000;
      p->n_fft = 512;
      p->hop = 256;
      p->window = AFFECT_MEL_WINDOW_HANN_SYMMETRIC;
      p->center = TRUE;
      p->pad_mode = AFFECT_MEL_PAD_ZEROS;
      p->n_mels = 96;
      p->fmin = 0.0;
      p->fmax = 6000.0;
      p->log = AFFECT_MEL_LOG_DB;
      p->amin = 1e-9;           /* floor at -90 dB */
      p->scale = 0.01;          /* the classifier takes dB / 100 */
      break;
    case AFFECT_MEL_PRESET_MUSICNN:
      p->sample_rate = 16000;
      p->n_fft = 512;
      p->hop = 256;
      p->window = AFFECT_MEL_WINDOW_HANN_SYMMETRIC;     /* Essentia's hann */
      p->center = TRUE;
      p->pad_mode = AFFECT_MEL_PAD_ZEROS;
      p->n_mels = 96;
      p->fmin = 0.0;
      p->fmax = 8000.0;
      p->log = AFFECT_MEL_LOG_LOG10_1P;
      p->log_c = 10000.0;
      break;
    case AFFECT_MEL_PRESET_LIBROSA:
    case AFFECT_MEL_PRESET_NONE:
    default:
      break;
  }
}

const char *
affect_mel_preset_to_string (AffectMelPreset preset)
{
  switch (preset) {
    case AFFECT_MEL_PRESET_LIBROSA:
      return "librosa";
    case AFFECT_MEL_PRESET_MTG_JAMENDO:
      return "mtg-jamendo";
    case AFFECT_MEL_PRESET_MUSICNN:
      return "musicnn";
    case AFFECT_MEL_PRESET_NONE:
    default:
      return "none";
  }
}

static double
effective_fmax (const AffectMelParams * p)
{
  return p->fmax > 0.0 ? p->fmax : p->sample_rate / 2.0;
}

static int
effective_win_length (const AffectMelParams * p)
{
  return p->win_length > 0 ? p->win_length : p->n_fft;
}

gboolean
affect_mel_params_validate (const AffectMelParams * p, GError ** error)
{
  char *why = NULL;
  const double nyquist = p->sample_rate / 2.0;

  /* each reason names the property and the value that cannot work, and the
   * stream's rate where the rate is what it conflicts with */
  if (p->sample_rate <= 0)
    why = g_strdup_printf ("sample rate %d Hz must be positive",
        p->sample_rate);
  else if (p->n_fft < 2 || p->n_fft > (1 << 20))
    why = g_strdup_printf ("n-fft=%d must be in [2, 1048576]", p->n_fft);
  else if (p->hop < 1)
    why = g_strdup_printf ("hop=%d must be at least 1", p->hop);
  else if (p->win_length < 0 || p->win_length > p->n_fft)
    why = g_strdup_printf ("win-length=%d must be in [0, n-fft=%d]",
        p->win_length, p->n_fft);
  else if (p->n_mels < 1)
    why = g_strdup_printf ("n-mels=%d must be at least 1", p->n_mels);
  else if (!(p->fmin >= 0.0))
    why = g_strdup_printf ("fmin=%g Hz must be >= 0", p->fmin);
  else if (p->fmax > 0.0 && p->fmax > nyquist + 1e-9)
    why = g_strdup_printf ("fmax=%g Hz is above the Nyquist frequency "
        "(%g Hz) of the %d Hz stream", p->fmax, nyquist, p->sample_rate);
  else if (!(effective_fmax (p) > p->fmin)) {
    if (p->fmax > 0.0)
      why = g_strdup_printf ("fmin=%g Hz must be below fmax=%g Hz", p->fmin,
          p->fmax);
    else
      why = g_strdup_printf ("fmin=%g Hz must be below fmax, the Nyquist "
          "frequency (%g Hz) of the %d Hz stream", p->fmin, nyquist,
          p->sample_rate);
  } else if (p->power != 1 && p->power != 2)
    why = g_strdup_printf ("power=%d must be 1 or 2", p->power);
  else if (p->log == AFFECT_MEL_LOG_DB && !(p->amin > 0.0))
    why = g_strdup_printf ("amin=%g must be positive", p->amin);
  else if (p->log == AFFECT_MEL_LOG_LOG10_1P && !(p->log_c > 0.0))
    why = g_strdup_printf ("log-c=%g must be positive", p->log_c);
  else if (p->log == AFFECT_MEL_LOG_LN && !(p->log_eps > 0.0))
    why = g_strdup_printf ("log-eps=%g must be positive", p->log_eps);
  else if (p->framing == AFFECT_MEL_FRAMING_ESSENTIA && !p->center)
    why = g_strdup ("framing=essentia needs centred frames (center=true)");
  else if (!isfinite (p->scale) || !isfinite (p->pad_value))
    why = g_strdup ("scale and pad-value must be finite");

  if (why != NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "invalid Mel parameters: %s", why);
    g_free (why);
    return FALSE;
  }
  return TRUE;
}

/* ----------------------------------------------------------- filterbank */

static double
hz_to_mel (double f, AffectMelScale scale)
{
  if (scale == AFFECT_MEL_SCALE_HTK)
    return 2595.0 * log10 (1.0 + f / 700.0);
  /* Slaney's Auditory Toolbox: linear up to 1 kHz (200/3 Hz per mel), then
   * logarithmic with 27 mels per factor 6.4 */
  if (f < 1000.0)
    return f / (200.0 / 3.0);
  return 15.0 + log (f / 1000.0) / (log (6.4) / 27.0);
}

static double
mel_to_hz (double m, AffectMelScale scale)
{
  if (scale == AFFECT_MEL_SCALE_HTK)
    return 700.0 * (pow (10.0, m / 2595.0) - 1.0);
  if (m < 15.0)
    return m * (200.0 / 3.0);
  return 1000.0 * exp ((log (6.4) / 27.0) * (m - 15.0));
}

/* Triangles between n_mels + 2 points equally spaced in mel, evaluated at
 * the FFT bin frequencies k·sr/n_fft (librosa's construction); with the
 * Slaney norm each triangle is scaled by 2 / (f[m+2] - f[m]), giving unit
 * area in Hz (Essentia's unit_tri). */
static void
build_filterbank (AffectMelPlan * plan)
{
  const AffectMelParams *p = &plan->p;
  int n_mels = p->n_mels, n_bins = plan->n_bins;
  double mel_lo = hz_to_mel (p->fmin, p->mel_scale);
  double mel_hi = hz_to_mel (effective_fmax (p), p->mel_scale);
  double *f = g_new (double, n_mels + 2);
  double *dense = g_new0 (double, (gsize) n_mels * n_bins);
  int m, k, total = 0;

  for (m = 0; m < n_mels + 2; m++)
    f[m] = mel_to_hz (mel_lo + (mel_hi - mel_lo) * m / (n_mels + 1),
        p->mel_scale);

  plan->band_lo = g_new (int, n_mels);
  plan->band_len = g_new (int, n_mels);
  plan->band_ofs = g_new (int, n_mels);
  plan->n_empty = 0;
  for (m = 0; m < n_mels; m++) {
    double enorm = p->norm == AFFECT_MEL_NORM_SLANEY ?
        2.0 / (f[m + 2] - f[m]) : 1.0;
    int lo = -1, hi = -1;
    for (k = 0; k < n_bins; k++) {
      double fk = (double) k * p->sample_rate / p->n_fft;
      double lower = (fk - f[m]) / (f[m + 1] - f[m]);
      double upper = (f[m + 2] - fk) / (f[m + 2] - f[m + 1]);
      double w = MAX (0.0, MIN (lower, upper));
      if (w > 0.0) {
        dense[(gsize) m * n_bins + k] = w * enorm;
        if (lo < 0)
          lo = k;
        hi = k + 1;
      }
    }
    if (lo < 0) {
      plan->n_empty++;
      lo = hi = 0;
    }
    plan->band_lo[m] = lo;
    plan->band_len[m] = hi - lo;
    plan->band_ofs[m] = total;
    total += hi - lo;
  }

  plan->weights = g_new (float, MAX (total, 1));
  for (m = 0; m < n_mels; m++)
    for (k = 0; k < plan->band_len[m]; k++)
      plan->weights[plan->band_ofs[m] + k] =
          (float) dense[(gsize) m * n_bins + plan->band_lo[m] + k];

  g_free (dense);
  g_free (f);
}

static void
build_window (AffectMelPlan * plan)
{
  const AffectMelParams *p = &plan->p;
  int n = effective_win_length (p), i;
  gboolean symmetric = p->window == AFFECT_MEL_WINDOW_HANN_SYMMETRIC ||
      p->window == AFFECT_MEL_WINDOW_HAMMING_SYMMETRIC;
  gboolean hamming = p->window == AFFECT_MEL_WINDOW_HAMMING ||
      p->window == AFFECT_MEL_WINDOW_HAMMING_SYMMETRIC;
  double denom = symmetric ? n - 1 : n;
  double a0 = hamming ? 0.54 : 0.5;

  plan->window = g_new0 (float, p->n_fft);
  /* a shorter window sits in the middle of the FFT frame, as librosa pads it */
  plan->win_lo = (p->n_fft - n) / 2;
  plan->win_hi = plan->win_lo + n;
  for (i = 0; i < n; i++) {
    double w = n == 1 ? 1.0 : a0 - (1.0 - a0) * cos (2.0 * G_PI * i / denom);
    plan->window[plan->win_lo + i] = (float) w;
  }
}

/* ----------------------------------------------------------------- plan */

static void
work_init (MelWork * w, const AffectMelPlan * plan)
{
  w->frames = fftwf_malloc (sizeof (float) * MEL_BATCH * plan->in_stride);
  w->spec = fftwf_malloc (sizeof (fftwf_complex) * MEL_BATCH *
      plan->out_stride);
  w->power = fftwf_malloc (sizeof (float) * plan->n_bins);
  memset (w->frames, 0, sizeof (float) * MEL_BATCH * plan->in_stride);
}

static void
work_clear (MelWork * w)
{
  fftwf_free (w->frames);
  fftwf_free (w->spec);
  fftwf_free (w->power);
  memset (w, 0, sizeof (*w));
}

AffectMelPlan *
affect_mel_plan_new (const AffectMelParams * params)
{
  AffectMelPlan *plan;
  MelWork tmp;
  int n;

  if (!affect_mel_params_validate (params, NULL))
    return NULL;

  plan = g_new0 (AffectMelPlan, 1);
  plan->p = *params;
  if (plan->p.win_length == 0)
    plan->p.win_length = plan->p.n_fft;
  if (plan->p.fmax <= 0.0)
    plan->p.fmax = plan->p.sample_rate / 2.0;
  n = plan->p.n_fft;
  plan->n_bins = n / 2 + 1;
  plan->in_stride = (n + STRIDE_ALIGN - 1) / STRIDE_ALIGN * STRIDE_ALIGN;
  plan->out_stride = (plan->n_bins + STRIDE_ALIGN / 2 - 1) /
      (STRIDE_ALIGN / 2) * (STRIDE_ALIGN / 2);
  plan->pad = plan->p.center ? n / 2 : 0;
  build_window (plan);
  build_filterbank (plan);

  /* FFTW_ESTIMATE: the plan (and so every output bit) is the same on every
   * run; FFTW_MEASURE may pick a different algorithm each time it times. */
  work_init (&tmp, plan);
  affect_fftw_planner_lock ();
  plan->plan_one = fftwf_plan_dft_r2c_1d (n, tmp.frames, tmp.spec,
      FFTW_ESTIMATE);
  affect_fftw_planner_unlock ();
  work_clear (&tmp);

  if (plan->plan_one == NULL) {
    affect_mel_plan_free (plan);
    return NULL;
  }
  return plan;
}

void
affect_mel_plan_free (AffectMelPlan * plan)
{
  if (plan == NULL)
    return;
  affect_fftw_planner_lock ();
  if (plan->plan_one)
    fftwf_destroy_plan (plan->plan_one);
  affect_fftw_planner_unlock ();
  g_free (plan->window);
  g_free (plan->band_lo);
  g_free (plan->band_len);
  g_free (plan->band_ofs);
  g_free (plan->weights);
  g_free (plan);
}

const AffectMelParams *
affect_mel_plan_get_params (const AffectMelPlan * plan)
{
  return &plan->p;
}

int
affect_mel_plan_n_empty_bands (const AffectMelPlan * plan)
{
  return plan->n_empty;
}

int
affect_mel_plan_lookahead (const AffectMelPlan * plan)
{
  /* frame t covers original samples [t·hop - pad, t·hop - pad + n_fft);
   * reflect padding of the start also needs x[pad] */
  int need = plan->p.n_fft - plan->pad;
  if (plan->p.center && plan->p.pad_mode == AFFECT_MEL_PAD_REFLECT)
    need = MAX (need, plan->pad + 1);
  return need;
}

void
affect_mel_plan_get_filterbank (const AffectMelPlan * plan, float *out)
{
  int m, k;

  memset (out, 0, sizeof (float) * plan->p.n_mels * plan->n_bins);
  for (m = 0; m < plan->p.n_mels; m++)
    for (k = 0; k < plan->band_len[m]; k++)
      out[(gsize) m * plan->n_bins + plan->band_lo[m] + k] =
          plan->weights[plan->band_ofs[m] + k];
}

/* --------------------------------------------------------------- frames */

/* Spectrum of one frame → n_mels output values */
static void
frame_to_mel (const AffectMelPlan * plan, const fftwf_complex * spec,
    float *power, float *out)
{
  const AffectMelParams *p = &plan->p;
  int k, m, n_bins = plan->n_bins, n_mels = p->n_mels;
  float scale = (float) p->scale;

  for (k = 0; k < n_bins; k++) {
    float re = spec[k][0], im = spec[k][1];
    power[k] = re * re + im * im;
  }
  if (p->power == 1)
    for (k = 0; k < n_bins; k++)
      power[k] = sqrtf (power[k]);

  for (m = 0; m < n_mels; m++) {
    const float *w = plan->weights + plan->band_ofs[m];
    const float *x = power + plan->band_lo[m];
    int len = plan->band_len[m];
    float acc = 0.0f;
    for (k = 0; k < len; k++)
      acc += w[k] * x[k];
    out[m] = acc;
  }

  switch (p->log) {
    case AFFECT_MEL_LOG_DB:{
      float amin = (float) p->amin, top = -HUGE_VALF;
      for (m = 0; m < n_mels; m++) {
        out[m] = 10.0f * log10f (MAX (amin, out[m]));
        top = MAX (top, out[m]);
      }
      /* top-db is relative to the frame's own maximum, so that a frame does
       * not depend on frames not yet seen (librosa uses the whole signal) */
      if (p->top_db > 0.0) {
        float floor_db = top - (float) p->top_db;
        for (m = 0; m < n_mels; m++)
          out[m] = MAX (out[m], floor_db);
      }
      break;
    }
    case AFFECT_MEL_LOG_LOG10_1P:{
      float c = (float) p->log_c;
      for (m = 0; m < n_mels; m++)
        out[m] = log10f (1.0f + c * out[m]);
      break;
    }
    case AFFECT_MEL_LOG_LN:{
      float eps = (float) p->log_eps;
      for (m = 0; m < n_mels; m++)
        out[m] = logf (out[m] + eps);
      break;
    }
    case AFFECT_MEL_LOG_NONE:
    default:
      break;
  }

  if (scale != 1.0f)
    for (m = 0; m < n_mels; m++)
      out[m] *= scale;
}

/* n_frames frames of the padded signal x (frame f starts at x + f·hop) */
static void
compute_frames (const AffectMelPlan * plan, MelWork * w, const float *x,
    gsize n_frames, float *out)
{
  const int hop = plan->p.hop, n_mels = plan->p.n_mels;
  const int lo = plan->win_lo, hi = plan->win_hi;
  gsize done = 0;

  while (done < n_frames) {
    int batch = (int) MIN ((gsize) MEL_BATCH, n_frames - done), f, i;

    /* the window is zero outside [lo, hi): those samples stay 0 in frames */
    for (f = 0; f < batch; f++) {
      const float *src = x + (done + f) * hop;
      float *dst = w->frames + (gsize) f * plan->in_stride;
      for (i = lo; i < hi; i++)
        dst[i] = plan->window[i] * src[i];
    }
    /* One transform per frame, always the same plan: a frame's bits then
     * never depend on how many frames were computed together (a batched
     * fftwf_plan_many_dft_r2c may use other codelets, and measured no
     * faster here). */
    for (f = 0; f < batch; f++)
      fftwf_execute_dft_r2c (plan->plan_one,
          w->frames + (gsize) f * plan->in_stride,
          w->spec + (gsize) f * plan->out_stride);

    for (f = 0; f < batch; f++)
      frame_to_mel (plan, w->spec + (gsize) f * plan->out_stride, w->power,
          out + (done + f) * n_mels);
    done += batch;
  }
}

/* --------------------------------------------------------------- stream */

AffectMelStream *
affect_mel_stream_new (const AffectMelPlan * plan)
{
  AffectMelStream *s = g_new0 (AffectMelStream, 1);

  s->plan = plan;
  work_init (&s->work, plan);
  affect_mel_stream_reset (s);
  return s;
}

void
affect_mel_stream_free (AffectMelStream * s)
{
  if (s == NULL)
    return;
  work_clear (&s->work);
  g_free (s->buf);
  g_free (s);
}

void
affect_mel_stream_reset (AffectMelStream * s)
{
  s->len = 0;
  s->n_in = 0;
  s->next_frame = 0;
  s->end_frame = 0;
  s->finished = FALSE;
  s->started = FALSE;
  s->n_invalid = s->n_clamped = 0;
  /* before the left padding exists buf holds original samples from 0 */
  s->buf_pos = s->plan->pad;
}

static void
buf_reserve (AffectMelStream * s, gsize extra)
{
  if (s->len + extra > s->cap) {
    s->cap = MAX (s->len + extra, s->cap * 2);
    s->buf = g_renew (float, s->buf, s->cap);
  }
}

/* numpy's "reflect" extension of x[0..n) to any index */
static gsize
reflect_index (gint64 i, gint64 n)
{
  gint64 period;

  if (n == 1)
    return 0;
  period = 2 * (n - 1);
  i %= period;
  if (i < 0)
    i += period;
  if (i >= n)
    i = period - i;
  return (gsize) i;
}

/* Original sample i (may lie outside [0, n_in)) as the pad mode defines it */
static float
padded_sample (const AffectMelStream * s, gint64 i)
{
  const AffectMelParams *p = &s->plan->p;
  const guint64 pad = s->plan->pad;

  if (i < 0 || i >= (gint64) s->n_in) {
    if (p->pad_mode == AFFECT_MEL_PAD_ZEROS)
      return 0.0f;
    if (p->pad_mode == AFFECT_MEL_PAD_CONSTANT)
      return (float) p->pad_value;
    i = (gint64) reflect_index (i, (gint64) s->n_in);
  }
  return s->buf[i + pad - s->buf_pos];
}

static void
start_padding (AffectMelStream * s)
{
  const gsize pad = s->plan->pad;
  float *head;
  gsize i;

  if (pad > 0) {
    buf_reserve (s, pad);
    memmove (s->buf + pad, s->buf, s->len * sizeof (float));
    s->len += pad;
    s->buf_pos = 0;
    head = g_new (float, pad);
    /* buf_pos is 0 now: padded_sample reads original samples at i + pad */
    for (i = 0; i < pad; i++)
      head[i] = s->n_in > 0 ? padded_sample (s, (gint64) i - (gint64) pad)
          : 0.0f;
    memcpy (s->buf, head, pad * sizeof (float));
    g_free (head);
  }
  s->started = TRUE;
}

gsize
affect_mel_stream_push (AffectMelStream * s, const float *x, gsize n)
{
  gsize i, bad = 0;
  float *dst;

  if (s->finished || n == 0)
    return 0;
  buf_reserve (s, n);
  dst = s->buf + s->len;
  for (i = 0; i < n; i++) {
    float v = x[i];
    if (G_UNLIKELY (!isfinite (v))) {
      v = 0.0f;
      bad++;
    } else if (G_UNLIKELY (fabsf (v) > AFFECT_MEL_CLAMP)) {
      v = v > 0.0f ? AFFECT_MEL_CLAMP : -AFFECT_MEL_CLAMP;
      s->n_clamped++;
    }
    dst[i] = v;
  }
  s->n_invalid += bad;
  s->len += n;
  s->n_in += n;

  if (!s->started) {
    /* reflect padding of the start mirrors x[1..pad]: wait for them */
    if (s->plan->p.pad_mode != AFFECT_MEL_PAD_REFLECT
        || s->n_in >= (guint64) s->plan->pad + 1)
      start_padding (s);
  }
  return bad;
}

guint64
affect_mel_stream_n_invalid (const AffectMelStream * s)
{
  return s->n_invalid;
}

guint64
affect_mel_stream_n_clamped (const AffectMelStream * s)
{
  return s->n_clamped;
}

void
affect_mel_stream_finish (AffectMelStream * s)
{
  const AffectMelPlan *plan = s->plan;
  gsize pad = plan->pad, i;

  if (s->finished)
    return;
  if (s->n_in == 0) {
    /* an empty signal has no frames, not one frame of padding */
    s->finished = TRUE;
    s->started = TRUE;
    return;
  }
  if (!s->started)
    start_padding (s);
  s->end_frame = affect_mel_n_frames (plan, s->n_in);
  if (s->end_frame > 0) {
    /* the last frame may reach further than n_fft/2 past the end (essentia
     * framing): pad up to its end */
    gint64 reach = (gint64) ((s->end_frame - 1) * plan->p.hop) +
        plan->p.n_fft - plan->pad - (gint64) s->n_in;
    pad = MAX ((gint64) pad, reach);
  }
  buf_reserve (s, pad);
  for (i = 0; i < pad; i++)
    s->buf[s->len + i] = padded_sample (s, (gint64) (s->n_in + i));
  s->len += pad;
  s->finished = TRUE;
}

gsize
affect_mel_stream_available (const AffectMelStream * s)
{
  const AffectMelPlan *plan = s->plan;
  guint64 end, first, n;

  if (!s->started || s->n_in == 0)
    return 0;
  end = s->buf_pos + s->len;    /* padded samples present so far */
  first = s->next_frame * plan->p.hop;
  if (first + plan->p.n_fft > end)
    return 0;
  n = (end - plan->p.n_fft - first) / plan->p.hop + 1;
  if (s->finished)
    n = MIN (n, s->end_frame - s->next_frame);
  return (gsize) n;
}

gsize
affect_mel_stream_pull (AffectMelStream * s, float *out, gsize max_frames)
{
  const AffectMelPlan *plan = s->plan;
  gsize n = MIN (affect_mel_stream_available (s), max_frames), drop;
  guint64 keep_from, first;

  if (n == 0)
    return 0;
  first = s->next_frame * plan->p.hop;
  compute_frames (plan, &s->work, s->buf + (first - s->buf_pos), n, out);
  s->next_frame += n;

  /* Keep what the next frame needs and, for reflect padding of the end,
   * the original samples it mirrors: the last pad + 1, and up to hop more
   * with essentia framing, whose end padding is up to hop - 1 longer. */
  keep_from = s->next_frame * plan->p.hop;
  if (plan->p.center && plan->p.pad_mode == AFFECT_MEL_PAD_REFLECT
      && !s->finished) {
    guint64 tail_len = plan->pad + 1 +
        (plan->p.framing == AFFECT_MEL_FRAMING_ESSENTIA ? plan->p.hop : 0);
    /* padded index of original sample n_in - tail_len (or of sample 0) */
    guint64 tail = s->n_in > tail_len ?
        s->n_in - tail_len + plan->pad : (guint64) plan->pad;
    keep_from = MIN (keep_from, tail);
  }
  if (keep_from > s->buf_pos) {
    drop = (gsize) MIN (keep_from - s->buf_pos, (guint64) s->len);
    memmove (s->buf, s->buf + drop, (s->len - drop) * sizeof (float));
    s->len -= drop;
    s->buf_pos += drop;
  }
  return n;
}

guint64
affect_mel_stream_next_frame (const AffectMelStream * s)
{
  return s->next_frame;
}

guint64
affect_mel_stream_n_samples (const AffectMelStream * s)
{
  return s->n_in;
}

/* ---------------------------------------------------------- whole signal */

gsize
affect_mel_n_frames (const AffectMelPlan * plan, gsize n_samples)
{
  const gsize hop = plan->p.hop, pad = plan->pad;
  gsize padded = n_samples + 2 * pad, last;

  if (n_samples == 0)
    return 0;
  if (plan->p.framing == AFFECT_MEL_FRAMING_ESSENTIA) {
    /* frame k is centred on sample k·hop; the first centred at or past the
     * end is the last, unless it starts past the end */
    last = (n_samples + hop - 1) / hop;
    if (last * hop >= n_samples + pad)
      last--;
    return last + 1;
  }
  if (padded < (gsize) plan->p.n_fft)
    return 0;
  return (padded - plan->p.n_fft) / hop + 1;
}

/* Padded-signal sample i (original index i - pad) of a whole signal */
static float
whole_padded_sample (const AffectMelPlan * plan, const float *x, gsize n,
    gint64 i)
{
  i -= plan->pad;
  if (i >= 0 && i < (gint64) n)
    return x[i];
  if (plan->p.pad_mode == AFFECT_MEL_PAD_ZEROS)
    return 0.0f;
  if (plan->p.pad_mode == AFFECT_MEL_PAD_CONSTANT)
    return (float) plan->p.pad_value;
  return x[reflect_index (i, (gint64) n)];
}

/* Frames [t0, t1) from a padded copy of just the samples they cover */
static void
compute_edge_frames (const AffectMelPlan * plan, MelWork * w, const float *x,
    gsize n, gsize t0, gsize t1, float *out)
{
  gsize first = t0 * plan->p.hop, len, i;
  float *tmp;

  if (t1 <= t0)
    return;
  len = (t1 - 1 - t0) * plan->p.hop + plan->p.n_fft;
  tmp = g_new (float, len);
  for (i = 0; i < len; i++)
    tmp[i] = whole_padded_sample (plan, x, n, (gint64) (first + i));
  compute_frames (plan, w, tmp, t1 - t0, out + t0 * plan->p.n_mels);
  g_free (tmp);
}

gsize
affect_mel_execute (const AffectMelPlan * plan, const float *signal,
    gsize n_samples, float *out)
{
  const gsize hop = plan->p.hop, pad = plan->pad, n_fft = plan->p.n_fft;
  gsize n_frames = affect_mel_n_frames (plan, n_samples), i, t_lo, t_hi;
  MelWork w;

  if (n_frames == 0)
    return 0;
  for (i = 0; i < n_samples; i++)
    if (!isfinite (signal[i]))
      break;
  if (i < n_samples) {
    /* the streaming path replaces non-finite samples by 0 */
    AffectMelStream *s = affect_mel_stream_new (plan);
    affect_mel_stream_push (s, signal, n_samples);
    affect_mel_stream_finish (s);
    n_frames = affect_mel_stream_pull (s, out, G_MAXSIZE);
    affect_mel_stream_free (s);
    return n_frames;
  }

  /* Frames [t_lo, t_hi) lie inside the signal and read it in place; only
   * the few frames that overlap the padding are copied. */
  t_lo = (pad + hop - 1) / hop;
  t_hi = n_samples + pad >= n_fft ? (n_samples + pad - n_fft) / hop + 1 : 0;
  t_lo = MIN (t_lo, n_frames);
  t_hi = MIN (MAX (t_hi, t_lo), n_frames);

  work_init (&w, plan);
  compute_edge_frames (plan, &w, signal, n_samples, 0, t_lo, out);
  if (t_hi > t_lo)
    compute_frames (plan, &w, signal + t_lo * hop - pad, t_hi - t_lo,
        out + t_lo * plan->p.n_mels);
  compute_edge_frames (plan, &w, signal, n_samples, t_hi, n_frames, out);
  work_clear (&w);
  return n_frames;
}
