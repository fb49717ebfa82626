/* The classifier element's item and score handling (include/affect/classifier.h) */
#include <string.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/classifier.h"

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
