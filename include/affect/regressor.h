/* The regressor of the VAT seed as a file set: the MLPs that predict a list
 * of named targets, either one multi-output model or one model per target
 * (model-<target>.safetensors), with the range of the targets each was
 * trained on (metadata `target-min`, `target-max`). Also the small parsers
 * the training elements share: hidden-layer lists, per-target file names,
 * target lists and labels written as words.
 *
 * No GStreamer here: affectregress and affectgate are thin wrappers. */
#ifndef AFFECT_REGRESSOR_H
#define AFFECT_REGRESSOR_H

#include <glib.h>
#include "affect/mlp.h"

G_BEGIN_DECLS typedef struct _AffectRegressor AffectRegressor;

/* Loads `path` (multi_output) or one model-<target> file per name of
 * `targets` (comma-separated). A multi-output file that names no outputs
 * takes `targets`' names, which must then match its outputs.
 * AFFECT_ERROR_MISMATCH when counts disagree. */
AffectRegressor *affect_regressor_load (const char *path,
    gboolean multi_output, const char *targets, GError ** error);
void affect_regressor_free (AffectRegressor * regressor);
/* the target names, NULL-terminated */
const char *const *affect_regressor_names (const AffectRegressor * regressor);
guint affect_regressor_n_targets (const AffectRegressor * regressor);
/* the first model (inputs, feature and sample-rate metadata) */
const AffectMlp *affect_regressor_model (const AffectRegressor * regressor);
/* y[n × n_targets] for x[n × n_inputs]; mean/std NULL = each model's own
 * standardisation, else these statistics */
void affect_regressor_predict (AffectRegressor * regressor, const float *x,
    float *y, int n, const float *mean, const float *std);
/* the same standardised with x's own statistics (a stream's); n may be 0 */
void affect_regressor_predict_stream (AffectRegressor * regressor,
    const float *x, float *y, int n);
/* Per-stream standardisation: x[n_inputs] is kept until the stream ends,
 * then every held vector is predicted with their own statistics:
 * y[n × n_targets] (g_free; NULL when none was held), *n of them, and the
 * vectors are dropped. drop_held forgets them (a flush; NULL is let be). */
void affect_regressor_hold (AffectRegressor * regressor, const float *x);
float *affect_regressor_predict_held (AffectRegressor * regressor, guint * n);
void affect_regressor_drop_held (AffectRegressor * regressor);
/* the training targets' range of target t, NaN where the model states none */
void affect_regressor_range (const AffectRegressor * regressor, guint t,
    double *lo, double *hi);
/* A prediction y[n_targets] unlike the training data: NULL when every
 * value lies within the training range widened by its width on either
 * side (or the model states none), else "valence = 2.2e+08 (trained on
 * [1, 5]), …" (g_free) */
char *affect_regressor_far_outside (const AffectRegressor * regressor,
    const float *y);
/* TRUE when x[n] holds no NaN or infinity */
gboolean affect_vector_is_finite (const float *x, guint n);
/* The range of k training targets */
typedef struct
{
  guint k;
  double *lo, *hi;
} AffectTargetRange;

/* widens *range to hold t[k]; the first call (*range NULL) makes it */
void affect_target_range_update (AffectTargetRange ** range, const float *t,
    guint k);
void affect_target_range_free (AffectTargetRange * range);
/* records targets [t0, t1) of range in `mlp`'s metadata (NULL: none) */
void affect_mlp_set_target_range (AffectMlp * mlp,
    const AffectTargetRange * range, guint t0, guint t1);

/* FALSE with AFFECT_ERROR_MISMATCH naming both values when a stream of
 * vectors of n features does not fit `model` (read from `path`): another
 * size, `feature` (when check_feature; NULL = the stream does not say) or
 * sample-rate (0 = the stream does not say; the model's metadata) */
gboolean affect_mlp_check_stream (const AffectMlp * model, const char *path,
    guint n, const char *feature, gboolean check_feature, int rate,
    GError ** error);

/* "1200,600" → config->hidden; FALSE on a malformed list */
gboolean affect_mlp_parse_hidden (const char *list, AffectMlpConfig * config);
/* "model.safetensors" + "valence" → "model-valence.safetensors" */
char *affect_mlp_target_path (const char *path, const char *target);
/* "valence, arousal" → {"valence", "arousal", NULL}, empty names dropped */
char **affect_split_names (const char *list);
/* a number, or 1/0 words: true/false, yes/no, spontaneous/scripted,
 * improvised/script, … */
gboolean affect_parse_label (const char *text, double *value);

G_END_DECLS
#endif /* AFFECT_REGRESSOR_H */
