/* Training checkpoints, one layout for every trainer (include/affect/
 * train.h, core/nn/checkpoint.h). */
#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "checkpoint.h"

#define KEY "affect.checkpoint"

void
train_checkpoint_clear (TrainCheckpoint * c)
{
  g_clear_pointer (&c->shape, g_free);
  g_clear_pointer (&c->settings, g_free);
}

char *
train_json_double (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (v))
    return g_strdup ("null");
  return g_strdup (g_ascii_formatd (buf, sizeof (buf), "%.17g", v));
}

/* doubles as the hexadecimal bits: exact, and infinities and NaN too */
static char *
hex_double (double v)
{
  guint64 bits;

  memcpy (&bits, &v, sizeof (bits));
  return g_strdup_printf ("\"%016" G_GINT64_MODIFIER "x\"", bits);
}

static void
add_tensor (AffectSafetensorsWriter * w, const char *prefix,
    const AffectParam * p, const float *data)
{
  char *name = g_strconcat (prefix, p->name, NULL);
  affect_safetensors_writer_add (w, name, p->value.n_dims, p->value.shape,
      data);
  g_free (name);
}

void
train_checkpoint_add (AffectSafetensorsWriter * w, const TrainCheckpoint * c,
    AffectParam * const *params, guint n_params, float *const *best)
{
  const gboolean adam = c->optimizer == AFFECT_OPTIMIZER_ADAM;
  char *metric = hex_double (c->best_metric), *loss = hex_double (c->best_loss);
  char *accuracy = hex_double (c->best_accuracy);
  char *shape = g_strescape (c->shape ? c->shape : "", NULL);
  char *settings = g_strescape (c->settings ? c->settings : "", NULL);
  GString *json = g_string_new (NULL);

  for (guint i = 0; i < n_params; i++) {
    const AffectParam *p = params[i];
    if (p->m != NULL)
      add_tensor (w, adam ? "adam.m." : "sgd.momentum.", p, p->m);
    if (adam && p->v != NULL)
      add_tensor (w, "adam.v.", p, p->v);
    if (best != NULL)
      add_tensor (w, "best.", p, best[i]);
  }
  g_string_printf (json, "{\"version\": %d, \"trainer\": \"%s\", "
      "\"epochs_done\": %d, \"best_epoch\": %d, \"since_best\": %d, "
      "\"best_metric\": %s, \"best_loss\": %s, \"best_accuracy\": %s, "
      "\"optimizer\": \"%s\", "
      "\"optimizer_step\": %" G_GINT64_FORMAT ", \"phase\": %d, "
      "\"best_weights\": %s, \"shape\": \"%s\", \"settings\": \"%s\"",
      AFFECT_CHECKPOINT_VERSION, c->trainer, c->epochs_done, c->best_epoch,
      c->since_best, metric, loss, accuracy, adam ? "adam" : "sgd",
      c->optimizer_step,
      c->phase, best != NULL ? "true" : "false", shape, settings);
  if (c->has_rng)
    g_string_append_printf (json, ", \"rng\": [\"%016" G_GINT64_MODIFIER
        "x\", \"%016" G_GINT64_MODIFIER "x\", \"%016" G_GINT64_MODIFIER
        "x\", \"%016" G_GINT64_MODIFIER "x\"]", c->rng[0], c->rng[1],
        c->rng[2], c->rng[3]);
  g_string_append_c (json, '}');
  affect_safetensors_writer_set_metadata (w, KEY, json->str);
  g_string_free (json, TRUE);
  g_free (metric);
  g_free (loss);
  g_free (accuracy);
  g_free (shape);
  g_free (settings);
}

static gboolean
get_hex (JsonObject * o, const char *member, guint64 * out)
{
  const char *s;

  if (!json_object_has_member (o, member))
    return FALSE;
  s = json_object_get_string_member (o, member);
  return s != NULL && g_ascii_string_to_unsigned (s, 16, 0, G_MAXUINT64, out,
      NULL);
}

static gboolean
get_int (JsonObject * o, const char *member, gint64 min, gint64 max,
    gint64 * out)
{
  JsonNode *n = json_object_get_member (o, member);

  if (n == NULL || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return *out >= min && *out <= max;
}

gboolean
train_checkpoint_read (AffectSafetensors * f, const char *path,
    const char *trainer, TrainCheckpoint * c, GError ** error)
{
  const char *json = affect_safetensors_metadata (f, KEY);
  JsonParser *parser;
  JsonObject *o;
  gint64 version = 0, done, best, since, step, phase;
  guint64 metric, loss, accuracy;
  const char *s;
  gboolean ok = FALSE;

  if (json == NULL) {
    /* the layouts before this one */
    if (!g_strcmp0 (affect_safetensors_metadata (f, "format"),
            "gst-affect-mlp-checkpoint")
        || affect_safetensors_metadata (f, "affect.train") != NULL)
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: a training checkpoint of layout 1; this version reads "
          "layout %d only: remove the file to train afresh", path,
          AFFECT_CHECKPOINT_VERSION);
    else
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: not a training checkpoint (no %s)", path, KEY);
    return FALSE;
  }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: %s is not a JSON object", path, KEY);
    goto out;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  if (!get_int (o, "version", 0, G_MAXINT, &version)
      || version != AFFECT_CHECKPOINT_VERSION) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: a training checkpoint of layout %" G_GINT64_FORMAT "; this "
        "version reads layout %d only", path, version,
        AFFECT_CHECKPOINT_VERSION);
    goto out;
  }
  s = json_object_has_member (o, "trainer") ?
      json_object_get_string_member (o, "trainer") : NULL;
  if (g_strcmp0 (s, trainer) != 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "%s: a checkpoint of the %s trainer, not of the %s one", path,
        s ? s : "(unknown)", trainer);
    goto out;
  }
  if (!get_int (o, "epochs_done", 0, G_MAXINT, &done)
      || !get_int (o, "best_epoch", 0, done, &best)
      || !get_int (o, "since_best", 0, done, &since)
      || !get_int (o, "optimizer_step", 0, G_MAXINT64, &step)
      || !get_int (o, "phase", -1, G_MAXINT, &phase)
      || !get_hex (o, "best_metric", &metric)
      || !get_hex (o, "best_loss", &loss)
      || !get_hex (o, "best_accuracy", &accuracy)
      || !json_object_has_member (o, "best_weights")
      || !json_object_has_member (o, "optimizer")
      || !json_object_has_member (o, "shape")
      || !json_object_has_member (o, "settings")) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: %s lacks a member or holds one out of range", path, KEY);
    goto out;
  }
  c->trainer = trainer;
  c->epochs_done = (int) done;
  c->best_epoch = (int) best;
  c->since_best = (int) since;
  memcpy (&c->best_metric, &metric, sizeof (metric));
  memcpy (&c->best_loss, &loss, sizeof (loss));
  memcpy (&c->best_accuracy, &accuracy, sizeof (accuracy));
  c->has_best = json_object_get_boolean_member (o, "best_weights");
  c->optimizer = !g_strcmp0 (json_object_get_string_member (o, "optimizer"),
      "sgd") ? AFFECT_OPTIMIZER_SGD : AFFECT_OPTIMIZER_ADAM;
  c->optimizer_step = step;
  c->phase = (int) phase;
  c->has_rng = FALSE;
  if (json_object_has_member (o, "rng")) {
    JsonArray *a = json_object_get_array_member (o, "rng");
    c->has_rng = a != NULL && json_array_get_length (a) == 4;
    for (guint r = 0; c->has_rng && r < 4; r++) {
      const char *w = json_array_get_string_element (a, r);
      c->has_rng = w != NULL && g_ascii_string_to_unsigned (w, 16, 0,
          G_MAXUINT64, &c->rng[r], NULL);
    }
    if (!c->has_rng) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "%s: %s has a malformed rng", path, KEY);
      goto out;
    }
  }
  train_checkpoint_clear (c);
  c->shape = g_strdup (json_object_get_string_member (o, "shape"));
  c->settings = g_strdup (json_object_get_string_member (o, "settings"));
  ok = TRUE;
out:
  g_object_unref (parser);
  return ok;
}

gboolean
train_checkpoint_read_optimizer (AffectSafetensors * f, const char *path,
    AffectOptimizerKind kind, AffectParam * const *params, guint n_params,
    GError ** error)
{
  const gboolean adam = kind == AFFECT_OPTIMIZER_ADAM;
  AffectTensorView *views = g_new0 (AffectTensorView, 2 * n_params);
  gboolean ok = FALSE;

  for (guint i = 0; i < n_params; i++) {
    AffectParam *p = params[i];
    for (int which = 0; which < (adam ? 2 : 1); which++) {
      char *name = g_strconcat (!adam ? "sgd.momentum." : which == 0 ?
          "adam.m." : "adam.v.", p->name, NULL);
      GError *err = NULL;
      if (affect_safetensors_has (f, name)
          && !affect_safetensors_get_shaped (f, name, p->value.n_dims,
              p->value.shape, &views[2 * i + which], &err)) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT, "%s: %s",
            path, err->message);
        g_error_free (err);
        g_free (name);
        goto out;
      }
      g_free (name);
    }
  }
  affect_params_reset_state (params, n_params);
  for (guint i = 0; i < n_params; i++) {
    AffectParam *p = params[i];
    for (int which = 0; which < 2; which++) {
      float **state = which == 0 ? &p->m : &p->v;
      if (views[2 * i + which].data == NULL)
        continue;
      /* as the optimiser allocates them, so it frees them */
      *state = g_aligned_alloc (MAX (p->value.n, 1), sizeof (float), 64);
      memcpy (*state, views[2 * i + which].data, sizeof (float) * p->value.n);
    }
  }
  ok = TRUE;
out:
  g_free (views);
  return ok;
}

gboolean
train_checkpoint_read_best (AffectSafetensors * f, const char *path,
    AffectParam * const *params, guint n_params, float **best, GError ** error)
{
  for (guint i = 0; i < n_params; i++) {
    AffectParam *p = params[i];
    char *name = g_strconcat ("best.", p->name, NULL);
    AffectTensorView view;
    GError *err = NULL;
    if (!affect_safetensors_get_shaped (f, name, p->value.n_dims,
            p->value.shape, &view, &err)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT, "%s: %s", path,
          err->message);
      g_error_free (err);
      g_free (name);
      return FALSE;
    }
    g_free (name);
    if (best[i] == NULL)
      best[i] = g_new (float, p->value.n);
    memcpy (best[i], view.data, sizeof (float) * p->value.n);
  }
  return TRUE;
}
