/* Convolutional and attention layers of libaffect, forward and backward.
 *
 * Layout. Convolutional activations are stored CHANNEL-MAJOR over the
 * batch: (C, N, H, W), one contiguous N·H·W plane per channel. A 1×1
 * convolution over a whole batch is then ONE matrix product
 * Y (Cout × N·H·W) = W (Cout × Cin) · X (Cin × N·H·W), batch-norm works on
 * contiguous channels, and im2col produces one (Cin·k·k × N·OH·OW) matrix.
 * For a single image (N = 1), or any C = 1 input, the layout equals
 * PyTorch's NCHW. Weights keep PyTorch's layout (Cout, Cin, kh, kw), so
 * state_dict tensors are used unchanged. Sequence activations are
 * batch-first (N, T, D) as in nn.h.
 *
 * Calling convention. Every function works on caller-owned float arrays;
 * a forward writes its output, a backward ADDS parameter gradients into the
 * d<param> arrays and WRITES the input gradient (dx) unless dx is NULL.
 * What a backward needs from the forward (input, statistics, attention
 * probabilities) is passed back to it by the caller.
 *
 * Threading: matrix products go through cblas_sgemm (OpenBLAS threads, see
 * affect_set_threads()); the loops here run on the calling thread.
 */
#ifndef AFFECT_NN_LAYERS_H
#define AFFECT_NN_LAYERS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS
/* ---- 2-D convolution, groups = 1: im2col + cblas_sgemm ---------------- */
    typedef struct
{
  int cin, cout;                /* channels */
  int kh, kw;                   /* kernel */
  int stride, pad;              /* same in both directions */
  int n, h, w;                  /* batch and input size */
  int oh, ow;                   /* output size, set by affect_conv2d_geometry */
} AffectConv2d;

/* Fills oh/ow; FALSE if the kernel does not fit the padded input. */
gboolean affect_conv2d_geometry (AffectConv2d * conv, int cin, int cout,
    int kh, int kw, int stride, int pad, int n, int h, int w);
/* floats of im2col workspace needed (0 for a 1×1, stride 1, pad 0 conv) */
size_t affect_conv2d_workspace (const AffectConv2d * conv);
/* x: (cin, n, h, w); weight: (cout, cin, kh, kw); bias: cout or NULL;
 * y: (cout, n, oh, ow); col: workspace or NULL when not needed */
void affect_conv2d_forward (const AffectConv2d * conv, const float *x,
    const float *weight, const float *bias, float *y, float *col);
/* What follows a convolution, done on each block of its output while the
 * block is in cache instead of in passes of its own over memory:
 * v = conv + bias; v = scale·v + shift (when scale); clamp to
 * {clamp[0], clamp[1]} (when clamp); v = residual + v (when residual,
 * y's layout). Each step rounds as the separate pass it replaces, so the
 * output has the bits of conv, then batch-norm, then clamp, then sum.
 * With moments set instead, y is the plain convolution output and
 * moments[2·o], moments[2·o + 1] receive the mean and Σ (y − mean)² of
 * output channel o over all its values (in double; blocks merged in a
 * fixed order by Chan's formula): one-pass batch-norm statistics. */
typedef struct
{
  const float *scale, *shift;
  const float *clamp;
  const float *residual;
  double *moments;
} AffectEpilogue;

/* affect_conv2d_forward followed by ep (NULL: none) */
void affect_conv2d_forward_fused (const AffectConv2d * conv, const float *x,
    const float *weight, const float *bias, const AffectEpilogue * ep,
    float *y, float *col);
/* dweight / dbias accumulate (NULL to skip); dx written (NULL to skip) */
void affect_conv2d_backward (const AffectConv2d * conv, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight,
    float *dbias, float *col);
/* the same with a second workspace of col's size for the input gradient's
 * columns (or NULL; unused by a 1×1 convolution), so that the weight and
 * input gradient products run as one job on the worker pool (same bits) */
void affect_conv2d_backward_ws (const AffectConv2d * conv, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight,
    float *dbias, float *col, float *dcol);

/* ---- depthwise 3×3 convolution, padding 1, stride 1 or 2, no bias ------ */

typedef struct
{
  int c, n, h, w, stride;
  int oh, ow;
} AffectDepthwise;

gboolean affect_depthwise_geometry (AffectDepthwise * dw, int c, int n,
    int h, int w, int stride);
/* x: (c, n, h, w); weight: (c, 1, 3, 3); y: (c, n, oh, ow) */
void affect_depthwise_forward (const AffectDepthwise * dw, const float *x,
    const float *weight, float *y);
/* affect_depthwise_forward followed by ep (NULL: none; see AffectEpilogue) */
void affect_depthwise_forward_fused (const AffectDepthwise * dw,
    const float *x, const float *weight, const AffectEpilogue * ep, float *y);
void affect_depthwise_backward (const AffectDepthwise * dw, const float *x,
    const float *weight, const float *dy, float *dx, float *dweight);
/* the same on pro(x) instead of x: each input value of channel c is first
 * mapped to clamp(pro->scale[c]·x + pro->shift[c]) (pro->clamp NULL: no
 * clamp; residual and moments unused), rounded as a batch-norm pass
 * (affect_batchnorm_forward_saved with that clamp) rounds it. A
 * batch-norm + clamp before the depthwise convolution then runs as the
 * planes are loaded, and its output is never stored. The backward's dx is
 * the gradient w.r.t. pro(x). pro NULL: x as it is. The forward also
 * writes post(y) to y2 when y2 is not NULL (post as pro: this layer's own
 * batch-norm and clamp from saved statistics, with the bits of
 * affect_batchnorm_forward_saved on y), while each plane is in cache. */
void affect_depthwise_forward_pro (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *weight,
    const AffectEpilogue * ep, float *y, const AffectEpilogue * post,
    float *y2);
/* affect_depthwise_forward_pro with the moments epilogue, followed by
 * affect_batchnorm_forward_moments with these arguments (no residual):
 * each channel's batch-norm runs as soon as its planes are made, while
 * they are in cache; y gets the convolution output, y_bn the batch-norm
 * + clamp output, with the bits of the two calls */
void affect_depthwise_forward_train_bn (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *weight,
    float *y, const float *gamma, const float *beta, float *running_mean,
    float *running_var, float momentum, int64_t * n_batches, float eps,
    const float *clamp, float *y_bn, float *mean, float *rstd);
void affect_depthwise_backward_pro (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *weight,
    const float *dy, float *dx, float *dweight);
/* affect_depthwise_backward_pro that also makes, while each plane of dx is
 * in cache, the sums the backward of pro's batch-norm needs (pro being
 * a = γ·rstd, b = β − mean·a and a clamp): sums[2·ch] = Σ dx and
 * sums[2·ch + 1] = Σ dx·(x − mean)·rstd over channel ch where the clamp
 * passes, with the bits of affect_batchnorm_backward_train_masked's own
 * sums; affect_batchnorm_backward_train_sums takes them */
void affect_depthwise_backward_pro_sums (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *mean,
    const float *rstd, const float *weight, const float *dy, float *dx,
    float *dweight, double *sums);
/* a training batch-norm + clamp after a layer, whose backward a kernel
 * runs on each plane of its output gradient as it goes: dy (w.r.t. the
 * clamped output) becomes γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) over the
 * mask, with the bits of affect_batchnorm_backward_train_masked */
typedef struct
{
  const float *x;               /* the batch-norm's input: the layer output */
  const float *gamma, *beta, *mean, *rstd, *clamp;
  const double *sums;           /* affect_batchnorm_grad_sums's */
} AffectBnBackward;
/* either of the above (pro NULL: x as it is; sums NULL: none), with dy the
 * gradient w.r.t. post's batch-norm + clamp of this layer's output: the
 * gradient w.r.t. the output is made from it a plane at a time in cache
 * (post NULL: dy is that gradient). pro_dx (with sums): dx then goes on
 * through pro's batch-norm, channel by channel as soon as the channel's
 * sums are whole — the dx of affect_batchnorm_backward_train_sums given
 * those sums, which the caller still adds to pro's γ and β gradients */
void affect_depthwise_backward_bn (const AffectDepthwise * dw,
    const float *x, const AffectEpilogue * pro, const float *mean,
    const float *rstd, const float *weight, const float *dy, float *dx,
    float *dweight, double *sums, gboolean pro_dx,
    const AffectBnBackward * post);

/* ---- inverted-residual block, inference, strip by strip -----------------
 * MobileNetV2's block in eval mode: 1×1 expansion cin → hidden (or none,
 * hidden = cin) + its epilogue, depthwise 3×3 (stride 1 or 2, padding 1)
 * + its epilogue, 1×1 projection hidden → cout + its epilogue (whose
 * residual, y's layout, is added last). Each image runs on one thread,
 * strip of output rows after strip: the expanded rows a strip reads are
 * made, kept in cache for the depthwise and the projection, and the
 * expanded and depthwise activations never reach memory; images small
 * enough run a few at a time, whole. How the work is
 * cut follows from the shapes alone: the same bits at any thread count.
 * The epilogues' moments must be NULL (no training statistics here). */
typedef struct
{
  int cin, hidden, cout, stride;
  int n, h, w, oh, ow;
  int strip;                    /* output rows per strip */
  int group;                    /* images per part (> 1: whole images) */
} AffectInvRes;

gboolean affect_invres_geometry (AffectInvRes * g, int cin, int hidden,
    int cout, int stride, int n, int h, int w);
/* x: (cin, n, h, w); w_exp: (hidden, cin) or NULL when hidden = cin;
 * w_dw: (hidden, 1, 3, 3); w_proj: (cout, hidden); y: (cout, n, oh, ow) */
void affect_invres_forward (const AffectInvRes * g, const float *x,
    const float *w_exp, const AffectEpilogue * ep_exp, const float *w_dw,
    const AffectEpilogue * ep_dw, const float *w_proj,
    const AffectEpilogue * ep_proj, float *y);
/* the same with the expansion a convolution pre (hidden outputs of g's
 * h × w; w_exp its weights, x its input) made strip by strip from its
 * im2col columns: the convolution's output never reaches memory; for a
 * block of hidden = cin whose input is pre's output (image by image,
 * whatever g->group says) */
void affect_invres_forward_conv (const AffectInvRes * g,
    const AffectConv2d * pre, const float *x, const float *w_exp,
    const AffectEpilogue * ep_exp, const float *w_dw,
    const AffectEpilogue * ep_dw, const float *w_proj,
    const AffectEpilogue * ep_proj, float *y);
/* Several blocks as one job: each part takes a set of images through
 * every stage in order, so the blocks cost one synchronisation instead of
 * one each, and the maps between stages hold only the part's images, in
 * a workspace of the thread that runs it: they stay in its cache and
 * never reach memory. x is the first stage's input (cin, n, h, w), y the
 * last stage's output; stage k's input is stage k − 1's output. A part
 * holds affect_invres_chain_images () images: the least common multiple
 * of the stages' groups (1 for a stage with pre, which must be the first),
 * at most n. Every stage runs its images as affect_invres_forward[_conv]
 * does, so the output has the bits of those run one after the other.
 * residual: add the stage's input to its output (cin = cout, stride 1);
 * ep_proj's residual must be NULL. */
typedef struct
{
  AffectInvRes g;
  const AffectConv2d *pre;      /* or NULL: as affect_invres_forward_conv */
  const float *w_exp;
  const AffectEpilogue *ep_exp;
  const float *w_dw;
  const AffectEpilogue *ep_dw;
  const float *w_proj;
  const AffectEpilogue *ep_proj;
  gboolean residual;
} AffectInvResStage;

int affect_invres_chain_images (const AffectInvResStage * stages,
    int n_stages);
void affect_invres_chain_forward (const AffectInvResStage * stages,
    int n_stages, const float *x, float *y);

/* ---- batch normalisation over channel-major (C, M) data ----------------
 * Training: batch mean and biased variance normalise; the running averages
 * move by momentum (PyTorch's convention: r = (1 - m)·r + m·batch, the
 * running variance takes the unbiased batch variance); momentum < 0 means
 * a cumulative average over `*n_batches` batches (PyTorch's momentum=None).
 * mean / rstd (C floats each) keep what the backward needs.
 * Eval: running statistics; backward is then a per-channel scale.
 * clamp: NULL, or {lo, hi} to clamp the output in the same pass (ReLU is
 * {0, +inf}, ReLU6 {0, 6}); the backward then takes the clamped output's
 * gradient already masked by the activation's backward. */
void affect_batchnorm_forward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, float *running_mean,
    float *running_var, float momentum, int64_t * n_batches, float eps,
    const float *clamp, float *y, float *mean, float *rstd);
/* the train forward with the batch statistics already made (moments:
 * per channel the mean and Σ (x − mean)², AffectEpilogue's), one pass over
 * x; moments NULL: made here, as affect_batchnorm_forward_train does;
 * residual (x's layout, or NULL) is added to the clamped output; y NULL:
 * the statistics and running averages only (a consumer that applies the
 * batch-norm itself as it reads x, affect_depthwise_forward_pro) */
void affect_batchnorm_forward_moments (int c, int64_t m, const float *x,
    const double *moments, const float *gamma, const float *beta,
    float *running_mean, float *running_var, float momentum,
    int64_t * n_batches, float eps, const float *clamp,
    const float *residual, float *y, float *mean, float *rstd);
void affect_batchnorm_forward_eval (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *running_mean,
    const float *running_var, float eps, const float *clamp, float *y);
/* the train forward's output again, from the mean / rstd it kept (bit for
 * bit, while gamma and beta are unchanged): a backward can recompute the
 * output instead of keeping it */
void affect_batchnorm_forward_saved (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, float *y);
/* x: the forward's input; mean/rstd from the train forward */
void affect_batchnorm_backward_train (int c, int64_t m, const float *x,
    const float *gamma, const float *mean, const float *rstd,
    const float *dy, float *dx, float *dgamma, float *dbeta);
/* the same with the clamp's derivative applied on the fly: dy is the
 * gradient w.r.t. the clamped output y, counted where clamp[0] < y (and
 * y < clamp[1] when that is finite) as affect_activation_backward's ReLU
 * and ReLU6 masks; the bits of that mask followed by the backward above,
 * one sweep fewer */
void affect_batchnorm_backward_train_clamped (int c, int64_t m,
    const float *x, const float *gamma, const float *mean, const float *rstd,
    const float *y, const float *clamp, const float *dy, float *dx,
    float *dgamma, float *dbeta);
/* the same with the clamp's mask made from x: where lo < v (and v < hi
 * when hi is finite) for v = γ·rstd·x + (β − mean·γ·rstd), the output
 * before the clamp as affect_batchnorm_forward_saved forms it, so the
 * mask is that of the output y without reading y (which then need not be
 * kept or recomputed); the bits of affect_batchnorm_backward_train_clamped
 * given that output. clamp NULL: affect_batchnorm_backward_train. */
void affect_batchnorm_backward_train_masked (int c, int64_t m,
    const float *x, const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, const float *dy, float *dx,
    float *dgamma, float *dbeta);
/* the same with the per-channel sums of the backward already made
 * (sums[2·ch] = Σ dy, sums[2·ch + 1] = Σ dy·x̂ over the clamp's mask, as
 * affect_depthwise_backward_pro_sums makes them): one pass over x and dy */
void affect_batchnorm_backward_train_sums (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, const double *sums,
    const float *dy, float *dx, float *dgamma, float *dbeta);
/* the sums alone (sums[2·ch] = Σ dy, sums[2·ch + 1] = Σ dy·x̂ over the
 * clamp's mask made from x, as affect_batchnorm_backward_train_masked
 * makes them), with dgamma and dbeta: for a consumer that makes dx from
 * them itself (AffectBnBackward, affect_depthwise_backward_bn) */
void affect_batchnorm_grad_sums (int c, int64_t m, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *rstd, const float *clamp, const float *dy, double *sums,
    float *dgamma, float *dbeta);
void affect_batchnorm_backward_eval (int c, int64_t m, const float *x,
    const float *gamma, const float *running_mean, const float *running_var,
    float eps, const float *dy, float *dx, float *dgamma, float *dbeta);

/* ---- MoodNet's bw2col stage, fused ---------------------------------------
 * y = ReLU(w3·ReLU(w1·x̂ + b1) + b3) per pixel, x̂ = a0·x + b0 (the input
 * batch-norm as an affine map), 1 → AFFECT_BW2COL_HIDDEN →
 * AFFECT_BW2COL_OUT channels; x: n pixels, y: (AFFECT_BW2COL_OUT, n).
 * Blocks of pixels fixed by n, sums reduced in block order. */
#define AFFECT_BW2COL_HIDDEN 10
#define AFFECT_BW2COL_OUT 3
void affect_bw2col_forward (int64_t n, const float *x, float a0, float b0,
    const float *w1, const float *b1, const float *w3, const float *b3,
    float *y);
/* mean and Σ (x − mean)² of the n inputs, in double */
void affect_bw2col_moments (int64_t n, const float *x, double *mean,
    double *m2);
/* y, dy: the forward's output and its gradient; accumulates the weight
 * and bias gradients, writes the gradient w.r.t. x̂ to dxhat (unless
 * NULL), and returns Σ dx̂ and Σ dx̂·(x − mu)·r: the input batch-norm's
 * β and γ gradients */
void affect_bw2col_backward (int64_t n, const float *x, float a0, float b0,
    float mu, float r, const float *w1, const float *b1, const float *w3,
    const float *b3, const float *y, const float *dy, float *dxhat,
    float *dw1, float *db1, float *dw3, float *db3, double *sg, double *sgx);

/* ---- layer normalisation over the last dimension (rows × d) ------------ */
void affect_layernorm_forward (int64_t rows, int d, const float *x,
    const float *gamma, const float *beta, float eps, float *y, float *mean,
    float *rstd);
void affect_layernorm_backward (int64_t rows, int d, const float *x,
    const float *gamma, const float *mean, const float *rstd,
    const float *dy, float *dx, float *dgamma, float *dbeta);

/* ---- multi-head scaled dot-product attention core ----------------------
 * q, k, v, ctx: (n, t, heads·head_dim), heads interleaved along the last
 * dimension as PyTorch's view(B, T, H, h). probs: (n, heads, t, t), the
 * softmax(q·kᵀ/√head_dim) the forward computed; `drop_mask` (same shape,
 * values 0 or 1/(1-p)) applies attention dropout when not NULL. The Q/K/V
 * and output projections are linear layers around this core. */
void affect_attention_forward (int n, int t, int heads, int head_dim,
    const float *q, const float *k, const float *v, const float *drop_mask,
    float *probs, float *ctx);
void affect_attention_backward (int n, int t, int heads, int head_dim,
    const float *q, const float *k, const float *v, const float *drop_mask,
    const float *probs, const float *dctx, float *dq, float *dk, float *dv);

/* ---- pooling ------------------------------------------------------------
 * Global max / mean over the spatial plane of channel-major (C, N, S)
 * data; out is (N, C), batch-first, ready for linear layers. argmax keeps
 * the winning position (C·N ints) for the max backward. */
void affect_global_max_forward (int c, int n, int s, const float *x,
    float *out, int32_t * argmax);
void affect_global_max_backward (int c, int n, int s, const int32_t * argmax,
    const float *dout, float *dx);
void affect_global_mean_forward (int c, int n, int s, const float *x,
    float *out);
void affect_global_mean_backward (int c, int n, int s, const float *dout,
    float *dx);
/* mean over the middle axis of (n, t, d) → (n, d) */
void affect_mean_axis1_forward (int n, int t, int d, const float *x,
    float *out);
void affect_mean_axis1_backward (int n, int t, int d, const float *dout,
    float *dx);

/* ---- residual add: y = a + b (y may alias a or b); the backward of a sum
 * hands dy to both branches, so it needs no function: dx_a += dy, dx_b += dy
 * is affect_add_inplace (dx, dy). */
void affect_add (int64_t n, const float *a, const float *b, float *y);
void affect_add_inplace (int64_t n, float *y, const float *x);

G_END_DECLS
#endif /* AFFECT_NN_LAYERS_H */
