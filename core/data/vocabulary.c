/* Tag vocabularies and the quadrant mapping.
 *
 * The default vocabulary is MTG-Jamendo's moodtheme_split.txt: the 56
 * mood/theme tags kept by its official splits, alphabetically sorted. Every
 * label and score vector of a mood/theme run is ordered like this list.
 *
 * The quadrant mapping is the one the music-generation paper's
 * match_{train,validation,test}_labels.csv follow: 9 tags map to the four
 * valence/arousal quadrants, the other 47 are dropped (docs/manifests.md).
 */
#include <string.h>

#include "affect/affect.h"
#include "affect/manifest.h"

#define MTG_PREFIX "mood/theme---"

static const char *const mtg_moodtheme[] = {
  MTG_PREFIX "action", MTG_PREFIX "adventure", MTG_PREFIX "advertising",
  MTG_PREFIX "background", MTG_PREFIX "ballad", MTG_PREFIX "calm",
  MTG_PREFIX "children", MTG_PREFIX "christmas", MTG_PREFIX "commercial",
  MTG_PREFIX "cool", MTG_PREFIX "corporate", MTG_PREFIX "dark",
  MTG_PREFIX "deep", MTG_PREFIX "documentary", MTG_PREFIX "drama",
  MTG_PREFIX "dramatic", MTG_PREFIX "dream", MTG_PREFIX "emotional",
  MTG_PREFIX "energetic", MTG_PREFIX "epic", MTG_PREFIX "fast",
  MTG_PREFIX "film", MTG_PREFIX "fun", MTG_PREFIX "funny",
  MTG_PREFIX "game", MTG_PREFIX "groovy", MTG_PREFIX "happy",
  MTG_PREFIX "heavy", MTG_PREFIX "holiday", MTG_PREFIX "hopeful",
  MTG_PREFIX "inspiring", MTG_PREFIX "love", MTG_PREFIX "meditative",
  MTG_PREFIX "melancholic", MTG_PREFIX "melodic", MTG_PREFIX "motivational",
  MTG_PREFIX "movie", MTG_PREFIX "nature", MTG_PREFIX "party",
  MTG_PREFIX "positive", MTG_PREFIX "powerful", MTG_PREFIX "relaxing",
  MTG_PREFIX "retro", MTG_PREFIX "romantic", MTG_PREFIX "sad",
  MTG_PREFIX "sexy", MTG_PREFIX "slow", MTG_PREFIX "soft",
  MTG_PREFIX "soundscape", MTG_PREFIX "space", MTG_PREFIX "sport",
  MTG_PREFIX "summer", MTG_PREFIX "trailer", MTG_PREFIX "travel",
  MTG_PREFIX "upbeat", MTG_PREFIX "uplifting",
  NULL
};

G_STATIC_ASSERT (G_N_ELEMENTS (mtg_moodtheme) == 56 + 1);

const char *const *
affect_vocabulary_mtg_moodtheme (void)
{
  return mtg_moodtheme;
}

guint
affect_vocabulary_mtg_moodtheme_size (void)
{
  return G_N_ELEMENTS (mtg_moodtheme) - 1;
}

char **
affect_vocabulary_load (const char *filename, GError ** error)
{
  GPtrArray *names;
  char *text = NULL, **lines;
  GError *err = NULL;
  guint i;

  if (!g_file_get_contents (filename, &text, NULL, &err)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "cannot read vocabulary %s: %s", filename, err->message);
    g_error_free (err);
    return NULL;
  }
  names = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i]; i++) {
    char *name = g_strstrip (lines[i]); /* also drops a '\r' */
    guint j;

    if (*name == '\0' || *name == '#')
      continue;
    /* names become GStreamer strings (the items' vocabulary) */
    if (!g_utf8_validate (name, -1, NULL)) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s:%u: expected UTF-8 text, got a name that is not", filename,
          i + 1);
      g_ptr_array_free (names, TRUE);
      g_strfreev (lines);
      g_free (text);
      return NULL;
    }
    for (j = 0; j < names->len; j++)
      if (strcmp (g_ptr_array_index (names, j), name) == 0)
        break;
    if (j < names->len) {
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE,
          "%s:%u: name '%s' appears twice; expected each label once",
          filename, i + 1, name);
      g_ptr_array_free (names, TRUE);
      g_strfreev (lines);
      g_free (text);
      return NULL;
    }
    g_ptr_array_add (names, g_strdup (name));
  }
  g_strfreev (lines);
  g_free (text);
  if (names->len == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "vocabulary %s holds no names", filename);
    g_ptr_array_free (names, TRUE);
    return NULL;
  }
  g_ptr_array_set_free_func (names, NULL);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* The quadrants in the order of the paper's emotional_valence.txt (its class
 * indices), with the BIN value its CSVs write for each. */
static const char *const quadrant_names[] = {
  "activated_pleasant", "deactivated_pleasant", "activated_unpleasant",
  "deactivated_unpleasant", NULL
};

static const char *const quadrant_bins[] = {
  "positive;uplifting;happy", "relaxing;calm", "dark;dramatic",
  "sad;melancholic"
};

static const struct
{
  const char *tag;
  int quadrant;
} quadrant_tags[] = {
  {"calm", 1}, {"dark", 2}, {"dramatic", 2}, {"happy", 0},
  {"melancholic", 3}, {"positive", 0}, {"relaxing", 1}, {"sad", 3},
  {"uplifting", 0},
};

const char *const *
affect_quadrant_names (void)
{
  return quadrant_names;
}

const char *
affect_quadrant_bin (int quadrant)
{
  return quadrant >= 0 && quadrant < AFFECT_N_QUADRANTS ?
      quadrant_bins[quadrant] : NULL;
}

int
affect_quadrant_of_tag (const char *tag)
{
  guint i;

  if (g_str_has_prefix (tag, MTG_PREFIX))
    tag += strlen (MTG_PREFIX);
  for (i = 0; i < G_N_ELEMENTS (quadrant_tags); i++)
    if (strcmp (quadrant_tags[i].tag, tag) == 0)
      return quadrant_tags[i].quadrant;
  return -1;
}
