/* affect-model: describe a gst-affect model file and run it offline.
 *
 *   affect-model info FILE
 *   affect-model predict [--batch N] FILE INPUT.npy OUTPUT.npy
 *
 * `predict` runs the model in eval mode on every item of INPUT.npy (shape
 * B × <input shape>, e.g. B × 1 × 96 × 4096 log-Mel / 100 for MoodNet) and
 * writes the outputs (B × n_outputs, float32) to OUTPUT.npy. Any
 * architecture of the model registry (include/affect/model.h) works. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/model.h"
#include "affect/mlp.h"
#include "affect/nn.h"
#include "affect/npy.h"

static int
usage (void)
{
  fprintf (stderr, "usage: affect-model info FILE\n"
      "       affect-model predict [--batch N] FILE INPUT.npy OUTPUT.npy\n");
  return 2;
}

static void
print_shape (const int64_t * shape, int n)
{
  for (int i = 0; i < n; i++)
    printf ("%s%" G_GINT64_FORMAT, i ? " × " : "", shape[i]);
}

static int
info (const char *path)
{
  GError *error = NULL;
  AffectModel *model = affect_model_load (path, &error);
  AffectSafetensors *file;
  int64_t shape[AFFECT_TENSOR_MAX_DIMS];
  int nd;
  char **labels;
  const char *const *keys;

  if (model == NULL) {
    fprintf (stderr, "affect-model: %s\n", error->message);
    g_error_free (error);
    return 1;
  }
  file = affect_model_get_file (model);
  printf ("file: %s\n", path);
  printf ("architecture: %s (%s)\n", affect_model_get_class (model)->name,
      affect_model_get_class (model)->description);
  if (affect_safetensors_metadata (file, "affect.arch"))
    printf ("affect.arch: %s\n", affect_safetensors_metadata (file,
            "affect.arch"));
  if (!strcmp (affect_model_get_class (model)->name, "mlp")) {
    AffectMlp *mlp = affect_model_get_impl (model);
    const AffectMlpConfig *c = affect_mlp_get_config (mlp);
    char *widths = affect_mlp_describe (mlp);
    printf ("layers: %s (hidden %s, output %s)\n", widths,
        affect_activation_name (c->hidden_activation),
        affect_activation_name (c->output_activation));
    g_free (widths);
    printf ("task: %s\n", affect_mlp_get_metadata (mlp, "task") ?
        affect_mlp_get_metadata (mlp, "task") : "(not stated)");
    printf ("standardisation: %s\n",
        affect_safetensors_has (file, "standardise.mean") ?
        "the training features' mean and std (standardise.*)" : "none");
  }
  printf ("parameters: %" G_GINT64_FORMAT " trainable values\n",
      affect_model_n_parameters (model));
  printf ("tensors in file: %u\n", affect_safetensors_n_tensors (file));
  nd = affect_model_input_shape (model, shape);
  printf ("input per item: ");
  print_shape (shape, nd);
  printf ("\noutputs: %d\n", affect_model_n_outputs (model));
  labels = affect_model_labels (model);
  printf ("labels:");
  for (int i = 0; labels[i] != NULL; i++)
    printf ("%s%s", i ? ", " : " ", labels[i]);
  printf ("%s\n", affect_safetensors_metadata (file, "affect.labels")
      || affect_safetensors_metadata (file, "names") ? "" :
      " (no affect.labels or names: output indices)");
  g_strfreev (labels);
  if (affect_safetensors_metadata (file, "affect.features"))
    printf ("features: %s\n", affect_safetensors_metadata (file,
            "affect.features"));
  else if (affect_safetensors_metadata (file, "feature"))
    printf ("features: %s\n", affect_safetensors_metadata (file, "feature"));
  else
    printf ("features: (none stated: defaults of docs/moodnet.md)\n");
  printf ("metadata:\n");
  keys = affect_safetensors_metadata_keys (file);
  for (int i = 0; keys != NULL && keys[i] != NULL; i++) {
    const char *v = affect_safetensors_metadata (file, keys[i]);
    if (strlen (v) > 200)
      printf ("  %s = %.200s… (%zu bytes)\n", keys[i], v, strlen (v));
    else
      printf ("  %s = %s\n", keys[i], v);
  }
  affect_model_free (model);
  return 0;
}

static int
predict (const char *path, const char *in_path, const char *out_path,
    int max_batch)
{
  GError *error = NULL;
  AffectModel *model = affect_model_load (path, &error);
  AffectNpyArray *in = NULL;
  int64_t item, n_items, out_shape[2];
  int n_out, ret = 1;
  float *out = NULL;

  if (model == NULL)
    goto fail;
  in = affect_npy_read (in_path, AFFECT_NPY_FLOAT32, &error);
  if (in == NULL)
    goto fail;
  item = affect_model_input_size (model);
  n_out = affect_model_n_outputs (model);
  if (in->n_elements == 0 || in->n_elements % item != 0) {
    int64_t shape[AFFECT_TENSOR_MAX_DIMS];
    int nd = affect_model_input_shape (model, shape);
    fprintf (stderr, "affect-model: %s holds %" G_GINT64_FORMAT " values, "
        "not a whole number of items of ", in_path, in->n_elements);
    for (int i = 0; i < nd; i++)
      fprintf (stderr, "%s%" G_GINT64_FORMAT, i ? " × " : "", shape[i]);
    fprintf (stderr, " (the input of %s)\n", path);
    goto out;
  }
  n_items = in->n_elements / item;
  out = g_new (float, n_items * n_out);
  for (int64_t i = 0; i < n_items; i += max_batch) {
    const int b = (int) MIN ((int64_t) max_batch, n_items - i);
    const float *x = affect_npy_array_float (in) + i * item;
    for (int64_t k = 0; k < (int64_t) b * item; k++)
      if (!isfinite (x[k])) {
        fprintf (stderr, "affect-model: %s: item %" G_GINT64_FORMAT
            " holds a non-finite value\n", in_path, i + k / item);
        goto out;
      }
    if (!affect_model_predict (model, x, b, out + i * n_out, &error))
      goto fail;
  }
  out_shape[0] = n_items;
  out_shape[1] = n_out;
  if (!affect_npy_write (out_path, AFFECT_NPY_FLOAT32, 2, out_shape, out,
          &error))
    goto fail;
  ret = 0;
  goto out;
fail:
  fprintf (stderr, "affect-model: %s\n", error->message);
  g_error_free (error);
out:
  g_free (out);
  if (in)
    affect_npy_array_free (in);
  affect_model_free (model);
  return ret;
}

int
main (int argc, char **argv)
{
  int batch = 4;

  affect_init ();
  if (argc >= 3 && !strcmp (argv[1], "info"))
    return info (argv[2]);
  if (argc >= 2 && !strcmp (argv[1], "predict")) {
    int a = 2;
    if (argc >= 4 && !strcmp (argv[2], "--batch")) {
      batch = atoi (argv[3]);
      a = 4;
    }
    if (batch < 1 || argc != a + 3)
      return usage ();
    return predict (argv[a], argv[a + 1], argv[a + 2], batch);
  }
  return usage ();
}
