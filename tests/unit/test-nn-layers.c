/* nn layers: linear (GEMM against a naive product, gradients by finite
 * differences), activations, dropout, initialisers */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "gradcheck.h"

typedef struct
{
  AffectLinear *layer;
  const float *x, *c;
  float *y;
  int batch;
} LinearCase;

static double
linear_objective (gpointer data)
{
  LinearCase *lc = data;
  int n = lc->batch * lc->layer->out_features, i;
  double s = 0.0;

  affect_linear_apply (lc->layer, lc->x, lc->y, lc->batch, TRUE, 0.0f);
  for (i = 0; i < n; i++)
    s += (double) lc->c[i] * lc->y[i];
  return s;
}

static void
test_linear (void)
{
  const int batch = 5, in = 7, out = 4;
  AffectRng rng;
  AffectLinear layer;
  float x[5 * 7], c[5 * 4], y[5 * 4], y2[5 * 4], dx[5 * 7], dx2[5 * 7];
  LinearCase lc = { &layer, x, c, y2, batch };
  int i, j, k;

  affect_rng_init (&rng, 11);
  affect_linear_init (&layer, "fc", in, out, TRUE, &rng);
  g_assert_cmpstr (layer.weight.name, ==, "fc.weight");
  g_assert_cmpstr (layer.bias.name, ==, "fc.bias");
  g_assert_cmpint (layer.weight.value.shape[0], ==, out);
  g_assert_cmpint (layer.weight.value.shape[1], ==, in);
  fill_normal (x, batch * in, 1.0, &rng);
  fill_normal (c, batch * out, 1.0, &rng);

  /* forward against a naive double product */
  affect_linear_forward (&layer, x, y, batch);
  for (i = 0; i < batch; i++)
    for (j = 0; j < out; j++) {
      double s = layer.bias.value.data[j];
      for (k = 0; k < in; k++)
        s += (double) x[i * in + k] * layer.weight.value.data[j * in + k];
      g_assert_cmpfloat (fabs (s - y[i * out + j]), <, 1e-5);
    }

  /* backward: dy = c, the gradient of Σ c ⊙ y */
  affect_params_zero_grad ((AffectParam *[]) {
      &layer.weight, &layer.bias}, 2);
  affect_linear_backward (&layer, c, dx, batch);
  gradcheck ("linear weight", layer.weight.value.data, layer.weight.grad,
      in * out, linear_objective, &lc, 1e-2, 1e-3, 0);
  gradcheck ("linear bias", layer.bias.value.data, layer.bias.grad, out,
      linear_objective, &lc, 1e-2, 1e-3, 0);
  gradcheck ("linear input", x, dx, batch * in, linear_objective, &lc, 1e-2,
      1e-3, 0);

  /* the stateless form gives the same input gradient; grads accumulate */
  affect_linear_grad (&layer, x, c, dx2, batch, TRUE);
  for (i = 0; i < batch * in; i++)
    g_assert_cmpfloat (dx[i], ==, dx2[i]);
  affect_params_zero_grad ((AffectParam *[]) {
      &layer.weight}
      , 1);
  affect_linear_grad (&layer, x, c, NULL, batch, TRUE);
  affect_linear_grad (&layer, x, c, NULL, batch, TRUE);
  {
    float single[7 * 4];
    AffectLinear l2 = layer;
    l2.weight.grad = single;
    memset (single, 0, sizeof (single));
    affect_linear_grad (&l2, x, c, NULL, batch, FALSE);
    for (i = 0; i < in * out; i++)
      g_assert_cmpfloat (single[i], ==, 0.0f);
  }
  affect_linear_clear (&layer);
}

static void
test_linear_init (void)
{
  /* PyTorch nn.Linear: weight and bias within ±1/√fan_in, roughly
   * uniform (variance bound²/3) */
  const int in = 384, out = 600;
  AffectRng rng;
  AffectLinear layer;
  double bound = 1.0 / sqrt (in), s2 = 0.0, wmax = 0.0;
  int64_t i;

  affect_rng_init (&rng, 3);
  affect_linear_init (&layer, "net.0", in, out, TRUE, &rng);
  for (i = 0; i < layer.weight.value.n; i++) {
    double w = layer.weight.value.data[i];
    s2 += w * w;
    wmax = MAX (wmax, fabs (w));
  }
  s2 /= layer.weight.value.n;
  g_assert_cmpfloat (wmax, <=, bound);
  g_assert_cmpfloat (wmax, >, 0.99 * bound);
  g_assert_cmpfloat (fabs (s2 / (bound * bound / 3.0) - 1.0), <, 0.02);
  for (i = 0; i < out; i++)
    g_assert_cmpfloat (fabs (layer.bias.value.data[i]), <=, bound);
  affect_linear_clear (&layer);
}

typedef struct
{
  AffectActivation act;
  float *x, *y;
  const float *c;
  int n;
} ActCase;

static double
act_objective (gpointer data)
{
  ActCase *ac = data;
  double s = 0.0;
  int i;

  affect_activation_forward (ac->act, ac->x, ac->y, ac->n);
  for (i = 0; i < ac->n; i++)
    s += (double) ac->c[i] * ac->y[i];
  return s;
}

static double
act_reference (AffectActivation act, double x)
{
  switch (act) {
    case AFFECT_ACTIVATION_IDENTITY:
      return x;
    case AFFECT_ACTIVATION_RELU:
      return MAX (x, 0.0);
    case AFFECT_ACTIVATION_RELU6:
      return MIN (MAX (x, 0.0), 6.0);
    case AFFECT_ACTIVATION_GELU:
      return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
    case AFFECT_ACTIVATION_TANH:
      return tanh (x);
    case AFFECT_ACTIVATION_SIGMOID:
      return 1.0 / (1.0 + exp (-x));
  }
  return NAN;
}

static void
test_activations (void)
{
  const AffectActivation acts[] = { AFFECT_ACTIVATION_IDENTITY,
    AFFECT_ACTIVATION_RELU, AFFECT_ACTIVATION_RELU6, AFFECT_ACTIVATION_GELU,
    AFFECT_ACTIVATION_TANH, AFFECT_ACTIVATION_SIGMOID
  };
  enum
  { N = 64 };
  float x[N], y[N], c[N], dx[N];
  AffectRng rng;
  guint a;
  int i;

  affect_rng_init (&rng, 5);
  for (a = 0; a < G_N_ELEMENTS (acts); a++) {
    ActCase ac = { acts[a], x, y, c, N };
    AffectActivation parsed;

    /* inputs over [-8, 8], kept away from the kinks at 0 and 6 */
    for (i = 0; i < N; i++) {
      float v = (float) (16.0 * affect_rng_uniform (&rng) - 8.0);
      if (fabsf (v) < 0.05f || fabsf (v - 6.0f) < 0.05f)
        v += 0.1f;
      x[i] = v;
    }
    fill_normal (c, N, 1.0, &rng);
    affect_activation_forward (acts[a], x, y, N);
    for (i = 0; i < N; i++)
      g_assert_cmpfloat (fabs (y[i] - act_reference (acts[a], x[i])), <,
          2e-6 * (1.0 + fabs (y[i])));
    affect_activation_backward (acts[a], x, y, c, dx, N);
    gradcheck (affect_activation_name (acts[a]), x, dx, N, act_objective, &ac,
        1e-2, 5e-3, 0);
    g_assert_true (affect_activation_from_name (affect_activation_name
            (acts[a]), &parsed));
    g_assert_cmpint (parsed, ==, acts[a]);
  }
  /* PyTorch's convention at the kinks */
  x[0] = 0.0f;
  x[1] = 6.0f;
  c[0] = c[1] = 1.0f;
  affect_activation_backward (AFFECT_ACTIVATION_RELU, x, x, c, dx, 1);
  g_assert_cmpfloat (dx[0], ==, 0.0f);
  affect_activation_backward (AFFECT_ACTIVATION_RELU6, x, x, c, dx, 2);
  g_assert_cmpfloat (dx[0], ==, 0.0f);
  g_assert_cmpfloat (dx[1], ==, 0.0f);
  /* sigmoid saturates without overflow */
  x[0] = -200.0f;
  x[1] = 200.0f;
  affect_activation_forward (AFFECT_ACTIVATION_SIGMOID, x, y, 2);
  g_assert_cmpfloat (y[0], ==, 0.0f);
  g_assert_cmpfloat (y[1], ==, 1.0f);
  {
    AffectActivation unused;
    g_assert_false (affect_activation_from_name ("swish", &unused));
  }
}

static void
test_dropout (void)
{
  enum
  { N = 20000 };
  float *x = g_new (float, N), *y = g_new (float, N), *y2 = g_new (float, N);
  float *dx = g_new (float, N);
  AffectDropout d;
  AffectRng rng;
  int i, dropped = 0;

  for (i = 0; i < N; i++)
    x[i] = 1.0f + (float) i / N;
  affect_dropout_init (&d, 0.25f);
  affect_rng_init (&rng, 9);
  affect_dropout_forward (&d, x, y, N, TRUE, &rng);
  for (i = 0; i < N; i++) {
    if (y[i] == 0.0f)
      dropped++;
    else
      g_assert_cmpfloat (fabsf (y[i] - x[i] / 0.75f), <, 1e-6f);
  }
  /* 25 % ± 4 standard deviations */
  g_assert_cmpfloat (fabs (dropped / (double) N - 0.25), <,
      4.0 * sqrt (0.25 * 0.75 / N));
  /* backward applies the same mask */
  affect_dropout_backward (&d, x, dx, N);
  for (i = 0; i < N; i++)
    g_assert_cmpfloat (dx[i], ==, y[i]);
  /* same seed, same mask */
  affect_rng_init (&rng, 9);
  affect_dropout_forward (&d, x, y2, N, TRUE, &rng);
  g_assert_cmpmem (y, N * sizeof (float), y2, N * sizeof (float));
  /* inference: identity */
  affect_dropout_forward (&d, x, y, N, FALSE, &rng);
  g_assert_cmpmem (x, N * sizeof (float), y, N * sizeof (float));
  affect_dropout_clear (&d);
  g_free (x);
  g_free (y);
  g_free (y2);
  g_free (dx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/nn/linear", test_linear);
  g_test_add_func ("/nn/linear-init", test_linear_init);
  g_test_add_func ("/nn/activations", test_activations);
  g_test_add_func ("/nn/dropout", test_dropout);
  return g_test_run ();
}
