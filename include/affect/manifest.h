/* Dataset manifests: the list of items a run works on.
 *
 * Three formats, told apart by their header (or forced):
 *
 *  - MTG-Jamendo TSV: `TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS...`,
 *    tab-separated, each tag its own field (`mood/theme---happy`). Items are
 *    multi-label over a tag vocabulary (default: the 56 tags of
 *    MTG-Jamendo's moodtheme_split.txt, in that order).
 *  - quadrant CSV of the music-generation paper:
 *    `TRACK LABEL DURATION BIN EMOTION_VALENCE`, tab-separated; items are
 *    single-label over the four valence/arousal quadrants.
 *  - generic CSV with a header: a `path` column, optional `id` and `split`
 *    columns, a label column (class, or several tags separated by ';') and
 *    numeric target columns (valence, arousal, ...). Comma- or
 *    tab-separated (the header decides), RFC 4180 quotes.
 *
 * Selection (split filter, seeded shuffle, start/stop, shard i/N) turns a
 * manifest into the ordered list of item indices a run emits. docs/manifests.md
 * documents every rule.
 *
 * No GStreamer here: the element affectsrc is a thin wrapper.
 */
#ifndef AFFECT_MANIFEST_H
#define AFFECT_MANIFEST_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum
{
  AFFECT_MANIFEST_AUTO,         /* from the header */
  AFFECT_MANIFEST_MTG_TSV,
  AFFECT_MANIFEST_QUADRANT_CSV,
  AFFECT_MANIFEST_CSV
} AffectManifestFormat;

typedef enum
{
  AFFECT_MANIFEST_TASK_NONE,    /* no labels */
  AFFECT_MANIFEST_TASK_TAGS,    /* multi-label over the vocabulary */
  AFFECT_MANIFEST_TASK_CLASS,   /* one class of the vocabulary */
  AFFECT_MANIFEST_TASK_REGRESSION       /* numeric targets only */
} AffectManifestTask;

typedef struct
{
  char *id;
  char *path;                   /* as written in the manifest */
  char *split;                  /* split column or file name, or NULL */
  double duration;              /* seconds; < 0 when the manifest has none */
  float *labels;                /* n_vocabulary values (multi-/one-hot), or NULL */
  int class_index;              /* CLASS tasks; -1 otherwise */
  double *targets;              /* n_targets values, or NULL */
  char **extra;                 /* n_extra values of the other columns */
  guint line;                   /* 1-based line in the manifest file */
} AffectManifestItem;

typedef struct
{
  char *filename;
  AffectManifestFormat format;
  AffectManifestTask task;
  char **vocabulary;            /* NULL-terminated; NULL for TASK_NONE/REGRESSION */
  guint n_vocabulary;
  char **target_names;          /* NULL-terminated, may be empty */
  guint n_targets;
  char **extra_names;           /* NULL-terminated names of the other columns */
  guint n_extra;
  AffectManifestItem *items;
  guint n_items;
  gboolean has_split_column;
} AffectManifest;

typedef struct
{
  AffectManifestFormat format;  /* AUTO: detect from the header */
  /* Label names; NULL = the format's default (56 MTG mood/theme tags for
   * TSV, the 4 quadrants for the quadrant CSV, the sorted distinct values
   * of the label column for a generic CSV). */
  const char *const *vocabulary;
  /* Generic CSV: the label column (NULL = "label" if the header has one;
   * "" = none). */
  const char *label_column;
  /* Generic CSV: numeric target columns (NULL = every column other than
   * path/id/split/label whose values all parse as numbers). */
  const char *const *target_columns;
  /* Split of items whose manifest does not say (NULL = infer from the file
   * name: "train", "validation"/"valid"/"val", "test"). */
  const char *split;
} AffectManifestOptions;

void affect_manifest_options_init (AffectManifestOptions * options);

/* The longest line a manifest may hold, in bytes without its end: a
 * longer one is refused as soon as it is seen. */
#define AFFECT_MANIFEST_MAX_LINE (1024 * 1024)

/* Parse a manifest file. Malformed line → AFFECT_ERROR_PARSE naming
 * "file:line" and what was expected; so are a line that is not UTF-8, a
 * line over AFFECT_MANIFEST_MAX_LINE, a target that is not a finite
 * number and an id given twice (naming both lines); no item →
 * AFFECT_ERROR_EMPTY. */
AffectManifest *affect_manifest_load (const char *filename,
    const AffectManifestOptions * options, GError ** error);
/* The same from memory; filename only names errors and infers the split. */
AffectManifest *affect_manifest_parse (const char *filename,
    const char *text, gsize length, const AffectManifestOptions * options,
    GError ** error);
void affect_manifest_free (AffectManifest * manifest);

const char *affect_manifest_format_to_string (AffectManifestFormat format);
const char *affect_manifest_task_to_string (AffectManifestTask task);
/* value of an extra column of an item, or NULL */
const char *affect_manifest_item_get_extra (const AffectManifest * manifest,
    const AffectManifestItem * item, const char *name);

/* A copy holding the items at indices (in that order), e.g. the result of
 * affect_manifest_select(); free with affect_manifest_free(). */
AffectManifest *affect_manifest_subset (const AffectManifest * manifest,
    const guint * indices, guint n);

/* The file an item's audio is in. Absolute paths and URIs (scheme://) stay
 * as they are; relative ones are taken from root (NULL = the manifest's
 * folder). For the quadrant CSV, whose TRACK is a bare file name, the
 * MTG-Jamendo layout root/NN/TRACK (NN = the track number mod 100, two
 * digits) is used when root/TRACK does not exist. */
char *affect_manifest_resolve_path (const AffectManifest * manifest,
    const AffectManifestItem * item, const char *root);

/* Tag vocabularies. */
/* the 56 MTG-Jamendo mood/theme tags of moodtheme_split.txt, in order */
const char *const *affect_vocabulary_mtg_moodtheme (void);
guint affect_vocabulary_mtg_moodtheme_size (void);
/* one name per line; blank lines and lines starting with '#' are ignored */
char **affect_vocabulary_load (const char *filename, GError ** error);

/* Quadrants (music-generation paper): the four classes in the order of
 * its emotional_valence.txt, and the 9 mood/theme tags mapped to them. */
#define AFFECT_N_QUADRANTS 4
const char *const *affect_quadrant_names (void);
/* quadrant index of a tag ("mood/theme---happy" or "happy"), -1 if unmapped */
int affect_quadrant_of_tag (const char *tag);
/* the BIN column value of a quadrant ("positive;uplifting;happy", ...) */
const char *affect_quadrant_bin (int quadrant);
/* Relabel an MTG-Jamendo TSV manifest into quadrants: keep an item if one of
 * its tags (those in the manifest's vocabulary) is mapped; its class is the
 * quadrant of the first mapped tag in its alphabetically sorted tag list.
 * LABEL lists those tags without prefix, in file order. AFFECT_ERROR_EMPTY
 * when none is kept. */
AffectManifest *affect_manifest_relabel_quadrants (const AffectManifest * tsv,
    GError ** error);
/* Write a quadrant-CSV manifest as text in the paper's format (header,
 * tab-separated, '\n' line ends). */
char *affect_manifest_quadrant_csv_to_string (const AffectManifest * manifest);

/* Selection: split filter → seeded shuffle → [start, stop) → shard.
 * After the shuffle and the slice, the k-th remaining item belongs to shard
 * k mod shard_count, so the shards of one run partition it exactly. */
typedef struct
{
  const char *split;            /* keep items of this split (items with no
                                 * split are kept); NULL = all */
  gboolean shuffle;
  uint64_t seed;
  guint start;                  /* first index kept */
  gint64 stop;                  /* one past the last index kept; < 0 = end */
  guint shard_index;
  guint shard_count;            /* >= 1 */
} AffectManifestSelection;

void affect_manifest_selection_init (AffectManifestSelection * selection);
/* "i/N" with 0 <= i < N */
gboolean affect_manifest_parse_shard (const char *str, guint * index,
    guint * count, GError ** error);
/* indices into manifest->items in emission order (g_free), *n_selected set;
 * NULL + AFFECT_ERROR_EMPTY when the split filter leaves nothing */
guint *affect_manifest_select (const AffectManifest * manifest,
    const AffectManifestSelection * selection, guint * n_selected,
    GError ** error);

/* Grouped hold-out: TRUE when the items whose group column (a speaker, an
 * artist) has the value `group` are held out for validation. A pure
 * function of (seed, group): every item of a group falls on the same side,
 * whichever order or run they come in, so no group is on both sides; a
 * group is held out with probability `fraction` (each group's hash under
 * the seed, uniform in [0, 1), against it), so about `fraction` of the
 * groups — and of the items, when groups are of similar size — are held
 * out, and another seed draws other groups. */
gboolean affect_group_is_validation (uint64_t seed, const char *group,
    double fraction);

G_END_DECLS
#endif /* AFFECT_MANIFEST_H */
