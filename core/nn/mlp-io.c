/* MLP model files: safetensors with the weights under PyTorch's
 * nn.Sequential keys, the standardisation as buffers, and the architecture,
 * output names and metadata in __metadata__. */
#include <stdlib.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/safetensors.h"
#include "mlp-private.h"

#define KEY_FORMAT "format"
#define KEY_WIDTHS "mlp.widths"
#define KEY_HIDDEN_ACT "mlp.hidden-activation"
#define KEY_OUTPUT_ACT "mlp.output-activation"
#define KEY_NAMES "names"
#define FORMAT_NAME "gst-affect-mlp"

gboolean
affect_mlp_save (AffectMlp * mlp, const char *path, GError ** error)
{
  AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
  GString *widths = g_string_new (NULL);
  GList *keys, *k;
  int64_t shape[1] = { mlp->config.n_inputs };
  gboolean ok;
  guint i;
  int l;

  for (l = 0; l <= mlp->n_layers; l++)
    g_string_append_printf (widths, l ? ",%d" : "%d", mlp->widths[l]);
  affect_safetensors_writer_set_metadata (w, KEY_FORMAT, FORMAT_NAME);
  affect_safetensors_writer_set_metadata (w, KEY_WIDTHS, widths->str);
  affect_safetensors_writer_set_metadata (w, KEY_HIDDEN_ACT,
      affect_activation_name (mlp->config.hidden_activation));
  affect_safetensors_writer_set_metadata (w, KEY_OUTPUT_ACT,
      affect_activation_name (mlp->config.output_activation));
  if (mlp->names != NULL) {
    char *joined = g_strjoinv (",", mlp->names);
    affect_safetensors_writer_set_metadata (w, KEY_NAMES, joined);
    g_free (joined);
  }
  /* sorted, so the same model gives the same bytes */
  keys = g_list_sort (g_hash_table_get_keys (mlp->metadata),
      (GCompareFunc) strcmp);
  for (k = keys; k != NULL; k = k->next)
    affect_safetensors_writer_set_metadata (w, k->data,
        g_hash_table_lookup (mlp->metadata, k->data));
  g_list_free (keys);
  g_string_free (widths, TRUE);

  for (i = 0; i < mlp->n_params; i++) {
    AffectParam *p = mlp->params[i];
    affect_safetensors_writer_add (w, p->name, p->value.n_dims,
        p->value.shape, p->value.data);
  }
  affect_safetensors_writer_add (w, "standardise.mean", 1, shape, mlp->mean);
  affect_safetensors_writer_add (w, "standardise.std", 1, shape, mlp->std);
  ok = affect_safetensors_writer_write (w, path, error);
  affect_safetensors_writer_free (w);
  return ok;
}

static gboolean
parse_activation (const char *value, const char *key,
    AffectActivation fallback, AffectActivation * act, const char *path,
    GError ** error)
{
  if (value == NULL) {
    *act = fallback;
    return TRUE;
  }
  if (!affect_activation_from_name (value, act)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: unknown %s '%s'", path, key, value);
    return FALSE;
  }
  return TRUE;
}

AffectMlp *
affect_mlp_load (const char *path, GError ** error)
{
  AffectSafetensors *file = affect_safetensors_open (path, error);
  AffectMlp *mlp;

  if (file == NULL)
    return NULL;
  mlp = mlp_load_file (file, path, error);
  affect_safetensors_close (file);
  return mlp;
}

gboolean
mlp_file_is_mlp (AffectSafetensors * file)
{
  return !g_strcmp0 (affect_safetensors_metadata (file, KEY_FORMAT),
      FORMAT_NAME) || affect_safetensors_metadata (file, KEY_WIDTHS) != NULL;
}

AffectMlp *
mlp_load_file (AffectSafetensors * file, const char *path, GError ** error)
{
  AffectMlpConfig config = { 0 };
  AffectMlp *mlp = NULL;
  AffectTensorView view;
  int widths[MLP_MAX_LAYERS + 1], n_widths = 0;
  const char *value;
  const char *const *keys;
  guint i;
  int l;

  value = affect_safetensors_metadata (file, KEY_WIDTHS);
  if (value != NULL) {
    char **parts = g_strsplit (value, ",", -1);
    for (i = 0; parts[i] != NULL && n_widths <= MLP_MAX_LAYERS; i++) {
      char *end;
      gint64 w = g_ascii_strtoll (parts[i], &end, 10);
      if (end == parts[i] || *end != '\0' || w < 1 || w > G_MAXINT) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
            "%s: %s '%s' is not a list of positive widths", path, KEY_WIDTHS,
            value);
        g_strfreev (parts);
        return NULL;
      }
      widths[n_widths++] = (int) w;
    }
    if (parts[i] != NULL)
      n_widths = 0;
    g_strfreev (parts);
  } else {
    /* a file without our metadata (e.g. from PyTorch): the widths from
     * the shapes of net.0.weight, net.2.weight, … */
    for (l = 0; l < MLP_MAX_LAYERS; l++) {
      char *name = g_strdup_printf ("net.%d.weight", 2 * l);
      gboolean found = affect_safetensors_has (file, name)
          && affect_safetensors_get (file, name, &view, NULL)
          && view.n_dims == 2;
      g_free (name);
      if (!found)
        break;
      if (l == 0)
        widths[n_widths++] = (int) view.shape[1];
      widths[n_widths++] = (int) view.shape[0];
    }
  }
  if (n_widths < 2) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: not an MLP model (no '%s' metadata and no net.0.weight)", path,
        KEY_WIDTHS);
    goto out;
  }
  /* the weights' shapes against the widths before anything is allocated:
   * the metadata cannot ask for more memory than the file holds */
  for (l = 0; l + 1 < n_widths; l++) {
    char *name = g_strdup_printf ("net.%d.weight", 2 * l);
    int64_t shape[2] = { widths[l + 1], widths[l] };
    gboolean found = affect_safetensors_get_shaped (file, name, 2, shape,
        &view, error);
    g_free (name);
    if (!found)
      goto out;
  }
  config.n_inputs = widths[0];
  config.n_hidden = n_widths - 2;
  for (l = 0; l < config.n_hidden; l++)
    config.hidden[l] = widths[l + 1];
  config.n_outputs = widths[n_widths - 1];
  if (!parse_activation (affect_safetensors_metadata (file, KEY_HIDDEN_ACT),
          KEY_HIDDEN_ACT, AFFECT_ACTIVATION_RELU, &config.hidden_activation,
          path, error)
      || !parse_activation (affect_safetensors_metadata (file,
              KEY_OUTPUT_ACT), KEY_OUTPUT_ACT, AFFECT_ACTIVATION_IDENTITY,
          &config.output_activation, path, error))
    goto out;

  mlp = affect_mlp_new (&config, 0, error);
  if (mlp == NULL)
    goto out;
  for (i = 0; i < mlp->n_params; i++) {
    AffectParam *p = mlp->params[i];
    if (!affect_safetensors_get_shaped (file, p->name, p->value.n_dims,
            p->value.shape, &view, error))
      goto fail;
    memcpy (p->value.data, view.data, p->value.n * sizeof (float));
  }
  if (affect_safetensors_has (file, "standardise.mean")) {
    int64_t shape[1] = { config.n_inputs };
    AffectTensorView sview;
    if (!affect_safetensors_get_shaped (file, "standardise.mean", 1, shape,
            &view, error)
        || !affect_safetensors_get_shaped (file, "standardise.std", 1, shape,
            &sview, error))
      goto fail;
    affect_mlp_set_standardisation (mlp, view.data, sview.data);
  }
  value = affect_safetensors_metadata (file, KEY_NAMES);
  if (value != NULL) {
    char **names = g_strsplit (value, ",", -1);
    if (g_strv_length (names) != (guint) config.n_outputs) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: %u output names ('%s') for %d outputs", path,
          g_strv_length (names), value, config.n_outputs);
      g_strfreev (names);
      goto fail;
    }
    affect_mlp_set_names (mlp, (const char *const *) names);
    g_strfreev (names);
  }
  keys = affect_safetensors_metadata_keys (file);
  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (strcmp (keys[i], KEY_WIDTHS) && strcmp (keys[i], KEY_HIDDEN_ACT)
        && strcmp (keys[i], KEY_OUTPUT_ACT) && strcmp (keys[i], KEY_NAMES)
        && strcmp (keys[i], KEY_FORMAT))
      affect_mlp_set_metadata (mlp, keys[i],
          affect_safetensors_metadata (file, keys[i]));
  goto out;

fail:
  affect_mlp_free (mlp);
  mlp = NULL;
out:
  return mlp;
}
