/* MLP internals shared by mlp.c, mlp-io.c, mlp-train.c and vat.c */
#ifndef AFFECT_MLP_PRIVATE_H
#define AFFECT_MLP_PRIVATE_H

#include "affect/mlp-train.h"
#include "affect/safetensors.h"

#define MLP_MAX_LAYERS (AFFECT_MLP_MAX_HIDDEN + 1)

struct _AffectMlp
{
  AffectMlpConfig config;
  int n_layers;
  int widths[MLP_MAX_LAYERS + 1];       /* n_inputs, hidden…, n_outputs */
  AffectLinear layers[MLP_MAX_LAYERS];
  AffectParam *params[2 * MLP_MAX_LAYERS];
  guint n_params;
  float *mean, *std;
  char **names;
  GHashTable *metadata;

  /* workspace for up to `capacity` rows: the input and, per layer, the
   * pre-activation z and the activation h; scratch for backward passes */
  int capacity;
  int max_width;
  float *in;
  float *z[MLP_MAX_LAYERS], *h[MLP_MAX_LAYERS];
  float *scratch_a, *scratch_b;
  /* per-layer ∂/∂z kept by mlp_deltas_rows for mlp_param_grads_rows */
  float *delta[MLP_MAX_LAYERS];
};

/* the MLP of an open model file (path names errors) */
AffectMlp *mlp_load_file (AffectSafetensors * file, const char *path,
    GError ** error);
/* the file is one of ours (format or mlp.widths metadata) */
gboolean mlp_file_is_mlp (AffectSafetensors * file);

void mlp_reserve (AffectMlp * mlp, int rows);
/* rows [row0, row0 + n) of the workspace ← forward of xs (n × n_inputs) */
void mlp_forward_rows (AffectMlp * mlp, const float *xs, int row0, int n);
/* backward over rows [row0, row0 + n) from dy (n × n_outputs), the
 * gradient w.r.t. the output h (or w.r.t. the output's pre-activation z
 * when at_preactivation). Parameter grads are added when param_grads;
 * dx (n × n_inputs) written when not NULL. */
void mlp_backward_rows (AffectMlp * mlp, const float *dy,
    gboolean at_preactivation, int row0, int n, gboolean param_grads,
    float *dx);
/* the backward of mlp_backward_rows split in two: first the deltas
 * (∂/∂z of every layer, kept in the workspace) and the input gradient dx
 * (may be NULL); then, for any rows whose deltas are kept, the parameter
 * gradients — one GEMM per layer over all those rows */
void mlp_deltas_rows (AffectMlp * mlp, const float *dy,
    gboolean at_preactivation, int row0, int n, float *dx);
/* With opt (Adam, after affect_optimizer_begin_step) each weight
 * gradient is written, not added, and applied slab by slab as it is made
 * (a training step's last use of those weights); with NULL it is added
 * to the gradients. */
void mlp_param_grads_rows (AffectMlp * mlp, int row0, int n,
    const AffectOptimizer * opt);
/* mlp_backward_rows with parameter gradients, applied by opt as above */
void mlp_backward_update_rows (AffectMlp * mlp, const float *dy,
    gboolean at_preactivation, int row0, int n, const AffectOptimizer * opt);

/* affect_mlp_loss_grad and affect_vat_loss_grad, the gradients applied by
 * opt (Adam, after affect_optimizer_begin_step) as they are made when opt
 * is not NULL: one training step */
double mlp_loss_step (AffectMlp * mlp, AffectMlpLoss loss, const float *xs,
    const float *y, int n, const AffectOptimizer * opt);
double vat_loss_step (AffectMlp * mlp, const AffectVatConfig * config,
    const float *xs, const float *y, const float *d, int n, double *mse_out,
    double *lds_out, const AffectOptimizer * opt);

/* Jacobian-vector product at rows [row0, row0 + n): t (n × n_outputs) =
 * J(x) v for input tangents v (n × n_inputs) */
void mlp_jvp_rows (AffectMlp * mlp, const float *v, int row0, int n, float *t);

static inline const float *
mlp_output_rows (AffectMlp * mlp, int row0)
{
  return mlp->h[mlp->n_layers - 1] + (size_t) row0 *mlp->config.n_outputs;
}

static inline const float *
mlp_output_preactivation_rows (AffectMlp * mlp, int row0)
{
  return mlp->z[mlp->n_layers - 1] + (size_t) row0 *mlp->config.n_outputs;
}

/* The rows a training run reads: n rows of n_inputs features and
 * n_outputs targets, wherever they live (arrays, a dataset in memory or
 * spilled to a file). read copies rows idx[0 … m) into x (m × n_inputs)
 * and y (m × n_outputs), either of which may be NULL. */
typedef struct _MlpRows MlpRows;
struct _MlpRows
{
  int n;
    gboolean (*read) (const MlpRows * rows, const int *idx, int m, float *x,
      float *y, GError ** error);
  gconstpointer data;
  const int *index;             /* row numbers in data, or NULL */
  int target;                   /* one target column, or -1 for all */
};

/* affect_mlp_train over row sources; val may be NULL */
gboolean mlp_train_rows (AffectMlp * mlp, const AffectMlpTrainConfig * config,
    const MlpRows * train, const MlpRows * val, AffectTrainEpochFunc func,
    gpointer user_data, AffectMlpTrainResult * result, GError ** error);

#endif
