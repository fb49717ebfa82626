/* Neural-network core: tensors, parameters, a seeded RNG.
 *
 * Conventions shared by every layer in core/nn/:
 *  - float32, row-major, the last dimension contiguous; activations are
 *    batch-first (N, C, H, W) for convolutions and (N, T, D) for sequences.
 *  - A layer has a forward that may keep what its backward needs in a cache
 *    owned by the layer, and a backward that ADDS parameter gradients into
 *    AffectParam.grad and writes the input gradient.
 *  - Parameters are named with the PyTorch state_dict key of the same
 *    tensor, so model files move between PyTorch and libaffect unchanged.
 */
#ifndef AFFECT_NN_H
#define AFFECT_NN_H

#include <glib.h>
#include <stdint.h>

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

G_END_DECLS
#endif /* AFFECT_NN_H */
