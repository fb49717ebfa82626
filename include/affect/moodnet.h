/* MoodNet: the mood/theme classifier of the music seed (MobileNetV2 block +
 * self-attention over chunks), as stated by
 * ../shared/reference/moodnet/moodnet.py.
 *
 * Input (B, 1, n_mels, chunks·chunk_frames): log-Mel frames / 100. Each of
 * the `chunks` consecutive chunks goes through the chunk CNN (batch-norm +
 * two 1×1 convolutions to 3 channels, the MobileNetV2 feature stack, a 3×3
 * convolution 1280→512, a 1×1 convolution 512→256, global max) to a
 * 256-vector; a 2-layer BERT-style encoder runs over the chunk vectors (plus
 * sinusoidal positions whose row 0 is zero), its chunk-0 output goes
 * through a tanh pooler to the attention head; a chunk head scores every
 * chunk and is averaged. Output (att + clf) / 2, each a sigmoid (or, for
 * single-label models, a softmax) over the classes.
 *
 * Parameters are named with that module's state_dict keys, so a PyTorch
 * state_dict (or torchvision's ImageNet MobileNetV2 weights under
 * cnn.features.*) loads unchanged, and the files we write load in PyTorch.
 * docs/moodnet.md describes the file metadata and the variants.
 */
#ifndef AFFECT_MOODNET_H
#define AFFECT_MOODNET_H

#include <glib.h>
#include <stdint.h>

#include "affect/nn.h"
#include "affect/safetensors.h"

G_BEGIN_DECLS typedef enum
{
  AFFECT_MOODNET_SIGMOID,       /* multi-label tags */
  AFFECT_MOODNET_SOFTMAX        /* single-label classes */
} AffectMoodNetOutput;

typedef struct
{
  int classes;                  /* 56 */
  AffectMoodNetOutput output;   /* sigmoid */
  int chunks;                   /* 16 */
  int chunk_frames;             /* 256 */
  int n_mels;                   /* 96 */
  double width;                 /* MobileNetV2 width multiplier, 1.0 */
  /* per-band input standardisation (FALSE): the input's band m becomes
   * (x − input_norm.mean[m]) / input_norm.std[m] before the network, two
   * tensors of n_mels the file carries (affect.arch "input_norm": true;
   * a file holding input_norm.mean turns it on too) */
  gboolean input_norm;
  /* stride of the stem convolution cnn.features.0.0: 2 (the seed's) or 1
   * (the layers after it see four times the pixels: every Mel band) */
  int stem_stride;
} AffectMoodNetConfig;

/* The defaults above, with the given number of classes. */
void affect_moodnet_config_init (AffectMoodNetConfig * config, int classes);
/* Parses the affect.arch JSON object ({"name": "moodnet", "classes": N, …});
 * absent keys keep the defaults. */
gboolean affect_moodnet_config_from_json (AffectMoodNetConfig * config,
    const char *json, GError ** error);
/* the affect.arch JSON object; free with g_free */
char *affect_moodnet_config_to_json (const AffectMoodNetConfig * config);
gboolean affect_moodnet_config_validate (const AffectMoodNetConfig * config,
    GError ** error);

typedef struct _AffectMoodNet AffectMoodNet;

/* A new model initialised as PyTorch initialises moodnet.MoodNet
 * (kaiming-uniform convolutions and linears, BN γ = 1, β = 0), drawn from
 * the seeded RNG. */
AffectMoodNet *affect_moodnet_new (const AffectMoodNetConfig * config,
    uint64_t seed);
void affect_moodnet_free (AffectMoodNet * net);
const AffectMoodNetConfig *affect_moodnet_get_config (const AffectMoodNet *
    net);

/* Every parameter and buffer, in state_dict order. */
AffectParam *const *affect_moodnet_params (AffectMoodNet * net,
    guint * n_params);
/* number of trainable values (9 993 895 at 56 classes, width 1.0) */
int64_t affect_moodnet_n_parameters (const AffectMoodNet * net);

/* Floating-point operations (2 per multiply-add) of the products of a
 * forward pass and of a training step (forward + backward) for `batch`
 * inputs, counted from the layer shapes: convolutions, depthwise
 * convolutions, linear layers and the attention products. Element-wise
 * passes (batch-norm, activations, layer-norm, softmax, pooling) and the
 * optimiser are not counted. */
void affect_moodnet_flops (const AffectMoodNet * net, int batch,
    double *forward, double *train);

/* The per-band input statistics of a net built with input_norm (n_mels
 * values each, writable; training sets them before its first epoch);
 * FALSE, and both NULL, for a net without. */
gboolean affect_moodnet_input_norm (AffectMoodNet * net, float **mean,
    float **std);

/* Copies every tensor from the file (each must be present with its shape;
 * the error names the tensor). Extra tensors are ignored. */
gboolean affect_moodnet_load_tensors (AffectMoodNet * net,
    AffectSafetensors * file, GError ** error);
/* Opens a model file: the architecture from __metadata__ affect.arch, then
 * the tensors. */
AffectMoodNet *affect_moodnet_load (const char *path, GError ** error);
/* The same from an open file and its affect.arch JSON (input_norm on when
 * the file holds input_norm.mean). */
AffectMoodNet *affect_moodnet_new_from_file (AffectSafetensors * file,
    const char *arch, GError ** error);
/* Writes every parameter and buffer plus affect.arch and the given extra
 * metadata (key, value, …, NULL), atomically. */
gboolean
affect_moodnet_save (AffectMoodNet * net, const char *path,
    GError ** error, ...)
    G_GNUC_NULL_TERMINATED;
/* A writer holding every parameter and buffer plus affect.arch and the
 * metadata (may be NULL), for callers that add tensors of their own (a
 * training checkpoint's optimiser state) before writing it. */
AffectSafetensorsWriter *affect_moodnet_writer_new (AffectMoodNet * net,
    GHashTable * metadata);
/* Same, metadata as a key → value table (may be NULL). */
     gboolean affect_moodnet_save_with_metadata (AffectMoodNet * net,
    const char *path, GHashTable * metadata, GError ** error);

/* Training mode: batch statistics in batch-norm (running averages move),
 * dropout drawn from rng (which must outlive the calls). Eval mode: running
 * statistics, no dropout. */
     void affect_moodnet_set_training (AffectMoodNet * net, gboolean training,
    AffectRng * rng);

/* Batch-norm calibration: between begin (TRUE) and end (FALSE), forwards
 * normalise with batch statistics and set the running statistics to the
 * cumulative average over the calibration batches (PyTorch's momentum=None),
 * with no dropout; weights are untouched. Ends in eval mode. */
     void affect_moodnet_calibrate_batchnorm (AffectMoodNet * net,
    gboolean begin);

/* Forward for `batch` inputs of n_mels × chunks·chunk_frames; writes out
 * (batch × classes) and keeps everything the backward needs. */
     void affect_moodnet_forward (AffectMoodNet * net, const float *x,
    int batch, float *out);
/* After a forward: the two heads (batch × classes) and the chunk features
 * (batch × chunks × 256). */
     const float *affect_moodnet_att (const AffectMoodNet * net);
     const float *affect_moodnet_clf (const AffectMoodNet * net);
     const float *affect_moodnet_chunk_features (const AffectMoodNet * net);

/* The training loss: the mean of the two heads' losses (binary
 * cross-entropy on probabilities for sigmoid models, categorical
 * cross-entropy for softmax ones) against target (batch × classes);
 * d_att / d_clf receive its gradients w.r.t. the heads' probabilities. */
     double affect_moodnet_loss (const AffectMoodNet * net, const float *target,
    float *d_att, float *d_clf);

/* Backward of the last forward from the gradients w.r.t. the two heads'
 * probabilities (for a loss on the output (att + clf)/2, pass d_out/2 to
 * both); ADDS parameter gradients and writes dx (may be NULL). */
     void affect_moodnet_backward (AffectMoodNet * net, const float *d_att,
    const float *d_clf, float *dx);

G_END_DECLS
#endif /* AFFECT_MOODNET_H */
