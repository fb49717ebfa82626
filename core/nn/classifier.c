/* The classifier element's item and score handling (include/affect/classifier.h) */
#include <string.h>

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
