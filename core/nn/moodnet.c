/* MoodNet forward and backward (see include/affect/moodnet.h).
 *
 * The chunk CNN runs on all B·chunks chunk images of a batch at once, in
 * the channel-major layout of nn-layers.h, so every 1×1 convolution is one
 * large GEMM.
 *
 * Memory of the chunk CNN. A training step keeps, of each unit
 * (convolution → batch-norm → activation), only the output of its
 * convolution, and not even that for the depthwise ones; the backward
 * recomputes a unit's output (one batch-norm + clamp pass from the kept
 * statistics) and a depthwise convolution's output (nine multiply-adds per
 * value) when it needs them, with the forward's bits. Every buffer of the
 * CNN — kept outputs, recomputed ones, gradients, im2col columns — is a
 * slot of one arena: plan_arena () walks the forward and the backward once
 * without computing, notes the first and last step that uses each slot,
 * and packs slots whose lifetimes do not overlap into the same memory. At
 * batch 8 × 16 chunks this brings a training step from 4.3 GiB to 1.6 GiB
 * (docs/design-nn.md); inference keeps nothing beyond the next unit's
 * input. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/moodnet.h"
#include "affect/nn-layers.h"
#include "affect/parallel.h"

#define EMBED 256               /* chunk vector size */
#define HEADS 4
#define HEAD_DIM 64
#define FFN 1024
#define LAYERS 2
#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f
#define LN_EPS 1e-12f
#define ATTN_DROPOUT 0.1f
#define HIDDEN_DROPOUT 0.2f

typedef enum
{
  UNIT_NONE,                    /* batch-norm only */
  UNIT_CONV,
  UNIT_DEPTHWISE
} UnitKind;

typedef struct
{
  UnitKind kind;
  int cin, cout, k, stride, pad;
  AffectParam *weight, *bias;
  AffectParam *bn_weight, *bn_bias, *bn_mean, *bn_var;
  int64_t bn_batches;
  AffectActivation act;
  /* geometry of the current batch */
  AffectConv2d conv;
  AffectDepthwise dw;
  int h, w, oh, ow;
  int block;                    /* index of its block */
  /* arena slots (-1: none): convolution output (the input for UNIT_NONE),
   * unit output, both as recomputed by the backward, gradient w.r.t. the
   * unit output, im2col columns of the forward and of the backward */
  int s_c, s_y, s_cr, s_yr, s_g, s_colf, s_colb;
  int s_cold;                   /* the backward's input-gradient columns */
  float *mean, *rstd;
  float *pro_ab;                /* the batch-norm as a·x + b: cout a, cout b */
  double *gsums;                /* its backward's sums, made by the next unit */
} Unit;

typedef struct
{
  int first, n;
  gboolean residual;
  int s_out, s_gout;            /* residual: the block's output, its gradient */
} Block;

/* a buffer of the chunk CNN: floats, first and last step using it in a
 * training step ([0]) and in an eval-mode forward and backward ([1]),
 * place */
typedef struct
{
  size_t size;
  int first[2], last[2];
  size_t offset;
} Slot;

typedef struct
{
  AffectLinear query, key, value, attn_out, ffn_in, ffn_out;
  AffectParam *attn_norm_w, *attn_norm_b, *ffn_norm_w, *ffn_norm_b;
  AffectDropout attn_drop, drop1, drop2;
  const float *in;
  float *q, *k, *v, *probs, *ctx, *ao, *s1, *x1, *m1, *r1;
  float *u, *g, *yo, *s2, *out, *m2, *r2;
} EncoderLayer;

struct _AffectMoodNet
{
  AffectMoodNetConfig config;
  GPtrArray *params;            /* AffectParam *, state_dict order */
  GPtrArray *owned;             /* params allocated here */
  Unit *units;
  int n_units;
  Block *blocks;
  int n_blocks;
  EncoderLayer enc[LAYERS];
  AffectLinear pooler, att_head, chunk_head1, chunk_head3;
  AffectDropout pool_drop, chunk_drop0, chunk_drop1;
  float *position;              /* chunks × EMBED */
  AffectParam *in_mean, *in_std;        /* input_norm.*, or NULL */

  gboolean training;
  gboolean calibrating;         /* batch-norm statistics only */
  AffectRng *rng;

  /* batch workspace */
  int batch;
  float *chunks_in;             /* (1, N, n_mels, chunk_frames) */
  float *pooled;                /* (N, EMBED) = chunk features */
  int32_t *argmax;
  float *d_h, *d_prev;          /* encoder gradients */
  /* the chunk CNN's buffers (see the top of this file) */
  GArray *slots;                /* Slot */
  guint8 *ready;                /* per slot: recomputed in this backward */
  float *arena;
  size_t arena_floats;
  gboolean keep;                /* the plan holds what a backward needs */
  gboolean planning;            /* walking the schedule without computing */
  gboolean plan_keep;           /* while planning: the plan's keep */
  int plan_mode;                /* while planning: 0 training, 1 eval */
  gboolean cnn_kept;            /* the last forward kept it */
  gboolean kept_training;       /* … in training (or calibration) mode */
  int now;                      /* step of the schedule */
  int s_gin;                    /* gradient w.r.t. the chunk images */
  float *h0, *cls, *pool_lin, *pool_act, *pool_d, *att_logits, *att;
  float *f_d, *c1, *c1_d, *c_logits, *c_prob, *clf;
  float *seq_a, *seq_b, *seq_c, *seq_d, *seq_ffn, *d_f;
};

/* ---- configuration ------------------------------------------------------ */

void
affect_moodnet_config_init (AffectMoodNetConfig * config, int classes)
{
  config->classes = classes;
  config->output = AFFECT_MOODNET_SIGMOID;
  config->chunks = 16;
  config->chunk_frames = 256;
  config->n_mels = 96;
  config->width = 1.0;
  config->input_norm = FALSE;
  config->stem_stride = 2;
}

gboolean
affect_moodnet_config_validate (const AffectMoodNetConfig * c, GError ** error)
{
  /* the stem and four stride-2 stages divide by 32; out_conv needs 3×3 */
  if (c->classes < 1 || c->chunks < 1 || c->n_mels < 65
      || c->chunk_frames < 65 || c->width <= 0.0 || c->width > 4.0
      || (c->stem_stride != 1 && c->stem_stride != 2)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "moodnet: unsupported architecture (classes %d, chunks %d, n_mels %d, "
        "chunk_frames %d, width %g, stem_stride %d): need classes, chunks "
        "≥ 1, n_mels and chunk_frames ≥ 65, 0 < width ≤ 4, stem_stride 1 or "
        "2", c->classes, c->chunks, c->n_mels, c->chunk_frames, c->width,
        c->stem_stride);
    return FALSE;
  }
  return TRUE;
}

gboolean
affect_moodnet_config_from_json (AffectMoodNetConfig * config,
    const char *json, GError ** error)
{
  JsonParser *parser = json_parser_new ();
  JsonObject *o;
  gboolean ok = FALSE;

  affect_moodnet_config_init (config, 56);
  if (!json_parser_load_from_data (parser, json, -1, error))
    goto out;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
        "affect.arch is not a JSON object: %s", json);
    goto out;
  }
  o = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (o, "name")
      && g_strcmp0 (json_object_get_string_member (o, "name"), "moodnet")) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH,
        "affect.arch names \"%s\", not \"moodnet\"",
        json_object_get_string_member (o, "name"));
    goto out;
  }
  if (json_object_has_member (o, "classes"))
    config->classes = json_object_get_int_member (o, "classes");
  if (json_object_has_member (o, "chunks"))
    config->chunks = json_object_get_int_member (o, "chunks");
  if (json_object_has_member (o, "chunk_frames"))
    config->chunk_frames = json_object_get_int_member (o, "chunk_frames");
  if (json_object_has_member (o, "n_mels"))
    config->n_mels = json_object_get_int_member (o, "n_mels");
  if (json_object_has_member (o, "width"))
    config->width = json_object_get_double_member (o, "width");
  if (json_object_has_member (o, "input_norm"))
    config->input_norm = json_object_get_boolean_member (o, "input_norm");
  if (json_object_has_member (o, "stem_stride"))
    config->stem_stride = json_object_get_int_member (o, "stem_stride");
  if (json_object_has_member (o, "output")) {
    const char *s = json_object_get_string_member (o, "output");
    if (!g_strcmp0 (s, "sigmoid"))
      config->output = AFFECT_MOODNET_SIGMOID;
    else if (!g_strcmp0 (s, "softmax"))
      config->output = AFFECT_MOODNET_SOFTMAX;
    else {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
          "affect.arch output \"%s\" is neither \"sigmoid\" nor \"softmax\"",
          s ? s : "");
      goto out;
    }
  }
  ok = affect_moodnet_config_validate (config, error);
out:
  g_object_unref (parser);
  return ok;
}

char *
affect_moodnet_config_to_json (const AffectMoodNetConfig * c)
{
  char w[G_ASCII_DTOSTR_BUF_SIZE], stride[32] = "";

  g_ascii_dtostr (w, sizeof (w), c->width);
  /* members at their defaults are left out: the files written before them
   * keep their bytes */
  if (c->stem_stride != 2)
    g_snprintf (stride, sizeof (stride), ", \"stem_stride\": %d",
        c->stem_stride);
  return g_strdup_printf ("{\"name\": \"moodnet\", \"classes\": %d, "
      "\"output\": \"%s\", \"chunks\": %d, \"chunk_frames\": %d, "
      "\"n_mels\": %d, \"width\": %s%s%s}", c->classes,
      c->output == AFFECT_MOODNET_SOFTMAX ? "softmax" : "sigmoid", c->chunks,
      c->chunk_frames, c->n_mels, w,
      c->input_norm ? ", \"input_norm\": true" : "", stride);
}

/* ---- construction -------------------------------------------------------- */

static AffectParam *
new_param (AffectMoodNet * net, const char *name, int n_dims,
    const int64_t * shape, gboolean trainable, gboolean decay)
{
  AffectParam *p = g_new0 (AffectParam, 1);

  affect_param_alloc (p, name, n_dims, shape, trainable, decay);
  g_ptr_array_add (net->params, p);
  g_ptr_array_add (net->owned, p);
  return p;
}

static void
add_linear (AffectMoodNet * net, AffectLinear * l, const char *name, int in,
    int out, AffectRng * rng)
{
  affect_linear_init (l, name, in, out, TRUE, rng);
  g_ptr_array_add (net->params, &l->weight);
  g_ptr_array_add (net->params, &l->bias);
}

/* torchvision's _make_divisible: nearest multiple of 8, never 10 % below */
static int
make_divisible (double v)
{
  int n = MAX (8, (int) (v + 4.0) / 8 * 8);
  if (n < 0.9 * v)
    n += 8;
  return n;
}

/* conv_name: prefix of <conv>.weight (and .bias); bn_name: prefix of the
 * batch-norm or NULL */
static void
add_unit (AffectMoodNet * net, GArray * units, UnitKind kind,
    const char *conv_name, int cin, int cout, int k, int stride, int pad,
    gboolean bias, const char *bn_name, AffectActivation act, AffectRng * rng)
{
  Unit u = { 0 };
  char *name;

  u.kind = kind;
  u.cin = cin;
  u.cout = cout;
  u.k = k;
  u.stride = stride;
  u.pad = pad;
  u.act = act;
  if (kind != UNIT_NONE) {
    const int64_t wshape[4] = { cout, kind == UNIT_DEPTHWISE ? 1 : cin, k, k };
    const int fan_in = (kind == UNIT_DEPTHWISE ? 1 : cin) * k * k;
    name = g_strdup_printf ("%s.weight", conv_name);
    u.weight = new_param (net, name, 4, wshape, TRUE, TRUE);
    g_free (name);
    if (rng != NULL)
      affect_init_kaiming_uniform (u.weight, fan_in, sqrt (5.0), rng);
    if (bias) {
      const int64_t bshape[1] = { cout };
      name = g_strdup_printf ("%s.bias", conv_name);
      u.bias = new_param (net, name, 1, bshape, TRUE, TRUE);
      g_free (name);
      if (rng != NULL) {
        affect_init_uniform (u.bias, 1.0 / sqrt (fan_in), rng);
        /* bw2col squeezes the spectrogram through 10 then 3 ReLU channels;
         * with PyTorch's symmetric bias init one channel in three starts
         * dead for any input (all three for some seeds) and never
         * recovers, so these biases start non-negative (docs/moodnet.md) */
        if (g_str_has_prefix (conv_name, "cnn.bw2col."))
          for (int i = 0; i < cout; i++)
            u.bias->value.data[i] = fabsf (u.bias->value.data[i]);
      }
    }
  }
  if (bn_name != NULL) {
    const int64_t shape[1] = { cout };
    name = g_strdup_printf ("%s.weight", bn_name);
    u.bn_weight = new_param (net, name, 1, shape, TRUE, TRUE);
    g_free (name);
    name = g_strdup_printf ("%s.bias", bn_name);
    u.bn_bias = new_param (net, name, 1, shape, TRUE, TRUE);
    g_free (name);
    name = g_strdup_printf ("%s.running_mean", bn_name);
    u.bn_mean = new_param (net, name, 1, shape, FALSE, FALSE);
    g_free (name);
    name = g_strdup_printf ("%s.running_var", bn_name);
    u.bn_var = new_param (net, name, 1, shape, FALSE, FALSE);
    g_free (name);
    for (int i = 0; i < cout; i++) {
      u.bn_weight->value.data[i] = 1.0f;
      u.bn_var->value.data[i] = 1.0f;
    }
  }
  g_array_append_val (units, u);
}

static void
add_block (GArray * blocks, int first, int n, gboolean residual)
{
  Block b = { first, n, residual, -1, -1 };
  g_array_append_val (blocks, b);
}

/* (t, c, n, s) of MobileNetV2, as torchvision */
static const int mobilenet_settings[7][4] = {
  {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}
};

static void
build_chunk_cnn (AffectMoodNet * net, AffectRng * rng)
{
  GArray *units = g_array_new (FALSE, TRUE, sizeof (Unit));
  GArray *blocks = g_array_new (FALSE, TRUE, sizeof (Block));
  const double width = net->config.width;
  int cin, idx = 1;
  char a[128], b[128];

  add_unit (net, units, UNIT_NONE, NULL, 1, 1, 1, 1, 0, FALSE,
      "cnn.bw2col.0", AFFECT_ACTIVATION_IDENTITY, rng);
  add_unit (net, units, UNIT_CONV, "cnn.bw2col.1", 1, 10, 1, 1, 0, TRUE, NULL,
      AFFECT_ACTIVATION_RELU, rng);
  add_unit (net, units, UNIT_CONV, "cnn.bw2col.3", 10, 3, 1, 1, 0, TRUE, NULL,
      AFFECT_ACTIVATION_RELU, rng);
  add_block (blocks, 0, 3, FALSE);

  cin = make_divisible (32 * width);
  add_unit (net, units, UNIT_CONV, "cnn.features.0.0", 3, cin, 3,
      net->config.stem_stride, 1, FALSE,
      "cnn.features.0.1", AFFECT_ACTIVATION_RELU6, rng);
  add_block (blocks, units->len - 1, 1, FALSE);

  for (int s = 0; s < 7; s++) {
    const int t = mobilenet_settings[s][0];
    const int cout = make_divisible (mobilenet_settings[s][1] * width);
    for (int i = 0; i < mobilenet_settings[s][2]; i++, idx++) {
      const int stride = i == 0 ? mobilenet_settings[s][3] : 1;
      const int hidden = cin * t;
      const int first = units->len;
      int sub = 0;
      if (t != 1) {
        g_snprintf (a, sizeof (a), "cnn.features.%d.conv.0.0", idx);
        g_snprintf (b, sizeof (b), "cnn.features.%d.conv.0.1", idx);
        add_unit (net, units, UNIT_CONV, a, cin, hidden, 1, 1, 0, FALSE, b,
            AFFECT_ACTIVATION_RELU6, rng);
        sub = 1;
      }
      g_snprintf (a, sizeof (a), "cnn.features.%d.conv.%d.0", idx, sub);
      g_snprintf (b, sizeof (b), "cnn.features.%d.conv.%d.1", idx, sub);
      add_unit (net, units, UNIT_DEPTHWISE, a, hidden, hidden, 3, stride, 1,
          FALSE, b, AFFECT_ACTIVATION_RELU6, rng);
      g_snprintf (a, sizeof (a), "cnn.features.%d.conv.%d", idx, sub + 1);
      g_snprintf (b, sizeof (b), "cnn.features.%d.conv.%d", idx, sub + 2);
      add_unit (net, units, UNIT_CONV, a, hidden, cout, 1, 1, 0, FALSE, b,
          AFFECT_ACTIVATION_IDENTITY, rng);
      add_block (blocks, first, units->len - first, stride == 1 && cin == cout);
      cin = cout;
    }
  }
  {
    /* torchvision keeps 1280 channels for widths below 1 */
    const int last = make_divisible (1280 * MAX (1.0, width));
    g_snprintf (a, sizeof (a), "cnn.features.%d.0", idx);
    g_snprintf (b, sizeof (b), "cnn.features.%d.1", idx);
    add_unit (net, units, UNIT_CONV, a, cin, last, 1, 1, 0, FALSE, b,
        AFFECT_ACTIVATION_RELU6, rng);
    add_block (blocks, units->len - 1, 1, FALSE);
    add_unit (net, units, UNIT_CONV, "cnn.out_conv.0", last, 512, 3, 1, 0,
        TRUE, NULL, AFFECT_ACTIVATION_RELU, rng);
    add_unit (net, units, UNIT_CONV, "cnn.out_conv.2", 512, EMBED, 1, 1, 0,
        TRUE, NULL, AFFECT_ACTIVATION_RELU, rng);
    add_block (blocks, units->len - 2, 2, FALSE);
  }
  net->n_units = units->len;
  net->units = (Unit *) g_array_free (units, FALSE);
  net->n_blocks = blocks->len;
  net->blocks = (Block *) g_array_free (blocks, FALSE);
}

static AffectParam *
add_norm (AffectMoodNet * net, const char *layer, const char *what)
{
  const int64_t shape[1] = { EMBED };
  char name[128];
  AffectParam *p;

  g_snprintf (name, sizeof (name), "%s.%s", layer, what);
  /* LayerNorm weight/bias are not decayed, as BERT's optimiser groups */
  p = new_param (net, name, 1, shape, TRUE, FALSE);
  if (!strcmp (what, "weight"))
    for (int i = 0; i < EMBED; i++)
      p->value.data[i] = 1.0f;
  return p;
}

AffectMoodNet *
affect_moodnet_new (const AffectMoodNetConfig * config, uint64_t seed)
{
  AffectMoodNet *net;
  AffectRng rng;
  char name[128], prefix[64];

  if (!affect_moodnet_config_validate (config, NULL))
    return NULL;
  net = g_new0 (AffectMoodNet, 1);
  net->config = *config;
  net->params = g_ptr_array_new ();
  net->owned = g_ptr_array_new ();
  affect_rng_init (&rng, seed);

  build_chunk_cnn (net, &rng);
  for (int l = 0; l < LAYERS; l++) {
    EncoderLayer *e = &net->enc[l];
    g_snprintf (prefix, sizeof (prefix), "encoder.%d", l);
#define LIN(field, what, in, out) \
    g_snprintf (name, sizeof (name), "%s." what, prefix); \
    add_linear (net, &e->field, name, in, out, &rng)
    LIN (query, "query", EMBED, EMBED);
    LIN (key, "key", EMBED, EMBED);
    LIN (value, "value", EMBED, EMBED);
    LIN (attn_out, "attn_out", EMBED, EMBED);
    g_snprintf (name, sizeof (name), "%s.attn_norm", prefix);
    e->attn_norm_w = add_norm (net, name, "weight");
    e->attn_norm_b = add_norm (net, name, "bias");
    LIN (ffn_in, "ffn_in", EMBED, FFN);
    LIN (ffn_out, "ffn_out", FFN, EMBED);
#undef LIN
    g_snprintf (name, sizeof (name), "%s.ffn_norm", prefix);
    e->ffn_norm_w = add_norm (net, name, "weight");
    e->ffn_norm_b = add_norm (net, name, "bias");
    affect_dropout_init (&e->attn_drop, ATTN_DROPOUT);
    affect_dropout_init (&e->drop1, HIDDEN_DROPOUT);
    affect_dropout_init (&e->drop2, HIDDEN_DROPOUT);
  }
  add_linear (net, &net->pooler, "pooler", EMBED, EMBED, &rng);
  add_linear (net, &net->att_head, "att_head.1", EMBED, config->classes, &rng);
  add_linear (net, &net->chunk_head1, "chunk_head.1", EMBED, EMBED, &rng);
  add_linear (net, &net->chunk_head3, "chunk_head.3", EMBED, config->classes,
      &rng);
  affect_dropout_init (&net->pool_drop, HIDDEN_DROPOUT);
  affect_dropout_init (&net->chunk_drop0, HIDDEN_DROPOUT);
  affect_dropout_init (&net->chunk_drop1, HIDDEN_DROPOUT);

  if (config->input_norm) {
    /* buffers after every state_dict tensor: mean 0, std 1 until set */
    const int64_t shape[1] = { config->n_mels };
    net->in_mean = new_param (net, "input_norm.mean", 1, shape, FALSE, FALSE);
    net->in_std = new_param (net, "input_norm.std", 1, shape, FALSE, FALSE);
    for (int m = 0; m < config->n_mels; m++)
      net->in_std->value.data[m] = 1.0f;
  }

  /* sinusoidal positions; row 0 (the pooled chunk) stays zero */
  net->position = g_new0 (float, (size_t) config->chunks * EMBED);
  for (int pos = 1; pos < config->chunks; pos++)
    for (int j = 0; j < EMBED; j++) {
      const double angle = pos / pow (10000.0, 2.0 * (j / 2) / EMBED);
      net->position[pos * EMBED + j] =
          (float) (j % 2 == 0 ? sin (angle) : cos (angle));
    }
  return net;
}

static void
free_batch (AffectMoodNet * net)
{
  for (int i = 0; i < net->n_units; i++) {
    Unit *u = &net->units[i];
    g_free (u->mean);
    g_free (u->rstd);
    g_free (u->pro_ab);
    g_free (u->gsums);
    u->mean = u->rstd = u->pro_ab = NULL;
    u->gsums = NULL;
  }
  g_clear_pointer (&net->arena, g_aligned_free);
  net->arena_floats = 0;
  if (net->slots != NULL)
    g_array_set_size (net->slots, 0);
  g_clear_pointer (&net->ready, g_free);
  net->keep = net->cnn_kept = FALSE;
  for (int l = 0; l < LAYERS; l++) {
    EncoderLayer *e = &net->enc[l];
    float **bufs[] = { &e->q, &e->k, &e->v, &e->probs, &e->ctx, &e->ao,
      &e->s1, &e->x1, &e->m1, &e->r1, &e->u, &e->g, &e->yo, &e->s2, &e->out,
      &e->m2, &e->r2
    };
    for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
      g_clear_pointer (bufs[i], g_free);
  }
  {
    float **bufs[] = { &net->chunks_in, &net->pooled, &net->d_h,
      &net->d_prev, &net->h0, &net->cls,
      &net->pool_lin, &net->pool_act, &net->pool_d, &net->att_logits,
      &net->att, &net->f_d, &net->c1, &net->c1_d, &net->c_logits,
      &net->c_prob, &net->clf, &net->seq_a, &net->seq_b, &net->seq_c,
      &net->seq_d, &net->seq_ffn, &net->d_f
    };
    for (guint i = 0; i < G_N_ELEMENTS (bufs); i++)
      g_clear_pointer (bufs[i], g_free);
  }
  g_clear_pointer (&net->argmax, g_free);
  net->batch = 0;
}

void
affect_moodnet_free (AffectMoodNet * net)
{
  if (net == NULL)
    return;
  free_batch (net);
  for (int l = 0; l < LAYERS; l++) {
    EncoderLayer *e = &net->enc[l];
    affect_linear_clear (&e->query);
    affect_linear_clear (&e->key);
    affect_linear_clear (&e->value);
    affect_linear_clear (&e->attn_out);
    affect_linear_clear (&e->ffn_in);
    affect_linear_clear (&e->ffn_out);
    affect_dropout_clear (&e->attn_drop);
    affect_dropout_clear (&e->drop1);
    affect_dropout_clear (&e->drop2);
  }
  affect_linear_clear (&net->pooler);
  affect_linear_clear (&net->att_head);
  affect_linear_clear (&net->chunk_head1);
  affect_linear_clear (&net->chunk_head3);
  affect_dropout_clear (&net->pool_drop);
  affect_dropout_clear (&net->chunk_drop0);
  affect_dropout_clear (&net->chunk_drop1);
  for (guint i = 0; i < net->owned->len; i++) {
    AffectParam *p = g_ptr_array_index (net->owned, i);
    affect_param_clear (p);
    g_free (p);
  }
  g_ptr_array_free (net->owned, TRUE);
  g_ptr_array_free (net->params, TRUE);
  g_free (net->units);
  g_free (net->blocks);
  g_free (net->position);
  if (net->slots != NULL)
    g_array_free (net->slots, TRUE);
  g_free (net);
}

const AffectMoodNetConfig *
affect_moodnet_get_config (const AffectMoodNet * net)
{
  return &net->config;
}

AffectParam *const *
affect_moodnet_params (AffectMoodNet * net, guint * n_params)
{
  *n_params = net->params->len;
  return (AffectParam * const *) net->params->pdata;
}

gboolean
affect_moodnet_input_norm (AffectMoodNet * net, float **mean, float **std)
{
  *mean = net->in_mean ? net->in_mean->value.data : NULL;
  *std = net->in_std ? net->in_std->value.data : NULL;
  return net->in_mean != NULL;
}

int64_t
affect_moodnet_n_parameters (const AffectMoodNet * net)
{
  int64_t n = 0;
  for (guint i = 0; i < net->params->len; i++) {
    const AffectParam *p = g_ptr_array_index (net->params, i);
    if (p->trainable)
      n += p->value.n;
  }
  return n;
}

void
affect_moodnet_flops (const AffectMoodNet * net, int batch, double *forward,
    double *train)
{
  const AffectMoodNetConfig *cf = &net->config;
  const double n = (double) batch * cf->chunks;
  double macs = 0.0;
  int h = cf->n_mels, w = cf->chunk_frames;

  /* the chunk CNN, every chunk image of the batch */
  for (int i = 0; i < net->n_units; i++) {
    const Unit *u = &net->units[i];
    if (u->kind == UNIT_CONV) {
      AffectConv2d g;
      affect_conv2d_geometry (&g, u->cin, u->cout, u->k, u->k, u->stride,
          u->pad, 1, h, w);
      macs += n * u->cout * u->cin * u->k * u->k * g.oh * g.ow;
      h = g.oh;
      w = g.ow;
    } else if (u->kind == UNIT_DEPTHWISE) {
      AffectDepthwise g;
      affect_depthwise_geometry (&g, u->cin, 1, h, w, u->stride);
      macs += n * u->cin * 9.0 * g.oh * g.ow;
      h = g.oh;
      w = g.ow;
    }
  }
  /* the encoder over batch × chunks rows: query, key, value, output and
   * the two feed-forward layers; QKᵀ and P·V per head */
  macs += LAYERS * n * (4.0 * EMBED * EMBED + 2.0 * EMBED * FFN);
  macs += LAYERS * (double) batch *HEADS * 2.0 * cf->chunks * cf->chunks *
      HEAD_DIM;
  /* pooler and attention head per item, chunk head per chunk */
  macs += (double) batch *(EMBED * EMBED + (double) EMBED * cf->classes);
  macs += n * (EMBED * EMBED + (double) EMBED * cf->classes);
  if (forward != NULL)
    *forward = 2.0 * macs;
  /* each product's backward is two of its size (the gradients of its
   * input and of its weights; every layer's input gradient is needed, the
   * first unit being a trainable batch-norm) */
  if (train != NULL)
    *train = 3.0 * 2.0 * macs;
}

void
affect_moodnet_set_training (AffectMoodNet * net, gboolean training,
    AffectRng * rng)
{
  net->training = training;
  net->rng = rng;
  net->calibrating = FALSE;
}

void
affect_moodnet_calibrate_batchnorm (AffectMoodNet * net, gboolean begin)
{
  net->training = FALSE;
  net->calibrating = begin;
  if (begin)
    for (int i = 0; i < net->n_units; i++)
      net->units[i].bn_batches = 0;
}

/* ---- batch workspace ------------------------------------------------------ */

static int
slot_add (GArray * slots, size_t floats)
{
  /* whole cache lines */
  Slot sl = { (floats + 15) / 16 * 16, {G_MAXINT, G_MAXINT}, {-1, -1}, 0 };

  g_array_append_val (slots, sl);
  return (int) slots->len - 1;
}

/* the slot's memory; while planning, notes that the current step uses it */
static float *
slot (AffectMoodNet * net, int s)
{
  Slot *sl = &g_array_index (net->slots, Slot, s);

  if (net->planning) {
    const int m = net->plan_mode;
    sl->first[m] = MIN (sl->first[m], net->now);
    sl->last[m] = MAX (sl->last[m], net->now);
    return NULL;
  }
  return net->arena + sl->offset;
}

static void cnn_forward (AffectMoodNet * net);
static void cnn_backward (AffectMoodNet * net, const float *d_f,
    gboolean want_dx);

static int
slot_by_size (gconstpointer a, gconstpointer b, gpointer data)
{
  const Slot *s = data;
  const Slot *x = &s[*(const int *) a], *y = &s[*(const int *) b];

  const int fx = MIN (x->first[0], x->first[1]);
  const int fy = MIN (y->first[0], y->first[1]);

  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  if (fx != fy)
    return fx < fy ? -1 : 1;
  return *(const int *) a - *(const int *) b;
}

/* Lays the CNN's buffers out in one arena for a forward alone or (keep) a
 * forward and a backward: the schedule is walked once without computing
 * to time every slot, then slots are placed largest first, each at the
 * lowest offset where it overlaps no placed slot alive at the same time.
 * A plan that keeps times the training step and the eval-mode forward
 * and backward apart: two slots share memory unless they are alive at the
 * same time in the same mode, so the buffers that only the eval-mode
 * path uses take no memory from a training step. */
static gboolean
slots_meet (const Slot * x, const Slot * y)
{
  for (int m = 0; m < 2; m++)
    if (y->first[m] <= x->last[m] && x->first[m] <= y->last[m])
      return TRUE;
  return FALSE;
}

static void
plan_arena (AffectMoodNet * net, gboolean keep)
{
  Slot *s = (Slot *) net->slots->data;
  const int n = net->slots->len;
  int *order = g_new (int, n), n_used = 0;
  size_t total = 0;

  for (int i = 0; i < n; i++)
    for (int m = 0; m < 2; m++) {
      s[i].first[m] = G_MAXINT;
      s[i].last[m] = -1;
    }
  net->planning = TRUE;
  net->plan_keep = keep;
  net->plan_mode = 0;
  if (keep) {
    /* a plan that keeps serves training (and calibration) and eval-mode
     * forwards and backwards alike, whose paths differ (the bw2col sweep,
     * the residual sum in the batch-norm pass, the raw inputs and the
     * kept depthwise outputs are training's): each mode's lifetimes */
    const gboolean training = net->training, calibrating = net->calibrating;
    for (int mode = 0; mode < 2; mode++) {
      net->plan_mode = mode;
      net->training = mode == 0;
      net->calibrating = FALSE;
      cnn_forward (net);
      cnn_backward (net, NULL, TRUE);
    }
    net->training = training;
    net->calibrating = calibrating;
  } else {
    cnn_forward (net);
  }
  net->planning = FALSE;

  for (int i = 0; i < n; i++)
    if (s[i].last[0] >= 0 || s[i].last[1] >= 0)
      order[n_used++] = i;
  g_qsort_with_data (order, n_used, sizeof (int), slot_by_size, s);
  for (int a = 0; a < n_used; a++) {
    Slot *x = &s[order[a]];
    size_t off = 0;
    gboolean moved = TRUE;
    /* the lowest offset clear of every placed slot alive with x */
    while (moved) {
      moved = FALSE;
      for (int b = 0; b < a; b++) {
        const Slot *y = &s[order[b]];
        if (slots_meet (x, y)
            && off < y->offset + y->size && y->offset < off + x->size) {
          off = y->offset + y->size;
          moved = TRUE;
        }
      }
    }
    x->offset = off;
    total = MAX (total, off + x->size);
  }
  g_free (order);

  g_clear_pointer (&net->arena, g_aligned_free);
  {
    /* large arenas on 2 MiB pages where the kernel offers them: fewer TLB
     * misses when a pass streams through hundreds of MiB */
    const size_t huge = 2u << 20;
    const size_t bytes = MAX (total, 16) * sizeof (float);
    const gboolean big = bytes >= 4 * huge;
    net->arena = g_aligned_alloc (big ? (bytes + huge - 1) / huge * huge :
        bytes, 1, big ? huge : 64);
#ifdef MADV_HUGEPAGE
    if (big)
      madvise (net->arena, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
  }
  net->arena_floats = total;
  net->keep = keep;
  net->cnn_kept = FALSE;
}

static void
ensure_plan (AffectMoodNet * net, gboolean keep)
{
  if (net->arena == NULL || (keep && !net->keep))
    plan_arena (net, keep);
}

static void
ensure_batch (AffectMoodNet * net, int batch)
{
  const AffectMoodNetConfig *cf = &net->config;
  const int n = batch * cf->chunks;
  const size_t bt = (size_t) batch * cf->chunks;
  int h = cf->n_mels, w = cf->chunk_frames;

  if (net->batch == batch)
    return;
  free_batch (net);
  net->batch = batch;
  if (net->slots == NULL)
    net->slots = g_array_new (FALSE, FALSE, sizeof (Slot));
  net->chunks_in = g_new (float, (size_t) n * h * w);
  net->s_gin = slot_add (net->slots, (size_t) n * h * w);
  for (int bi = 0; bi < net->n_blocks; bi++) {
    Block *b = &net->blocks[bi];
    for (int i = b->first; i < b->first + b->n; i++)
      net->units[i].block = bi;
  }
  for (int i = 0; i < net->n_units; i++) {
    Unit *u = &net->units[i];
    u->h = h;
    u->w = w;
    u->s_c = u->s_cr = u->s_colf = u->s_colb = u->s_cold = -1;
    if (u->kind == UNIT_CONV) {
      affect_conv2d_geometry (&u->conv, u->cin, u->cout, u->k, u->k,
          u->stride, u->pad, n, h, w);
      u->oh = u->conv.oh;
      u->ow = u->conv.ow;
      if (affect_conv2d_workspace (&u->conv) > 0) {
        u->s_colf = slot_add (net->slots, affect_conv2d_workspace (&u->conv));
        u->s_colb = slot_add (net->slots, affect_conv2d_workspace (&u->conv));
        u->s_cold = slot_add (net->slots, affect_conv2d_workspace (&u->conv));
      }
    } else if (u->kind == UNIT_DEPTHWISE) {
      affect_depthwise_geometry (&u->dw, u->cin, n, h, w, u->stride);
      u->oh = u->dw.oh;
      u->ow = u->dw.ow;
    } else {
      u->oh = h;
      u->ow = w;
    }
    /* every unit has a batch-norm or an activation, so y is never c */
    g_assert (u->bn_weight != NULL || u->act != AFFECT_ACTIVATION_IDENTITY);
    const size_t out = (size_t) u->cout * n * u->oh * u->ow;
    if (u->kind != UNIT_NONE)
      u->s_c = slot_add (net->slots, out);
    if (u->kind == UNIT_DEPTHWISE)
      u->s_cr = slot_add (net->slots, out);
    u->s_y = slot_add (net->slots, out);
    u->s_yr = slot_add (net->slots, out);
    u->s_g = slot_add (net->slots, out);
    if (u->bn_weight != NULL) {
      u->mean = g_new (float, u->cout);
      u->rstd = g_new (float, u->cout);
      u->pro_ab = g_new (float, 2 * u->cout);
      u->gsums = g_new (double, 2 * u->cout);
    }
    h = u->oh;
    w = u->ow;
  }
  for (int i = 0; i < net->n_blocks; i++) {
    Block *b = &net->blocks[i];
    if (b->residual) {
      const Unit *last = &net->units[b->first + b->n - 1];
      const size_t out = (size_t) last->cout * n * last->oh * last->ow;
      b->s_out = slot_add (net->slots, out);
      b->s_gout = slot_add (net->slots, out);
    }
  }
  net->ready = g_new0 (guint8, net->slots->len);
  net->d_h = g_new (float, bt * EMBED);
  net->d_prev = g_new (float, bt * EMBED);
  net->pooled = g_new (float, bt * EMBED);
  net->argmax = g_new (int32_t, bt * EMBED);
  for (int l = 0; l < LAYERS; l++) {
    EncoderLayer *e = &net->enc[l];
    e->q = g_new (float, bt * EMBED);
    e->k = g_new (float, bt * EMBED);
    e->v = g_new (float, bt * EMBED);
    e->probs = g_new (float, (size_t) batch * HEADS * cf->chunks * cf->chunks);
    e->ctx = g_new (float, bt * EMBED);
    e->ao = g_new (float, bt * EMBED);
    e->s1 = g_new (float, bt * EMBED);
    e->x1 = g_new (float, bt * EMBED);
    e->m1 = g_new (float, bt);
    e->r1 = g_new (float, bt);
    e->u = g_new (float, bt * FFN);
    e->g = g_new (float, bt * FFN);
    e->yo = g_new (float, bt * EMBED);
    e->s2 = g_new (float, bt * EMBED);
    e->out = g_new (float, bt * EMBED);
    e->m2 = g_new (float, bt);
    e->r2 = g_new (float, bt);
  }
  net->h0 = g_new (float, bt * EMBED);
  net->cls = g_new (float, (size_t) batch * EMBED);
  net->pool_lin = g_new (float, (size_t) batch * EMBED);
  net->pool_act = g_new (float, (size_t) batch * EMBED);
  net->pool_d = g_new (float, (size_t) batch * EMBED);
  net->att_logits = g_new (float, (size_t) batch * cf->classes);
  net->att = g_new (float, (size_t) batch * cf->classes);
  net->f_d = g_new (float, bt * EMBED);
  net->c1 = g_new (float, bt * EMBED);
  net->c1_d = g_new (float, bt * EMBED);
  net->c_logits = g_new (float, bt * cf->classes);
  net->c_prob = g_new (float, bt * cf->classes);
  net->clf = g_new (float, (size_t) batch * cf->classes);
  net->seq_a = g_new (float, bt * MAX (EMBED, cf->classes));
  net->seq_b = g_new (float, bt * MAX (EMBED, cf->classes));
  net->seq_c = g_new (float, bt * EMBED);
  net->seq_d = g_new (float, bt * EMBED);
  net->seq_ffn = g_new (float, bt * FFN);
  net->d_f = g_new (float, bt * EMBED);
}

/* ---- forward -------------------------------------------------------------- */

/* the activations of the chunk CNN (hundreds of MiB at the bw2col layers)
 * as 64 K-element blocks on the worker pool: element-wise, so the bits do
 * not depend on how the blocks are shared */
typedef struct
{
  AffectActivation act;
  const float *x, *y, *dy;
  float *out;
  size_t n;
  gboolean backward;
} ActJob;

static void
act_part (int part, int n_parts, gpointer data)
{
  const ActJob *j = data;
  const size_t i0 = j->n * part / n_parts, i1 = j->n * (part + 1) / n_parts;

  if (j->backward)
    affect_activation_backward (j->act, j->x + i0, j->y + i0, j->dy + i0,
        j->out + i0, i1 - i0);
  else
    affect_activation_forward (j->act, j->x + i0, j->out + i0, i1 - i0);
}

static void
cnn_activation_forward (AffectActivation act, const float *x, float *y,
    size_t n)
{
  ActJob j = { act, x, NULL, NULL, y, n, FALSE };

  affect_parallel_run (affect_parallel_blocks (n), act_part, &j);
}

static void
cnn_activation_backward (AffectActivation act, const float *x,
    const float *y, const float *dy, float *dx, size_t n)
{
  ActJob j = { act, x, y, dy, dx, n, TRUE };

  affect_parallel_run (affect_parallel_blocks (n), act_part, &j);
}

/* ReLU / ReLU6 after batch-norm run in the same pass, as a clamp */
static const float *
unit_clamp (const Unit * u)
{
  static const float relu[2] = { 0.0f, INFINITY }, relu6[2] = { 0.0f, 6.0f };

  g_assert (u->act == AFFECT_ACTIVATION_RELU6
      || u->act == AFFECT_ACTIVATION_RELU
      || u->act == AFFECT_ACTIVATION_IDENTITY);
  return u->act == AFFECT_ACTIVATION_RELU6 ? relu6 :
      u->act == AFFECT_ACTIVATION_RELU ? relu : NULL;
}

/* Inference that keeps nothing for a backward: a unit's batch-norm (from
 * the running statistics), clamp and residual sum run in its
 * convolution's epilogue, on each block of output while it is in cache,
 * and the convolution output is never stored. */
static gboolean
fused_eval (const AffectMoodNet * net)
{
  return !net->training && !net->calibrating
      && !(net->planning ? net->plan_keep : net->keep);
}

/* the unit's forward writes its output with the residual sum added (y is
 * then the block's output): fused inference, or a training batch-norm */
static gboolean
unit_fuses (const AffectMoodNet * net, const Unit * u)
{
  if (u->kind == UNIT_NONE)
    return FALSE;
  if (fused_eval (net))
    return TRUE;
  return (net->training || net->calibrating) && u->bn_weight != NULL;
}

/* Training and calibration: a depthwise unit whose input is the output of
 * the unit before it, a convolution with batch-norm and clamp, reads that
 * unit's convolution output instead and applies the batch-norm and clamp
 * itself as it loads each plane (affect_depthwise_forward_pro), forward
 * and backward; the unit before makes its clamp mask from its convolution
 * output (affect_batchnorm_backward_train_masked). That output — the
 * largest activations of the network, six times the block's input — is
 * then never written, read back or recomputed. TRUE for such a unit i. */
static gboolean
raw_input (const AffectMoodNet * net, int i)
{
  const Unit *u = &net->units[i];

  if (!(net->training || net->calibrating) || u->kind != UNIT_DEPTHWISE)
    return FALSE;
  /* not when the input is a residual block's output, or the input of a
   * residual block that starts here (its sum reads the input too) */
  if (net->blocks[u->block].first == i && (net->blocks[u->block - 1].residual
          || net->blocks[u->block].residual))
    return FALSE;
  return net->units[i - 1].kind == UNIT_CONV
      && net->units[i - 1].bn_weight != NULL;
}

/* unit u's batch-norm and clamp as the input map of a raw_input unit,
 * a and b formed as affect_batchnorm_forward_saved forms them */
static void
unit_pro (const Unit * u, AffectEpilogue * pro)
{
  for (int o = 0; o < u->cout; o++) {
    const float a = u->bn_weight->value.data[o] * u->rstd[o];
    u->pro_ab[o] = a;
    u->pro_ab[u->cout + o] = u->bn_bias->value.data[o] - u->mean[o] * a;
  }
  pro->scale = u->pro_ab;
  pro->shift = u->pro_ab + u->cout;
  pro->clamp = unit_clamp (u);
  pro->residual = NULL;
  pro->moments = NULL;
}

/* a unit's eval-mode epilogue: batch-norm from the running statistics
 * (forward_eval's a and b, in the returned array, for g_free), clamp,
 * residual */
static float *
eval_epilogue (const Unit * u, AffectEpilogue * ep, const float *residual)
{
  float *ab = NULL;

  ep->scale = ep->shift = NULL;
  ep->clamp = unit_clamp (u);
  ep->residual = residual;
  ep->moments = NULL;
  if (u->bn_weight != NULL) {
    ab = g_new (float, 2 * u->cout);
    for (int o = 0; o < u->cout; o++) {
      const float a = u->bn_weight->value.data[o] /
          sqrtf (u->bn_var->value.data[o] + BN_EPS);
      ab[o] = a;
      ab[u->cout + o] = u->bn_bias->value.data[o] -
          u->bn_mean->value.data[o] * a;
    }
    ep->scale = ab;
    ep->shift = ab + u->cout;
  }
  return ab;
}

/* c: the convolution output (the input itself for UNIT_NONE; unused when
 * the unit is fused for inference); y: the unit output, or with residual
 * (the block's input, when unit_fuses) the block's output */
static void
unit_forward (AffectMoodNet * net, Unit * u, const float *in, float *c,
    float *y, float *col, const float *residual)
{
  const int64_t m = (int64_t) net->batch * net->config.chunks * u->oh * u->ow;

  if (u->kind != UNIT_NONE && fused_eval (net)) {
    AffectEpilogue ep;
    float *ab = eval_epilogue (u, &ep, residual);
    if (u->kind == UNIT_CONV)
      affect_conv2d_forward_fused (&u->conv, in, u->weight->value.data,
          u->bias ? u->bias->value.data : NULL, &ep, y, col);
    else
      affect_depthwise_forward_fused (&u->dw, in, u->weight->value.data, &ep,
          y);
    g_free (ab);
    return;
  }
  if (unit_fuses (net, u)) {
    /* training: the batch statistics made in the convolution's epilogue,
     * then one batch-norm pass */
    double *moments = g_new (double, 2 * u->cout);
    AffectEpilogue ep = { NULL, NULL, NULL, NULL, moments };
    if (u->kind == UNIT_CONV) {
      affect_conv2d_forward_fused (&u->conv, in, u->weight->value.data,
          u->bias ? u->bias->value.data : NULL, &ep, c, col);
    } else if (residual == NULL) {
      /* each channel's batch-norm as soon as its planes are made; in: the
       * previous unit's convolution output when raw_input */
      AffectEpilogue pro;
      const gboolean raw = raw_input (net, (int) (u - net->units));
      if (raw)
        unit_pro (u - 1, &pro);
      affect_depthwise_forward_train_bn (&u->dw, in, raw ? &pro : NULL,
          u->weight->value.data, c, u->bn_weight->value.data,
          u->bn_bias->value.data, u->bn_mean->value.data,
          u->bn_var->value.data, net->calibrating ? -1.0f : BN_MOMENTUM,
          &u->bn_batches, BN_EPS, unit_clamp (u), y, u->mean, u->rstd);
      g_free (moments);
      return;
    } else {
      affect_depthwise_forward_fused (&u->dw, in, u->weight->value.data, &ep,
          c);
    }
    /* y NULL: the next unit reads c (raw_input) */
    affect_batchnorm_forward_moments (u->cout, m, c, moments,
        u->bn_weight->value.data, u->bn_bias->value.data,
        u->bn_mean->value.data, u->bn_var->value.data,
        net->calibrating ? -1.0f : BN_MOMENTUM, &u->bn_batches, BN_EPS,
        unit_clamp (u), residual, y, u->mean, u->rstd);
    g_free (moments);
    return;
  }
  g_assert (residual == NULL);
  if (u->kind == UNIT_CONV)
    affect_conv2d_forward (&u->conv, in, u->weight->value.data,
        u->bias ? u->bias->value.data : NULL, c, col);
  else if (u->kind == UNIT_DEPTHWISE)
    affect_depthwise_forward (&u->dw, in, u->weight->value.data, c);
  if (u->bn_weight != NULL) {
    if (net->training || net->calibrating)
      affect_batchnorm_forward_train (u->cout, m, c,
          u->bn_weight->value.data, u->bn_bias->value.data,
          u->bn_mean->value.data, u->bn_var->value.data,
          net->calibrating ? -1.0f : BN_MOMENTUM, &u->bn_batches, BN_EPS,
          unit_clamp (u), y, u->mean, u->rstd);
    else
      affect_batchnorm_forward_eval (u->cout, m, c,
          u->bn_weight->value.data, u->bn_bias->value.data,
          u->bn_mean->value.data, u->bn_var->value.data, BN_EPS,
          unit_clamp (u), y);
  } else {
    cnn_activation_forward (u->act, c, y, (size_t) u->cout * m);
  }
}

/* the bw2col block (units 0–2: input batch-norm, 1×1 1 → 10 + ReLU,
 * 1×1 10 → 3 + ReLU) runs as one sweep (affect_bw2col_forward) in
 * training and in inference that keeps nothing; a backward keeps its
 * 3-channel output instead of its 10-channel intermediate */
static gboolean
bw2col_fused (const AffectMoodNet * net)
{
  return net->training || net->calibrating || fused_eval (net);
}

static void
bw2col_forward (AffectMoodNet * net, float *y)
{
  Unit *u0 = &net->units[0], *u1 = &net->units[1], *u2 = &net->units[2];
  const int64_t n = (int64_t) net->batch * net->config.chunks * u0->h * u0->w;
  float a0, b0;

  if (net->training || net->calibrating) {
    /* forward_train's statistics and running averages, one channel */
    const float momentum = net->calibrating ? -1.0f : BN_MOMENTUM;
    double mu, ss, factor = momentum;
    affect_bw2col_moments (n, net->chunks_in, &mu, &ss);
    const double var = ss / (double) n;
    const float r = (float) (1.0 / sqrt (var + BN_EPS));
    u0->bn_batches += 1;
    if (momentum < 0.0f)
      factor = 1.0 / (double) u0->bn_batches;
    a0 = u0->bn_weight->value.data[0] * r;
    b0 = u0->bn_bias->value.data[0] - (float) mu *a0;
    u0->mean[0] = (float) mu;
    u0->rstd[0] = r;
    {
      const double unbiased = n > 1 ? ss / (double) (n - 1) : var;
      float *rm = u0->bn_mean->value.data, *rv = u0->bn_var->value.data;
      rm[0] = (float) ((1.0 - factor) * rm[0] + factor * mu);
      rv[0] = (float) ((1.0 - factor) * rv[0] + factor * unbiased);
    }
  } else {
    a0 = u0->bn_weight->value.data[0] / sqrtf (u0->bn_var->value.data[0]
        + BN_EPS);
    b0 = u0->bn_bias->value.data[0] - u0->bn_mean->value.data[0] * a0;
  }
  affect_bw2col_forward (n, net->chunks_in, a0, b0, u1->weight->value.data,
      u1->bias->value.data, u2->weight->value.data, u2->bias->value.data, y);
}

/* the block runs as one inverted-residual sweep: inference that keeps
 * nothing, [1×1 expansion,] depthwise, 1×1 projection, no biases */
static gboolean
block_strips (const AffectMoodNet * net, const Block * b)
{
  const Unit *u = &net->units[b->first];

  if (!fused_eval (net) || b->n < 2 || b->n > 3)
    return FALSE;
  for (int i = 0; i < b->n; i++) {
    const Unit *v = &u[i];
    const UnitKind want = i == b->n - 2 ? UNIT_DEPTHWISE : UNIT_CONV;
    if (v->kind != want || v->bias != NULL || v->bn_weight == NULL
        || (want == UNIT_CONV && (v->k != 1 || v->stride != 1)))
      return FALSE;
  }
  return TRUE;
}

/* block bi is a convolution (the stem) whose output only the next
 * block, an inverted-residual one without expansion or residual, reads:
 * inference runs the two as one sweep, the convolution standing for the
 * expansion (affect_invres_forward_conv) */
static gboolean
block_folds_into_next (const AffectMoodNet * net, int bi)
{
  const Block *b = &net->blocks[bi], *next = &net->blocks[bi + 1];
  const Unit *u = &net->units[b->first];

  return bi + 1 < net->n_blocks && b->n == 1 && !b->residual
      && u->kind == UNIT_CONV && u->bias == NULL && u->bn_weight != NULL
      && block_strips (net, next) && next->n == 2 && !next->residual
      && net->units[next->first].cin == u->cout;
}

/* Block bi as a stage of an inverted-residual chain, in *st (its
 * epilogues in ep, the arrays to g_free in ab): the block itself
 * (block_strips), or the stem with the block after it
 * (block_folds_into_next). Returns the number of blocks the stage covers,
 * 0 if block bi is neither. */
static int
invres_stage (AffectMoodNet * net, int bi, AffectInvResStage * st,
    AffectEpilogue ep[3], float *ab[3])
{
  const Block *b = &net->blocks[bi];
  const int n = net->batch * net->config.chunks;

  memset (st, 0, sizeof (*st));
  ab[0] = ab[1] = ab[2] = NULL;
  if (block_folds_into_next (net, bi)) {
    const Unit *uc = &net->units[b->first];
    const Block *nb = &net->blocks[bi + 1];
    const Unit *ud = &net->units[nb->first], *up = &net->units[nb->first + 1];
    affect_invres_geometry (&st->g, ud->cin, ud->cin, up->cout, ud->stride, n,
        ud->h, ud->w);
    st->pre = &uc->conv;
    st->w_exp = uc->weight->value.data;
    ab[0] = eval_epilogue (uc, &ep[0], NULL);
    st->w_dw = ud->weight->value.data;
    ab[1] = eval_epilogue (ud, &ep[1], NULL);
    st->w_proj = up->weight->value.data;
    ab[2] = eval_epilogue (up, &ep[2], NULL);
    st->ep_exp = &ep[0];
    st->ep_dw = &ep[1];
    st->ep_proj = &ep[2];
    return 2;
  }
  if (block_strips (net, b)) {
    const gboolean expand = b->n == 3;
    const Unit *ue = expand ? &net->units[b->first] : NULL;
    const Unit *ud = &net->units[b->first + b->n - 2];
    const Unit *up = &net->units[b->first + b->n - 1];
    affect_invres_geometry (&st->g, expand ? ue->cin : ud->cin, ud->cin,
        up->cout, ud->stride, n, ud->h, ud->w);
    if (expand) {
      st->w_exp = ue->weight->value.data;
      ab[0] = eval_epilogue (ue, &ep[0], NULL);
      st->ep_exp = &ep[0];
    }
    st->w_dw = ud->weight->value.data;
    ab[1] = eval_epilogue (ud, &ep[1], NULL);
    st->ep_dw = &ep[1];
    st->w_proj = up->weight->value.data;
    ab[2] = eval_epilogue (up, &ep[2], NULL);
    st->ep_proj = &ep[2];
    st->residual = b->residual;
    return 1;
  }
  return 0;
}

static const float *forward_input (AffectMoodNet * net, int i);

/* the slot a block's output is in */
static int
block_output_slot (const AffectMoodNet * net, const Block * b)
{
  return b->residual ? b->s_out : net->units[b->first + b->n - 1].s_y;
}

/* the map a stage reads, per image, is at least as large as its weights:
 * the stage belongs in a chain. A chain reads every stage's weights again
 * for each part, where a block of its own reads them once per thread
 * (they stay in that core's cache from one image to the next); it saves
 * the maps' trip through memory and a synchronisation per block. For
 * MoodNet's first blocks (maps of 12 K–98 K floats per image, weights of
 * 1–9 K) the chain wins; from the fifth block on (weights of 14 K–153 K
 * floats against maps of 6 K–12 K) the weights of the whole stack no
 * longer fit a core's L2 cache with the maps. */
static gboolean
map_outweighs (const AffectInvResStage * st)
{
  const AffectInvRes *g = &st->g;
  const int64_t map = (int64_t) g->cin * g->h * g->w;
  const int64_t weights = (st->w_exp != NULL ? (int64_t) g->hidden * g->cin :
      0) + 9 * g->hidden + (int64_t) g->cout * g->hidden;

  return map >= weights;
}

/* Inference that keeps nothing: blocks bi … that are stages of an
 * inverted-residual chain run as one job (affect_invres_chain_forward),
 * the maps between them never in the arena. The chain ends before a
 * stage whose images per part would differ from the first's (every part
 * then is as short as the stages allow) or whose weights outweigh its map
 * (map_outweighs); a stage that starts a chain may be its only one.
 * Returns the number of blocks run, 0 if block bi is no stage. */
static int
chain_forward (AffectMoodNet * net, int bi)
{
  AffectInvResStage *st = g_new (AffectInvResStage, net->n_blocks);
  AffectEpilogue *ep = g_new (AffectEpilogue, 3 * net->n_blocks);
  float **ab = g_new0 (float *, 3 * net->n_blocks);
  int n_st = 0, covered = 0, images = 0;

  while (bi + covered < net->n_blocks) {
    const int c = invres_stage (net, bi + covered, &st[n_st], &ep[3 * n_st],
        &ab[3 * n_st]);
    int im;
    if (c == 0)
      break;
    im = affect_invres_chain_images (&st[n_st], 1);
    if (n_st > 0 && (im != images || !map_outweighs (&st[n_st]))) {
      for (int k = 0; k < 3; k++)
        g_free (ab[3 * n_st + k]);
      break;
    }
    images = im;
    n_st++;
    covered += c;
  }
  if (n_st > 0) {
    const Block *b0 = &net->blocks[bi], *bl = &net->blocks[bi + covered - 1];
    const float *in;
    float *y;
    /* the job reads the input and writes the output from its first step
     * to its last: both slots live all along */
    net->now = b0->first;
    in = forward_input (net, b0->first);
    y = slot (net, block_output_slot (net, bl));
    net->now = bl->first + bl->n - 1;
    in = forward_input (net, b0->first);
    y = slot (net, block_output_slot (net, bl));
    if (!net->planning)
      affect_invres_chain_forward (st, n_st, in, y);
  }
  for (int i = 0; i < 3 * n_st; i++)
    g_free (ab[i]);
  g_free (st);
  g_free (ep);
  g_free (ab);
  return covered;
}

/* the forward's input of unit i: the chunk images, the previous unit's
 * output or the previous residual block's output */
static const float *
forward_input (AffectMoodNet * net, int i)
{
  const Unit *u = &net->units[i];

  if (i == 0)
    return net->chunks_in;
  if (net->blocks[u->block].first == i && net->blocks[u->block - 1].residual)
    return slot (net, net->blocks[u->block - 1].s_out);
  return slot (net, net->units[i - 1].s_y);
}

/* chunks_in → pooled, argmax; step i is unit i, step n_units the pooling */
static void
cnn_forward (AffectMoodNet * net)
{
  const int rows = net->batch * net->config.chunks;

  for (int bi = 0; bi < net->n_blocks; bi++) {
    const Block *b = &net->blocks[bi];
    const int last = b->first + b->n - 1;
    const gboolean fused_sum = b->residual
        && unit_fuses (net, &net->units[last]);
    if (bi == 0 && bw2col_fused (net)) {
      float *y;
      net->now = last;
      y = slot (net, net->units[last].s_y);
      if (!net->planning)
        bw2col_forward (net, y);
      continue;
    }
    if (fused_eval (net)) {
      const int covered = chain_forward (net, bi);
      if (covered > 0) {
        bi += covered - 1;
        continue;
      }
    }
    for (int i = b->first; i <= last; i++) {
      Unit *u = &net->units[i];
      net->now = i;
      const float *in = raw_input (net, i) ?
          slot (net, net->units[i - 1].s_c) : forward_input (net, i);
      const gboolean sum = fused_sum && i == last;
      float *c = u->kind == UNIT_NONE ? (float *) in :
          fused_eval (net) ? NULL : slot (net, u->s_c);
      float *y = sum ? slot (net, b->s_out) :
          i + 1 < net->n_units && raw_input (net, i + 1) ? NULL :
          slot (net, u->s_y);
      float *col = u->s_colf >= 0 ? slot (net, u->s_colf) : NULL;
      /* (the block's input is read at this step too) */
      const float *residual = sum ? forward_input (net, b->first) : NULL;
      if (!net->planning)
        unit_forward (net, u, in, c, y, col, residual);
    }
    if (b->residual && !fused_sum) {
      const Unit *lu = &net->units[last];
      const float *in = forward_input (net, b->first);
      const float *y = slot (net, lu->s_y);
      float *out = slot (net, b->s_out);
      if (!net->planning)
        affect_add ((int64_t) lu->cout * rows * lu->oh * lu->ow, in, y, out);
    }
  }
  {
    const Unit *lu = &net->units[net->n_units - 1];
    const float *y;
    net->now = net->n_units;
    y = slot (net, lu->s_y);
    if (!net->planning)
      affect_global_max_forward (EMBED, rows, lu->oh * lu->ow, y,
          net->pooled, net->argmax);
  }
  if (!net->planning) {
    net->cnn_kept = net->keep;
    net->kept_training = net->training || net->calibrating;
  }
}

static void
head_activation (AffectMoodNet * net, const float *logits, float *prob,
    int rows)
{
  const int c = net->config.classes;

  if (net->config.output == AFFECT_MOODNET_SIGMOID) {
    affect_activation_forward (AFFECT_ACTIVATION_SIGMOID, logits, prob,
        (size_t) rows * c);
    return;
  }
  for (int r = 0; r < rows; r++) {
    const float *z = logits + (size_t) r * c;
    float *p = prob + (size_t) r * c;
    float mx = z[0];
    double s = 0.0;
    for (int i = 1; i < c; i++)
      mx = MAX (mx, z[i]);
    for (int i = 0; i < c; i++)
      s += (p[i] = expf (z[i] - mx));
    for (int i = 0; i < c; i++)
      p[i] = (float) (p[i] / s);
  }
}

/* gradient w.r.t. logits from the gradient w.r.t. probabilities */
static void
head_activation_backward (AffectMoodNet * net, const float *prob,
    const float *dprob, float *dlogits, int rows)
{
  const int c = net->config.classes;

  if (net->config.output == AFFECT_MOODNET_SIGMOID) {
    affect_activation_backward (AFFECT_ACTIVATION_SIGMOID, NULL, prob, dprob,
        dlogits, (size_t) rows * c);
    return;
  }
  for (int r = 0; r < rows; r++) {
    const float *p = prob + (size_t) r * c, *dp = dprob + (size_t) r *c;
    float *dz = dlogits + (size_t) r * c;
    double dot = 0.0;
    for (int i = 0; i < c; i++)
      dot += (double) dp[i] * p[i];
    for (int i = 0; i < c; i++)
      dz[i] = p[i] * (dp[i] - (float) dot);
  }
}

static void
encoder_forward (AffectMoodNet * net, EncoderLayer * e, const float *in)
{
  const int batch = net->batch, t = net->config.chunks;
  const int rows = batch * t;
  const size_t n = (size_t) rows * EMBED;
  const gboolean tr = net->training;

  e->in = in;
  affect_linear_apply (&e->query, in, e->q, rows, TRUE, 0.0f);
  affect_linear_apply (&e->key, in, e->k, rows, TRUE, 0.0f);
  affect_linear_apply (&e->value, in, e->v, rows, TRUE, 0.0f);
  {
    const float *mask = NULL;
    if (tr) {
      /* draw the attention-dropout mask through the dropout layer */
      const size_t np = (size_t) batch * HEADS * t * t;
      float *ones = g_new (float, np);
      for (size_t i = 0; i < np; i++)
        ones[i] = 1.0f;
      affect_dropout_forward (&e->attn_drop, ones, ones, np, TRUE, net->rng);
      g_free (ones);
      mask = e->attn_drop.mask;
    }
    affect_attention_forward (batch, t, HEADS, HEAD_DIM, e->q, e->k, e->v,
        mask, e->probs, e->ctx);
  }
  affect_linear_apply (&e->attn_out, e->ctx, e->ao, rows, TRUE, 0.0f);
  affect_dropout_forward (&e->drop1, e->ao, e->ao, n, tr, net->rng);
  affect_add (n, in, e->ao, e->s1);
  affect_layernorm_forward (rows, EMBED, e->s1, e->attn_norm_w->value.data,
      e->attn_norm_b->value.data, LN_EPS, e->x1, e->m1, e->r1);
  affect_linear_apply (&e->ffn_in, e->x1, e->u, rows, TRUE, 0.0f);
  affect_activation_forward (AFFECT_ACTIVATION_GELU, e->u, e->g,
      (size_t) rows * FFN);
  affect_linear_apply (&e->ffn_out, e->g, e->yo, rows, TRUE, 0.0f);
  affect_dropout_forward (&e->drop2, e->yo, e->yo, n, tr, net->rng);
  affect_add (n, e->x1, e->yo, e->s2);
  affect_layernorm_forward (rows, EMBED, e->s2, e->ffn_norm_w->value.data,
      e->ffn_norm_b->value.data, LN_EPS, e->out, e->m2, e->r2);
}

void
affect_moodnet_forward (AffectMoodNet * net, const float *x, int batch,
    float *out)
{
  const AffectMoodNetConfig *cf = &net->config;
  const int t = cf->chunks, fr = cf->chunk_frames, mels = cf->n_mels;
  const int rows = batch * t, c = cf->classes;
  const gboolean tr = net->training;

  ensure_batch (net, batch);
  /* calibration runs the training forward's path */
  ensure_plan (net, tr || net->calibrating);

  /* (B, 1, mels, t·fr) → chunk images (1, B·t, mels, fr), chunk b·t + i,
   * each band standardised with input_norm when the net has it */
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < t; i++)
      for (int m = 0; m < mels; m++) {
        float *dst = net->chunks_in + (((size_t) b * t + i) * mels + m) * fr;
        const float *src = x + ((size_t) b * mels + m) * t * fr +
            (size_t) i * fr;
        if (net->in_mean == NULL) {
          memcpy (dst, src, sizeof (float) * fr);
        } else {
          const float mu = net->in_mean->value.data[m];
          const float sd = net->in_std->value.data[m];
          for (int k = 0; k < fr; k++)
            dst[k] = (src[k] - mu) / sd;
        }
      }

  cnn_forward (net);

  /* encoder over the chunk vectors plus positions */
  for (int i = 0; i < rows; i++)
    affect_add (EMBED, net->pooled + (size_t) i * EMBED,
        net->position + (size_t) (i % t) * EMBED, net->h0 + (size_t) i * EMBED);
  {
    const float *h = net->h0;
    for (int l = 0; l < LAYERS; l++) {
      encoder_forward (net, &net->enc[l], h);
      h = net->enc[l].out;
    }
    for (int b = 0; b < batch; b++)
      memcpy (net->cls + (size_t) b * EMBED, h + (size_t) b * t * EMBED,
          sizeof (float) * EMBED);
  }
  affect_linear_apply (&net->pooler, net->cls, net->pool_lin, batch, TRUE,
      0.0f);
  affect_activation_forward (AFFECT_ACTIVATION_TANH, net->pool_lin,
      net->pool_act, (size_t) batch * EMBED);
  affect_dropout_forward (&net->pool_drop, net->pool_act, net->pool_d,
      (size_t) batch * EMBED, tr, net->rng);
  affect_linear_apply (&net->att_head, net->pool_d, net->att_logits, batch,
      TRUE, 0.0f);
  head_activation (net, net->att_logits, net->att, batch);

  /* chunk head: Dropout, Linear, Dropout, Linear (no nonlinearity between) */
  affect_dropout_forward (&net->chunk_drop0, net->pooled, net->f_d,
      (size_t) rows * EMBED, tr, net->rng);
  affect_linear_apply (&net->chunk_head1, net->f_d, net->c1, rows, TRUE, 0.0f);
  affect_dropout_forward (&net->chunk_drop1, net->c1, net->c1_d,
      (size_t) rows * EMBED, tr, net->rng);
  affect_linear_apply (&net->chunk_head3, net->c1_d, net->c_logits, rows,
      TRUE, 0.0f);
  head_activation (net, net->c_logits, net->c_prob, rows);
  affect_mean_axis1_forward (batch, t, c, net->c_prob, net->clf);

  for (int i = 0; i < batch * c; i++)
    out[i] = 0.5f * (net->att[i] + net->clf[i]);
}

const float *
affect_moodnet_att (const AffectMoodNet * net)
{
  return net->att;
}

const float *
affect_moodnet_clf (const AffectMoodNet * net)
{
  return net->clf;
}

const float *
affect_moodnet_chunk_features (const AffectMoodNet * net)
{
  return net->pooled;
}

/* ---- loss ----------------------------------------------------------------- */

/* −Σ t·log p per row, averaged over rows; logs clamped at −100 as BCE's */
static double
categorical_cross_entropy (const float *prob, const float *target,
    float *grad, int rows, int classes)
{
  double sum = 0.0;

  for (int i = 0; i < rows * classes; i++) {
    const double p = prob[i];
    sum -= target[i] * (p > 0.0 ? MAX (log (p), -100.0) : -100.0);
    grad[i] = (float) (-target[i] / MAX (p, 1e-12) / rows);
  }
  return sum / rows;
}

double
affect_moodnet_loss (const AffectMoodNet * net, const float *target,
    float *d_att, float *d_clf)
{
  const int n = net->batch * net->config.classes;
  double la, lc;

  if (net->config.output == AFFECT_MOODNET_SIGMOID) {
    la = affect_loss_bce (net->att, target, d_att, n);
    lc = affect_loss_bce (net->clf, target, d_clf, n);
  } else {
    la = categorical_cross_entropy (net->att, target, d_att, net->batch,
        net->config.classes);
    lc = categorical_cross_entropy (net->clf, target, d_clf, net->batch,
        net->config.classes);
  }
  for (int i = 0; i < n; i++) {
    d_att[i] *= 0.5f;
    d_clf[i] *= 0.5f;
  }
  return 0.5 * (la + lc);
}

/* ---- backward ------------------------------------------------------------- */

/* dy: gradient w.r.t. the unit output; work: where the gradient through
 * the activation and the batch-norm goes (may be dy); dx: the gradient
 * w.r.t. the unit's input, or NULL. in, c, y: the unit's input,
 * convolution output and output as the forward had them. */
/* pro: the previous unit's batch-norm and clamp, which a raw_input unit
 * applies to in; the depthwise backward then also makes the previous
 * unit's batch-norm sums (Unit.gsums), and a unit whose sums were made so
 * (sums_made) uses them */
static void
unit_backward (AffectMoodNet * net, Unit * u, const float *in,
    const AffectEpilogue * pro, gboolean sums_made, const float *c,
    const float *y, const float *dy, float *work, float *dx, float *col,
    float *dcol)
{
  const int64_t m = (int64_t) net->batch * net->config.chunks * u->oh * u->ow;
  const size_t n = (size_t) u->cout * m;

  /* ReLU/ReLU6 masks read from the output: 0 < y < 6 iff 0 < x < 6;
   * after a training batch-norm, applied by its backward on the fly */
  if (u->act != AFFECT_ACTIVATION_IDENTITY
      && (u->bn_weight == NULL || !net->training)) {
    cnn_activation_backward (u->act, y, y, dy, work, n);
    dy = work;
    y = NULL;
  }
  if (u->bn_weight != NULL && u->kind == UNIT_DEPTHWISE && net->training) {
    /* the batch-norm's sums here, the rest of its backward by the
     * depthwise backward on each plane of dy in cache: dy · γ·rstd… is
     * never written */
    double *sums = g_new (double, 2 * u->cout);
    const AffectBnBackward bn = { c, u->bn_weight->value.data,
      u->bn_bias->value.data, u->mean, u->rstd, unit_clamp (u), sums
    };
    affect_batchnorm_grad_sums (u->cout, m, c, u->bn_weight->value.data,
        u->bn_bias->value.data, u->mean, u->rstd, unit_clamp (u), dy, sums,
        u->bn_weight->grad, u->bn_bias->grad);
    affect_depthwise_backward_bn (&u->dw, in, pro,
        pro != NULL ? u[-1].mean : NULL, pro != NULL ? u[-1].rstd : NULL,
        u->weight->value.data, dy, dx, u->weight->grad,
        pro != NULL ? u[-1].gsums : NULL, pro != NULL, &bn);
    g_free (sums);
    return;
  }
  if (u->bn_weight != NULL) {
    /* UNIT_NONE: the batch-norm's input gradient is the unit's */
    float *d = u->kind == UNIT_NONE && dx != NULL ? dx : work;
    if (net->training && sums_made) {
      /* the next unit's depthwise backward made the sums and took dy
       * through this batch-norm already, in place: the γ, β gradients */
      g_assert (d == dy);
      for (int o = 0; o < u->cout; o++) {
        u->bn_weight->grad[o] += (float) u->gsums[2 * o + 1];
        u->bn_bias->grad[o] += (float) u->gsums[2 * o];
      }
    } else if (net->training)
      affect_batchnorm_backward_train_masked (u->cout, m, c,
          u->bn_weight->value.data, u->bn_bias->value.data, u->mean, u->rstd,
          unit_clamp (u), dy, d, u->bn_weight->grad, u->bn_bias->grad);
    else
      affect_batchnorm_backward_eval (u->cout, m, c,
          u->bn_weight->value.data, u->bn_mean->value.data,
          u->bn_var->value.data, BN_EPS, dy, d, u->bn_weight->grad,
          u->bn_bias->grad);
    dy = d;
  }
  if (u->kind == UNIT_CONV)
    affect_conv2d_backward_ws (&u->conv, in, u->weight->value.data, dy, dx,
        u->weight->grad, u->bias ? u->bias->grad : NULL, col, dcol);
  else if (u->kind == UNIT_DEPTHWISE)
    affect_depthwise_backward (&u->dw, in, u->weight->value.data, dy, dx,
        u->weight->grad);
}

/* What the backward of a unit reads, as the forward had it: kept in the
 * arena, or recomputed once per backward from what was kept. */
static const float *need_y (AffectMoodNet * net, int i);

/* A training step's depthwise unit, whose forward writes its
 * convolution output c and its output y anyway: both kept for the
 * backward where making them again costs most per byte kept — at stride
 * 2 (the recomputation reads an input four times the output) and at the
 * smallest resolutions (planes of a few dozen values, where the
 * recomputation is mostly per-plane overhead); made again from the
 * unit's input, in one sweep, otherwise. */
static gboolean
dw_kept (const AffectMoodNet * net, int i)
{
  const Unit *u = &net->units[i];
  const AffectMoodNetConfig *cf = &net->config;

  if (u->kind != UNIT_DEPTHWISE || !net->training)
    return FALSE;
  return u->stride == 2
      || (int64_t) u->oh * u->ow * 512 <=
      (int64_t) cf->n_mels * cf->chunk_frames;
}

static const float *
need_input (AffectMoodNet * net, int i)
{
  const Unit *u = &net->units[i];

  if (i == 0)
    return net->chunks_in;
  if (raw_input (net, i))
    return slot (net, net->units[i - 1].s_c);
  if (net->blocks[u->block].first == i && net->blocks[u->block - 1].residual)
    return slot (net, net->blocks[u->block - 1].s_out);
  return need_y (net, i - 1);
}

/* with_y (a training depthwise unit with batch-norm): the unit output
 * is made in the same sweep, from each plane of c while it is in cache */
static const float *
need_c_y (AffectMoodNet * net, int i, gboolean with_y)
{
  Unit *u = &net->units[i];
  float *c, *y = NULL;

  if (u->kind == UNIT_NONE)
    return need_input (net, i);
  if (u->kind == UNIT_CONV || dw_kept (net, i))
    return slot (net, u->s_c);
  c = slot (net, u->s_cr);
  if (!net->ready[u->s_cr]) {
    const float *in = need_input (net, i);
    AffectEpilogue pro, post;
    if (with_y)
      y = slot (net, u->s_yr);
    if (net->planning) {
    } else if (raw_input (net, i) || with_y) {
      if (raw_input (net, i))
        unit_pro (u - 1, &pro);
      if (with_y)
        unit_pro (u, &post);
      affect_depthwise_forward_pro (&u->dw, in,
          raw_input (net, i) ? &pro : NULL, u->weight->value.data, NULL, c,
          with_y ? &post : NULL, y);
    } else {
      affect_depthwise_forward (&u->dw, in, u->weight->value.data, c);
    }
    net->ready[u->s_cr] = TRUE;
    if (with_y)
      net->ready[u->s_yr] = TRUE;
  }
  return c;
}

static const float *
need_c (AffectMoodNet * net, int i)
{
  return need_c_y (net, i, FALSE);
}

static const float *
need_y (AffectMoodNet * net, int i)
{
  Unit *u = &net->units[i];
  float *y;

  if ((i == 2 && bw2col_fused (net)) || dw_kept (net, i))
    return slot (net, u->s_y);
  y = slot (net, u->s_yr);
  if (!net->ready[u->s_yr] && net->training && u->kind == UNIT_DEPTHWISE
      && u->bn_weight != NULL && !dw_kept (net, i)
      && !net->ready[u->s_cr]) {
    /* c and y in one sweep */
    need_c_y (net, i, TRUE);
  } else if (!net->ready[u->s_yr]) {
    const int64_t m = (int64_t) net->batch * net->config.chunks * u->oh * u->ow;
    const float *c = need_c (net, i);
    if (net->planning) {
    } else if (u->bn_weight == NULL) {
      cnn_activation_forward (u->act, c, y, (size_t) u->cout * m);
    } else if (net->training) {
      affect_batchnorm_forward_saved (u->cout, m, c,
          u->bn_weight->value.data, u->bn_bias->value.data, u->mean,
          u->rstd, unit_clamp (u), y);
    } else {
      affect_batchnorm_forward_eval (u->cout, m, c,
          u->bn_weight->value.data, u->bn_bias->value.data,
          u->bn_mean->value.data, u->bn_var->value.data, BN_EPS,
          unit_clamp (u), y);
    }
    net->ready[u->s_yr] = TRUE;
  }
  return y;
}

static void
bw2col_backward (AffectMoodNet * net, gboolean want_dx)
{
  Unit *u0 = &net->units[0], *u1 = &net->units[1], *u2 = &net->units[2];
  const int64_t n = (int64_t) net->batch * net->config.chunks * u0->h * u0->w;
  const float *y, *dy;
  float *dxhat = NULL, *dx = NULL;

  g_assert (net->training);
  net->now = 3 * net->n_units;
  y = slot (net, u2->s_y);
  dy = slot (net, u2->s_g);
  if (want_dx) {
    dxhat = slot (net, u0->s_g);
    dx = slot (net, net->s_gin);
  }
  if (!net->planning) {
    const float mu = u0->mean[0], r = u0->rstd[0];
    const float a0 = u0->bn_weight->value.data[0] * r;
    const float b0 = u0->bn_bias->value.data[0] - mu * a0;
    double sg, sgx;
    affect_bw2col_backward (n, net->chunks_in, a0, b0, mu, r,
        u1->weight->value.data, u1->bias->value.data, u2->weight->value.data,
        u2->bias->value.data, y, dy, dxhat, u1->weight->grad, u1->bias->grad,
        u2->weight->grad, u2->bias->grad, &sg, &sgx);
    u0->bn_weight->grad[0] += (float) sgx;
    u0->bn_bias->grad[0] += (float) sg;
    if (want_dx)
      affect_batchnorm_backward_train (1, n, net->chunks_in,
          u0->bn_weight->value.data, u0->mean, u0->rstd, dxhat, dx, NULL, NULL);
  }
}

/* d_f (rows × EMBED, gradient w.r.t. the pooled chunk vectors) → the
 * parameter gradients, and the gradient w.r.t. the chunk images in slot
 * s_gin when want_dx; step 2·n_units is the pooling, 3·n_units − i unit i */
static void
cnn_backward (AffectMoodNet * net, const float *d_f, gboolean want_dx)
{
  const int rows = net->batch * net->config.chunks, nu = net->n_units;

  memset (net->ready, 0, net->slots->len);
  {
    const Unit *lu = &net->units[nu - 1];
    float *g;
    net->now = 2 * nu;
    g = slot (net, lu->s_g);
    if (!net->planning)
      affect_global_max_backward (EMBED, rows, lu->oh * lu->ow, net->argmax,
          d_f, g);
  }
  for (int bi = net->n_blocks - 1; bi >= 0; bi--) {
    const Block *b = &net->blocks[bi];
    const int last = b->first + b->n - 1;
    if (bi == 0 && bw2col_fused (net)) {
      bw2col_backward (net, want_dx);
      continue;
    }
    for (int i = last; i >= b->first; i--) {
      Unit *u = &net->units[i];
      const float *in, *c = NULL, *y = NULL, *dy;
      float *work, *dx = NULL, *col = NULL, *dcol = NULL;
      net->now = 3 * nu - i;
      /* a residual block's output gradient also goes to its input: the
       * last unit leaves it as it is */
      work = slot (net, u->s_g);
      dy = b->residual && i == last ? slot (net, b->s_gout) : work;
      in = need_input (net, i);
      /* a training batch-norm makes the clamp's mask from c */
      if (u->act != AFFECT_ACTIVATION_IDENTITY
          && !(net->training && u->bn_weight != NULL))
        y = need_y (net, i);
      if (u->bn_weight != NULL)
        c = need_c (net, i);
      if (i == 0)
        dx = want_dx ? slot (net, net->s_gin) : NULL;
      else if (i == b->first && net->blocks[bi - 1].residual)
        dx = slot (net, net->blocks[bi - 1].s_gout);
      else
        dx = slot (net, net->units[i - 1].s_g);
      if (u->s_colb >= 0)
        col = slot (net, u->s_colb);
      /* (the units with columns are never the first: they have a dx) */
      if (u->s_cold >= 0)
        dcol = slot (net, u->s_cold);
      if (!net->planning) {
        AffectEpilogue pro;
        if (raw_input (net, i))
          unit_pro (u - 1, &pro);
        unit_backward (net, u, in, raw_input (net, i) ? &pro : NULL,
            i + 1 < nu && raw_input (net, i + 1), c, y, dy, work, dx, col,
            dcol);
      }
      if (b->residual && i == b->first) {
        const float *gout = slot (net, b->s_gout);
        if (!net->planning)
          affect_add_inplace ((int64_t) u->cin * rows * u->h * u->w, dx, gout);
      }
    }
  }
}

static void
encoder_backward (AffectMoodNet * net, EncoderLayer * e, float *d_out,
    float *d_in)
{
  const int batch = net->batch, t = net->config.chunks;
  const int rows = batch * t;
  const size_t n = (size_t) rows * EMBED;
  const gboolean tr = net->training;
  float *d_s = net->seq_a, *d_x1 = net->seq_b, *tmp = net->seq_c;
  float *d_ffn = net->seq_ffn;

  /* out = LN(x1 + drop(ffn_out(gelu(ffn_in(x1))))) */
  affect_layernorm_backward (rows, EMBED, e->s2, e->ffn_norm_w->value.data,
      e->m2, e->r2, d_out, d_s, e->ffn_norm_w->grad, e->ffn_norm_b->grad);
  memcpy (d_x1, d_s, sizeof (float) * n);
  if (tr)
    affect_dropout_backward (&e->drop2, d_s, d_s, n);
  affect_linear_grad (&e->ffn_out, e->g, d_s, d_ffn, rows, TRUE);
  affect_activation_backward (AFFECT_ACTIVATION_GELU, e->u, e->g, d_ffn,
      d_ffn, (size_t) rows * FFN);
  affect_linear_grad (&e->ffn_in, e->x1, d_ffn, tmp, rows, TRUE);
  affect_add_inplace (n, d_x1, tmp);

  /* x1 = LN(in + drop(attn_out(attention(q, k, v)))) */
  affect_layernorm_backward (rows, EMBED, e->s1, e->attn_norm_w->value.data,
      e->m1, e->r1, d_x1, d_s, e->attn_norm_w->grad, e->attn_norm_b->grad);
  memcpy (d_in, d_s, sizeof (float) * n);
  if (tr)
    affect_dropout_backward (&e->drop1, d_s, d_s, n);
  affect_linear_grad (&e->attn_out, e->ctx, d_s, tmp, rows, TRUE);
  {
    float *dq = d_x1, *dk = d_s, *dv = net->seq_d;
    affect_attention_backward (batch, t, HEADS, HEAD_DIM, e->q, e->k, e->v,
        tr ? e->attn_drop.mask : NULL, e->probs, tmp, dq, dk, dv);
    affect_linear_grad (&e->query, e->in, dq, tmp, rows, TRUE);
    affect_add_inplace (n, d_in, tmp);
    affect_linear_grad (&e->key, e->in, dk, tmp, rows, TRUE);
    affect_add_inplace (n, d_in, tmp);
    affect_linear_grad (&e->value, e->in, dv, tmp, rows, TRUE);
    affect_add_inplace (n, d_in, tmp);
  }
}

void
affect_moodnet_backward (AffectMoodNet * net, const float *d_att,
    const float *d_clf, float *dx)
{
  const AffectMoodNetConfig *cf = &net->config;
  const int batch = net->batch, t = cf->chunks, c = cf->classes;
  const int rows = batch * t;
  const size_t n = (size_t) rows * EMBED;
  const gboolean tr = net->training;
  float *d_f = net->d_f;

  /* chunk head → d_f */
  {
    float *d_prob = net->seq_a, *d_logit = net->seq_a;
    float *d_c1 = net->seq_b;
    affect_mean_axis1_backward (batch, t, c, d_clf, d_prob);
    head_activation_backward (net, net->c_prob, d_prob, d_logit, rows);
    affect_linear_grad (&net->chunk_head3, net->c1_d, d_logit, d_c1, rows,
        TRUE);
    if (tr)
      affect_dropout_backward (&net->chunk_drop1, d_c1, d_c1, n);
    affect_linear_grad (&net->chunk_head1, net->f_d, d_c1, d_f, rows, TRUE);
    if (tr)
      affect_dropout_backward (&net->chunk_drop0, d_f, d_f, n);
  }

  /* attention head → gradient at chunk 0 of the last encoder output */
  {
    float *d_logit = net->seq_a, *d_pool = net->seq_b;
    float *d_h, *d_prev;
    head_activation_backward (net, net->att, d_att, d_logit, batch);
    affect_linear_grad (&net->att_head, net->pool_d, d_logit, d_pool, batch,
        TRUE);
    if (tr)
      affect_dropout_backward (&net->pool_drop, d_pool, d_pool,
          (size_t) batch * EMBED);
    affect_activation_backward (AFFECT_ACTIVATION_TANH, NULL, net->pool_act,
        d_pool, d_pool, (size_t) batch * EMBED);
    affect_linear_grad (&net->pooler, net->cls, d_pool, d_logit, batch, TRUE);
    d_h = net->d_h;
    d_prev = net->d_prev;
    memset (d_h, 0, sizeof (float) * n);
    for (int b = 0; b < batch; b++)
      memcpy (d_h + (size_t) b * t * EMBED, d_logit + (size_t) b * EMBED,
          sizeof (float) * EMBED);
    for (int l = LAYERS - 1; l >= 0; l--) {
      float *swap;
      encoder_backward (net, &net->enc[l], d_h, d_prev);
      swap = d_h;
      d_h = d_prev;
      d_prev = swap;
    }
    /* h0 = f + position */
    affect_add_inplace (n, d_f, d_h);
  }

  /* chunk CNN; after a forward that kept nothing (eval mode), or one
   * made in training mode (whose buffers the eval-mode plan may reuse),
   * its forward runs again, keeping what the backward reads: eval mode is
   * deterministic, so this is the same forward */
  if (!net->cnn_kept
      || net->kept_training != (net->training || net->calibrating)) {
    g_assert (!net->training && !net->calibrating);
    ensure_plan (net, TRUE);
    cnn_forward (net);
  }
  cnn_backward (net, d_f, dx != NULL);
  if (dx != NULL) {
    const float *g = slot (net, net->s_gin);
    for (int b = 0; b < batch; b++)
      for (int i = 0; i < t; i++)
        for (int m = 0; m < cf->n_mels; m++) {
          float *d = dx + ((size_t) b * cf->n_mels + m) * t * cf->chunk_frames
              + (size_t) i * cf->chunk_frames;
          memcpy (d, g + (((size_t) b * t + i) * cf->n_mels + m) *
              cf->chunk_frames, sizeof (float) * cf->chunk_frames);
          /* through the input standardisation */
          for (int k = 0; net->in_std != NULL && k < cf->chunk_frames; k++)
            d[k] /= net->in_std->value.data[m];
        }
  }
}

/* ---- model files ---------------------------------------------------------- */

gboolean
affect_moodnet_load_tensors (AffectMoodNet * net, AffectSafetensors * file,
    GError ** error)
{
  for (guint i = 0; i < net->params->len; i++) {
    AffectParam *p = g_ptr_array_index (net->params, i);
    AffectTensorView view;
    if (!affect_safetensors_get_shaped (file, p->name, p->value.n_dims,
            p->value.shape, &view, error))
      return FALSE;
    memcpy (p->value.data, view.data, sizeof (float) * p->value.n);
  }
  /* every prediction divides by these: a zero or non-finite value would
   * turn a whole band into inf or NaN without a word */
  if (net->in_std != NULL)
    for (int m = 0; m < net->config.n_mels; m++) {
      const float mu = net->in_mean->value.data[m];
      const float sd = net->in_std->value.data[m];
      if (!isfinite (mu) || !isfinite (sd) || !(sd > 0.0f)) {
        g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
            "input_norm of band %d: mean %g, std %g (the std must be "
            "positive and both finite)", m, mu, sd);
        return FALSE;
      }
    }
  return TRUE;
}

AffectMoodNet *
affect_moodnet_new_from_file (AffectSafetensors * file, const char *arch,
    GError ** error)
{
  AffectMoodNetConfig config;
  AffectMoodNet *net;

  if (!affect_moodnet_config_from_json (&config, arch, error))
    return NULL;
  config.input_norm |= affect_safetensors_has (file, "input_norm.mean");
  net = affect_moodnet_new (&config, 0);
  if (!affect_moodnet_load_tensors (net, file, error))
    g_clear_pointer (&net, affect_moodnet_free);
  return net;
}

AffectMoodNet *
affect_moodnet_load (const char *path, GError ** error)
{
  AffectSafetensors *file = affect_safetensors_open (path, error);
  AffectMoodNetConfig config;
  AffectMoodNet *net;
  const char *arch;
  GError *err = NULL;

  if (file == NULL)
    return NULL;
  arch = affect_safetensors_metadata (file, "affect.arch");
  if (arch == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT,
        "%s: no affect.arch in the file's __metadata__", path);
    affect_safetensors_close (file);
    return NULL;
  }
  if (!affect_moodnet_config_from_json (&config, arch, &err)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FORMAT, "%s: %s", path,
        err->message);
    g_error_free (err);
    affect_safetensors_close (file);
    return NULL;
  }
  /* the file's errors already name it */
  net = affect_moodnet_new_from_file (file, arch, error);
  affect_safetensors_close (file);
  return net;
}

AffectSafetensorsWriter *
affect_moodnet_writer_new (AffectMoodNet * net, GHashTable * metadata)
{
  AffectSafetensorsWriter *w = affect_safetensors_writer_new ();
  char *arch = affect_moodnet_config_to_json (&net->config);

  affect_safetensors_writer_set_metadata (w, "affect.arch", arch);
  g_free (arch);
  if (metadata != NULL) {
    /* sorted, so the same model gives the same bytes */
    GList *keys = g_list_sort (g_hash_table_get_keys (metadata),
        (GCompareFunc) strcmp);
    for (GList * l = keys; l != NULL; l = l->next)
      if (strcmp (l->data, "affect.arch"))
        affect_safetensors_writer_set_metadata (w, l->data,
            g_hash_table_lookup (metadata, l->data));
    g_list_free (keys);
  }
  for (guint i = 0; i < net->params->len; i++) {
    AffectParam *p = g_ptr_array_index (net->params, i);
    affect_safetensors_writer_add (w, p->name, p->value.n_dims,
        p->value.shape, p->value.data);
  }
  return w;
}

gboolean
affect_moodnet_save_with_metadata (AffectMoodNet * net, const char *path,
    GHashTable * metadata, GError ** error)
{
  AffectSafetensorsWriter *w = affect_moodnet_writer_new (net, metadata);
  gboolean ok = affect_safetensors_writer_write (w, path, error);

  affect_safetensors_writer_free (w);
  return ok;
}

gboolean
affect_moodnet_save (AffectMoodNet * net, const char *path, GError ** error,
    ...)
{
  GHashTable *md = g_hash_table_new (g_str_hash, g_str_equal);
  va_list ap;
  const char *k;
  gboolean ok;

  va_start (ap, error);
  while ((k = va_arg (ap, const char *)) != NULL)
      g_hash_table_insert (md, (gpointer) k, va_arg (ap, char *));
  va_end (ap);
  ok = affect_moodnet_save_with_metadata (net, path, md, error);
  g_hash_table_unref (md);
  return ok;
}
