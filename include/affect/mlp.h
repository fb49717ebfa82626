/* Multi-layer perceptron: the speech-emotion regressor and the
 * spontaneity classifier of the VAT seed (384-1200-600-1 and
 * 384-1200-600-300-1), of any widths.
 *
 * The model holds its input standardisation (training-set mean and
 * standard deviation per feature), its output names and free-form
 * metadata, and saves all of it in one safetensors file. Parameter names
 * are those of a PyTorch `nn.Sequential` called `net` (Linear layers at
 * even indices: net.0, net.2, …) plus the buffers `standardise.mean` and
 * `standardise.std`, so the file loads into such a module unchanged.
 *
 * Shape (FFTW-like): affect_mlp_new / _load (allocates) → _predict (cheap,
 * any batch size) → _free. _predict is not reentrant: it uses the model's
 * workspace. Training: affect/mlp-train.h; VAT: affect/vat.h; the rows a
 * training run reads: affect/dataset.h.
 */
#ifndef AFFECT_MLP_H
#define AFFECT_MLP_H

#include <glib.h>
#include <stdint.h>

#include "affect/nn.h"

G_BEGIN_DECLS
#define AFFECT_MLP_MAX_HIDDEN 8
    typedef struct
{
  int n_inputs;
  int n_hidden;                 /* number of hidden layers */
  int hidden[AFFECT_MLP_MAX_HIDDEN];
  int n_outputs;
  AffectActivation hidden_activation;   /* ReLU in the seed */
  AffectActivation output_activation;   /* identity, ReLU (seed), sigmoid */
} AffectMlpConfig;

typedef struct _AffectMlp AffectMlp;

/* Weights initialised as PyTorch's nn.Linear from the seed. NULL (with
 * error) if the config is invalid. */
AffectMlp *affect_mlp_new (const AffectMlpConfig * config, uint64_t seed,
    GError ** error);
void affect_mlp_free (AffectMlp * mlp);
const AffectMlpConfig *affect_mlp_get_config (const AffectMlp * mlp);
/* "384-1200-600-1" */
char *affect_mlp_describe (const AffectMlp * mlp);

/* weights and biases, in layer order; owned by the model */
AffectParam *const *affect_mlp_params (AffectMlp * mlp, guint * n_params);

/* x_std = (x − mean) / std per feature; a std ≤ 1e-8 counts as 1 (a
 * constant feature becomes 0). Default: mean 0, std 1. */
void affect_mlp_set_standardisation (AffectMlp * mlp, const float *mean,
    const float *std);
const float *affect_mlp_get_mean (const AffectMlp * mlp);
const float *affect_mlp_get_std (const AffectMlp * mlp);
/* mean and (population) standard deviation of n rows of d features,
 * accumulated in double */
void affect_standardisation_compute (const float *x, int n, int d,
    float *mean, float *std);
/* in place, with given statistics */
void affect_standardise (float *x, int n, int d, const float *mean,
    const float *std);

/* names of the outputs (NULL-terminated, copied); may be unset */
void affect_mlp_set_names (AffectMlp * mlp, const char *const *names);
const char *const *affect_mlp_get_names (const AffectMlp * mlp);
/* extra string metadata carried in the model file */
void affect_mlp_set_metadata (AffectMlp * mlp, const char *key,
    const char *value);
const char *affect_mlp_get_metadata (const AffectMlp * mlp, const char *key);

/* y (n × n_outputs) for raw features x (n × n_inputs), standardised with
 * the model's statistics */
void affect_mlp_predict (AffectMlp * mlp, const float *x, float *y, int n);
/* the same for inputs already standardised */
void affect_mlp_predict_standardised (AffectMlp * mlp, const float *xs,
    float *y, int n);

/* Atomic write (temporary file, fsync, rename) of weights, statistics,
 * names and metadata. */
gboolean affect_mlp_save (AffectMlp * mlp, const char *path, GError ** error);
/* Reads a file written by _save or by PyTorch with the same keys. */
AffectMlp *affect_mlp_load (const char *path, GError ** error);

G_END_DECLS
#endif /* AFFECT_MLP_H */
