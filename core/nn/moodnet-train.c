/* MoodNet training loop (include/affect/moodnet-train.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/metrics.h"
#include "affect/crops.h"
#include "affect/dataset.h"
#include "affect/moodnet-train.h"
#include "checkpoint.h"

struct _AffectMoodNetTrainer
{
  AffectMoodNet *net;
  AffectMoodNetTrainOptions opt;
  char *output, *checkpoint;
  GHashTable *metadata;
  int n_mels;
  int crop_frames;              /* the model input: chunks · chunk_frames */
  size_t item_size;             /* floats per model input */
  int classes;
  /* whole items (n_frames × n_mels, frame-major) and their labels */
  AffectDataset *data;
  float *frames;                /* one crop's frames as read back */
  GError *read_error;           /* the first spill read that failed */
};

void
affect_moodnet_train_options_init (AffectMoodNetTrainOptions * o)
{
  memset (o, 0, sizeof (*o));
  o->epochs = 20;
  o->sgd_epochs = 5;
  o->batch_size = 8;
  o->adam_lr = 1e-4;
  o->sgd_lr = 1e-3;
  o->momentum = 0.9;
  o->weight_decay = 1e-4;
  o->seed = 0;
  o->cache_budget = 256u << 20;
  o->calibrate_batchnorm = TRUE;
  o->crops = AFFECT_CROPS_RANDOM;
  o->select = AFFECT_TRAIN_SELECT_BEST;
}

AffectMoodNetTrainer *
affect_moodnet_trainer_new (AffectMoodNet * net,
    const AffectMoodNetTrainOptions * options)
{
  AffectMoodNetTrainer *t = g_new0 (AffectMoodNetTrainer, 1);
  const AffectMoodNetConfig *c = affect_moodnet_get_config (net);

  t->net = net;
  t->opt = *options;
  t->output = g_strdup (options->output);
  t->checkpoint = options->checkpoint ? g_strdup (options->checkpoint) :
      g_strconcat (options->output, ".ckpt", NULL);
  t->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (options->metadata != NULL) {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init (&it, options->metadata);
    while (g_hash_table_iter_next (&it, &k, &v))
      g_hash_table_insert (t->metadata, g_strdup (k), g_strdup (v));
  }
  t->n_mels = c->n_mels;
  t->crop_frames = c->chunks * c->chunk_frames;
  t->item_size = (size_t) c->n_mels * t->crop_frames;
  t->classes = c->classes;
  t->data = affect_dataset_new (c->n_mels, c->classes);
  affect_dataset_set_cache_budget (t->data, options->cache_budget);
  t->frames = g_new (float, t->item_size);
  return t;
}

void
affect_moodnet_trainer_free (AffectMoodNetTrainer * t)
{
  if (t == NULL)
    return;
  affect_dataset_free (t->data);
  g_free (t->frames);
  g_clear_error (&t->read_error);
  g_hash_table_unref (t->metadata);
  g_free (t->output);
  g_free (t->checkpoint);
  g_free (t);
}

gboolean
affect_moodnet_trainer_add_frames (AffectMoodNetTrainer * t,
    const float *frames, int n_frames, const float *labels,
    gboolean validation, GError ** error)
{
  GError *err = NULL;
  const int n = affect_dataset_size (t->data, FALSE) +
      affect_dataset_size (t->data, TRUE);

  if (!affect_dataset_add_item (t->data, frames, n_frames, labels, validation,
          &err)) {
    g_set_error (error, err->domain, err->code, "item %d: %s", n, err->message);
    g_error_free (err);
    return FALSE;
  }
  return TRUE;
}

gboolean
affect_moodnet_trainer_add_item (AffectMoodNetTrainer * t, const float *x,
    const float *labels, gboolean validation, GError ** error)
{
  const int frames = t->crop_frames, mels = t->n_mels;
  float *f = g_new (float, t->item_size);
  gboolean ok;

  for (int m = 0; m < mels; m++)
    for (int i = 0; i < frames; i++)
      f[(size_t) i * mels + m] = x[(size_t) m * frames + i];
  ok = affect_moodnet_trainer_add_frames (t, f, frames, labels, validation,
      error);
  g_free (f);
  return ok;
}

guint
affect_moodnet_trainer_n_items (const AffectMoodNetTrainer * t,
    gboolean validation)
{
  return affect_dataset_size (t->data, validation);
}

/* The model input of item i's crop starting at frame `start` (an item
 * shorter than a crop is repeated: affect/crops.h). A spill file that
 * cannot be read back leaves zeros and keeps the first error for the end
 * of the epoch. */
static void
load_crop (AffectMoodNetTrainer * t, gboolean validation, int i, int start,
    float *dst)
{
  const int n = affect_dataset_item_frames (t->data, validation, i);
  const int len = MIN (n - start, t->crop_frames);
  GError *err = NULL;

  if (!affect_dataset_read (t->data, validation, i, start, len, t->frames,
          &err)) {
    memset (dst, 0, t->item_size * sizeof (float));
    if (t->read_error == NULL)
      t->read_error = err;
    else
      g_error_free (err);
    return;
  }
  affect_crop_fill (t->frames, len, t->n_mels, 0, t->crop_frames, dst);
}

/* where item i's training crop starts in this epoch */
static int
crop_start (AffectMoodNetTrainer * t, int epoch, int i)
{
  if (t->opt.crops == AFFECT_CROPS_FIRST)
    return 0;
  return affect_crop_position (t->opt.seed, epoch, i,
      affect_dataset_item_frames (t->data, FALSE, i), t->crop_frames);
}

static const float *
item_labels (AffectMoodNetTrainer * t, gboolean validation, int i)
{
  return affect_dataset_item_targets (t->data, validation, i);
}

/* n values of band m's masked part: zero, or with the net's input_norm
 * the band's mean (zero once standardised) */
static void
mask (float *x, size_t n, const float *mean, int m)
{
  if (mean == NULL)
    memset (x, 0, sizeof (float) * n);
  else
    for (size_t i = 0; i < n; i++)
      x[i] = mean[m];
}

/* SpecAugment (Park et al. 2019): two frequency masks of up to 1/8 of the
 * bands and two time masks of up to 1/16 of the frames, set to zero (to
 * the band's mean when mean is not NULL) */
static void
spec_augment (const AffectMoodNetConfig * c, float *x, const float *mean,
    AffectRng * rng)
{
  const int frames = c->chunks * c->chunk_frames;
  for (int k = 0; k < 2; k++) {
    int w = (int) (affect_rng_uniform (rng) * (c->n_mels / 8 + 1));
    int f0 = (int) (affect_rng_uniform (rng) * (c->n_mels - w + 1));
    for (int m = f0; m < f0 + w; m++)
      mask (x + (size_t) m * frames, frames, mean, m);
  }
  for (int k = 0; k < 2; k++) {
    int w = (int) (affect_rng_uniform (rng) * (frames / 16 + 1));
    int t0 = (int) (affect_rng_uniform (rng) * (frames - w + 1));
    for (int m = 0; m < c->n_mels; m++)
      mask (x + (size_t) m * frames + t0, w, mean, m);
  }
}

gboolean
affect_moodnet_trainer_standardise (AffectMoodNetTrainer * t, GError ** error)
{
  const int n_train = affect_dataset_size (t->data, FALSE);
  const int mels = t->n_mels, block = t->crop_frames;
  double *sum = g_new0 (double, mels), *sq = g_new0 (double, mels);
  double count = 0.0;
  float *mean, *std;
  gboolean ok = FALSE;

  if (!affect_moodnet_input_norm (t->net, &mean, &std)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "the network has no input standardisation (input_norm)");
    goto out;
  }
  if (n_train == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "no training items to standardise the input with");
    goto out;
  }
  /* two passes over every frame: the mean, then the squared deviations */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n_train; i++) {
      const int n = affect_dataset_item_frames (t->data, FALSE, i);
      for (int f0 = 0; f0 < n; f0 += block) {
        const int len = MIN (block, n - f0);
        if (!affect_dataset_read (t->data, FALSE, i, f0, len, t->frames, error))
          goto out;
        for (int f = 0; f < len; f++)
          for (int m = 0; m < mels; m++) {
            const double v = t->frames[(size_t) f * mels + m];
            if (pass == 0)
              sum[m] += v;
            else
              sq[m] += (v - sum[m]) * (v - sum[m]);
          }
        if (pass == 0)
          count += len;
      }
      if (pass == 0 && i + 1 == n_train)
        for (int m = 0; m < mels; m++)
          sum[m] /= count;
    }
  for (int m = 0; m < mels; m++) {
    mean[m] = (float) sum[m];
    std[m] = (float) MAX (sqrt (sq[m] / count), 1e-3);
  }
  ok = TRUE;
out:
  g_free (sum);
  g_free (sq);
  return ok;
}

typedef struct
{
  double loss, metric;
} Evaluation;

/* The crops that score an item: those that cover it (random crops), or
 * its first (first-window training). Returns their count; *starts is
 * grown as needed. */
static int
score_crops (AffectCropsMode mode, int n_frames, int crop_frames,
    int **starts, int *capacity)
{
  const int n = mode == AFFECT_CROPS_FIRST ? 1 :
      affect_crop_cover (n_frames, crop_frames, NULL);

  if (n > *capacity) {
    *starts = g_renew (int, *starts, n);
    *capacity = n;
  }
  if (mode == AFFECT_CROPS_FIRST)
    (*starts)[0] = 0;
  else
    affect_crop_cover (n_frames, crop_frames, *starts);
  return n;
}

/* Eval-mode scores of the items of a split: each item's output is the mean
 * of its crops' outputs, and the loss the mean over all crops. The crops
 * go through the network in batches of batch_size in item order, so an
 * item of one crop is scored as a model input of its own would be. */
static Evaluation
evaluate (AffectMoodNetTrainer * t, gboolean validation, float *x,
    float *y, float *out, float *d_att, float *d_clf)
{
  const AffectMoodNetConfig *c = affect_moodnet_get_config (t->net);
  const gboolean sigmoid = c->output == AFFECT_MOODNET_SIGMOID;
  AffectMetrics *m = affect_metrics_new (sigmoid ? AFFECT_METRICS_TAGS :
      AFFECT_METRICS_CLASS, t->classes, NULL);
  Evaluation e = { 0.0, NAN };
  const int bs = MAX (1, t->opt.batch_size);
  const int n = affect_dataset_size (t->data, validation);
  double *sum = g_new0 (double, t->classes);
  float *mean = g_new (float, t->classes);
  int *starts = NULL, capacity = 0, *last = g_new (int, bs);
  int item = 0, crop = 0, n_crops = 0, done = 0, total = 0, b = 0;

  affect_moodnet_set_training (t->net, FALSE, NULL);
  while (done < n) {
    /* fill a batch with the next crops, item after item */
    while (b < bs && item < n) {
      if (crop == 0)
        n_crops = score_crops (t->opt.crops, affect_dataset_item_frames
            (t->data, validation, item), t->crop_frames, &starts, &capacity);
      load_crop (t, validation, item, starts[crop],
          x + (size_t) b * t->item_size);
      memcpy (y + (size_t) b * t->classes, item_labels (t, validation, item),
          sizeof (float) * t->classes);
      /* the number of crops of the item when this is its last, else 0 */
      last[b++] = crop + 1 == n_crops ? n_crops : 0;
      if (++crop == n_crops) {
        crop = 0;
        item++;
      }
    }
    affect_moodnet_forward (t->net, x, b, out);
    e.loss += affect_moodnet_loss (t->net, y, d_att, d_clf) * b;
    total += b;
    for (int k = 0; k < b; k++) {
      for (int j = 0; j < t->classes; j++)
        sum[j] += out[(size_t) k * t->classes + j];
      if (last[k] > 0) {
        for (int j = 0; j < t->classes; j++) {
          mean[j] = (float) (sum[j] / last[k]);
          sum[j] = 0.0;
        }
        affect_metrics_add (m, mean, y + (size_t) k * t->classes, NULL);
        done++;
      }
    }
    b = 0;
  }
  e.loss /= MAX (total, 1);
  {
    AffectMetricsResult *r = affect_metrics_compute (m, NULL);
    if (r != NULL) {
      e.metric = sigmoid ? r->roc_auc_macro : r->f1_macro;
      affect_metrics_result_free (r);
    }
  }
  affect_metrics_free (m);
  g_free (sum);
  g_free (mean);
  g_free (starts);
  g_free (last);
  return e;
}

gboolean
affect_moodnet_predict_frames (AffectMoodNet * net, const float *frames,
    int n_frames, AffectCropsMode mode, int batch_size, float *out,
    GError ** error)
{
  const AffectMoodNetConfig *c = affect_moodnet_get_config (net);
  const int len = c->chunks * c->chunk_frames, bs = MAX (1, batch_size);
  const size_t item_size = (size_t) c->n_mels * len;
  int *starts = NULL, capacity = 0;
  const int n = score_crops (mode, n_frames, len, &starts, &capacity);
  float *x, *o;
  double *sum;

  if (n_frames < 1) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "an item of no frames");
    g_free (starts);
    return FALSE;
  }
  x = g_new (float, item_size * MIN (bs, n));
  o = g_new (float, (size_t) MIN (bs, n) * c->classes);
  sum = g_new0 (double, c->classes);
  affect_moodnet_set_training (net, FALSE, NULL);
  for (int i = 0; i < n; i += bs) {
    const int b = MIN (bs, n - i);
    for (int k = 0; k < b; k++)
      affect_crop_fill (frames + (size_t) starts[i + k] * c->n_mels,
          MIN (n_frames - starts[i + k], len), c->n_mels, 0, len,
          x + (size_t) k * item_size);
    affect_moodnet_forward (net, x, b, o);
    for (int k = 0; k < b; k++)
      for (int j = 0; j < c->classes; j++)
        sum[j] += o[(size_t) k * c->classes + j];
  }
  for (int j = 0; j < c->classes; j++)
    out[j] = (float) (sum[j] / n);
  g_free (starts);
  g_free (x);
  g_free (o);
  g_free (sum);
  return TRUE;
}

/* what must not change between a checkpoint and the run resuming it
 * (the number of epochs may: a finished run can be extended) */
static char *
settings_string (AffectMoodNetTrainer * t)
{
  const AffectMoodNetTrainOptions *o = &t->opt;
  char v[5][G_ASCII_DTOSTR_BUF_SIZE];
  guint64 h = 0xcbf29ce484222325ULL;

  /* FNV-1a over the labels and lengths of the items, in order */
  for (int split = 0; split < 2; split++)
    for (int i = 0; i < affect_dataset_size (t->data, split); i++) {
      const float *y = affect_dataset_item_targets (t->data, split, i);
      guint32 w = (guint32) affect_dataset_item_frames (t->data, split, i);
      h = (h ^ w) * 0x100000001b3ULL;
      for (int j = 0; j < t->classes; j++) {
        memcpy (&w, y + j, sizeof (w));
        h = (h ^ w) * 0x100000001b3ULL;
      }
    }
  g_ascii_dtostr (v[0], sizeof (v[0]), o->adam_lr);
  g_ascii_dtostr (v[1], sizeof (v[1]), o->sgd_lr);
  g_ascii_dtostr (v[2], sizeof (v[2]), o->momentum);
  g_ascii_dtostr (v[3], sizeof (v[3]), o->weight_decay);
  return g_strdup_printf ("batch-size=%d,adam-lr=%s,sgd-lr=%s,momentum=%s,"
      "weight-decay=%s,mixup=%d,spec-augment=%d,calibrate-batchnorm=%d,"
      "seed=%" G_GUINT64_FORMAT ",crops=%s,select=%s,items=%d,"
      "validation-items=%d,labels=%016" G_GINT64_MODIFIER "x%s",
      MAX (1, o->batch_size), v[0], v[1], v[2], v[3], !!o->mixup,
      !!o->spec_augment, !!o->calibrate_batchnorm, o->seed,
      affect_crops_mode_name (o->crops), affect_train_select_name (o->select),
      affect_dataset_size (t->data, FALSE), affect_dataset_size (t->data,
          TRUE), h, o->standardise ? ",standardise=1" : "");
}

/* The model file (train_json: its affect.train, the position of the run
 * that wrote it) or, with c, the checkpoint: the model's tensors and
 * metadata plus the optimiser's state and affect.checkpoint. */
static gboolean
save (AffectMoodNetTrainer * t, const char *path, const char *train_json,
    const TrainCheckpoint * c, GError ** error)
{
  AffectSafetensorsWriter *w;
  gboolean ok;

  if (train_json != NULL)
    g_hash_table_insert (t->metadata, g_strdup ("affect.train"),
        g_strdup (train_json));
  w = affect_moodnet_writer_new (t->net, t->metadata);
  g_hash_table_remove (t->metadata, "affect.train");
  if (c != NULL) {
    guint n_params;
    AffectParam *const *params = affect_moodnet_params (t->net, &n_params);
    train_checkpoint_add (w, c, params, n_params, NULL);
  }
  ok = affect_safetensors_writer_write (w, path, error);
  affect_safetensors_writer_free (w);
  return ok;
}

/* position in the schedule: epochs done, best metric and its epoch */
typedef struct
{
  int done;
  double best_metric;
  double best_loss;
  int best_epoch;
  /* the optimiser of the last epoch done, when the checkpoint has it */
  gboolean has_optimizer;
  int phase;                    /* -1: Adam; k ≥ 0: SGD stage k */
  int64_t optimizer_step;
} Progress;

/* the affect.train object of a model file the trainer wrote; NULL if
 * absent or malformed. *parser keeps it alive: unref it after use. */
static JsonObject *
train_position (AffectSafetensors * f, JsonParser ** parser)
{
  const char *json = affect_safetensors_metadata (f, "affect.train");

  *parser = json_parser_new ();
  if (json == NULL || !json_parser_load_from_data (*parser, json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (*parser)))
    return NULL;
  return json_node_get_object (json_parser_get_root (*parser));
}

static gboolean
read_checkpoint (AffectMoodNetTrainer * t, Progress * p, GError ** error)
{
  AffectSafetensors *f = affect_safetensors_open (t->checkpoint, error);
  TrainCheckpoint c = { 0 };
  char *shape = NULL, *settings = NULL;
  guint n_params;
  AffectParam *const *params = affect_moodnet_params (t->net, &n_params);
  gboolean ok = FALSE;

  if (f == NULL)
    return FALSE;
  if (!train_checkpoint_read (f, t->checkpoint, "moodnet", &c, error))
    goto out;
  shape = affect_moodnet_config_to_json (affect_moodnet_get_config (t->net));
  settings = settings_string (t);
  if (g_strcmp0 (c.shape, shape) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%s: checkpoint of the network %s, this one is %s", t->checkpoint,
        c.shape, shape);
    goto out;
  }
  if (g_strcmp0 (c.settings, settings) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%s: checkpoint written with other training settings or items "
        "(%s); this run has %s", t->checkpoint, c.settings, settings);
    goto out;
  }
  if (c.optimizer != (AffectOptimizerKind) (c.phase <
          0 ? AFFECT_OPTIMIZER_ADAM : AFFECT_OPTIMIZER_SGD)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: an %s optimiser in phase %d", t->checkpoint,
        c.optimizer == AFFECT_OPTIMIZER_ADAM ? "Adam" : "SGD", c.phase);
    goto out;
  }
  if (!affect_moodnet_load_tensors (t->net, f, error)
      || !train_checkpoint_read_optimizer (f, t->checkpoint, c.optimizer,
          params, n_params, error))
    goto out;
  p->done = c.epochs_done;
  p->best_epoch = c.best_epoch;
  p->best_metric = c.best_metric;
  p->best_loss = c.best_loss;
  p->phase = c.phase;
  p->optimizer_step = c.optimizer_step;
  p->has_optimizer = TRUE;
  ok = TRUE;
out:
  train_checkpoint_clear (&c);
  g_free (shape);
  g_free (settings);
  affect_safetensors_close (f);
  return ok;
}

/* On resume the best epoch's weights are those of the model file (it is
 * written at each new best): `best` must hold them, not the checkpoint's,
 * since entering SGD reloads them. The file's own affect.train must name
 * that epoch, or it belongs to another run. */
static gboolean
read_best (AffectMoodNetTrainer * t, const Progress * p, GError ** error)
{
  AffectSafetensors *f = affect_safetensors_open (t->output, error);
  JsonParser *parser;
  JsonObject *o;
  gboolean ok = FALSE;

  if (f == NULL)
    return FALSE;
  o = train_position (f, &parser);
  if (o == NULL
      || json_object_get_int_member (o, "epochs_done") != p->best_epoch) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s does not hold epoch %d, the best epoch of checkpoint %s: "
        "cannot resume", t->output, p->best_epoch, t->checkpoint);
  } else {
    ok = affect_moodnet_load_tensors (t->net, f, error);
  }
  g_object_unref (parser);
  affect_safetensors_close (f);
  return ok;
}

/* copies of every parameter/buffer value, to restore the best epoch */
static float **
snapshot (AffectMoodNet * net, float **into)
{
  guint n;
  AffectParam *const *p = affect_moodnet_params (net, &n);
  if (into == NULL)
    into = g_new0 (float *, n);
  for (guint i = 0; i < n; i++) {
    if (into[i] == NULL)
      into[i] = g_new (float, p[i]->value.n);
    memcpy (into[i], p[i]->value.data, sizeof (float) * p[i]->value.n);
  }
  return into;
}

static void
restore (AffectMoodNet * net, float **from)
{
  guint n;
  AffectParam *const *p = affect_moodnet_params (net, &n);
  for (guint i = 0; i < n; i++)
    memcpy (p[i]->value.data, from[i], sizeof (float) * p[i]->value.n);
}

gboolean
affect_moodnet_trainer_run (AffectMoodNetTrainer * t,
    AffectTrainEpochFunc func, gpointer user_data, GError ** error)
{
  const AffectMoodNetConfig *c = affect_moodnet_get_config (t->net);
  const AffectMoodNetTrainOptions *o = &t->opt;
  const int n_train = affect_dataset_size (t->data, FALSE);
  const int n_val = affect_dataset_size (t->data, TRUE);
  const int n_items = n_train + n_val, bs = MAX (1, o->batch_size);
  const int total = o->epochs + 3 * o->sgd_epochs;
  /* without validation items there is nothing to select on */
  const gboolean keep_last = n_val == 0
      || o->select == AFFECT_TRAIN_SELECT_LAST;
  float *x = g_new (float, t->item_size * bs);
  float *x2 = g_new (float, t->item_size);
  float *y = g_new (float, (size_t) bs * t->classes);
  float *out = g_new (float, (size_t) bs * t->classes);
  float *d_att = g_new (float, (size_t) bs * t->classes);
  float *d_clf = g_new (float, (size_t) bs * t->classes);
  int *perm = g_new (int, MAX (1, n_items));
  float **best = NULL;
  guint n_params;
  AffectParam *const *params = affect_moodnet_params (t->net, &n_params);
  AffectOptimizer opt;
  AffectRng rng;
  Progress prog = { 0, -INFINITY, INFINITY, 0 };
  TrainCheckpoint ckpt = { 0 };
  gboolean ok = FALSE;
  int phase = G_MININT;
  float *in_mean, *in_std;

  ckpt.trainer = "moodnet";
  ckpt.best_accuracy = NAN;
  ckpt.shape = affect_moodnet_config_to_json (c);
  ckpt.settings = settings_string (t);

  if (n_train == 0) {
    if (n_items > 0)
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
          "no training items: the %d cached are all validation items, held "
          "out", n_items);
    else
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
          "no training items: none was cached");
    goto out;
  }
  /* the input statistics first: the kept snapshots hold them, and a
   * resumed run reads the same values back from its checkpoint */
  if (o->standardise && !affect_moodnet_trainer_standardise (t, error))
    goto out;
  affect_moodnet_input_norm (t->net, &in_mean, &in_std);
  if (o->resume && g_file_test (t->checkpoint, G_FILE_TEST_EXISTS)) {
    /* the best epoch's weights first (from the model file), then the
     * checkpoint's last epoch over them */
    if (!read_checkpoint (t, &prog, error))
      goto out;
    if (prog.best_epoch > 0) {
      if (!read_best (t, &prog, error))
        goto out;
      best = snapshot (t->net, NULL);
      if (!read_checkpoint (t, &prog, error))
        goto out;
    }
  }
  if (best == NULL)
    best = snapshot (t->net, NULL);
  if (prog.has_optimizer) {
    /* continue the checkpoint's optimiser: same kind, step and moments */
    const int stage = MAX (prog.phase, 0);
    if (prog.phase < 0)
      affect_optimizer_init_adam (&opt, o->adam_lr);
    else
      affect_optimizer_init_sgd (&opt, o->sgd_lr * pow (0.1, stage),
          o->momentum, TRUE, o->weight_decay);
    opt.step = prog.optimizer_step;
    phase = prog.phase;
  } else {
    affect_params_reset_state (params, n_params);
  }

  for (int epoch = prog.done; epoch < total; epoch++) {
    const gboolean adam = epoch < o->epochs;
    const int stage = adam ? -1 : (epoch - o->epochs) / MAX (1, o->sgd_epochs);
    const double lr = adam ? o->adam_lr : o->sgd_lr * pow (0.1, stage);
    const gint64 t0 = g_get_monotonic_time ();
    double loss_sum = 0.0;
    int batches = 0;
    Evaluation ev;
    AffectTrainEpoch info;
    char *train_json;

    /* a new optimiser at each phase/stage boundary (and after a resume);
     * entering SGD reloads the best weights, as the seed does */
    if ((adam ? -1 : stage) != phase) {
      if (!adam && epoch == o->epochs && prog.best_epoch > 0)
        restore (t->net, best);
      affect_params_reset_state (params, n_params);
      if (adam)
        affect_optimizer_init_adam (&opt, lr);
      else
        affect_optimizer_init_sgd (&opt, lr, o->momentum, TRUE,
            o->weight_decay);
      phase = adam ? -1 : stage;
    }
    /* the epoch's shuffle depends on the seed and the epoch only, so a
     * resumed run sees the same order */
    affect_rng_init (&rng, o->seed * 1000003u + (uint64_t) epoch);
    affect_rng_permutation (&rng, perm, n_train);
    affect_moodnet_set_training (t->net, TRUE, &rng);
    for (int i = 0; i + 1 <= n_train; i += bs) {
      const int b = MIN (bs, n_train - i);
      /* batch-norm needs two values per channel */
      if (b < 2 && n_train >= 2)
        break;
      for (int k = 0; k < b; k++) {
        const int item = perm[i + k];
        float *xi = x + (size_t) k * t->item_size;
        float *yi = y + (size_t) k * t->classes;
        /* the item's crop of this epoch (the whole item when it is one
         * crop long) */
        load_crop (t, FALSE, item, crop_start (t, epoch, item), xi);
        memcpy (yi, item_labels (t, FALSE, item), sizeof (float) * t->classes);
        if (o->mixup) {
          /* Beta(1, 1) is uniform */
          const double lam = affect_rng_uniform (&rng);
          const int other = (int) (affect_rng_uniform (&rng) * n_train);
          const float *yo = item_labels (t, FALSE, other);
          load_crop (t, FALSE, other, crop_start (t, epoch, other), x2);
          for (size_t j = 0; j < t->item_size; j++)
            xi[j] = (float) (lam * xi[j] + (1.0 - lam) * x2[j]);
          for (int j = 0; j < t->classes; j++)
            yi[j] = (float) (lam * yi[j] + (1.0 - lam) * yo[j]);
        }
        if (o->spec_augment)
          spec_augment (c, xi, in_mean, &rng);
      }
      affect_params_zero_grad (params, n_params);
      affect_moodnet_forward (t->net, x, b, out);
      loss_sum += affect_moodnet_loss (t->net, y, d_att, d_clf);
      affect_moodnet_backward (t->net, d_att, d_clf, NULL);
      opt.lr = lr;
      affect_optimizer_step (&opt, params, n_params);
      batches++;
    }
    if (o->calibrate_batchnorm) {
      /* running statistics of the epoch's final weights over the training
       * items, so eval mode sees what training saw */
      affect_moodnet_calibrate_batchnorm (t->net, TRUE);
      for (int i = 0; i < n_train; i += bs) {
        const int b = MIN (bs, n_train - i);
        if (b < 2 && i > 0)
          break;
        for (int k = 0; k < b; k++)
          load_crop (t, FALSE, i + k, crop_start (t, epoch, i + k),
              x + (size_t) k * t->item_size);
        affect_moodnet_forward (t->net, x, b, out);
      }
      affect_moodnet_calibrate_batchnorm (t->net, FALSE);
    }
    {
      ev.loss = ev.metric = NAN;
      if (n_val > 0)
        ev = evaluate (t, TRUE, x, y, out, d_att, d_clf);
      if (t->read_error != NULL) {
        g_propagate_error (error, t->read_error);
        t->read_error = NULL;
        goto out;
      }
    }
    affect_train_epoch_init (&info);
    info.epoch = epoch + 1;
    info.total_epochs = total;
    info.phase = adam ? "adam" : "sgd";
    info.learning_rate = lr;
    info.train_loss = batches ? loss_sum / batches : NAN;
    info.validation_loss = ev.loss;
    info.validation_metric = ev.metric;
    info.metric_name = c->output == AFFECT_MOODNET_SIGMOID ? "roc-auc-macro" :
        "f1-macro";
    /* an undefined metric (one class only) falls back to the loss; equal
     * metrics are told apart by the validation loss */
    {
      const double score = isnan (ev.metric) ? -ev.loss : ev.metric;
      info.best = keep_last || prog.best_epoch == 0
          || score > prog.best_metric
          || (score == prog.best_metric && ev.loss < prog.best_loss);
      if (info.best) {
        prog.best_metric = score;
        prog.best_loss = ev.loss;
        prog.best_epoch = epoch + 1;
        snapshot (t->net, best);
      }
    }
    prog.done = epoch + 1;
    {
      char *metric = train_json_double (prog.best_metric);
      char *loss = train_json_double (prog.best_loss);
      train_json = g_strdup_printf ("{\"epochs_done\": %d, "
          "\"best_epoch\": %d, \"best_metric\": %s, \"best_loss\": %s, "
          "\"epochs\": %d, \"sgd_epochs\": %d, \"seed\": %" G_GUINT64_FORMAT
          ", \"crops\": \"%s\", \"select\": \"%s\"}", prog.done,
          prog.best_epoch, metric, loss, o->epochs, o->sgd_epochs, o->seed,
          affect_crops_mode_name (o->crops),
          affect_train_select_name (o->select));
      g_free (metric);
      g_free (loss);
    }
    ckpt.epochs_done = prog.done;
    ckpt.best_epoch = prog.best_epoch;
    ckpt.since_best = prog.done - prog.best_epoch;
    ckpt.best_metric = prog.best_metric;
    ckpt.best_loss = prog.best_loss;
    ckpt.optimizer = opt.kind;
    ckpt.optimizer_step = opt.step;
    ckpt.phase = phase;
    if (info.best && !save (t, t->output, train_json, NULL, error)) {
      g_free (train_json);
      goto out;
    }
    if (!save (t, t->checkpoint, NULL, &ckpt, error)) {
      g_free (train_json);
      goto out;
    }
    g_free (train_json);
    info.seconds = (g_get_monotonic_time () - t0) / 1e6;
    /* the run can be stopped after any epoch; the kept model stays */
    if (func != NULL && !func (&info, user_data))
      break;
  }
  /* the model file holds the best epoch; leave the net as it */
  restore (t->net, best);
  if (prog.best_epoch == 0 && !save (t, t->output, NULL, NULL, error))
    goto out;
  ok = TRUE;
out:
  if (best != NULL) {
    for (guint i = 0; i < n_params; i++)
      g_free (best[i]);
    g_free (best);
  }
  affect_moodnet_set_training (t->net, FALSE, NULL);
  train_checkpoint_clear (&ckpt);
  g_free (x);
  g_free (x2);
  g_free (y);
  g_free (out);
  g_free (d_att);
  g_free (d_clf);
  g_free (perm);
  return ok;
}
