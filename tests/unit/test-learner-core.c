/* The training elements' work that lives in libaffect: the parsers
 * (hidden sizes, per-target files, target lists, word labels), the
 * classifier's label mapping, score ranking, input and affect.features,
 * the regressor's range check and held vectors, the live windows of Mel
 * frames, and a classifier's training run set up from its settings. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/classifier.h"
#include "affect/regressor.h"

static void
test_parsers (void)
{
  AffectMlpConfig c = { 0 };
  gchar **names;
  gchar *path;
  gdouble v;

  g_assert_true (affect_mlp_parse_hidden (" 1200, 600", &c));
  g_assert_cmpint (c.n_hidden, ==, 2);
  g_assert_cmpint (c.hidden[1], ==, 600);
  g_assert_false (affect_mlp_parse_hidden ("12,,3", &c));
  g_assert_cmpint (c.n_hidden, ==, 0);
  g_assert_false (affect_mlp_parse_hidden ("-4", &c));
  path = affect_mlp_target_path ("/a.b/model.safetensors", "valence");
  g_assert_cmpstr (path, ==, "/a.b/model-valence.safetensors");
  g_free (path);
  path = affect_mlp_target_path ("/a.b/model", "arousal");
  g_assert_cmpstr (path, ==, "/a.b/model-arousal");
  g_free (path);
  names = affect_split_names (" valence,, arousal ");
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_cmpstr (names[1], ==, "arousal");
  g_strfreev (names);
  g_assert_true (affect_parse_label ("Spontaneous", &v) && v == 1.0);
  g_assert_true (affect_parse_label ("script", &v) && v == 0.0);
  g_assert_true (affect_parse_label ("-0.5", &v) && v == -0.5);
  g_assert_false (affect_parse_label ("maybe", &v));
}

static void
test_classifier (void)
{
  const char *model[] = { "a", "b", "c", NULL };
  const char *vocab[] = { "c", "a", NULL };
  const float labels[] = { 1, 0 }, none[] = { 0, 0 };
  const float scores[] = { 0.2f, 0.9f, 0.6f };
  const float frames[] = { 1, 2, 3, 4 };        /* 2 frames × 2 mels */
  float x[6], *t = NULL;
  guint order[3];
  GError *error = NULL;
  AffectFeatureField f[] = {
    {"hop", AFFECT_FEATURE_INT, 256, 0, NULL},
    {"fmax", AFFECT_FEATURE_DOUBLE, 0, 6000.5, NULL},
    {"preset", AFFECT_FEATURE_STRING, 0, 0, "mtg-jamendo"},
  };
  gchar *json;

  g_assert_true (affect_labels_to_model (model, 3, vocab, labels, 2, &t, NULL));
  g_assert_cmpfloat (t[2], ==, 1);
  g_assert_cmpfloat (t[0], ==, 0);
  g_free (t);
  g_assert_true (affect_labels_to_model (model, 3, model, labels, 3, &t, NULL));
  g_assert_null (t);
  g_assert_false (affect_labels_to_model (model, 3, vocab, none, 2, &t,
          &error));
  g_assert_true (strstr (error->message, "no positive") != NULL);
  g_clear_error (&error);
  vocab[1] = "z";
  g_assert_false (affect_labels_to_model (model, 3, vocab, labels, 2, &t,
          &error));
  g_assert_true (strstr (error->message, "\"z\"") != NULL);
  g_clear_error (&error);

  g_assert_cmpuint (affect_scores_rank (scores, 3, 0, FALSE, 0.5, order), ==,
      2);
  g_assert_cmpuint (order[0], ==, 1);
  g_assert_cmpuint (order[1], ==, 2);
  g_assert_cmpuint (affect_scores_rank (scores, 3, 0, TRUE, 0.5, order), ==, 1);
  g_assert_cmpuint (affect_scores_rank (scores, 3, 5, FALSE, 0.5, order), ==,
      3);

  /* three frames from two, tiled, as mels × frames */
  affect_classifier_input (frames, 2, 2, 3, x);
  g_assert_cmpfloat (x[0], ==, 1);
  g_assert_cmpfloat (x[2], ==, 1);
  g_assert_cmpfloat (x[3], ==, 2);
  g_assert_cmpfloat (x[4], ==, 4);

  json = affect_features_json (f, 3);
  g_assert_cmpstr (json, ==,
      "{\"hop\":256,\"fmax\":6000.5,\"preset\":\"mtg-jamendo\"}");
  g_assert_true (affect_features_check (json, f, 3, "m", NULL));
  f[0].i = 512;
  g_assert_false (affect_features_check (json, f, 3, "m", &error));
  g_assert_cmpstr (error->message, ==,
      "Mel stream has hop=512 but the model m was trained with hop=256");
  g_clear_error (&error);
  f[0].i = 256;
  f[2].s = "librosa";
  g_assert_false (affect_features_check (json, f, 3, "m", &error));
  g_clear_error (&error);
  f[2].s = "custom";
  g_assert_true (affect_features_check (json, f, 3, "m", NULL));
  g_assert_true (affect_features_check (NULL, f, 3, "m", NULL));
  g_free (json);
  json = affect_labels_json (model);
  g_assert_cmpstr (json, ==, "[\"a\", \"b\", \"c\"]");
  g_free (json);
}

static void
test_ranges (void)
{
  AffectTargetRange *r = NULL;
  const float a[] = { 1, 5 }, b[] = { 3, -1 }, bad[] = { 1, NAN };

  affect_target_range_update (&r, a, 2);
  affect_target_range_update (&r, b, 2);
  g_assert_cmpuint (r->k, ==, 2);
  g_assert_cmpfloat (r->lo[0], ==, 1);
  g_assert_cmpfloat (r->hi[0], ==, 3);
  g_assert_cmpfloat (r->lo[1], ==, -1);
  g_assert_cmpfloat (r->hi[1], ==, 5);
  affect_target_range_free (r);
  affect_target_range_free (NULL);
  g_assert_true (affect_vector_is_finite (a, 2));
  g_assert_false (affect_vector_is_finite (bad, 2));
}

/* one Mel band, frames 0, 1, 2, …: windows of 3 every 2 frames, then
 * every 5 (two frames skipped between windows) */
static void
test_frames (void)
{
  AffectFrames f = { 1 };
  float data[12];
  guint used, i = 0;
  gint first;

  for (guint k = 0; k < 12; k++)
    data[k] = (float) k;
  affect_frames_append (&f, data, 12, 4);
  g_assert_cmpuint (f.n, ==, 4);
  f.n = 0;
  used = affect_frames_fill (&f, data, 12, 3, &first);
  g_assert_cmpuint (used, ==, 3);
  g_assert_cmpint (first, ==, 0);
  g_assert_cmpuint (affect_frames_slide (&f, 3, 2), ==, 2);
  g_assert_cmpuint (f.n, ==, 1);
  g_assert_cmpfloat (f.frames[0], ==, 2);
  used = affect_frames_fill (&f, data + 3, 9, 3, &first);
  g_assert_cmpuint (used, ==, 2);
  g_assert_cmpint (first, ==, -1);      /* the window started before */
  g_assert_cmpfloat (f.frames[2], ==, 4);
  g_assert_cmpuint (affect_frames_slide (&f, 3, 5), ==, 3);
  g_assert_cmpuint (f.n, ==, 0);
  i = 5;
  used = affect_frames_fill (&f, data + i, 12 - i, 3, &first);
  g_assert_cmpuint (used, ==, 5);       /* 5, 6 skipped; 7, 8, 9 taken */
  g_assert_cmpint (first, ==, 2);
  g_assert_cmpfloat (f.frames[0], ==, 7);
  g_free (f.frames);
}

/* per-stream standardisation: the held vectors, predicted at the end
 * with their own statistics, as predict_stream does; then none held */
static void
test_held (void)
{
  AffectMlpConfig c = { 3, 1, {4}, 2, AFFECT_ACTIVATION_RELU,
  AFFECT_ACTIVATION_IDENTITY
  };
  AffectMlp *mlp = affect_mlp_new (&c, 5, NULL);
  gchar *dir = g_dir_make_tmp ("affect-held-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "m.safetensors", NULL);
  const float x[] = { 1, 2, 3, 4, 0, -1, 2, 2, 9, -3, 1, 1 };
  float want[8], *y;
  AffectRegressor *r;
  guint n;

  affect_mlp_set_names (mlp, (const char *[]) {
        "valence", "arousal", NULL
      });
  g_assert_true (affect_mlp_save (mlp, path, NULL));
  r = affect_regressor_load (path, TRUE, "valence,arousal", NULL);
  g_assert_nonnull (r);
  affect_regressor_hold (r, x);
  affect_regressor_drop_held (r);       /* a flush */
  g_assert_null (affect_regressor_predict_held (r, &n));
  g_assert_cmpuint (n, ==, 0);
  for (guint i = 0; i < 4; i++)
    affect_regressor_hold (r, x + 3 * i);
  y = affect_regressor_predict_held (r, &n);
  g_assert_cmpuint (n, ==, 4);
  affect_regressor_predict_stream (r, x, want, 4);
  g_assert_cmpmem (y, sizeof want, want, sizeof want);
  g_free (y);
  g_assert_null (affect_regressor_predict_held (r, &n));
  affect_regressor_drop_held (NULL);
  affect_regressor_free (r);
  affect_mlp_free (mlp);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

/* keeps the first epoch's report and stops the run there */
static gboolean
on_epoch (const AffectTrainEpoch * e, gpointer data)
{
  AffectTrainEpoch *first = data;

  *first = *e;
  return FALSE;
}

/* AffectClassifierJob: a new network of the job's shape and output, its
 * classes named by the vocabulary, a trainer with the job's schedule that
 * writes the output; a shape MoodNet cannot take builds nothing and keeps
 * the labels */
static void
test_classifier_job (void)
{
  const char *vocabulary[] = { "calm", NULL, "tense" };
  gchar *dir = g_dir_make_tmp ("affect-job-XXXXXX", NULL);
  gchar *out = g_build_filename (dir, "m.safetensors", NULL);
  gchar *ckpt = g_strconcat (out, ".ckpt", NULL);
  AffectClassifierJob job = { 3, vocabulary, TRUE, 72, 2, 72, 0.35, NULL,
    1, 1, 4, 3e-4, FALSE, FALSE, FALSE, AFFECT_CROPS_FIRST,
    AFFECT_TRAIN_SELECT_LAST, 7, FALSE, 1, out, "{\"n-mels\": 72}"
  };
  AffectMoodNet *net = NULL;
  char **labels = NULL;
  GError *error = NULL;
  AffectMoodNetTrainer *trainer;
  const AffectMoodNetConfig *c;
  float *frames = g_new (float, 150 * 72);
  const float hot[2][3] = { {1, 0, 0}, {0, 0, 1} };
  AffectTrainEpoch first;
  guint i;

  trainer = affect_classifier_job_start (&job, &net, &labels, &error);
  g_assert_no_error (error);
  g_assert_nonnull (trainer);
  c = affect_moodnet_get_config (net);
  g_assert_cmpint (c->classes, ==, 3);
  g_assert_cmpint (c->output, ==, AFFECT_MOODNET_SOFTMAX);
  g_assert_cmpint (c->n_mels, ==, 72);
  g_assert_cmpint (c->chunks, ==, 2);
  g_assert_cmpint (c->chunk_frames, ==, 72);
  g_assert_cmpfloat (c->width, ==, 0.35);
  g_assert_cmpuint (g_strv_length (labels), ==, 3);
  g_assert_cmpstr (labels[1], ==, "");
  g_assert_cmpstr (labels[2], ==, "tense");
  for (i = 0; i < 150 * 72; i++)
    frames[i] = (float) (i % 13) / 13.0f;
  for (i = 0; i < 2; i++)
    g_assert_true (affect_moodnet_trainer_add_frames (trainer, frames, 150,
            hot[i], FALSE, &error));
  /* 1 Adam epoch at the job's rate, then three SGD stages of 1; the run
   * stopped after the first writes it */
  affect_train_epoch_init (&first);
  g_assert_true (affect_moodnet_trainer_run (trainer, on_epoch, &first,
          &error));
  g_assert_cmpint (first.epoch, ==, 1);
  g_assert_cmpint (first.total_epochs, ==, 4);
  g_assert_cmpstr (first.phase, ==, "adam");
  g_assert_cmpfloat_with_epsilon (first.learning_rate, 3e-4, 1e-12);
  g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
  affect_moodnet_trainer_free (trainer);
  affect_moodnet_free (net);
  net = NULL;
  /* standardise: an init model without input_norm cannot be trained so */
  job.standardise = TRUE;
  job.init_model = out;
  g_assert_null (affect_classifier_job_start (&job, &net, &labels, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "input_norm"));
  g_clear_error (&error);
  /* a new network gets input_norm, and its file the training statistics */
  job.init_model = NULL;
  trainer = affect_classifier_job_start (&job, &net, &labels, &error);
  g_assert_no_error (error);
  g_assert_true (affect_moodnet_get_config (net)->input_norm);
  for (i = 0; i < 2; i++)
    g_assert_true (affect_moodnet_trainer_add_frames (trainer, frames, 150,
            hot[i], FALSE, &error));
  g_assert_true (affect_moodnet_trainer_run (trainer, on_epoch, &first,
          &error));
  affect_moodnet_trainer_free (trainer);
  affect_moodnet_free (net);
  net = affect_moodnet_load (out, &error);
  g_assert_no_error (error);
  {
    float *mean, *std;
    g_assert_true (affect_moodnet_input_norm (net, &mean, &std));
    /* band 0 of the frames: (i % 13) / 13 at i = 72·f, over f < 150 */
    {
      double sum = 0.0;
      for (i = 0; i < 150; i++)
        sum += (float) ((i * 72) % 13) / 13.0f;
      g_assert_cmpfloat_with_epsilon (mean[0], sum / 150, 1e-6);
    }
    g_assert_cmpfloat (std[0], >, 0.1f);
  }
  affect_moodnet_free (net);
  net = NULL;
  job.standardise = FALSE;
  job.chunk_frames = 8;
  g_assert_null (affect_classifier_job_start (&job, &net, &labels, &error));
  g_assert_nonnull (error);
  g_assert_null (net);
  g_assert_cmpstr (labels[0], ==, "calm");
  g_clear_error (&error);
  g_strfreev (labels);
  g_free (frames);
  g_unlink (ckpt);
  g_unlink (out);
  g_rmdir (dir);
  g_free (ckpt);
  g_free (out);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/learner-core/parsers", test_parsers);
  g_test_add_func ("/learner-core/classifier", test_classifier);
  g_test_add_func ("/learner-core/ranges", test_ranges);
  g_test_add_func ("/learner-core/frames", test_frames);
  g_test_add_func ("/learner-core/held", test_held);
  g_test_add_func ("/learner-core/classifier-job", test_classifier_job);
  return g_test_run ();
}
