/* losses: values against direct formulas, gradients by finite
 * differences, numerical safety at saturated inputs */
#include <math.h>

#include "affect/affect.h"
#include "affect/nn.h"
#include "gradcheck.h"

typedef enum
{ MSE, BCE, BCE_LOGITS, SOFTMAX_CE } LossKind;

typedef struct
{
  LossKind kind;
  float *pred;
  const float *target;
  int batch, width;
} LossCase;

static double
loss_eval (LossCase * lc, float *grad)
{
  size_t n = (size_t) lc->batch * lc->width;

  switch (lc->kind) {
    case MSE:
      return affect_loss_mse (lc->pred, lc->target, grad, n);
    case BCE:
      return affect_loss_bce (lc->pred, lc->target, grad, n);
    case BCE_LOGITS:
      return affect_loss_bce_with_logits (lc->pred, lc->target, grad, n);
    case SOFTMAX_CE:
      return affect_loss_softmax_cross_entropy (lc->pred, lc->target, grad,
          lc->batch, lc->width);
  }
  return NAN;
}

static double
loss_objective (gpointer data)
{
  return loss_eval (data, NULL);
}

static void
test_loss_gradients (void)
{
  enum
  { B = 6, W = 5, N = B * W };
  const char *names[] = { "mse", "bce", "bce-with-logits", "softmax-ce" };
  float pred[N], target[N], grad[N];
  AffectRng rng;
  int k, i, j;

  affect_rng_init (&rng, 21);
  for (k = MSE; k <= SOFTMAX_CE; k++) {
    LossCase lc = { k, pred, target, B, W };
    double ref = 0.0, value;

    for (i = 0; i < N; i++) {
      double u = affect_rng_uniform (&rng);
      switch (k) {
        case MSE:
          pred[i] = (float) affect_rng_normal (&rng);
          target[i] = (float) affect_rng_normal (&rng);
          ref += pow ((double) pred[i] - target[i], 2) / N;
          break;
        case BCE:
          pred[i] = (float) (0.05 + 0.9 * u);
          target[i] = (float) affect_rng_uniform (&rng);
          ref -= (target[i] * log (pred[i]) + (1 - target[i]) *
              log (1 - pred[i])) / N;
          break;
        case BCE_LOGITS:{
          double p;
          pred[i] = (float) (4.0 * affect_rng_normal (&rng));
          target[i] = u < 0.5 ? 0.0f : 1.0f;
          p = 1.0 / (1.0 + exp (-(double) pred[i]));
          ref -= (target[i] * log (p) + (1 - target[i]) * log (1 - p)) / N;
          break;
        }
        case SOFTMAX_CE:
          pred[i] = (float) (2.0 * affect_rng_normal (&rng));
          target[i] = (i % W) == (i / W) % W ? 1.0f : 0.0f;
          break;
      }
    }
    if (k == SOFTMAX_CE)
      for (i = 0; i < B; i++) {
        double z = 0.0;
        for (j = 0; j < W; j++)
          z += exp (pred[i * W + j]);
        for (j = 0; j < W; j++)
          ref -= target[i * W + j] * (pred[i * W + j] - log (z)) / B;
      }
    value = loss_eval (&lc, grad);
    g_test_message ("%s = %.9g (direct formula %.9g)", names[k], value, ref);
    g_assert_cmpfloat (fabs (value - ref), <, 1e-7 * (1.0 + fabs (ref)));
    gradcheck (names[k], pred, grad, N, loss_objective, &lc, 1e-3, 1e-3, 0);
  }
}

static void
test_loss_safety (void)
{
  /* probabilities of exactly 0 and 1, and huge logits, stay finite */
  float p[4] = { 0.0f, 1.0f, 0.0f, 1.0f }, t[4] = { 1.0f, 0.0f, 0.0f, 1.0f };
  float z[4] = { -1e4f, 1e4f, -1e4f, 1e4f }, g[4];
  double l;
  int i;

  l = affect_loss_bce (p, t, g, 4);
  /* two terms clamped at -100, two exact zeros: mean 50 as PyTorch */
  g_assert_cmpfloat (fabs (l - 50.0), <, 1e-9);
  for (i = 0; i < 4; i++)
    g_assert_true (isfinite (g[i]));
  l = affect_loss_bce_with_logits (z, t, g, 4);
  g_assert_cmpfloat (fabs (l - 5000.0), <, 1e-6);
  for (i = 0; i < 4; i++)
    g_assert_true (isfinite (g[i]));
  g_assert_cmpfloat (g[0], ==, -0.25f);
  g_assert_cmpfloat (g[2], ==, 0.0f);
  l = affect_loss_softmax_cross_entropy (z, (float[]) {
        0, 1, 0, 0
      }, g, 1, 4);
  /* two logits tie at 1e4: p = 1/2 for the target, loss ln 2 */
  g_assert_cmpfloat (fabs (l - M_LN2), <, 1e-9);
  g_assert_cmpfloat (fabsf (g[1] + 0.5f), <, 1e-7f);
  g_assert_cmpfloat (fabsf (g[3] - 0.5f), <, 1e-7f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/nn/loss/gradients", test_loss_gradients);
  g_test_add_func ("/nn/loss/safety", test_loss_safety);
  return g_test_run ();
}
