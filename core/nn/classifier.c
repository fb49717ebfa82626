/* The classifier element's item and score handling (include/affect/classifier.h) */
#include <string.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/classifier.h"
#include "affect/model.h"

void
affect_classifier_input (const float *frames, guint n, guint mels,
    guint total, float *x)
{
  for (guint t = 0; t < total; t++) {
    const float *f = frames + (size_t) (t % n) * mels;
    for (guint m = 0; m < mels; m++)
      x[(size_t) m * total + t] = f[m];
  }
}

int *
affect_label_index (const char *const *model_labels,
    const char *const *vocabulary, guint n)
{
  guint classes = model_labels ? g_strv_length ((char **) model_labels) : 0;
  gboolean identical = n == classes;
  int *index;

  for (guint i = 0; identical && i < n; i++)
    identical = !g_strcmp0 (model_labels[i], vocabulary[i]);
  if (identical)
    return NULL;
  index = g_new (int, MAX (n, 1));
  for (guint i = 0; i < n; i++) {
    index[i] = -1;
    for (guint j = 0; j < classes && vocabulary[i]; j++)
      if (!strcmp (model_labels[j], vocabulary[i])) {
        index[i] = (int) j;
        break;
      }
  }
  return index;
}

gboolean
affect_labels_to_model (const char *const *model_labels, guint classes,
    const char *const *vocabulary, const float *labels, guint n,
    float **targets, GError ** error)
{
  gboolean any_positive = FALSE;
  int *index;

  *targets = NULL;
  if (vocabulary == NULL) {
    if (n == classes)
      return TRUE;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "has %u unnamed labels, the model %u classes", n, classes);
    return FALSE;
  }
  index = affect_label_index (model_labels, vocabulary, n);
  if (index == NULL)
    return TRUE;                /* same names in the same order */
  for (guint i = 0; i < n; i++)
    if (index[i] < 0) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "has the label \"%s\" the model does not know", vocabulary[i]);
      g_free (index);
      return FALSE;
    }
  /* model classes missing from the item's vocabulary are negatives; such
   * an item must at least name one positive class */
  *targets = g_new0 (float, classes);
  for (guint i = 0; i < n; i++) {
    (*targets)[index[i]] = labels[i];
    any_positive |= labels[i] > 0;
  }
  g_free (index);
  if (n < classes && !any_positive) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "has no positive label the model knows");
    g_clear_pointer (targets, g_free);
    return FALSE;
  }
  return TRUE;
}

guint
affect_scores_rank (const float *scores, guint n, guint top_k,
    gboolean single_label, double threshold, guint * order)
{
  guint n_pick = 0;

  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = 1; i < n; i++)
    for (guint j = i; j > 0 && scores[order[j]] > scores[order[j - 1]]; j--) {
      guint t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  if (top_k > 0)
    return MIN (top_k, n);
  if (single_label)
    return 1;
  while (n_pick < n && scores[order[n_pick]] >= threshold)
    n_pick++;
  return n_pick;
}

char *
affect_labels_json (const char *const *labels)
{
  GString *out = g_string_new ("[");

  for (guint i = 0; labels && labels[i]; i++) {
    g_string_append_printf (out, "%s\"", i ? ", " : "");
    for (const char *p = labels[i]; *p; p++) {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
    g_string_append_c (out, '"');
  }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

char *
affect_features_json (const AffectFeatureField * fields, guint n)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *g = json_generator_new ();
  JsonNode *root;
  char *out;

  json_builder_begin_object (b);
  for (guint i = 0; i < n; i++) {
    json_builder_set_member_name (b, fields[i].name);
    if (fields[i].kind == AFFECT_FEATURE_INT)
      json_builder_add_int_value (b, fields[i].i);
    else if (fields[i].kind == AFFECT_FEATURE_DOUBLE)
      json_builder_add_double_value (b, fields[i].d);
    else
      json_builder_add_string_value (b, fields[i].s ? fields[i].s : "");
  }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (g, root);
  out = json_generator_to_data (g, NULL);
  json_node_unref (root);
  g_object_unref (g);
  g_object_unref (b);
  return out;
}

static const AffectFeatureField *
find_field (const AffectFeatureField * fields, guint n, const char *name,
    AffectFeatureKind kind)
{
  for (guint i = 0; i < n; i++)
    if (fields[i].kind == kind && !strcmp (fields[i].name, name))
      return &fields[i];
  return NULL;
}

gboolean
affect_features_check (const char *features_json,
    const AffectFeatureField * fields, guint n, const char *model,
    GError ** error)
{
  static const char *const int_fields[] = { "sample-rate", "hop", "n-mels",
    "n-fft"
  };
  JsonParser *parser;
  JsonObject *o;
  const AffectFeatureField *f;
  gboolean ok = TRUE;

  if (features_json == NULL)
    return TRUE;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, features_json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_object_unref (parser);
    return TRUE;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  for (guint i = 0; i < G_N_ELEMENTS (int_fields) && ok; i++) {
    f = find_field (fields, n, int_fields[i], AFFECT_FEATURE_INT);
    if (f && json_object_has_member (o, int_fields[i])
        && f->i != json_object_get_int_member (o, int_fields[i])) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "Mel stream has %s=%d but the model %s was trained with %s=%"
          G_GINT64_FORMAT, int_fields[i], (int) f->i, model, int_fields[i],
          json_object_get_int_member (o, int_fields[i]));
      ok = FALSE;
    }
  }
  f = find_field (fields, n, "preset", AFFECT_FEATURE_STRING);
  if (ok && f && json_object_has_member (o, "preset")) {
    const char *mp = json_object_get_string_member (o, "preset");
    if (g_strcmp0 (mp, "custom") && g_strcmp0 (f->s, "custom")
        && g_strcmp0 (mp, f->s)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
          "Mel stream has preset=%s but the model %s was trained with "
          "preset=%s", f->s, model, mp);
      ok = FALSE;
    }
  }
  g_object_unref (parser);
  return ok;
}

AffectMoodNet *
affect_classifier_load (const char *path, char ***labels,
    char **features_json, GError ** error)
{
  AffectModel *model = affect_model_load (path, error);
  AffectMoodNet *net;

  if (model == NULL)
    return NULL;
  if (strcmp (affect_model_get_class (model)->name, "moodnet")) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s is a \"%s\" model, not a MoodNet", path,
        affect_model_get_class (model)->name);
    affect_model_free (model);
    return NULL;
  }
  /* keep the network itself; the registry wrapper goes */
  net = affect_moodnet_load (path, error);
  if (net != NULL) {
    *labels = affect_model_labels (model);
    *features_json = g_strdup (affect_safetensors_metadata
        (affect_model_get_file (model), "affect.features"));
  }
  affect_model_free (model);
  return net;
}

AffectMoodNet *
affect_classifier_start (const AffectMoodNetConfig * c, guint64 seed,
    const char *init_model, GError ** error)
{
  AffectMoodNet *net;
  char **labels = NULL, *features = NULL;

  if (init_model == NULL)
    return affect_moodnet_config_validate (c, error) ?
        affect_moodnet_new (c, seed) : NULL;
  net = affect_classifier_load (init_model, &labels, &features, error);
  g_strfreev (labels);
  g_free (features);
  if (net != NULL && (affect_moodnet_get_config (net)->classes != c->classes
          || affect_moodnet_get_config (net)->n_mels != c->n_mels)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "init-model %s has %d classes and %d Mel bands; the items have %d "
        "labels and the stream %d bands", init_model,
        affect_moodnet_get_config (net)->classes,
        affect_moodnet_get_config (net)->n_mels, c->classes, c->n_mels);
    g_clear_pointer (&net, affect_moodnet_free);
  }
  if (net != NULL && c->input_norm
      && !affect_moodnet_get_config (net)->input_norm) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "init-model %s has no input standardisation (input_norm.mean, "
        "input_norm.std) to train", init_model);
    g_clear_pointer (&net, affect_moodnet_free);
  }
  return net;
}

AffectMoodNetTrainer *
affect_classifier_trainer_new (AffectMoodNet * net,
    AffectMoodNetTrainOptions * o, const char *const *labels,
    const char *features_json)
{
  GHashTable *md = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      g_free);
  AffectMoodNetTrainer *trainer;

  g_hash_table_insert (md, (gpointer) "affect.labels",
      affect_labels_json (labels));
  g_hash_table_insert (md, (gpointer) "affect.features",
      g_strdup (features_json));
  o->metadata = md;
  trainer = affect_moodnet_trainer_new (net, o);
  o->metadata = NULL;
  g_hash_table_unref (md);
  return trainer;
}

char **
affect_classifier_labels (const char *const *vocabulary, guint n)
{
  char **labels = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    labels[i] = g_strdup (vocabulary && vocabulary[i] ? vocabulary[i] : "");
  return labels;
}

void
affect_frames_append (AffectFrames * f, const float *data, guint n, guint limit)
{
  if (f->n >= limit)
    return;
  n = MIN (n, limit - f->n);
  if (f->n + n > f->capacity) {
    f->capacity = MAX (f->capacity * 2, f->n + n);
    f->frames = g_renew (float, f->frames, (size_t) f->capacity * f->mels);
  }
  memcpy (f->frames + (size_t) f->n * f->mels, data,
      sizeof (float) * n * f->mels);
  f->n += n;
}

guint
affect_frames_fill (AffectFrames * f, const float *data, guint n,
    guint window, gint * first)
{
  guint i;

  *first = -1;
  for (i = 0; i < n && f->n < window; i++) {
    if (f->skip > 0) {
      f->skip--;
      continue;
    }
    if (f->n == 0)
      *first = (gint) i;
    affect_frames_append (f, data + (size_t) i * f->mels, 1, G_MAXUINT);
  }
  return i;
}

guint
affect_frames_slide (AffectFrames * f, guint window, guint hop)
{
  const guint keep = hop < window ? window - hop : 0;

  memmove (f->frames, f->frames + (size_t) (window - keep) * f->mels,
      sizeof (float) * keep * f->mels);
  f->n = keep;
  if (hop > window)
    f->skip = hop - window;
  return window - keep;
}
