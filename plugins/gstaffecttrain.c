/* Training properties and messages shared by affectregress and affectgate */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "affect/atomicfile.h"
#include "gstaffecttrain.h"

#define DEFAULT_EPOCHS 50
#define DEFAULT_BATCH_SIZE 64
#define DEFAULT_LEARNING_RATE 1e-3
#define DEFAULT_SEED 0
#define DEFAULT_THREADS 0
#define DEFAULT_VALIDATION_FRACTION 0.1
#define DEFAULT_PATIENCE 0
#define DEFAULT_RESUME FALSE
/* as affectclassify's */
#define DEFAULT_CACHE_BUDGET 1024

GType
gst_affect_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_AFFECT_MODE_INFER, "Predict with model-file", "infer"},
    {GST_AFFECT_MODE_TRAIN,
        "Cache features, train at EOS, write model-file", "train"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstAffectMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

void
gst_affect_train_settings_init (GstAffectTrainSettings * s,
    const gchar * default_hidden)
{
  memset (s, 0, sizeof (*s));
  s->mode = GST_AFFECT_MODE_INFER;
  s->hidden_sizes = g_strdup (default_hidden);
  s->epochs = DEFAULT_EPOCHS;
  s->batch_size = DEFAULT_BATCH_SIZE;
  s->learning_rate = DEFAULT_LEARNING_RATE;
  s->seed = DEFAULT_SEED;
  s->threads = DEFAULT_THREADS;
  s->validation_fraction = DEFAULT_VALIDATION_FRACTION;
  s->patience = DEFAULT_PATIENCE;
  s->resume = DEFAULT_RESUME;
  s->cache_budget = DEFAULT_CACHE_BUDGET;
}

void
gst_affect_train_settings_clear (GstAffectTrainSettings * s)
{
  g_free (s->model_file);
  g_free (s->hidden_sizes);
  s->model_file = s->hidden_sizes = NULL;
}

void
gst_affect_train_install_properties (GObjectClass * klass, guint first_id,
    const gchar * default_hidden, const gchar * model_blurb)
{
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  g_object_class_install_property (klass, first_id + GST_AFFECT_TRAIN_PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "infer: predict with model-file; train: cache every item's "
          "features and labels, train at EOS and write model-file",
          GST_TYPE_AFFECT_MODE, GST_AFFECT_MODE_INFER, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_MODEL_FILE,
      g_param_spec_string ("model-file", "Model file", model_blurb, NULL, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_HIDDEN_SIZES,
      g_param_spec_string ("hidden-sizes", "Hidden sizes",
          "Widths of the hidden layers, comma-separated (train mode)",
          default_hidden, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_EPOCHS,
      g_param_spec_uint ("epochs", "Epochs", "Training epochs", 1, 100000,
          DEFAULT_EPOCHS, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
          "Items per mini-batch", 1, 65536, DEFAULT_BATCH_SIZE, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_LEARNING_RATE,
      g_param_spec_double ("learning-rate", "Learning rate",
          "Adam learning rate", 1e-9, 10.0, DEFAULT_LEARNING_RATE, rw));
  g_object_class_install_property (klass, first_id + GST_AFFECT_TRAIN_PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Seed of the initial weights, shuffling, hold-out and VAT "
          "directions (same seed, same model)", 0, G_MAXUINT64, DEFAULT_SEED,
          rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_THREADS,
      g_param_spec_uint ("threads", "Threads",
          "Threads for training and inference (0 = the process default: "
          "AFFECT_THREADS, else OPENBLAS_NUM_THREADS, else all cores)", 0, 256,
          DEFAULT_THREADS, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_VALIDATION_FRACTION,
      g_param_spec_double ("validation-fraction", "Validation fraction",
          "Fraction of the training items held out for model selection "
          "when no item has split=validation (0 = keep the last epoch)",
          0.0, 0.9, DEFAULT_VALIDATION_FRACTION, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_PATIENCE,
      g_param_spec_uint ("patience", "Patience",
          "Stop after this many epochs without a better validation score "
          "(0 = run every epoch); the best epoch is kept either way",
          0, 100000, DEFAULT_PATIENCE, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_RESUME,
      g_param_spec_boolean ("resume", "Resume",
          "Train: continue from the checkpoint <model-file>.ckpt if present "
          "(written after every epoch; same settings, data and threads give "
          "the same model as an uninterrupted run)", DEFAULT_RESUME, rw));
  g_object_class_install_property (klass,
      first_id + GST_AFFECT_TRAIN_PROP_CACHE_BUDGET,
      g_param_spec_uint ("cache-budget", "Cache budget",
          "Train: MiB of feature vectors kept in memory; the rest spills to "
          "a temporary file", 0, G_MAXUINT, DEFAULT_CACHE_BUDGET, rw));
}

gboolean
gst_affect_train_set_property (GstAffectTrainSettings * s, guint first_id,
    guint prop_id, const GValue * value)
{
  if (prop_id < first_id || prop_id >= first_id + GST_AFFECT_TRAIN_N_PROPS)
    return FALSE;
  switch (prop_id - first_id) {
    case GST_AFFECT_TRAIN_PROP_MODE:
      s->mode = g_value_get_enum (value);
      break;
    case GST_AFFECT_TRAIN_PROP_MODEL_FILE:
      g_free (s->model_file);
      s->model_file = g_value_dup_string (value);
      break;
    case GST_AFFECT_TRAIN_PROP_HIDDEN_SIZES:
      g_free (s->hidden_sizes);
      s->hidden_sizes = g_value_dup_string (value);
      break;
    case GST_AFFECT_TRAIN_PROP_EPOCHS:
      s->epochs = g_value_get_uint (value);
      break;
    case GST_AFFECT_TRAIN_PROP_BATCH_SIZE:
      s->batch_size = g_value_get_uint (value);
      break;
    case GST_AFFECT_TRAIN_PROP_LEARNING_RATE:
      s->learning_rate = g_value_get_double (value);
      break;
    case GST_AFFECT_TRAIN_PROP_SEED:
      s->seed = g_value_get_uint64 (value);
      break;
    case GST_AFFECT_TRAIN_PROP_THREADS:
      s->threads = g_value_get_uint (value);
      break;
    case GST_AFFECT_TRAIN_PROP_VALIDATION_FRACTION:
      s->validation_fraction = g_value_get_double (value);
      break;
    case GST_AFFECT_TRAIN_PROP_PATIENCE:
      s->patience = g_value_get_uint (value);
      break;
    case GST_AFFECT_TRAIN_PROP_RESUME:
      s->resume = g_value_get_boolean (value);
      break;
    case GST_AFFECT_TRAIN_PROP_CACHE_BUDGET:
      s->cache_budget = g_value_get_uint (value);
      break;
  }
  return TRUE;
}

gboolean
gst_affect_train_get_property (GstAffectTrainSettings * s, guint first_id,
    guint prop_id, GValue * value)
{
  if (prop_id < first_id || prop_id >= first_id + GST_AFFECT_TRAIN_N_PROPS)
    return FALSE;
  switch (prop_id - first_id) {
    case GST_AFFECT_TRAIN_PROP_MODE:
      g_value_set_enum (value, s->mode);
      break;
    case GST_AFFECT_TRAIN_PROP_MODEL_FILE:
      g_value_set_string (value, s->model_file);
      break;
    case GST_AFFECT_TRAIN_PROP_HIDDEN_SIZES:
      g_value_set_string (value, s->hidden_sizes);
      break;
    case GST_AFFECT_TRAIN_PROP_EPOCHS:
      g_value_set_uint (value, s->epochs);
      break;
    case GST_AFFECT_TRAIN_PROP_BATCH_SIZE:
      g_value_set_uint (value, s->batch_size);
      break;
    case GST_AFFECT_TRAIN_PROP_LEARNING_RATE:
      g_value_set_double (value, s->learning_rate);
      break;
    case GST_AFFECT_TRAIN_PROP_SEED:
      g_value_set_uint64 (value, s->seed);
      break;
    case GST_AFFECT_TRAIN_PROP_THREADS:
      g_value_set_uint (value, s->threads);
      break;
    case GST_AFFECT_TRAIN_PROP_VALIDATION_FRACTION:
      g_value_set_double (value, s->validation_fraction);
      break;
    case GST_AFFECT_TRAIN_PROP_PATIENCE:
      g_value_set_uint (value, s->patience);
      break;
    case GST_AFFECT_TRAIN_PROP_RESUME:
      g_value_set_boolean (value, s->resume);
      break;
    case GST_AFFECT_TRAIN_PROP_CACHE_BUDGET:
      g_value_set_uint (value, s->cache_budget);
      break;
  }
  return TRUE;
}

gboolean
gst_affect_train_parse_hidden (const gchar * list, AffectMlpConfig * config)
{
  gchar **parts;
  gint i, n = 0;
  gboolean ok = TRUE;

  config->n_hidden = 0;
  if (list == NULL || *list == '\0')
    return TRUE;
  parts = g_strsplit (list, ",", -1);
  for (i = 0; parts[i] != NULL; i++) {
    gchar *end;
    gint64 v = g_ascii_strtoll (g_strstrip (parts[i]), &end, 10);
    if (*parts[i] == '\0' || *end != '\0' || v <= 0 || v > 1 << 20
        || n >= AFFECT_MLP_MAX_HIDDEN) {
      ok = FALSE;
      break;
    }
    config->hidden[n++] = (int) v;
  }
  g_strfreev (parts);
  config->n_hidden = ok ? n : 0;
  return ok;
}

void
gst_affect_train_settings_apply (const GstAffectTrainSettings * s,
    AffectMlpTrainConfig * config)
{
  config->epochs = s->epochs;
  config->batch_size = s->batch_size;
  config->learning_rate = s->learning_rate;
  config->seed = s->seed;
  config->patience = s->patience;
  config->resume = s->resume;
}

gboolean
gst_affect_train_check_output (GstElement * element, const gchar * property,
    const gchar * path)
{
  GError *error = NULL;

  if (affect_atomic_file_check_writable (path, &error))
    return TRUE;
  GST_ELEMENT_ERROR (element, RESOURCE, OPEN_WRITE,
      ("Cannot write %s: %s", property, error->message),
      ("checked before any item is read"));
  g_error_free (error);
  return FALSE;
}

gchar *
gst_affect_train_split_note (guint test_items)
{
  if (test_items == 0)
    return g_strdup ("");
  return g_strdup_printf (", %u item%s of split=test ignored: training learns "
      "from split=train and items without a split, split=validation ones "
      "are held out", test_items, test_items == 1 ? "" : "s");
}

gchar *
gst_affect_train_checkpoint_path (const gchar * model_path)
{
  return g_strconcat (model_path, ".ckpt", NULL);
}

AffectDataset *
gst_affect_train_dataset_new (const GstAffectTrainSettings * s,
    guint n_features, guint n_targets)
{
  AffectDataset *ds = affect_dataset_new ((int) n_features, (int) n_targets);

  affect_dataset_set_cache_budget (ds, (size_t) s->cache_budget << 20);
  return ds;
}

gboolean
gst_affect_train_add_row (GstElement * element, AffectDataset * ds,
    const float *features, const float *targets, gboolean validation,
    guint * skipped)
{
  GError *error = NULL;

  if (affect_dataset_add (ds, features, targets, validation, &error))
    return TRUE;
  if (g_error_matches (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT)) {
    (*skipped)++;
    g_error_free (error);
    return TRUE;
  }
  GST_ELEMENT_ERROR (element, RESOURCE, WRITE,
      ("Cannot cache the training features: %s", error->message), (NULL));
  g_error_free (error);
  return FALSE;
}

gchar *
gst_affect_train_target_path (const gchar * path, const gchar * target)
{
  const gchar *dot = strrchr (path, '.');
  const gchar *slash = strrchr (path, G_DIR_SEPARATOR);

  if (dot == NULL || (slash != NULL && dot < slash))
    return g_strdup_printf ("%s-%s", path, target);
  return g_strdup_printf ("%.*s-%s%s", (int) (dot - path), path, target, dot);
}

void
gst_affect_train_post_epoch (GstElement * element,
    const AffectMlpEpochReport * r, const gchar * target,
    const gchar * metric_name)
{
  GstStructure *s = gst_structure_new ("affect-train-epoch",
      "epoch", G_TYPE_UINT, (guint) r->epoch,
      "train-loss", G_TYPE_DOUBLE, r->train_loss,
      "train-mse", G_TYPE_DOUBLE, r->train_mse,
      "train-lds", G_TYPE_DOUBLE, r->train_lds,
      "validation-metric", G_TYPE_DOUBLE, r->validation_metric,
      "validation-metric-name", G_TYPE_STRING, metric_name,
      "validation-accuracy", G_TYPE_DOUBLE, r->validation_accuracy,
      "seconds", G_TYPE_DOUBLE, r->seconds,
      "best", G_TYPE_BOOLEAN, r->best, NULL);

  if (target != NULL)
    gst_structure_set (s, "target", G_TYPE_STRING, target, NULL);
  gst_element_post_message (element,
      gst_message_new_element (GST_OBJECT (element), s));
}

gboolean
gst_affect_train_parse_label (const gchar * text, gdouble * value)
{
  static const gchar *yes[] = { "true", "yes", "spontaneous", "improvised",
    "improvisation", "impro", NULL
  };
  static const gchar *no[] = { "false", "no", "scripted", "script", "read",
    "acted", NULL
  };
  gchar *end;
  gdouble v;
  gint i;

  if (text == NULL)
    return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end != text && *end == '\0') {
    *value = v;
    return TRUE;
  }
  for (i = 0; yes[i]; i++)
    if (g_ascii_strcasecmp (text, yes[i]) == 0) {
      *value = 1.0;
      return TRUE;
    }
  for (i = 0; no[i]; i++)
    if (g_ascii_strcasecmp (text, no[i]) == 0) {
      *value = 0.0;
      return TRUE;
    }
  return FALSE;
}

void
gst_affect_train_set_sample_rate (AffectMlp * mlp, GstCaps * caps)
{
  gint rate;
  gchar *text;

  if (caps == NULL || !gst_structure_get_int (gst_caps_get_structure (caps,
              0), "sample-rate", &rate))
    return;
  text = g_strdup_printf ("%d", rate);
  affect_mlp_set_metadata (mlp, "sample-rate", text);
  g_free (text);
}

gboolean
gst_affect_train_check_sample_rate (GstElement * element,
    const AffectMlp * model, const gchar * model_file, GstCaps * caps)
{
  const gchar *model_rate = affect_mlp_get_metadata (model, "sample-rate");
  gint rate;

  if (model_rate == NULL || !gst_structure_get_int (gst_caps_get_structure
          (caps, 0), "sample-rate", &rate)
      || g_ascii_strtoll (model_rate, NULL, 10) == rate)
    return TRUE;
  GST_ELEMENT_ERROR (element, STREAM, FORMAT,
      ("Model %s was trained on features of sample-rate=%s Hz, the stream's "
          "are sample-rate=%d Hz.", model_file, model_rate, rate),
      ("extract the features at %s Hz or use a model trained at %d Hz",
          model_rate, rate));
  return FALSE;
}
