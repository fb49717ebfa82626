/* Model files of any architecture: a small registry keyed by the "name" of
 * the affect.arch metadata entry, so tools (affect-model) and elements can
 * open, describe and run any model file of ours without knowing its type.
 *
 * An architecture provides an AffectModelClass; built-in ones are listed in
 * core/nn/model.c, others may be added at run time with
 * affect_model_register(). Every model takes a batch of items, each a
 * float32 tensor of input_shape (outermost first, no batch dimension), and
 * gives n_outputs values per item in eval mode. */
#ifndef AFFECT_MODEL_H
#define AFFECT_MODEL_H

#include <glib.h>
#include <stdint.h>

#include "affect/safetensors.h"

G_BEGIN_DECLS typedef struct
{
  const char *name;             /* affect.arch "name", e.g. "moodnet" */
  const char *description;      /* one line */
  /* builds the model from an open file whose affect.arch names it */
    gpointer (*load) (AffectSafetensors * file, const char *arch_json,
      GError ** error);
  void (*free) (gpointer model);
  /* item input shape, outermost first; returns the number of dims */
  int (*input_shape) (gpointer model, int64_t * shape);
  int (*n_outputs) (gpointer model);
    int64_t (*n_parameters) (gpointer model);
  /* eval-mode outputs (batch × n_outputs) for batch items */
    gboolean (*predict) (gpointer model, const float *x, int batch,
      float *out, GError ** error);
} AffectModelClass;

typedef struct _AffectModel AffectModel;

/* Adds an architecture (static storage; replaces one of the same name). */
void affect_model_register (const AffectModelClass * klass);
const AffectModelClass *affect_model_lookup (const char *name);

/* Opens path, reads affect.arch and builds the model its name selects. The
 * error names the file and, for an unknown architecture, the known ones. */
AffectModel *affect_model_load (const char *path, GError ** error);
void affect_model_free (AffectModel * model);

const AffectModelClass *affect_model_get_class (const AffectModel * model);
gpointer affect_model_get_impl (const AffectModel * model);
/* the open file (metadata, tensors), valid until affect_model_free */
AffectSafetensors *affect_model_get_file (const AffectModel * model);
int affect_model_input_shape (const AffectModel * model, int64_t * shape);
int64_t affect_model_input_size (const AffectModel * model);
int affect_model_n_outputs (const AffectModel * model);
int64_t affect_model_n_parameters (const AffectModel * model);
gboolean affect_model_predict (AffectModel * model, const float *x,
    int batch, float *out, GError ** error);

/* Output names from the affect.labels metadata (a JSON array of strings),
 * or "0", "1", … when absent; NULL-terminated, g_strfreev. */
char **affect_model_labels (const AffectModel * model);

G_END_DECLS
#endif /* AFFECT_MODEL_H */
