/* Element-wise activations and their derivatives.
 * GELU's Φ(x) is evaluated as erfc(−x/√2)/2 rather than (1 + erf(x/√2))/2:
 * the same function, without the cancellation that costs float32 all its
 * digits for x below about −3.
 * Derivatives at the kinks follow PyTorch: ReLU'(0) = 0, ReLU6'(0) =
 * ReLU6'(6) = 0, so gradients match torch's autograd bit for bit there. */
#include <math.h>
#include <string.h>

#include "affect/nn.h"
#include "vector-clones.h"

/* element-wise loops over whole batches: let GCC vectorise them at -O2
 * (IEEE results unchanged) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize")
#endif

static const struct
{
  AffectActivation act;
  const char *name;
} names[] = {
  {AFFECT_ACTIVATION_IDENTITY, "identity"},
  {AFFECT_ACTIVATION_IDENTITY, "linear"},
  {AFFECT_ACTIVATION_RELU, "relu"},
  {AFFECT_ACTIVATION_RELU6, "relu6"},
  {AFFECT_ACTIVATION_GELU, "gelu"},
  {AFFECT_ACTIVATION_TANH, "tanh"},
  {AFFECT_ACTIVATION_SIGMOID, "sigmoid"},
};

const char *
affect_activation_name (AffectActivation act)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (names[i].act == act)
      return names[i].name;
  return "unknown";
}

gboolean
affect_activation_from_name (const char *name, AffectActivation * act)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (names[i].name, name) == 0) {
      *act = names[i].act;
      return TRUE;
    }
  return FALSE;
}

AFFECT_VECTOR_CLONES void
affect_activation_forward (AffectActivation act, const float *x, float *y,
    size_t n)
{
  size_t i;

  switch (act) {
    case AFFECT_ACTIVATION_IDENTITY:
      if (y != x)
        memmove (y, x, n * sizeof (float));
      break;
    case AFFECT_ACTIVATION_RELU:
      for (i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case AFFECT_ACTIVATION_RELU6:
      for (i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
      break;
    case AFFECT_ACTIVATION_GELU:
      for (i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * erfcf (-x[i] * (float) M_SQRT1_2);
      break;
    case AFFECT_ACTIVATION_TANH:
      for (i = 0; i < n; i++)
        y[i] = tanhf (x[i]);
      break;
    case AFFECT_ACTIVATION_SIGMOID:
      for (i = 0; i < n; i++) {
        /* two branches so that exp never overflows */
        float v = x[i];
        if (v >= 0.0f)
          y[i] = 1.0f / (1.0f + expf (-v));
        else {
          float e = expf (v);
          y[i] = e / (1.0f + e);
        }
      }
      break;
  }
}

AFFECT_VECTOR_CLONES void
affect_activation_backward (AffectActivation act, const float *x,
    const float *y, const float *dy, float *dx, size_t n)
{
  size_t i;

  switch (act) {
    case AFFECT_ACTIVATION_IDENTITY:
      if (dx != dy)
        memmove (dx, dy, n * sizeof (float));
      break;
    case AFFECT_ACTIVATION_RELU:
      for (i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case AFFECT_ACTIVATION_RELU6:
      for (i = 0; i < n; i++)
        dx[i] = (x[i] > 0.0f && x[i] < 6.0f) ? dy[i] : 0.0f;
      break;
    case AFFECT_ACTIVATION_GELU:
      for (i = 0; i < n; i++) {
        /* d/dx x Φ(x) = Φ(x) + x φ(x) */
        float v = x[i];
        float cdf = 0.5f * erfcf (-v * (float) M_SQRT1_2);
        float pdf = expf (-0.5f * v * v) * (float) (0.5 * M_2_SQRTPI *
            M_SQRT1_2);
        dx[i] = dy[i] * (cdf + v * pdf);
      }
      break;
    case AFFECT_ACTIVATION_TANH:
      for (i = 0; i < n; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case AFFECT_ACTIVATION_SIGMOID:
      for (i = 0; i < n; i++)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
  }
}
