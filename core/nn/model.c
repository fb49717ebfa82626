/* The model registry (include/affect/model.h). */
#include <string.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/model.h"
#include "affect/moodnet.h"
#include "affect/mlp.h"
#include "mlp-private.h"

struct _AffectModel
{
  const AffectModelClass *klass;
  gpointer impl;
  AffectSafetensors *file;
};

/* ---- MoodNet ------------------------------------------------------------- */

static gpointer
moodnet_load (AffectSafetensors * file, const char *arch, GError ** error)
{
  return affect_moodnet_new_from_file (file, arch, error);
}

static int
moodnet_input_shape (gpointer model, int64_t * shape)
{
  const AffectMoodNetConfig *c = affect_moodnet_get_config (model);
  shape[0] = 1;
  shape[1] = c->n_mels;
  shape[2] = (int64_t) c->chunks * c->chunk_frames;
  return 3;
}

static int
moodnet_n_outputs (gpointer model)
{
  return affect_moodnet_get_config (model)->classes;
}

static int64_t
moodnet_n_parameters (gpointer model)
{
  return affect_moodnet_n_parameters (model);
}

static gboolean
moodnet_predict (gpointer model, const float *x, int batch, float *out,
    GError ** error)
{
  affect_moodnet_set_training (model, FALSE, NULL);
  affect_moodnet_forward (model, x, batch, out);
  return TRUE;
}

static const AffectModelClass moodnet_class = {
  "moodnet",
  "MobileNetV2 chunk CNN + self-attention over chunks (include/affect/moodnet.h)",
  moodnet_load,
  (void (*)(gpointer)) affect_moodnet_free,
  moodnet_input_shape,
  moodnet_n_outputs,
  moodnet_n_parameters,
  moodnet_predict,
};

/* ---- MLP (regressors, spontaneity gate) ----------------------------------- */

/* Files written by affect_mlp_save() carry no affect.arch: their
 * "format" (or mlp.widths) metadata selects this class. */
static gpointer
mlp_load (AffectSafetensors * file, const char *arch, GError ** error)
{
  return mlp_load_file (file, affect_safetensors_label (file), error);
}

static int
mlp_input_shape (gpointer model, int64_t * shape)
{
  shape[0] = affect_mlp_get_config (model)->n_inputs;
  return 1;
}

static int
mlp_n_outputs (gpointer model)
{
  return affect_mlp_get_config (model)->n_outputs;
}

static int64_t
mlp_n_parameters (gpointer model)
{
  guint n;
  AffectParam *const *params = affect_mlp_params (model, &n);
  int64_t total = 0;

  for (guint i = 0; i < n; i++)
    total += params[i]->value.n;
  return total;
}

static gboolean
mlp_predict (gpointer model, const float *x, int batch, float *out,
    GError ** error)
{
  affect_mlp_predict (model, (float *) x, out, batch);
  return TRUE;
}

static const AffectModelClass mlp_class = {
  "mlp",
  "multilayer perceptron on standardised features: VAT regressor or "
      "spontaneity gate (include/affect/mlp.h)",
  mlp_load,
  (void (*)(gpointer)) affect_mlp_free,
  mlp_input_shape,
  mlp_n_outputs,
  mlp_n_parameters,
  mlp_predict,
};

/* ---- registry ------------------------------------------------------------ */

/* architectures built into libaffect */
static const AffectModelClass *const builtin[] = {
  &moodnet_class,
  &mlp_class,
};

static GMutex registry_lock;
static GPtrArray *registry;

static void
ensure_registry (void)
{
  if (registry == NULL) {
    registry = g_ptr_array_new ();
    for (guint i = 0; i < G_N_ELEMENTS (builtin); i++)
      g_ptr_array_add (registry, (gpointer) builtin[i]);
  }
}

void
affect_model_register (const AffectModelClass * klass)
{
  g_mutex_lock (&registry_lock);
  ensure_registry ();
  for (guint i = 0; i < registry->len; i++)
    if (!strcmp (((AffectModelClass *) registry->pdata[i])->name, klass->name)) {
      registry->pdata[i] = (gpointer) klass;
      g_mutex_unlock (&registry_lock);
      return;
    }
  g_ptr_array_add (registry, (gpointer) klass);
  g_mutex_unlock (&registry_lock);
}

const AffectModelClass *
affect_model_lookup (const char *name)
{
  const AffectModelClass *found = NULL;

  g_mutex_lock (&registry_lock);
  ensure_registry ();
  for (guint i = 0; i < registry->len && found == NULL; i++)
    if (!g_strcmp0 (((AffectModelClass *) registry->pdata[i])->name, name))
      found = registry->pdata[i];
  g_mutex_unlock (&registry_lock);
  return found;
}

static char *
known_names (void)
{
  GString *s = g_string_new (NULL);

  g_mutex_lock (&registry_lock);
  ensure_registry ();
  for (guint i = 0; i < registry->len; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "",
        ((AffectModelClass *) registry->pdata[i])->name);
  g_mutex_unlock (&registry_lock);
  return g_string_free (s, FALSE);
}

AffectModel *
affect_model_load (const char *path, GError ** error)
{
  AffectSafetensors *file = affect_safetensors_open (path, error);
  const AffectModelClass *klass;
  JsonParser *parser;
  const char *arch, *name = NULL;
  AffectModel *model;
  GError *err = NULL;
  gpointer impl;

  if (file == NULL)
    return NULL;
  arch = affect_safetensors_metadata (file, "affect.arch");
  if (arch == NULL && mlp_file_is_mlp (file))
    arch = "{\"name\": \"mlp\"}";
  if (arch == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: no affect.arch entry and no format=gst-affect-mlp in "
        "__metadata__: not a gst-affect model file (for a MoodNet, add "
        "affect.arch {\"name\": \"moodnet\", \"classes\": N}, see "
        "docs/moodnet.md)", path);
    affect_safetensors_close (file);
    return NULL;
  }
  parser = json_parser_new ();
  if (json_parser_load_from_data (parser, arch, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    if (json_object_has_member (o, "name"))
      name = json_object_get_string_member (o, "name");
  }
  klass = affect_model_lookup (name);
  if (klass == NULL) {
    char *known = known_names ();
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: affect.arch %s names no known architecture (known: %s)", path,
        arch, known);
    g_free (known);
    g_object_unref (parser);
    affect_safetensors_close (file);
    return NULL;
  }
  g_object_unref (parser);
  impl = klass->load (file, arch, &err);
  if (impl == NULL) {
    if (err && g_str_has_prefix (err->message, path))
      g_propagate_error (error, g_steal_pointer (&err));
    else
      g_set_error (error, AFFECT_ERROR, err ? err->code : AFFECT_ERROR_FAILED,
          "%s: %s", path, err ? err->message : "cannot load");
    g_clear_error (&err);
    affect_safetensors_close (file);
    return NULL;
  }
  model = g_new0 (AffectModel, 1);
  model->klass = klass;
  model->impl = impl;
  model->file = file;
  return model;
}

void
affect_model_free (AffectModel * model)
{
  if (model == NULL)
    return;
  model->klass->free (model->impl);
  affect_safetensors_close (model->file);
  g_free (model);
}

const AffectModelClass *
affect_model_get_class (const AffectModel * model)
{
  return model->klass;
}

gpointer
affect_model_get_impl (const AffectModel * model)
{
  return model->impl;
}

AffectSafetensors *
affect_model_get_file (const AffectModel * model)
{
  return model->file;
}

int
affect_model_input_shape (const AffectModel * model, int64_t * shape)
{
  return model->klass->input_shape (model->impl, shape);
}

int64_t
affect_model_input_size (const AffectModel * model)
{
  int64_t shape[AFFECT_TENSOR_MAX_DIMS], n = 1;
  int d = affect_model_input_shape (model, shape);
  for (int i = 0; i < d; i++)
    n *= shape[i];
  return n;
}

int
affect_model_n_outputs (const AffectModel * model)
{
  return model->klass->n_outputs (model->impl);
}

int64_t
affect_model_n_parameters (const AffectModel * model)
{
  return model->klass->n_parameters (model->impl);
}

gboolean
affect_model_predict (AffectModel * model, const float *x, int batch,
    float *out, GError ** error)
{
  return model->klass->predict (model->impl, x, batch, out, error);
}

char **
affect_model_labels (const AffectModel * model)
{
  const int n = affect_model_n_outputs (model);
  const char *json = affect_safetensors_metadata (model->file, "affect.labels");
  char **labels = g_new0 (char *, n + 1);

  if (model->klass == &mlp_class && affect_mlp_get_names (model->impl)) {
    const char *const *names = affect_mlp_get_names (model->impl);
    for (int i = 0; i < n; i++)
      labels[i] = g_strdup (names[i]);
    return labels;
  }
  JsonParser *parser = json_parser_new ();
  JsonArray *a = NULL;

  if (json != NULL && json_parser_load_from_data (parser, json, -1, NULL)
      && JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    a = json_node_get_array (json_parser_get_root (parser));
  for (int i = 0; i < n; i++) {
    if (a != NULL && (guint) i < json_array_get_length (a))
      labels[i] = g_strdup (json_array_get_string_element (a, i));
    else
      labels[i] = g_strdup_printf ("%d", i);
  }
  g_object_unref (parser);
  return labels;
}
