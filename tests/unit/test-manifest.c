/* Manifests: the three formats, malformed lines, selection, quadrants, and
 * the real MTG-Jamendo / quadrant files of ../shared when present. */
#include <string.h>

#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/manifest.h"
#include "affect/nn.h"

static AffectManifest *
parse (const char *file, const char *text, const AffectManifestOptions * o,
    GError ** error)
{
  return affect_manifest_parse (file, text, strlen (text), o, error);
}

static int
vocab_index (const AffectManifest * m, const char *name)
{
  guint i;

  for (i = 0; i < m->n_vocabulary; i++)
    if (strcmp (m->vocabulary[i], name) == 0)
      return i;
  return -1;
}

static float
label_sum (const AffectManifest * m, const AffectManifestItem * it)
{
  float s = 0;
  guint i;

  for (i = 0; i < m->n_vocabulary; i++)
    s += it->labels[i];
  return s;
}

static void
test_mtg_tsv (void)
{
  /* MTG-Jamendo's own files end lines with \r\n */
  const char *text =
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"
      "track_0000948\tartist_000087\talbum_000149\t48/948.mp3\t212.7\t"
      "mood/theme---background\r\n"
      "\r\n"
      "track_0001001\tartist_000001\talbum_000002\t01/1001.mp3\t30\t"
      "mood/theme---happy\tmood/theme---sad\tmood/theme---horror\r\n";
  GError *error = NULL;
  AffectManifest *m = parse ("x/autotagging_moodtheme-train.tsv", text, NULL,
      &error);
  const AffectManifestItem *it;

  g_assert_no_error (error);
  g_assert_cmpint (m->format, ==, AFFECT_MANIFEST_MTG_TSV);
  g_assert_cmpint (m->task, ==, AFFECT_MANIFEST_TASK_TAGS);
  g_assert_cmpuint (m->n_vocabulary, ==, 56);
  g_assert_cmpuint (m->n_items, ==, 2);
  it = &m->items[0];
  g_assert_cmpstr (it->id, ==, "track_0000948");
  g_assert_cmpstr (it->path, ==, "48/948.mp3");
  g_assert_cmpstr (it->split, ==, "train");
  g_assert_cmpfloat_with_epsilon (it->duration, 212.7, 1e-12);
  g_assert_cmpuint (it->line, ==, 2);
  g_assert_cmpfloat (it->labels[vocab_index (m, "mood/theme---background")],
      ==, 1.0f);
  g_assert_cmpfloat (label_sum (m, it), ==, 1.0f);
  g_assert_cmpstr (affect_manifest_item_get_extra (m, it, "ARTIST_ID"), ==,
      "artist_000087");
  it = &m->items[1];
  g_assert_cmpuint (it->line, ==, 4);
  g_assert_cmpfloat (it->labels[26], ==, 1.0f); /* happy */
  g_assert_cmpfloat (it->labels[44], ==, 1.0f); /* sad */
  /* a tag outside the vocabulary: no label, but kept in TAGS */
  g_assert_cmpfloat (label_sum (m, it), ==, 2.0f);
  g_assert_cmpstr (affect_manifest_item_get_extra (m, it, "TAGS"), ==,
      "mood/theme---happy;mood/theme---sad;mood/theme---horror");
  g_assert_cmpstr (affect_manifest_item_get_extra (m, it, "ALBUM_ID"), ==,
      "album_000002");
  affect_manifest_free (m);
}

static void
expect_parse_error (const char *file, const char *text,
    const AffectManifestOptions * o, const char *where, const char *what)
{
  GError *error = NULL;
  AffectManifest *m = parse (file, text, o, &error);

  g_assert_null (m);
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  if (!g_str_has_prefix (error->message, where)
      || strstr (error->message, what) == NULL)
    g_error ("error '%s' does not start with '%s' and mention '%s'",
        error->message, where, what);
  g_error_free (error);
}

static void
test_mtg_malformed (void)
{
  const char *head = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n";
  char *text;

  text = g_strconcat (head, "t1\ta\tb\t1.mp3\t10\tmood/theme---sad\n"
      "t2\ta\tb\n", NULL);
  expect_parse_error ("m.tsv", text, NULL, "m.tsv:3: ",
      "expected at least 5 tab-separated fields");
  g_free (text);
  text = g_strconcat (head, "t1\ta\tb\t1.mp3\tlong\tmood/theme---sad\n", NULL);
  expect_parse_error ("m.tsv", text, NULL, "m.tsv:2: ", "DURATION, got 'long'");
  g_free (text);
  text = g_strconcat (head, "t1\ta\tb\t\t10\n", NULL);
  expect_parse_error ("m.tsv", text, NULL, "m.tsv:2: ", "PATH");
  g_free (text);
}

static void
test_quadrant_csv (void)
{
  const char *text = "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n"
      "6719.mp3\trelaxing\t190.2\trelaxing;calm\tdeactivated_pleasant\n"
      "2263.mp3\tmelancholic\t494.7\tsad;melancholic\tdeactivated_unpleasant\n";
  GError *error = NULL;
  AffectManifest *m = parse ("match_validation_labels.csv", text, NULL,
      &error);
  char *out;

  g_assert_no_error (error);
  g_assert_cmpint (m->format, ==, AFFECT_MANIFEST_QUADRANT_CSV);
  g_assert_cmpint (m->task, ==, AFFECT_MANIFEST_TASK_CLASS);
  g_assert_cmpuint (m->n_vocabulary, ==, 4);
  g_assert_cmpuint (m->n_items, ==, 2);
  g_assert_cmpstr (m->items[0].id, ==, "track_0006719");
  g_assert_cmpstr (m->items[0].split, ==, "validation");
  g_assert_cmpint (m->items[0].class_index, ==, 1);
  g_assert_cmpint (m->items[1].class_index, ==, 3);
  g_assert_cmpfloat (m->items[1].labels[3], ==, 1.0f);
  g_assert_cmpfloat (label_sum (m, &m->items[1]), ==, 1.0f);
  g_assert_cmpstr (affect_manifest_item_get_extra (m, &m->items[1], "LABEL"),
      ==, "melancholic");
  /* written back, it is the same text */
  out = affect_manifest_quadrant_csv_to_string (m);
  g_assert_cmpstr (out, ==, text);
  g_free (out);
  affect_manifest_free (m);

  expect_parse_error ("q.csv", "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n"
      "1.mp3\tsad\t10\tsad;melancholic\tgloomy\n", NULL, "q.csv:2: ",
      "one of activated_pleasant, deactivated_pleasant");
  expect_parse_error ("q.csv", "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n"
      "1.mp3\tsad\t10\tsad;melancholic\n", NULL, "q.csv:2: ",
      "expected 5 tab-separated fields");
}

static void
test_generic_csv (void)
{
  const char *text =
      "path,speaker,valence,arousal,dominance,spontaneity,split\n"
      "a/u1.wav,spk1,0.5,-1,2.25,1,train\n"
      "\"b/u,2.wav\",\"spk \"\"2\"\"\",1e-1,0,0,0,test\n";
  const char *labelled = "id,path,label,duration\n"
      "x1,x1.wav,sad,1.5\n" "x2,x2.wav,happy,2\n" "x3,x3.wav,sad,\n";
  const char *tagged = "path\tlabel\n" "1.wav\thappy;sad\n" "2.wav\tcalm\n";
  GError *error = NULL;
  AffectManifestOptions o;
  AffectManifest *m = parse ("speech.csv", text, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (m->format, ==, AFFECT_MANIFEST_CSV);
  g_assert_cmpint (m->task, ==, AFFECT_MANIFEST_TASK_REGRESSION);
  g_assert_true (m->has_split_column);
  g_assert_cmpuint (m->n_targets, ==, 4);
  g_assert_cmpstr (m->target_names[0], ==, "valence");
  g_assert_cmpstr (m->target_names[3], ==, "spontaneity");
  g_assert_cmpuint (m->n_extra, ==, 1);
  g_assert_cmpstr (m->extra_names[0], ==, "speaker");
  g_assert_cmpuint (m->n_items, ==, 2);
  g_assert_cmpstr (m->items[0].id, ==, "u1");
  g_assert_cmpstr (m->items[0].split, ==, "train");
  g_assert_cmpfloat (m->items[0].targets[1], ==, -1.0);
  g_assert_cmpfloat (m->items[0].targets[2], ==, 2.25);
  g_assert_cmpstr (m->items[1].path, ==, "b/u,2.wav");
  g_assert_cmpstr (m->items[1].extra[0], ==, "spk \"2\"");
  g_assert_cmpfloat (m->items[1].targets[0], ==, 0.1);
  g_assert_cmpstr (m->items[1].split, ==, "test");
  g_assert_null (m->vocabulary);
  affect_manifest_free (m);

  m = parse ("labels.csv", labelled, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->task, ==, AFFECT_MANIFEST_TASK_CLASS);
  g_assert_cmpuint (m->n_vocabulary, ==, 2);
  g_assert_cmpstr (m->vocabulary[0], ==, "happy");      /* sorted */
  g_assert_cmpstr (m->items[0].id, ==, "x1");
  g_assert_cmpint (m->items[0].class_index, ==, 1);
  g_assert_cmpint (m->items[1].class_index, ==, 0);
  g_assert_cmpfloat (m->items[1].duration, ==, 2.0);
  g_assert_cmpfloat (m->items[2].duration, <, 0.0);
  g_assert_null (m->items[0].split);
  g_assert_cmpuint (m->n_targets, ==, 0);
  affect_manifest_free (m);

  m = parse ("tags.tsv", tagged, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->task, ==, AFFECT_MANIFEST_TASK_TAGS);
  g_assert_cmpuint (m->n_vocabulary, ==, 3);
  g_assert_cmpfloat (label_sum (m, &m->items[0]), ==, 2.0f);
  affect_manifest_free (m);

  /* forced targets must all be numbers */
  {
    const char *targets[] = { "valence", "speaker", NULL };
    affect_manifest_options_init (&o);
    o.target_columns = targets;
    expect_parse_error ("speech.csv", text, &o, "speech.csv:2: ",
        "expected a finite number in target column 'speaker', got 'spk1'");
  }
  /* a class outside a given vocabulary */
  {
    const char *vocab[] = { "sad", "calm", NULL };
    affect_manifest_options_init (&o);
    o.vocabulary = vocab;
    expect_parse_error ("labels.csv", labelled, &o, "labels.csv:3: ",
        "got 'happy'");
  }
  affect_manifest_options_init (&o);
  o.label_column = "emotion";
  expect_parse_error ("labels.csv", labelled, &o, "labels.csv:1: ",
      "label column 'emotion'");
  expect_parse_error ("short.csv", "path,valence\nx.wav,1\ny.wav\n", NULL,
      "short.csv:3: ", "expected 2 fields as in the header, got 1");
  expect_parse_error ("nopath.csv", "file,valence\nx.wav,1\n", NULL,
      "nopath.csv:1: ", "'path'");
  expect_parse_error ("twice.csv", "path,valence,Valence\nx.wav,1,2\n", NULL,
      "twice.csv:1: ", "got 'Valence' twice");
  m = parse ("unnamed.csv", "path,valence,\nx.wav,1,z\n", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->extra_names[0], ==, "column3");
  g_assert_cmpstr (m->items[0].extra[0], ==, "z");
  affect_manifest_free (m);
  /* forcing the format: an MTG TSV read as a generic CSV wants one field
   * per header column, where the MTG reader takes any number of tags */
  affect_manifest_options_init (&o);
  o.format = AFFECT_MANIFEST_CSV;
  expect_parse_error ("m.tsv",
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "t\ta\tb\t1.mp3\t1\n", &o, "m.tsv:2: ",
      "expected 6 fields as in the header, got 5");
}

/* forcing a format reads a file without header; paths resolve from root,
 * and quadrant tracks also from MTG-Jamendo's NN/ folders */
static void
test_forced_and_paths (void)
{
  char *dir = g_dir_make_tmp ("affect-paths-XXXXXX", NULL);
  char *sub = g_build_filename (dir, "19", NULL);
  char *track = g_build_filename (sub, "6719.mp3", NULL);
  char *flat = g_build_filename (dir, "2263.mp3", NULL);
  char *manifest = g_build_filename (dir, "q.csv", NULL);
  char *path;
  AffectManifestOptions o;
  AffectManifest *m;
  GError *error = NULL;

  affect_manifest_options_init (&o);
  o.format = AFFECT_MANIFEST_MTG_TSV;
  m = parse ("headless.tsv", "t1\ta\tb\tx/1.mp3\t3.5\tmood/theme---calm\n",
      &o, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (m->n_items, ==, 1);
  g_assert_cmpuint (m->items[0].line, ==, 1);
  path = affect_manifest_resolve_path (m, &m->items[0], "/data");
  g_assert_cmpstr (path, ==, "/data/x/1.mp3");
  g_free (path);
  path = affect_manifest_resolve_path (m, &m->items[0], NULL);
  g_assert_cmpstr (path, ==, "x/1.mp3");        /* the manifest's folder: . */
  g_free (path);
  affect_manifest_free (m);

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (track, "", 0, NULL));
  g_assert_true (g_file_set_contents (flat, "", 0, NULL));
  g_assert_true (g_file_set_contents (manifest,
          "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n"
          "6719.mp3\trelaxing\t190.2\trelaxing;calm\tdeactivated_pleasant\n"
          "2263.mp3\tsad\t494.7\tsad;melancholic\tdeactivated_unpleasant\n"
          "https://example.org/a.mp3\tsad\t1\tsad;melancholic\t"
          "deactivated_unpleasant\n", -1, NULL));
  m = affect_manifest_load (manifest, NULL, &error);
  g_assert_no_error (error);
  path = affect_manifest_resolve_path (m, &m->items[0], NULL);
  g_assert_cmpstr (path, ==, track);
  g_free (path);
  path = affect_manifest_resolve_path (m, &m->items[1], dir);
  g_assert_cmpstr (path, ==, flat);
  g_free (path);
  path = affect_manifest_resolve_path (m, &m->items[2], dir);
  g_assert_cmpstr (path, ==, "https://example.org/a.mp3");
  g_free (path);
  g_assert_cmpstr (m->items[2].id, ==, "a");
  affect_manifest_free (m);

  g_unlink (manifest);
  g_unlink (flat);
  g_unlink (track);
  g_rmdir (sub);
  g_rmdir (dir);
  g_free (manifest);
  g_free (flat);
  g_free (track);
  g_free (sub);
  g_free (dir);
}

static void
test_empty (void)
{
  GError *error = NULL;

  g_assert_null (parse ("e.csv", "", NULL, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_clear_error (&error);
  g_assert_null (parse ("e.csv", "\n\r\n  \n", NULL, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_clear_error (&error);
  g_assert_null (parse ("e.tsv",
          "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n", NULL,
          &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_assert_nonnull (strstr (error->message, "e.tsv"));
  g_clear_error (&error);
  g_assert_null (affect_manifest_load ("/nonexistent/m.csv", NULL, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_IO);
  g_clear_error (&error);
}

static void
test_vocabulary (void)
{
  const char *const *v = affect_vocabulary_mtg_moodtheme ();
  char *dir = g_dir_make_tmp ("affect-vocab-XXXXXX", NULL);
  char *file = g_build_filename (dir, "v.txt", NULL);
  char **loaded;
  GError *error = NULL;
  AffectManifestOptions o;
  AffectManifest *m;

  g_assert_cmpuint (affect_vocabulary_mtg_moodtheme_size (), ==, 56);
  g_assert_cmpstr (v[0], ==, "mood/theme---action");
  g_assert_cmpstr (v[55], ==, "mood/theme---uplifting");
  g_assert_null (v[56]);
  g_assert_cmpint (affect_quadrant_of_tag ("mood/theme---happy"), ==, 0);
  g_assert_cmpint (affect_quadrant_of_tag ("calm"), ==, 1);
  g_assert_cmpint (affect_quadrant_of_tag ("dramatic"), ==, 2);
  g_assert_cmpint (affect_quadrant_of_tag ("melancholic"), ==, 3);
  g_assert_cmpint (affect_quadrant_of_tag ("mood/theme---film"), ==, -1);

  g_assert_true (g_file_set_contents (file,
          "# my tags\r\nmood/theme---sad\r\n\r\nhappy\r\n", -1, NULL));
  loaded = affect_vocabulary_load (file, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (loaded), ==, 2);
  g_assert_cmpstr (loaded[1], ==, "happy");
  affect_manifest_options_init (&o);
  o.vocabulary = (const char *const *) loaded;
  m = parse ("m.tsv", "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "t\ta\tb\t1.mp3\t1\tmood/theme---happy\tmood/theme---calm\n", &o, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (m->n_vocabulary, ==, 2);
  g_assert_cmpfloat (m->items[0].labels[0], ==, 0.0f);
  g_assert_cmpfloat (m->items[0].labels[1], ==, 1.0f);
  affect_manifest_free (m);
  g_strfreev (loaded);

  /* a name that is not UTF-8 (Latin-1 'é') names its line */
  g_assert_true (g_file_set_contents (file, "a\ncaf\xe9\n", -1, NULL));
  g_assert_null (affect_vocabulary_load (file, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  g_assert_true (g_str_has_suffix (error->message, ":2: expected UTF-8 text, "
          "got a name that is not"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (file, "a\nb\na\n", -1, NULL));
  g_assert_null (affect_vocabulary_load (file, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "v.txt:3"));
  g_clear_error (&error);
  g_unlink (file);
  g_rmdir (dir);
  g_free (file);
  g_free (dir);
}

static void
test_relabel (void)
{
  /* tags written unsorted: the alphabetically first mapped tag decides */
  const char *text = "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "track_0000001\ta\tb\t01/1.mp3\t186.0\tmood/theme---sad\t"
      "mood/theme---happy\n"
      "track_0000002\ta\tb\t02/2.mp3\t20.5\tmood/theme---film\n"
      "track_0000003\ta\tb\t03/3.mp3\t7\tmood/theme---film\t"
      "mood/theme---dark\tmood/theme---horror\n";
  GError *error = NULL;
  AffectManifest *m = parse ("x-test.tsv", text, NULL, &error), *q;
  char *out;

  g_assert_no_error (error);
  q = affect_manifest_relabel_quadrants (m, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (q->n_items, ==, 2);
  g_assert_cmpstr (q->items[0].id, ==, "track_0000001");
  g_assert_cmpstr (q->items[0].split, ==, "test");
  g_assert_cmpint (q->items[0].class_index, ==, 0);
  g_assert_cmpint (q->items[1].class_index, ==, 2);
  out = affect_manifest_quadrant_csv_to_string (q);
  g_assert_cmpstr (out, ==, "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n"
      "1.mp3\tsad;happy\t186\tpositive;uplifting;happy\tactivated_pleasant\n"
      "3.mp3\tfilm;dark\t7\tdark;dramatic\tactivated_unpleasant\n");
  g_free (out);
  {
    const guint pick[] = { 1 };
    AffectManifest *sub = affect_manifest_subset (q, pick, 1);
    g_assert_cmpuint (sub->n_items, ==, 1);
    g_assert_cmpstr (sub->items[0].id, ==, "track_0000003");
    g_assert_cmpstr (sub->items[0].extra[0], ==, "film;dark");
    g_assert_cmpfloat (sub->items[0].labels[2], ==, 1.0f);
    affect_manifest_free (sub);
  }
  affect_manifest_free (q);
  affect_manifest_free (m);

  m = parse ("y.tsv", "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "t\ta\tb\t1.mp3\t1\tmood/theme---film\n", NULL, &error);
  g_assert_null (affect_manifest_relabel_quadrants (m, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_clear_error (&error);
  affect_manifest_free (m);
}

static AffectManifest *
numbered_manifest (guint n)
{
  GString *s = g_string_new ("path,split\n");
  AffectManifest *m;
  GError *error = NULL;
  guint i;

  for (i = 0; i < n; i++)
    g_string_append_printf (s, "%u.wav,%s\n", i, i % 4 == 3 ? "test" : "train");
  m = parse ("n.csv", s->str, NULL, &error);
  g_assert_no_error (error);
  g_string_free (s, TRUE);
  return m;
}

static void
test_selection (void)
{
  AffectManifest *m = numbered_manifest (103);
  AffectManifestSelection s;
  GError *error = NULL;
  guint *all, *again, *other, *shard, n, n2, n3, i, j, count = 4;
  gboolean *seen;

  affect_manifest_selection_init (&s);
  all = affect_manifest_select (m, &s, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 103);
  for (i = 0; i < n; i++)
    g_assert_cmpuint (all[i], ==, i);
  g_free (all);

  s.split = "test";
  all = affect_manifest_select (m, &s, &n, &error);
  g_assert_cmpuint (n, ==, 25);
  for (i = 0; i < n; i++)
    g_assert_cmpstr (m->items[all[i]].split, ==, "test");
  g_free (all);
  s.split = "validation";
  g_assert_null (affect_manifest_select (m, &s, &n, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY);
  g_clear_error (&error);

  /* the same seed gives the same permutation, another seed another one */
  affect_manifest_selection_init (&s);
  s.shuffle = TRUE;
  s.seed = 42;
  all = affect_manifest_select (m, &s, &n, NULL);
  again = affect_manifest_select (m, &s, &n2, NULL);
  s.seed = 43;
  other = affect_manifest_select (m, &s, &n3, NULL);
  g_assert_cmpmem (all, n * sizeof (guint), again, n2 * sizeof (guint));
  g_assert_cmpint (memcmp (all, other, n * sizeof (guint)), !=, 0);
  seen = g_new0 (gboolean, n);
  for (i = 0; i < n; i++) {
    g_assert_false (seen[all[i]]);
    seen[all[i]] = TRUE;
  }
  g_free (again);
  g_free (other);

  /* slice of the shuffled order */
  s.seed = 42;
  s.start = 10;
  s.stop = 20;
  again = affect_manifest_select (m, &s, &n2, NULL);
  g_assert_cmpuint (n2, ==, 10);
  g_assert_cmpmem (again, 10 * sizeof (guint), all + 10, 10 * sizeof (guint));
  g_free (again);
  s.stop = 5;
  again = affect_manifest_select (m, &s, &n2, NULL);
  g_assert_cmpuint (n2, ==, 0);
  g_free (again);

  /* shards: k-th item of the shuffled order in shard k mod N; together
   * they are exactly the unsharded run */
  s.start = 0;
  s.stop = -1;
  memset (seen, 0, n * sizeof (gboolean));
  for (j = 0; j < count; j++) {
    s.shard_index = j;
    s.shard_count = count;
    shard = affect_manifest_select (m, &s, &n2, NULL);
    g_assert_cmpuint (n2, ==, (n - j + count - 1) / count);
    for (i = 0; i < n2; i++) {
      g_assert_cmpuint (shard[i], ==, all[i * count + j]);
      g_assert_false (seen[shard[i]]);
      seen[shard[i]] = TRUE;
    }
    g_free (shard);
  }
  for (i = 0; i < n; i++)
    g_assert_true (seen[i]);
  g_free (seen);
  g_free (all);
  affect_manifest_free (m);

  g_assert_true (affect_manifest_parse_shard ("2/5", &i, &j, NULL));
  g_assert_cmpuint (i, ==, 2);
  g_assert_cmpuint (j, ==, 5);
  g_assert_false (affect_manifest_parse_shard ("5/5", &i, &j, NULL));
  g_assert_false (affect_manifest_parse_shard ("1/0", &i, &j, NULL));
  g_assert_false (affect_manifest_parse_shard ("1-2", &i, &j, &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  g_clear_error (&error);
}

/* Random byte edits of valid manifests: every result is a manifest or an
 * error with a message, never a crash (valgrind-clean). */
static void
test_mutations (void)
{
  const char *seeds[] = {
    "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"
        "track_1\ta\tb\t1/1.mp3\t10.5\tmood/theme---happy\r\n"
        "track_2\ta\tb\t2/2.mp3\t3\tmood/theme---sad\tmood/theme---calm\r\n",
    "TRACK\tLABEL\tDURATION\tBIN\tEMOTION_VALENCE\n"
        "1.mp3\tsad\t10\tsad;melancholic\tdeactivated_unpleasant\n"
        "2.mp3\thappy\t20.5\tpositive;uplifting;happy\tactivated_pleasant\n",
    "id,path,label,valence,arousal,split\n"
        "a,\"a,1.wav\",x;y,0.5,-1,train\n" "b,b.wav,y,1e3,2,test\n",
  };
  const char noise[] = "\t,;\"\n\r-.e0x/ ";
  AffectRng rng;
  guint round, n_ok = 0, n_err = 0;

  affect_rng_init (&rng, 2024);
  for (round = 0; round < 3000; round++) {
    const char *seed = seeds[round % G_N_ELEMENTS (seeds)];
    char *text = g_strdup (seed);
    gsize len = strlen (text);
    guint edits = 1 + affect_rng_next (&rng) % 4, e;
    GError *error = NULL;
    AffectManifest *m;

    for (e = 0; e < edits; e++) {
      gsize at = affect_rng_next (&rng) % len;
      guint64 r = affect_rng_next (&rng);
      if (r % 3 == 0)
        text[at] = noise[(r >> 8) % (sizeof (noise) - 1)];
      else if (r % 3 == 1)
        text[at] = (char) ((r >> 8) % 256);     /* NUL included */
      else
        len = at + 1;           /* truncate */
    }
    m = affect_manifest_parse ("fuzz.csv", text, len, NULL, &error);
    if (m) {
      guint i, j;
      g_assert_null (error);
      g_assert_cmpuint (m->n_items, >, 0);
      for (i = 0; i < m->n_items; i++) {
        g_assert_nonnull (m->items[i].id);
        g_assert_nonnull (m->items[i].path);
        for (j = 0; m->items[i].labels && j < m->n_vocabulary; j++)
          g_assert_true (m->items[i].labels[j] == 0.0f
              || m->items[i].labels[j] == 1.0f);
      }
      affect_manifest_free (m);
      n_ok++;
    } else {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "fuzz.csv"));
      g_error_free (error);
      n_err++;
    }
    g_free (text);
  }
  /* both outcomes occur: the edits are neither all harmless nor all fatal */
  g_assert_cmpuint (n_ok, >, 100);
  g_assert_cmpuint (n_err, >, 100);
}

/* what a manifest must be before any item is emitted: UTF-8, finite
 * numeric targets, unique ids, lines under the limit; each refusal names
 * file:line */
static void
test_validation (void)
{
  GError *error = NULL;
  AffectManifest *m;

  /* an id that is not UTF-8 (Latin-1 'é'), in each format */
  expect_parse_error ("latin1.csv", "id,path,valence\nok,a.wav,1\n"
      "caf\xe9,b.wav,2\n", NULL, "latin1.csv:3: ",
      "expected UTF-8 text, got the invalid byte 0xe9 at byte 4");
  expect_parse_error ("m.tsv",
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "t\xff" "1\ta\tb\t1.mp3\t1\n", NULL, "m.tsv:2: ", "0xff");
  {
    static const char nul[] = "path,valence\na.wav,1\nb\0.wav,2\n";
    m = affect_manifest_parse ("nul.csv", nul, sizeof (nul) - 1, NULL, &error);
    g_assert_null (m);
    g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
    g_assert_true (g_str_has_prefix (error->message, "nul.csv:3: "));
    g_assert_nonnull (strstr (error->message, "NUL byte at byte 2"));
    g_clear_error (&error);
  }
  /* UTF-8 itself is fine */
  m = parse ("utf8.csv", "id,path\ncaf\xc3\xa9,a.wav\n", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->items[0].id, ==, "caf\xc3\xa9");
  affect_manifest_free (m);

  /* targets: a word or a NaN in a numeric column, a word or an empty field
   * in a column named after an affect dimension */
  expect_parse_error ("nan.csv", "path,valence,score\na.wav,1,2\nb.wav,nan,3\n",
      NULL, "nan.csv:3: ",
      "expected a finite number in target column 'valence', got 'nan'");
  expect_parse_error ("inf.csv", "path,score\na.wav,1\nb.wav,-inf\n",
      NULL, "inf.csv:3: ", "column 'score', got '-inf'");
  expect_parse_error ("big.csv", "path,score\na.wav,1e999\nb.wav,1\n",
      NULL, "big.csv:2: ", "column 'score', got '1e999'");
  expect_parse_error ("word.csv", "path,Arousal\na.wav,1\nb.wav,high\n",
      NULL, "word.csv:3: ", "column 'Arousal', got 'high'");
  expect_parse_error ("gap.csv", "path,valence\na.wav,1\nb.wav,\n",
      NULL, "gap.csv:3: ", "column 'valence', got ''");
  /* a column of words stays a text column */
  m = parse ("words.csv", "path,speaker\na.wav,1\nb.wav,f2\n", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (m->n_targets, ==, 0);
  g_assert_cmpuint (m->n_extra, ==, 1);
  affect_manifest_free (m);

  /* ids: explicit, from the path's stem, from the quadrant TRACK */
  expect_parse_error ("dup.csv", "id,path\nx,a.wav\ny,b.wav\n\nx,c.wav\n",
      NULL, "dup.csv:5: ", "got 'x' already used on line 2");
  expect_parse_error ("stem.csv", "path\nsp1/u1.wav\nsp2/u1.wav\n",
      NULL, "stem.csv:3: ", "got 'u1' already used on line 2");
  expect_parse_error ("dup.tsv",
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
      "t1\ta\tb\t1.mp3\t1\nt1\ta\tb\t2.mp3\t1\n", NULL, "dup.tsv:3: ",
      "'t1' already used on line 2");
}

/* a line over AFFECT_MANIFEST_MAX_LINE is refused from memory and from a
 * file; from a file after reading about the limit, not the whole line */
static void
test_line_limit (void)
{
  gsize big = 64 * 1024 * 1024, i;
  char *dir = g_dir_make_tmp ("affect-line-XXXXXX", NULL);
  char *file = g_build_filename (dir, "long.csv", NULL);
  char *text = g_malloc (AFFECT_MANIFEST_MAX_LINE + 64);
  GError *error = NULL;
  AffectManifest *m;
  FILE *f;
  gint64 t0;
  char block[65536];

  /* exactly the limit is accepted, one byte more is not */
  strcpy (text, "path\n");
  for (i = 5; i < 5 + AFFECT_MANIFEST_MAX_LINE - 4; i++)
    text[i] = 'a';
  memcpy (text + i, ".wav", 4);
  i += 4;
  m = affect_manifest_parse ("limit.csv", text, i, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (m->items[0].path), ==, AFFECT_MANIFEST_MAX_LINE);
  affect_manifest_free (m);
  memmove (text + 6, text + 5, i - 5);
  text[5] = 'b';
  m = affect_manifest_parse ("limit.csv", text, i + 1, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "limit.csv:2: "));
  g_assert_nonnull (strstr (error->message, "at most 1048576 bytes"));
  g_clear_error (&error);

  /* a 64 MB line in a file */
  f = g_fopen (file, "wb");
  g_assert_nonnull (f);
  fputs ("path,valence\nok.wav,1\n", f);
  memset (block, 'x', sizeof (block));
  for (i = 0; i < big / sizeof (block); i++)
    g_assert_cmpuint (fwrite (block, 1, sizeof (block), f), ==, sizeof (block));
  fputs (".wav,2\n", f);
  fclose (f);
  t0 = g_get_monotonic_time ();
  m = affect_manifest_load (file, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, file));
  g_assert_nonnull (strstr (error->message, ":3: expected a line of at most"));
  g_clear_error (&error);
  /* the whole file takes over 10 s to parse when read whole */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);

  g_unlink (file);
  g_rmdir (dir);
  g_free (file);
  g_free (dir);
  g_free (text);
}

/* ---- real files from ../shared ---- */

static char *
mtg_dir (void)
{
  const char *shared = g_getenv ("AFFECT_SHARED_DIR");
  char *dir;

  if (shared == NULL)
    return NULL;
  dir = g_build_filename (shared, "reference", "mtg-jamendo", NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_free (dir);
    return NULL;
  }
  return dir;
}

static void
test_reference_mtg (void)
{
  char *dir = mtg_dir (), *file, *text;
  char **lines;
  GError *error = NULL;
  AffectManifest *m;
  guint i;

  if (dir == NULL) {
    g_test_skip ("AFFECT_SHARED_DIR/reference/mtg-jamendo is absent");
    return;
  }
  /* our own vocabulary is moodtheme_split.txt, line for line */
  file = g_build_filename (dir, "data", "tags", "moodtheme_split.txt", NULL);
  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  g_strdelimit (text, "\r", '\n');
  lines = g_strsplit (g_strstrip (text), "\n", -1);
  for (i = 0; lines[i]; i++)
    g_assert_cmpstr (lines[i], ==, affect_vocabulary_mtg_moodtheme ()[i]);
  g_assert_cmpuint (i, ==, 56);
  g_strfreev (lines);
  g_free (text);
  g_free (file);

  /* the unsplit TSV: 18486 tracks, 59 tags (3 outside the vocabulary) */
  file = g_build_filename (dir, "data", "autotagging_moodtheme.tsv", NULL);
  {
    gint64 t0 = g_get_monotonic_time ();
    m = affect_manifest_load (file, NULL, &error);
    g_test_message ("autotagging_moodtheme.tsv: %u items parsed in %.1f ms",
        m ? m->n_items : 0, (g_get_monotonic_time () - t0) / 1000.0);
  }
  g_assert_no_error (error);
  g_assert_cmpint (m->format, ==, AFFECT_MANIFEST_MTG_TSV);
  g_assert_cmpuint (m->n_items, ==, 18486);
  g_assert_cmpstr (m->items[0].id, ==, "track_0000948");
  g_assert_null (m->items[0].split);
  for (i = 0; i < m->n_items; i++)
    g_assert_cmpfloat (m->items[i].duration, >, 0.0);
  affect_manifest_free (m);
  g_free (file);
  g_free (dir);
}

static void
test_reference_quadrants (void)
{
  const char *splits[] = { "train", "validation", "test" };
  const guint expected[] = { 3474, 1302, 1478 };
  char *dir = mtg_dir (), *full_file;
  AffectManifest *full, *full_q;
  GError *full_error = NULL;
  guint s;

  if (dir == NULL) {
    g_test_skip ("AFFECT_SHARED_DIR/reference/mtg-jamendo is absent");
    return;
  }
  /* the unsplit TSV relabelled once, then cut by each split-0 file */
  full_file = g_build_filename (dir, "data", "autotagging_moodtheme.tsv", NULL);
  full = affect_manifest_load (full_file, NULL, &full_error);
  g_assert_no_error (full_error);
  full_q = affect_manifest_relabel_quadrants (full, &full_error);
  g_assert_no_error (full_error);
  affect_manifest_free (full);
  g_free (full_file);
  for (s = 0; s < G_N_ELEMENTS (splits); s++) {
    char *name = g_strdup_printf ("autotagging_moodtheme-%s.tsv", splits[s]);
    char *tsv_file = g_build_filename (dir, "data", "splits", "split-0", name,
        NULL);
    char *csv_name = g_strdup_printf ("match_%s_labels.csv", splits[s]);
    char *csv_file = g_build_filename (dir, "quadrant-splits", csv_name, NULL);
    GError *error = NULL;
    AffectManifest *tsv, *q, *ref;
    char *out, *want;
    guint i, n_tsv;

    tsv = affect_manifest_load (tsv_file, NULL, &error);
    g_assert_no_error (error);
    n_tsv = tsv->n_items;
    g_assert_cmpstr (tsv->items[0].split, ==, splits[s]);
    q = affect_manifest_relabel_quadrants (tsv, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (q->n_items, ==, expected[s]);
    g_assert_cmpuint (q->n_items, <, n_tsv);
    /* the paper's CSV, byte for byte */
    out = affect_manifest_quadrant_csv_to_string (q);
    g_assert_true (g_file_get_contents (csv_file, &want, NULL, NULL));
    g_assert_cmpstr (out, ==, want);

    /* the unsplit TSV's relabelling restricted to this split's tracks
     * gives the same file */
    {
      GHashTable *ids = g_hash_table_new (g_str_hash, g_str_equal);
      guint *keep = g_new (guint, full_q->n_items), n_keep = 0;
      AffectManifest *cut;
      char *cut_text;

      for (i = 0; i < tsv->n_items; i++)
        g_hash_table_add (ids, tsv->items[i].id);
      for (i = 0; i < full_q->n_items; i++)
        if (g_hash_table_contains (ids, full_q->items[i].id))
          keep[n_keep++] = i;
      cut = affect_manifest_subset (full_q, keep, n_keep);
      cut_text = affect_manifest_quadrant_csv_to_string (cut);
      g_assert_cmpstr (cut_text, ==, want);
      g_free (cut_text);
      affect_manifest_free (cut);
      g_free (keep);
      g_hash_table_destroy (ids);
    }

    /* and the CSV read back gives the same classes and ids */
    ref = affect_manifest_load (csv_file, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (ref->format, ==, AFFECT_MANIFEST_QUADRANT_CSV);
    g_assert_cmpuint (ref->n_items, ==, q->n_items);
    g_assert_cmpstr (ref->items[0].split, ==, splits[s]);
    for (i = 0; i < ref->n_items; i++) {
      g_assert_cmpstr (ref->items[i].id, ==, q->items[i].id);
      g_assert_cmpint (ref->items[i].class_index, ==, q->items[i].class_index);
    }
    g_free (out);
    g_free (want);
    affect_manifest_free (ref);
    affect_manifest_free (q);
    affect_manifest_free (tsv);
    g_free (csv_name);
    g_free (csv_file);
    g_free (name);
    g_free (tsv_file);
  }
  affect_manifest_free (full_q);
  g_free (dir);
}

/* grouped hold-out: a function of (seed, group) alone, so a group never
 * lands on both sides; about `fraction` of many groups held out; the same
 * seed gives the same groups, another seed others */
static void
test_group_hold_out (void)
{
  const guint n_groups = 2000;
  guint g, held = 0, moved = 0;

  g_assert_false (affect_group_is_validation (1, "spk", 0.0));
  g_assert_false (affect_group_is_validation (1, NULL, 0.5));
  g_assert_true (affect_group_is_validation (1, "spk", 1.0));
  for (g = 0; g < n_groups; g++) {
    gchar *name = g_strdup_printf ("speaker-%u", g);
    gboolean v = affect_group_is_validation (7, name, 0.2);
    gchar *copy = g_strdup (name);

    /* every item of the group, whenever it comes: the same side */
    g_assert_cmpint (affect_group_is_validation (7, copy, 0.2), ==, v);
    /* a larger fraction only adds groups */
    if (v)
      g_assert_true (affect_group_is_validation (7, name, 0.3));
    held += v;
    moved += v != affect_group_is_validation (8, name, 0.2);
    g_free (copy);
    g_free (name);
  }
  /* binomial(2000, 0.2): mean 400, sd 17.9; ±5 sd */
  g_assert_cmpuint (held, >, 310);
  g_assert_cmpuint (held, <, 490);
  /* independent draws under seed 8: 2·0.2·0.8 = 32 % of groups change */
  g_assert_cmpuint (moved, >, 500);
  g_assert_cmpuint (moved, <, 780);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/manifest/mtg-tsv", test_mtg_tsv);
  g_test_add_func ("/manifest/mtg-tsv-malformed", test_mtg_malformed);
  g_test_add_func ("/manifest/quadrant-csv", test_quadrant_csv);
  g_test_add_func ("/manifest/generic-csv", test_generic_csv);
  g_test_add_func ("/manifest/forced-format-and-paths", test_forced_and_paths);
  g_test_add_func ("/manifest/empty", test_empty);
  g_test_add_func ("/manifest/vocabulary", test_vocabulary);
  g_test_add_func ("/manifest/relabel-quadrants", test_relabel);
  g_test_add_func ("/manifest/selection", test_selection);
  g_test_add_func ("/manifest/mutations", test_mutations);
  g_test_add_func ("/manifest/validation", test_validation);
  g_test_add_func ("/manifest/line-limit", test_line_limit);
  g_test_add_func ("/manifest/group-hold-out", test_group_hold_out);
  g_test_add_func ("/manifest/reference-mtg", test_reference_mtg);
  g_test_add_func ("/manifest/reference-quadrants", test_reference_quadrants);
  return g_test_run ();
}
