/* Neural-network core: tensors, parameters, a seeded RNG, and the basic
 * layers every model is built from (linear, element-wise activations,
 * dropout), losses with their gradients, optimisers and initialisers.
 *
 * Conventions shared by every layer in core/nn/:
 *  - float32, row-major, the last dimension contiguous; activations are
 *    batch-first (N, C, H, W) for convolutions and (N, T, D) for sequences.
 *    Every call takes its batch size explicitly; nothing is sized at
 *    construction except the parameters.
 *  - A layer has a forward that may keep what its backward needs in a cache
 *    owned by the layer (grown on demand, freed by the layer's _clear), and
 *    a backward that ADDS parameter gradients into AffectParam.grad and
 *    writes the input gradient. Stateless variants (_apply / _grad) take
 *    the input explicitly for models that keep their own activations.
 *  - Parameters are named with the PyTorch state_dict key of the same
 *    tensor, so model files move between PyTorch and libaffect unchanged;
 *    weights are laid out as PyTorch's (Linear: out_features × in_features).
 *  - Losses return the mean over their elements (as PyTorch's default
 *    reduction) and write the gradient of that mean.
 *
 * Threading: products go through affect_sgemm, which cuts them into
 * slabs that depend on the shape alone, run on the calling thread's
 * affect_get_threads() (affect/affect.h) threads of libaffect's worker
 * pool (affect/parallel.h), each a single-threaded OpenBLAS call; long
 * element-wise loops (optimiser updates) are cut into fixed blocks. The
 * same seed gives the same bits at any thread count.
 */
#ifndef AFFECT_NN_H
#define AFFECT_NN_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "affect/parallel.h"

G_BEGIN_DECLS

#define AFFECT_NN_MAX_DIMS 8

typedef struct
{
  float *data;
  int n_dims;
  int64_t shape[AFFECT_NN_MAX_DIMS];    /* outermost first */
  int64_t n;                    /* number of elements */
} AffectTensor;

typedef struct
{
  char *name;                   /* state_dict key, e.g. "encoder.0.query.weight" */
  AffectTensor value;
  float *grad;                  /* same size as value; NULL for buffers */
  float *m, *v;                 /* optimiser state, allocated on first step */
  gboolean trainable;           /* FALSE for buffers (BN running statistics) */
  gboolean decay;               /* weight decay applies */
} AffectParam;

/* Deterministic RNG (xoshiro256**, seeded by splitmix64): the same seed
 * gives the same initial weights, dropout masks and shuffles everywhere. */
typedef struct
{
  uint64_t s[4];
} AffectRng;

void affect_rng_init (AffectRng * rng, uint64_t seed);
uint64_t affect_rng_next (AffectRng * rng);
double affect_rng_uniform (AffectRng * rng);     /* [0, 1) */
double affect_rng_normal (AffectRng * rng);      /* N(0, 1) */
/* Fisher-Yates permutation of 0..n-1 */
void affect_rng_permutation (AffectRng * rng, int *perm, int n);

/* ---- tensors and parameters -------------------------------------------- */

/* zero-filled, 64-byte aligned; free with affect_tensor_clear */
void affect_tensor_alloc (AffectTensor * t, int n_dims, const int64_t * shape);
void affect_tensor_clear (AffectTensor * t);

/* value and (if trainable) grad zero-filled */
void affect_param_alloc (AffectParam * p, const char *name, int n_dims,
    const int64_t * shape, gboolean trainable, gboolean decay);
void affect_param_clear (AffectParam * p);
void affect_params_zero_grad (AffectParam * const *params, guint n_params);
/* forget the optimiser state (m, v), e.g. after loading new values */
void affect_params_reset_state (AffectParam * const *params, guint n_params);

/* ---- initialisation ------------------------------------------------------ */

/* U(-bound, bound) */
void affect_init_uniform (AffectParam * p, double bound, AffectRng * rng);
/* PyTorch's kaiming_uniform_(a, mode=fan_in, nonlinearity=leaky_relu):
 * bound = sqrt(6 / ((1 + a²) fan_in)). nn.Linear uses a = sqrt(5). */
void affect_init_kaiming_uniform (AffectParam * p, int fan_in, double a,
    AffectRng * rng);

/* ---- linear layer: y = x Wᵀ + b ------------------------------------------ */

typedef struct
{
  int in_features, out_features;
  AffectParam weight;           /* (out_features, in_features) */
  AffectParam bias;             /* (out_features); unused if !has_bias */
  gboolean has_bias;
  /* cache: a copy of the last forward's input */
  float *input_cache;
  size_t cache_capacity;        /* floats */
  int cached_batch;
} AffectLinear;

/* Parameters named "<prefix>.weight" / "<prefix>.bias" and initialised as
 * PyTorch's nn.Linear.reset_parameters: weight kaiming-uniform(a = √5),
 * bias U(±1/√in_features). rng may be NULL (zeros). */
void affect_linear_init (AffectLinear * layer, const char *prefix,
    int in_features, int out_features, gboolean bias, AffectRng * rng);
void affect_linear_clear (AffectLinear * layer);

/* x: batch × in, y: batch × out. Keeps a copy of x for the backward. */
void affect_linear_forward (AffectLinear * layer, const float *x, float *y,
    int batch);
/* from the cached input: grads += dyᵀx (and Σ dy); dx = dy W (dx may be NULL) */
void affect_linear_backward (AffectLinear * layer, const float *dy,
    float *dx, int batch);

/* Stateless forms for models that keep their own activations.
 * _apply: y = x Wᵀ (+ b if with_bias). beta = 1 accumulates into y. */
void affect_linear_apply (const AffectLinear * layer, const float *x,
    float *y, int batch, gboolean with_bias, float beta);
/* param_grads: weight/bias grads += from (x, dy); dx (may be NULL) = dy W */
void affect_linear_grad (AffectLinear * layer, const float *x,
    const float *dy, float *dx, int batch, gboolean param_grads);

/* ---- element-wise activations -------------------------------------------- */

typedef enum
{
  AFFECT_ACTIVATION_IDENTITY,
  AFFECT_ACTIVATION_RELU,
  AFFECT_ACTIVATION_RELU6,
  AFFECT_ACTIVATION_GELU,       /* exact: x Φ(x) with erf, as torch's default */
  AFFECT_ACTIVATION_TANH,
  AFFECT_ACTIVATION_SIGMOID
} AffectActivation;

const char *affect_activation_name (AffectActivation act);
/* FALSE if name is unknown ("identity"/"linear", "relu", "relu6", "gelu",
 * "tanh", "sigmoid") */
gboolean affect_activation_from_name (const char *name, AffectActivation * act);

/* y = act(x); y may equal x */
void affect_activation_forward (AffectActivation act, const float *x,
    float *y, size_t n);
/* dx = dy ⊙ act'(x). x is the forward's input, y its output: ReLU/ReLU6
 * and GELU read x, tanh and sigmoid read y (pass both). dx may equal dy. */
void affect_activation_backward (AffectActivation act, const float *x,
    const float *y, const float *dy, float *dx, size_t n);

/* ---- dropout (inverted: kept units scaled by 1/(1-p)) ------------------- */

typedef struct
{
  float p;
  float *mask;                  /* 0 or 1/(1-p) per element of the last forward */
  size_t capacity, n;
} AffectDropout;

void affect_dropout_init (AffectDropout * d, float p);
void affect_dropout_clear (AffectDropout * d);
/* training: draws a mask from rng; otherwise y = x. y may equal x. */
void affect_dropout_forward (AffectDropout * d, const float *x, float *y,
    size_t n, gboolean training, AffectRng * rng);
void affect_dropout_backward (AffectDropout * d, const float *dy, float *dx,
    size_t n);

/* ---- losses (mean over elements; grad of the mean, grad may be NULL) ----- */

double affect_loss_mse (const float *pred, const float *target, float *grad,
    size_t n);
/* BCE on probabilities; the logs are clamped at -100 as PyTorch's BCELoss,
 * so p = 0 or 1 gives a finite loss and gradient. */
double affect_loss_bce (const float *prob, const float *target, float *grad,
    size_t n);
/* BCE on logits: max(z,0) - z t + log(1 + e^-|z|), stable for any z */
double affect_loss_bce_with_logits (const float *logits, const float *target,
    float *grad, size_t n);
/* softmax cross-entropy over rows of n_classes logits against target
 * distributions (one-hot or soft); mean over the batch */
double affect_loss_softmax_cross_entropy (const float *logits,
    const float *target, float *grad, int batch, int n_classes);

/* ---- optimisers ---------------------------------------------------------- */

typedef enum
{
  AFFECT_OPTIMIZER_SGD,
  AFFECT_OPTIMIZER_ADAM
} AffectOptimizerKind;

typedef struct
{
  AffectOptimizerKind kind;
  double lr;
  double weight_decay;          /* applied to params with decay = TRUE */
  gboolean decoupled_decay;     /* Adam: AdamW-style decay */
  double beta1, beta2, eps;     /* Adam */
  double momentum;              /* SGD */
  double dampening;             /* SGD */
  gboolean nesterov;            /* SGD */
  int64_t step;                 /* steps taken */
  gboolean zero_grad;           /* clear each gradient as the step reads it
                                 * (FALSE by default) */
} AffectOptimizer;

/* torch.optim.Adam defaults: betas (0.9, 0.999), eps 1e-8, no decay */
void affect_optimizer_init_adam (AffectOptimizer * opt, double lr);
/* torch.optim.SGD */
void affect_optimizer_init_sgd (AffectOptimizer * opt, double lr,
    double momentum, gboolean nesterov, double weight_decay);
/* one update of every trainable param from its grad (grads untouched);
 * follows torch.optim's update equations step for step */
void affect_optimizer_step (AffectOptimizer * opt, AffectParam * const *params,
    guint n_params);

/* An Adam update applied in pieces (a fused training step updates each
 * slab of a weight as its gradient is made): affect_optimizer_begin_step
 * counts the step and prepares each param's state once; then
 * affect_adam_coefficients gives a param's coefficients for this step and
 * affect_adam_update_range updates elements [begin, end) of it from its
 * grad (cleared afterwards if opt->zero_grad). Element for element the
 * arithmetic of affect_optimizer_step, so the bits do not depend on how
 * the elements are cut. */
typedef struct
{
  float b1, b2, one_minus_b1, one_minus_b2, wd, step_size, bc2_sqrt, eps;
  float decay_factor;
  gboolean decoupled;
  gboolean zero_grad;
} AffectAdamCoefficients;

void affect_optimizer_begin_step (AffectOptimizer * opt,
    AffectParam * const *params, guint n_params);
void affect_adam_coefficients (const AffectOptimizer * opt,
    const AffectParam * p, AffectAdamCoefficients * c);
void affect_adam_update_range (const AffectAdamCoefficients * c,
    AffectParam * p, int64_t begin, int64_t end);

/* C = alpha·op(A)·op(B) + beta·C (row-major, as cblas_sgemm) on the
 * calling thread's libaffect threads; the same bits at any thread count */
void affect_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc);

/* affect_sgemm's cut of a product into slabs, for callers that do more
 * with each slab (bias, activation, optimiser) while it is in cache: the
 * slabs are C's columns [start, start + len) when by_columns, else its
 * rows; n_parts of them (1 for a product too small to split, 0 for an
 * empty one), each computed by affect_product_run_part exactly as
 * affect_sgemm computes it. */
typedef struct
{
  gboolean trans_a, trans_b, by_columns;
  int m, n, k, lda, ldb, ldc, side, slab, n_parts;
  float alpha, beta;
  const float *a, *b;
  float *c;
} AffectProduct;

void affect_product_init (AffectProduct * p, gboolean trans_a,
    gboolean trans_b, int m, int n, int k, float alpha, const float *a,
    int lda, const float *b, int ldb, float beta, float *c, int ldc);
void affect_product_run_part (const AffectProduct * p, int part, int *start,
    int *len);

G_END_DECLS
#endif /* AFFECT_NN_H */
