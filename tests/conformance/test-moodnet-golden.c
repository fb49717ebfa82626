/* MoodNet against PyTorch: golden files written by
 * ../shared/reference/moodnet/golden.py (random seeded weights, one input
 * batch, eval-mode output, chunk features, BCE loss and gradients).
 *
 * Checks, for 56 and 4 classes and several seeds: the output within 1e-4
 * absolute, the chunk features and the first bw2col output within 1e-4
 * relative to their scale, the loss, and the gradients of the input and of
 * five named parameters (see check_gradient), and `affect-model predict`
 * (argv[1]) on the golden input through .npy files.
 * Exits 77 (skipped) without ../shared or without torch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/moodnet.h"
#include "affect/npy.h"
#include "affect/safetensors.h"

static const char *cases[] = { "0:56", "1:4" };

static const char *grad_names[] = {
  "att_head.1.weight", "encoder.0.query.weight", "cnn.out_conv.0.weight",
  "cnn.features.3.conv.1.0.weight", "cnn.bw2col.1.weight"
};

static int failures;

/* max |a − b| / max |b| */
static double
rel_inf (const float *a, const float *b, int64_t n, double *scale)
{
  double d = 0.0, s = 0.0;
  for (int64_t i = 0; i < n; i++) {
    d = fmax (d, fabs ((double) a[i] - b[i]));
    s = fmax (s, fabs ((double) b[i]));
  }
  if (scale)
    *scale = s;
  return s > 0.0 ? d / s : d;
}

static void
report (const char *c, const char *what, double value, double tol)
{
  const gboolean ok = value <= tol && !isnan (value);
  printf ("%s %s: %.3e (tolerance %.0e)%s\n", c, what, value, tol,
      ok ? "" : "  FAIL");
  if (!ok)
    failures++;
}

static const float *
get (AffectSafetensors * f, const char *name, int64_t * n)
{
  AffectTensorView v;
  GError *error = NULL;
  if (!affect_safetensors_get (f, name, &v, &error))
    g_error ("%s", error->message);
  if (n)
    *n = v.n_elements;
  return v.data;
}

/* ‖a − b‖₂ / ‖b‖₂ */
static double
rel_l2 (const float *a, const float *b, int64_t n)
{
  double d = 0.0, s = 0.0;
  for (int64_t i = 0; i < n; i++) {
    d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
    s += (double) b[i] * b[i];
  }
  return s > 0.0 ? sqrt (d / s) : sqrt (d);
}

/* A gradient passes when it is within `tol` (‖·‖∞ relative) of PyTorch's
 * float32 gradient or of its float64 one, or when, in ‖·‖₂, it is no
 * farther from the float32 one than three times PyTorch's own float64
 * result is: where the gradient passes through a near-tie of the global max
 * or a ReLU6 clip, float32 rounding (even BLAS's summation order) picks
 * another branch (docs/moodnet.md). */
static void
check_gradient (const char *label, const char *name, const float *ours,
    const float *torch32, const float *torch64, int64_t n, double tol)
{
  const double e32 = rel_inf (ours, torch32, n, NULL);
  const double e64 = rel_inf (ours, torch64, n, NULL);
  const double self = rel_inf (torch64, torch32, n, NULL);
  const double l2 = rel_l2 (ours, torch32, n), l2_self =
      rel_l2 (torch64, torch32, n);
  const gboolean ok = fmin (e32, e64) <= tol || l2 <= 3.0 * l2_self;

  printf ("%s grad %s: rel error %.3e vs torch float32, %.3e vs torch "
      "float64 (torch float64 vs float32: %.3e; tolerance %.0e)%s\n", label,
      name, e32, e64, self, tol, ok ? "" : "  FAIL");
  printf ("%s grad %s: L2 rel error %.3e vs torch float32, %.3e vs float64 "
      "(torch float64 vs float32: %.3e)\n", label, name, l2,
      rel_l2 (ours, torch64, n), l2_self);
  if (!ok || isnan (e32))
    failures++;
}

static void
run_case (const char *path, const char *path64, const char *label)
{
  GError *error = NULL;
  AffectMoodNet *net = affect_moodnet_load (path, &error);
  AffectSafetensors *f = affect_safetensors_open (path, &error);
  const AffectMoodNetConfig *cf;
  int64_t n_in, n_out;
  AffectParam *const *params;
  guint n_params;

  AffectSafetensors *f64 = affect_safetensors_open (path64, &error);

  if (net == NULL || f == NULL || f64 == NULL)
    g_error ("%s", error->message);
  cf = affect_moodnet_get_config (net);
  const float *x = get (f, "golden.input", &n_in);
  const float *y = get (f, "golden.target", NULL);
  const float *want = get (f, "golden.output", &n_out);
  const int batch = (int) (n_out / cf->classes);
  float *out = g_new (float, n_out);
  float *d_att = g_new (float, n_out), *d_clf = g_new (float, n_out);
  float *dx = g_new (float, n_in);
  gint64 t0 = g_get_monotonic_time ();

  affect_moodnet_set_training (net, FALSE, NULL);
  affect_moodnet_forward (net, x, batch, out);
  gint64 t1 = g_get_monotonic_time ();
  {
    double d = 0.0;
    for (int64_t i = 0; i < n_out; i++)
      d = fmax (d, fabs ((double) out[i] - want[i]));
    report (label, "output max abs error", d, 1e-4);
  }
  {
    int64_t n;
    const float *cfw = get (f, "golden.chunk_features", &n);
    report (label, "chunk features max rel error",
        rel_inf (affect_moodnet_chunk_features (net), cfw, n, NULL), 1e-4);
  }

  /* loss on the output (att + clf)/2, as golden.py: BCE(out, y) */
  {
    const float *want_loss = get (f, "golden.loss", NULL);
    double loss = affect_loss_bce (out, y, d_att, n_out);
    report (label, "loss rel error",
        fabs (loss - want_loss[0]) / fabs (want_loss[0]), 1e-4);
    for (int64_t i = 0; i < n_out; i++)
      d_clf[i] = d_att[i] = 0.5f * d_att[i];
  }
  params = affect_moodnet_params (net, &n_params);
  affect_params_zero_grad (params, n_params);
  affect_moodnet_backward (net, d_att, d_clf, dx);
  gint64 t2 = g_get_monotonic_time ();
  {
    int64_t n;
    const float *g = get (f, "golden.grad.input", &n);
    check_gradient (label, "input", dx, g, get (f64, "grad.input", NULL), n,
        1e-3);
  }
  for (guint k = 0; k < G_N_ELEMENTS (grad_names); k++) {
    char key[160], what[160];
    int64_t n;
    const AffectParam *p = NULL;
    g_snprintf (key, sizeof (key), "golden.grad.%s", grad_names[k]);
    const float *g = get (f, key, &n);
    for (guint i = 0; i < n_params; i++)
      if (!strcmp (params[i]->name, grad_names[k]))
        p = params[i];
    g_assert_nonnull (p);
    g_assert_cmpint (p->value.n, ==, n);
    g_snprintf (what, sizeof (what), "grad.%s", grad_names[k]);
    check_gradient (label, grad_names[k], p->grad, g, get (f64, what, NULL),
        n, 1e-3);
  }
  printf ("%s forward %.2f s, backward %.2f s (batch %d)\n", label,
      (t1 - t0) / 1e6, (t2 - t1) / 1e6, batch);

  g_free (out);
  g_free (d_att);
  g_free (d_clf);
  g_free (dx);
  affect_safetensors_close (f);
  affect_safetensors_close (f64);
  affect_moodnet_free (net);
}

/* affect-model predict on the golden input: a .npy in, a .npy out */
static void
check_predict (const char *affect_model, const char *path, const char *label)
{
  GError *error = NULL;
  AffectSafetensors *f = affect_safetensors_open (path, &error);
  AffectTensorView in, want;
  char *dir = g_dir_make_tmp ("moodnet-predict-XXXXXX", &error);
  char *x = g_build_filename (dir, "x.npy", NULL);
  char *y = g_build_filename (dir, "y.npy", NULL);
  const char *argv[] = { affect_model, "predict", "--batch", "1", path, x, y,
    NULL
  };
  int status = 0;
  AffectNpyArray *out;
  double d = 0.0;

  g_assert_nonnull (f);
  g_assert_true (affect_safetensors_get (f, "golden.input", &in, &error));
  g_assert_true (affect_safetensors_get (f, "golden.output", &want, &error));
  g_assert_true (affect_npy_write (x, AFFECT_NPY_FLOAT32, in.n_dims, in.shape,
          in.data, &error));
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          NULL, NULL, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    g_error ("%s predict failed: %s", affect_model, error->message);
  out = affect_npy_read (y, AFFECT_NPY_FLOAT32, &error);
  g_assert_nonnull (out);
  g_assert_cmpint (out->n_elements, ==, want.n_elements);
  g_assert_cmpint (out->shape[0], ==, want.shape[0]);
  for (int64_t i = 0; i < want.n_elements; i++)
    d = fmax (d, fabs ((double) affect_npy_array_float (out)[i] -
            want.data[i]));
  report (label, "affect-model predict output max abs error", d, 1e-4);
  affect_npy_array_free (out);
  g_unlink (x);
  g_unlink (y);
  g_rmdir (dir);
  g_free (x);
  g_free (y);
  g_free (dir);
  affect_safetensors_close (f);
}

int
main (int argc, char **argv)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  const char *build = g_getenv ("AFFECT_BUILD_DIR");
  const char *src = g_getenv ("AFFECT_SOURCE_DIR");
  char *ref, *script, *outdir;
  GPtrArray *args;
  int status = 0;
  GError *error = NULL;

  affect_init ();
  /* meson runs tests in parallel on few cores: spinning OpenBLAS threads
   * of several processes slow each other down by an order of magnitude */
  affect_set_threads (1);
  if (shared == NULL || build == NULL || src == NULL) {
    printf ("SKIP: AFFECT_SHARED_DIR / AFFECT_BUILD_DIR / AFFECT_SOURCE_DIR "
        "not set (run through meson test)\n");
    return 77;
  }
  ref = g_build_filename (shared, "reference", "moodnet", NULL);
  if (!g_file_test (ref, G_FILE_TEST_IS_DIR)) {
    printf ("SKIP: %s is absent\n", ref);
    g_free (ref);
    return 77;
  }
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    printf ("SKIP: /usr/bin/python3 is absent\n");
    g_free (ref);
    return 77;
  }
  script = g_build_filename (src, "tests", "conformance", "moodnet-golden.py",
      NULL);
  outdir = g_build_filename (build, "tests", "conformance", NULL);
  args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "/usr/bin/python3");
  g_ptr_array_add (args, script);
  g_ptr_array_add (args, ref);
  g_ptr_array_add (args, outdir);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_ptr_array_add (args, (gpointer) cases[i]);
  g_ptr_array_add (args, NULL);
  if (!g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_DEFAULT, NULL,
          NULL, NULL, NULL, &status, &error))
    g_error ("cannot run %s: %s", script, error->message);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77) {
    printf ("SKIP: the golden writer found no torch or no reference\n");
    g_ptr_array_free (args, TRUE);
    g_free (script);
    g_free (ref);
    g_free (outdir);
    return 77;
  }
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s failed: %s", script, error->message);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    char **sc = g_strsplit (cases[i], ":", 2);
    char *name = g_strdup_printf ("moodnet-golden-s%s-c%s.safetensors", sc[0],
        sc[1]);
    char *path = g_build_filename (outdir, name, NULL);
    char *path64 = g_strdup_printf ("%.*s-f64.safetensors",
        (int) strlen (path) - (int) strlen (".safetensors"), path);
    char *label = g_strdup_printf ("seed %s, %s classes:", sc[0], sc[1]);
    run_case (path, path64, label);
    if (argc > 1 && i + 1 == G_N_ELEMENTS (cases))
      check_predict (argv[1], path, label);
    g_free (path64);
    g_free (label);
    g_free (path);
    g_free (name);
    g_strfreev (sc);
  }
  g_ptr_array_free (args, TRUE);
  g_free (script);
  g_free (ref);
  g_free (outdir);
  printf ("%s\n", failures ? "FAILED" : "all within tolerance");
  return failures ? 1 : 0;
}
