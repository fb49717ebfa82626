/* Multi-head scaled dot-product attention core (BERT's self-attention
 * between its Q/K/V projections and its output projection).
 *
 * Heads are interleaved along the model dimension exactly as PyTorch's
 * view(B, T, H, h).transpose(1, 2): head `hd` of position i is the slice
 * [hd·h, (hd + 1)·h) of row i, so each head is a strided sub-matrix and
 * every product is a cblas_sgemm with leading dimension H·h. */
#include <math.h>
#include <string.h>

#include "affect/nn.h"
#include "affect/nn-layers.h"

static void
softmax_rows (int rows, int cols, float *s)
{
  for (int i = 0; i < rows; i++) {
    float *r = s + (int64_t) i * cols;
    float mx = r[0];
    for (int j = 1; j < cols; j++)
      if (r[j] > mx)
        mx = r[j];
    double sum = 0.0;
    for (int j = 0; j < cols; j++) {
      r[j] = expf (r[j] - mx);
      sum += r[j];
    }
    const float inv = (float) (1.0 / sum);
    for (int j = 0; j < cols; j++)
      r[j] *= inv;
  }
}

void
affect_attention_forward (int n, int t, int heads, int head_dim,
    const float *q, const float *k, const float *v, const float *drop_mask,
    float *probs, float *ctx)
{
  const int d = heads * head_dim;
  const float scale = 1.0f / sqrtf ((float) head_dim);
  float *a = drop_mask != NULL ? g_new (float, (size_t) t * t) : NULL;

  for (int b = 0; b < n; b++)
    for (int h = 0; h < heads; h++) {
      const int64_t off = (int64_t) b * t * d + (int64_t) h * head_dim;
      float *p = probs + ((int64_t) b * heads + h) * t * t;
      affect_sgemm (FALSE, TRUE, t, t, head_dim,
          scale, q + off, d, k + off, d, 0.0f, p, t);
      softmax_rows (t, t, p);
      const float *use = p;
      if (drop_mask != NULL) {
        const float *mk = drop_mask + ((int64_t) b * heads + h) * t * t;
        for (int i = 0; i < t * t; i++)
          a[i] = p[i] * mk[i];
        use = a;
      }
      affect_sgemm (FALSE, FALSE, t, head_dim, t,
          1.0f, use, t, v + off, d, 0.0f, ctx + off, d);
    }
  g_free (a);
}

void
affect_attention_backward (int n, int t, int heads, int head_dim,
    const float *q, const float *k, const float *v, const float *drop_mask,
    const float *probs, const float *dctx, float *dq, float *dk, float *dv)
{
  const int d = heads * head_dim;
  const float scale = 1.0f / sqrtf ((float) head_dim);
  float *a = g_new (float, (size_t) t * t);
  float *ds = g_new (float, (size_t) t * t);

  for (int b = 0; b < n; b++)
    for (int h = 0; h < heads; h++) {
      const int64_t off = (int64_t) b * t * d + (int64_t) h * head_dim;
      const float *p = probs + ((int64_t) b * heads + h) * t * t;
      const float *mk = drop_mask != NULL ?
          drop_mask + ((int64_t) b * heads + h) * t * t : NULL;
      const float *use = p;
      if (mk != NULL) {
        for (int i = 0; i < t * t; i++)
          a[i] = p[i] * mk[i];
        use = a;
      }
      /* dV = Aᵀ·dctx */
      affect_sgemm (TRUE, FALSE, t, head_dim, t,
          1.0f, use, t, dctx + off, d, 0.0f, dv + off, d);
      /* dA = dctx·Vᵀ, through the dropout mask to dP */
      affect_sgemm (FALSE, TRUE, t, t, head_dim,
          1.0f, dctx + off, d, v + off, d, 0.0f, ds, t);
      if (mk != NULL)
        for (int i = 0; i < t * t; i++)
          ds[i] *= mk[i];
      /* softmax backward: dS = P ⊙ (dP − Σⱼ dP·P) */
      for (int i = 0; i < t; i++) {
        const float *pr = p + (int64_t) i * t;
        float *dr = ds + (int64_t) i * t;
        double dot = 0.0;
        for (int j = 0; j < t; j++)
          dot += dr[j] * pr[j];
        for (int j = 0; j < t; j++)
          dr[j] = pr[j] * (dr[j] - (float) dot);
      }
      /* S = scale·Q·Kᵀ: dQ = scale·dS·K, dK = scale·dSᵀ·Q */
      affect_sgemm (FALSE, FALSE, t, head_dim, t,
          scale, ds, t, k + off, d, 0.0f, dq + off, d);
      affect_sgemm (TRUE, FALSE, t, head_dim, t,
          scale, ds, t, q + off, d, 0.0f, dk + off, d);
    }
  g_free (a);
  g_free (ds);
}
