/* affect-run: experiment key-files and ${VARIABLE} expansion */
#include <string.h>

#include "runner.h"

/* variables may refer to variables; deeper than this is a cycle */
#define MAX_EXPANSION_DEPTH 16

G_DEFINE_QUARK (affect - run - error - quark, runner_error);

static const RunnerGenerator *const generators[] = {
  &runner_generator_tones,
  &runner_generator_music,
  &runner_generator_speech,
  &runner_generator_augment,
  &runner_generator_report,
  &runner_generator_folds,
  &runner_generator_crossval,
  &runner_generator_baseline,
  &runner_generator_features,
  NULL
};

gboolean
runner_param_int (GHashTable * params, const char *generator,
    const char *name, gint64 min, gint64 max, gint64 * value, GError ** error)
{
  const char *s = g_hash_table_lookup (params, name);

  if (s == NULL || !g_ascii_string_to_signed (s, 10, min, max, value, NULL)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: %s='%s' is not an integer in [%" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "]", generator, name, s ? s : "", min, max);
    return FALSE;
  }
  return TRUE;
}

gboolean
runner_param_double (GHashTable * params, const char *generator,
    const char *name, double min, double max, double *value, GError ** error)
{
  const char *s = g_hash_table_lookup (params, name);
  char *end = NULL;

  if (s != NULL)
    *value = g_ascii_strtod (s, &end);
  if (s == NULL || *s == '\0' || *end != '\0' || !(*value >= min
          && *value <= max)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: %s='%s' is not a number in [%g, %g]", generator, name,
        s ? s : "", min, max);
    return FALSE;
  }
  return TRUE;
}

const RunnerGenerator *const *
runner_generators (void)
{
  return generators;
}

const RunnerGenerator *
runner_find_generator (const char *name)
{
  guint i;

  for (i = 0; generators[i] != NULL; i++)
    if (strcmp (generators[i]->name, name) == 0)
      return generators[i];
  return NULL;
}

static gboolean
is_name_char (char c, gboolean first)
{
  return g_ascii_isalpha (c) || c == '_' || (!first && g_ascii_isdigit (c));
}

static gboolean
expand_into (GString * out, const char *text, GHashTable * raw_vars,
    const char *where, int depth, GError ** error)
{
  const char *p = text;

  if (depth > MAX_EXPANSION_DEPTH) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_VARIABLE,
        "%s: variables refer to each other in a cycle", where);
    return FALSE;
  }
  while (*p) {
    const char *end, *value;
    char *name;
    const char *q;

    if (p[0] != '$') {
      g_string_append_c (out, *p++);
      continue;
    }
    if (p[1] == '$') {
      g_string_append_c (out, '$');
      p += 2;
      continue;
    }
    if (p[1] != '{') {
      g_string_append_c (out, *p++);
      continue;
    }
    /* the name may itself hold ${...}: ${PIPELINE_${TASK}} */
    {
      int open = 1;
      for (end = p + 2; *end; end++) {
        if (end[0] == '$' && end[1] == '{') {
          open++;
          end++;
        } else if (end[0] == '}' && --open == 0) {
          break;
        }
      }
    }
    if (*end != '}') {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_VARIABLE,
          "%s: unterminated '${' (write '$$' for a literal '$')", where);
      return FALSE;
    }
    name = g_strndup (p + 2, end - p - 2);
    if (strstr (name, "${") != NULL) {
      GString *inner = g_string_new (NULL);
      if (!expand_into (inner, name, raw_vars, where, depth + 1, error)) {
        g_string_free (inner, TRUE);
        g_free (name);
        return FALSE;
      }
      g_free (name);
      name = g_string_free (inner, FALSE);
    }
    for (q = name; *q && is_name_char (*q, q == name); q++);
    if (*name == '\0' || *q != '\0') {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_VARIABLE,
          "%s: '${%s}' is not a variable name (letters, digits and '_')",
          where, name);
      g_free (name);
      return FALSE;
    }
    value = g_hash_table_lookup (raw_vars, name);
    if (value == NULL) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_VARIABLE,
          "%s: unknown variable ${%s} (define it in [variables] or give "
          "%s=value on the command line)", where, name, name);
      g_free (name);
      return FALSE;
    }
    g_free (name);
    if (!expand_into (out, value, raw_vars, where, depth + 1, error))
      return FALSE;
    p = end + 1;
  }
  return TRUE;
}

char *
runner_expand (const char *text, GHashTable * raw_vars, const char *where,
    GError ** error)
{
  GString *out = g_string_new (NULL);

  if (!expand_into (out, text, raw_vars, where, 0, error)) {
    g_string_free (out, TRUE);
    return NULL;
  }
  return g_string_free (out, FALSE);
}

static void
step_free (gpointer p)
{
  RunnerStep *s = p;

  g_free (s->name);
  g_free (s->description);
  g_free (s->file);
  g_free (s->launch);
  g_free (s->show_items);
  g_strfreev (s->collect);
  g_free (s->generator);
  g_free (s->results);
  g_free (s->messages);
  if (s->params)
    g_hash_table_unref (s->params);
  g_free (s);
}

void
runner_experiment_free (RunnerExperiment * e)
{
  if (e == NULL)
    return;
  g_free (e->name);
  g_free (e->path);
  g_free (e->dir);
  g_free (e->description);
  if (e->vars)
    g_hash_table_unref (e->vars);
  if (e->steps)
    g_ptr_array_free (e->steps, TRUE);
  if (e->skipped)
    g_ptr_array_unref (e->skipped);
  g_free (e);
}

/* A .pipeline file: gst-launch text over any number of lines; lines whose
 * first non-blank character is '#' are comments. */
static char *
read_pipeline_file (const char *path, GError ** error)
{
  char *contents, **lines, **l;
  GString *out;
  GError *io_error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &io_error)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "cannot read pipeline file: %s", io_error->message);
    g_error_free (io_error);
    return NULL;
  }
  out = g_string_new (NULL);
  lines = g_strsplit (contents, "\n", -1);
  for (l = lines; *l; l++) {
    char *line = g_strstrip (*l);
    if (*line == '\0' || *line == '#')
      continue;
    /* tolerate shell-style continuations copied from a gst-launch line */
    if (g_str_has_suffix (line, "\\"))
      line[strlen (line) - 1] = '\0';
    if (out->len)
      g_string_append_c (out, ' ');
    g_string_append (out, g_strstrip (line));
  }
  g_strfreev (lines);
  g_free (contents);
  if (out->len == 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: no pipeline in the file", path);
    g_string_free (out, TRUE);
    return NULL;
  }
  return g_string_free (out, FALSE);
}

static gboolean
check_keys (GKeyFile * kf, const char *group, const char *const *allowed,
    const char *where, GError ** error)
{
  char **keys = g_key_file_get_keys (kf, group, NULL, NULL);
  char **k;
  gboolean ok = TRUE;

  for (k = keys; k && *k && ok; k++) {
    if (!g_strv_contains (allowed, *k)) {
      char *list = g_strjoinv (", ", (char **) allowed);
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
          "%s: [%s]: unknown key '%s' (known: %s)", where, group, *k, list);
      g_free (list);
      ok = FALSE;
    }
  }
  g_strfreev (keys);
  return ok;
}

/* the value of an optional key, variables expanded; NULL if absent */
static char *
get_expanded (GKeyFile * kf, const char *group, const char *key,
    GHashTable * raw, const char *where, gboolean * ok, GError ** error)
{
  char *raw_value, *value, *what;

  if (!*ok || !g_key_file_has_key (kf, group, key, NULL))
    return NULL;
  raw_value = g_key_file_get_string (kf, group, key, NULL);
  what = g_strdup_printf ("%s: [%s] %s", where, group, key);
  value = runner_expand (raw_value ? raw_value : "", raw, what, error);
  g_free (what);
  g_free (raw_value);
  *ok = value != NULL;
  return value;
}

static void
copy_into (GHashTable * dst, GHashTable * src)
{
  GHashTableIter it;
  gpointer k, v;

  if (src == NULL)
    return;
  g_hash_table_iter_init (&it, src);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_hash_table_insert (dst, g_strdup (k), g_strdup (v));
}

/* Step variables: upper-case keys of a step group (MODEL=..., REPORT=...)
 * set variables for that step alone, over the experiment's. Returns the
 * step's raw variables (a new table) and the NULL-terminated list of the
 * group's other keys. */
static gboolean
is_step_variable (const char *key)
{
  const char *q;

  if (!g_ascii_isupper (key[0]))
    return FALSE;
  for (q = key; *q; q++)
    if (!(g_ascii_isupper (*q) || g_ascii_isdigit (*q) || *q == '_'))
      return FALSE;
  return TRUE;
}

/* a value that expands to itself: '$' doubled */
static char *
escape_dollars (const char *value)
{
  GString *out = g_string_new (NULL);

  for (; *value; value++) {
    if (*value == '$')
      g_string_append_c (out, '$');
    g_string_append_c (out, *value);
  }
  return g_string_free (out, FALSE);
}

/* Expanded in the experiment's variables (so MODEL=${MODEL}-2 or
 * SEED=${SEED} refer to the experiment's values); NULL on error. own (may
 * be NULL) gets the step's variables alone, expanded. */
static GHashTable *
step_variables (GKeyFile * kf, const char *group, GHashTable * raw,
    const char *where, GHashTable ** own, GError ** error)
{
  GHashTable *vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  char **keys = g_key_file_get_keys (kf, group, NULL, NULL), **k;

  copy_into (vars, raw);
  if (own)
    *own = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (k = keys; k && *k; k++) {
    char *value, *text, *what;
    if (!is_step_variable (*k))
      continue;
    text = g_key_file_get_string (kf, group, *k, NULL);
    what = g_strdup_printf ("%s: [%s] %s", where, group, *k);
    value = runner_expand (text ? text : "", raw, what, error);
    g_free (what);
    g_free (text);
    if (value == NULL) {
      g_strfreev (keys);
      g_hash_table_unref (vars);
      if (own)
        g_clear_pointer (own, g_hash_table_unref);
      return NULL;
    }
    g_hash_table_insert (vars, g_strdup (*k), escape_dollars (value));
    if (own)
      g_hash_table_insert (*own, g_strdup (*k), escape_dollars (value));
    g_free (value);
  }
  g_strfreev (keys);
  return vars;
}

/* check_keys, step variables allowed */
static gboolean
check_step_keys (GKeyFile * kf, const char *group,
    const char *const *allowed, const char *where, GError ** error)
{
  char **keys = g_key_file_get_keys (kf, group, NULL, NULL);
  GPtrArray *all = g_ptr_array_new ();
  const char *const *a;
  char **k;
  gboolean ok;

  for (a = allowed; *a; a++)
    g_ptr_array_add (all, (gpointer) * a);
  for (k = keys; k && *k; k++)
    if (is_step_variable (*k))
      g_ptr_array_add (all, *k);
  g_ptr_array_add (all, NULL);
  ok = check_keys (kf, group, (const char *const *) all->pdata, where, error);
  g_ptr_array_free (all, TRUE);
  g_strfreev (keys);
  return ok;
}

static RunnerExperiment *experiment_load (const char *path,
    GHashTable * builtins, GHashTable * overrides, int depth, GError ** error);

#define MAX_INCLUDE_DEPTH 4

/* [step NAME] experiment=OTHER: OTHER's steps, run here as NAME/STEP, with
 * RESULTS=output (default ${RESULTS}/NAME) and the step's upper-case keys as
 * OTHER's command-line variables */
static gboolean
include_experiment (RunnerExperiment * e, GKeyFile * kf, const char *name,
    const char *group, GHashTable * raw, GHashTable * loop,
    GHashTable * builtins, int depth, GError ** error)
{
  static const char *const include_keys[] = { "experiment", "output",
    "description", "foreach", "shard", "unless-set", "pass", NULL
  };
  GHashTable *vars, *own, *sub_builtins, *sub_overrides;
  GHashTableIter it;
  gpointer k, v;
  char *file, *path, *output, *pass, *sub_name, *sub_dir;
  RunnerExperiment *sub;
  gboolean ok = TRUE;
  guint i;

  if (depth >= MAX_INCLUDE_DEPTH) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: [%s]: experiments include each other more than %d deep",
        e->path, group, MAX_INCLUDE_DEPTH);
    return FALSE;
  }
  if (!check_step_keys (kf, group, include_keys, e->path, error))
    return FALSE;
  vars = step_variables (kf, group, raw, e->path, &own, error);
  if (vars == NULL)
    return FALSE;
  /* foreach's variables: the step's own, and the included experiment's */
  if (loop) {
    copy_into (vars, loop);
    copy_into (own, loop);
  }
  file = get_expanded (kf, group, "experiment", vars, e->path, &ok, error);
  output = get_expanded (kf, group, "output", vars, e->path, &ok, error);
  pass = get_expanded (kf, group, "pass", vars, e->path, &ok, error);
  /* pass=VAR;VAR...: this experiment's variables that go on to the
   * included one when they are not empty (an explicit key wins), so that
   * TRAIN=... on the command line reaches it and an empty TRAIN leaves
   * its default alone */
  if (ok && pass != NULL) {
    char **names = g_strsplit_set (pass, ";, ", -1), **n;
    for (n = names; ok && *n; n++) {
      const char *value;
      if (**n == '\0' || g_hash_table_contains (own, *n))
        continue;
      value = g_hash_table_lookup (e->vars, *n);
      if (value == NULL) {
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
            "%s: [%s] pass: %s is not a variable of this experiment "
            "(define it in [variables], empty when not given)", e->path,
            group, *n);
        ok = FALSE;
      } else if (*value != '\0') {
        g_hash_table_insert (own, g_strdup (*n), escape_dollars (value));
      }
    }
    g_strfreev (names);
  }
  g_free (pass);
  if (!ok) {
    g_free (file);
    g_free (output);
    g_hash_table_unref (vars);
    g_hash_table_unref (own);
    return FALSE;
  }
  if (!g_str_has_suffix (file, ".experiment")) {
    char *f = g_strconcat (file, ".experiment", NULL);
    g_free (file);
    file = f;
  }
  path = g_path_is_absolute (file) ? g_strdup (file) :
      g_build_filename (e->dir, file, NULL);
  sub_dir = g_path_get_dirname (path);
  sub_name = g_path_get_basename (path);
  sub_name[strlen (sub_name) - strlen (".experiment")] = '\0';

  sub_builtins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  copy_into (sub_builtins, builtins);
  g_hash_table_insert (sub_builtins, g_strdup ("EXPERIMENT"),
      g_strdup (sub_name));
  g_hash_table_insert (sub_builtins, g_strdup ("PIPELINES"),
      g_strdup (sub_dir));
  g_hash_table_insert (sub_builtins, g_strdup ("RESULTS"), output ? output :
      g_build_filename (g_hash_table_lookup (e->vars, "RESULTS"), name, NULL));
  /* the step's own variables, expanded here, are the included
   * experiment's command line */
  sub_overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      g_free);
  g_hash_table_iter_init (&it, own);
  while (ok && g_hash_table_iter_next (&it, &k, &v)) {
    char *what = g_strdup_printf ("%s: [%s] %s", e->path, group, (char *) k);
    char *value = runner_expand (v, vars, what, error);
    g_free (what);
    if (value == NULL)
      ok = FALSE;
    else
      g_hash_table_insert (sub_overrides, g_strdup (k), value);
  }
  sub = ok ? experiment_load (path, sub_builtins, sub_overrides, depth + 1,
      error) : NULL;
  if (sub != NULL) {
    for (i = 0; i < sub->steps->len; i++) {
      RunnerStep *st = g_ptr_array_index (sub->steps, i);
      char *n = g_strdup_printf ("%s/%s", name, st->name);
      g_free (st->name);
      st->name = n;
    }
    /* move the steps over */
    while (sub->steps->len > 0)
      g_ptr_array_add (e->steps, g_ptr_array_steal_index (sub->steps, 0));
    for (i = 0; i < sub->skipped->len; i++)
      g_ptr_array_add (e->skipped, g_strdup_printf ("%s/%s", name,
              (char *) g_ptr_array_index (sub->skipped, i)));
    runner_experiment_free (sub);
  } else {
    ok = FALSE;
  }
  g_hash_table_unref (sub_builtins);
  g_hash_table_unref (sub_overrides);
  g_hash_table_unref (vars);
  g_hash_table_unref (own);
  g_free (sub_name);
  g_free (sub_dir);
  g_free (path);
  g_free (file);
  return ok;
}

static RunnerStep *load_step (RunnerExperiment * e, GKeyFile * kf,
    const char *name, const char *step_group, GHashTable * parent_raw,
    GError ** error);

/* unless-set=VAR;VAR...: the step is left out when every one of the
 * variables was given a non-empty value on the command line (or by the
 * including step), e.g. a corpus generator when TRAIN and TEST are given */
static gboolean
unless_set (GKeyFile * kf, const char *group, GHashTable * raw,
    GHashTable * overrides, const char *where, gboolean * skip,
    char **why, GError ** error)
{
  gboolean ok = TRUE;
  char *text = get_expanded (kf, group, "unless-set", raw, where, &ok, error);
  char **names, **n;

  *skip = FALSE;
  if (text == NULL)
    return ok;
  *why = g_strdup (text);
  names = g_strsplit_set (text, ";, ", -1);
  for (n = names; *n; n++) {
    const char *value;
    if (**n == '\0')
      continue;
    value = overrides ? g_hash_table_lookup (overrides, *n) : NULL;
    if (value == NULL || *value == '\0') {
      *skip = FALSE;
      break;
    }
    *skip = TRUE;
  }
  g_strfreev (names);
  g_free (text);
  return TRUE;
}

/* foreach=VAR:N [VAR:N ...]: the included experiment once for every
 * combination of VAR = 0 ... N-1 (VAR:N@FIRST: FIRST ... FIRST+N-1; the
 * last varies fastest), as steps
 * NAME-v1-v2...; shard=true keeps the k-th combination only in shard
 * k mod SHARD_COUNT. Without foreach, one inclusion. */
static gboolean
load_steps (RunnerExperiment * e, GKeyFile * kf, const char *name,
    const char *group, GHashTable * raw, GHashTable * builtins, int depth,
    GError ** error)
{
  gboolean ok = TRUE;
  char *spec = get_expanded (kf, group, "foreach", raw, e->path, &ok, error);
  char *shard = get_expanded (kf, group, "shard", raw, e->path, &ok, error);
  char **parts = NULL;
  GPtrArray *vars;
  GArray *counts, *firsts;
  guint64 total = 1, k, shard_index = 0, shard_count = 1;
  guint i;

  if (!ok) {
    g_free (spec);
    return FALSE;
  }
  if (spec == NULL) {
    RunnerStep *step;
    g_free (shard);
    if (g_key_file_has_key (kf, group, "experiment", NULL))
      return include_experiment (e, kf, name, group, raw, NULL, builtins,
          depth, error);
    step = load_step (e, kf, name, group, raw, error);
    if (step == NULL)
      return FALSE;
    step->results = g_strdup (g_hash_table_lookup (e->vars, "RESULTS"));
    g_ptr_array_add (e->steps, step);
    return TRUE;
  }
  if (shard && strcmp (shard, "true") == 0) {
    g_ascii_string_to_unsigned (g_hash_table_lookup (raw, "SHARD_INDEX") ?
        g_hash_table_lookup (raw, "SHARD_INDEX") : "0", 10, 0, G_MAXUINT,
        &shard_index, NULL);
    g_ascii_string_to_unsigned (g_hash_table_lookup (raw, "SHARD_COUNT") ?
        g_hash_table_lookup (raw, "SHARD_COUNT") : "1", 10, 1, G_MAXUINT,
        &shard_count, NULL);
  } else if (shard && strcmp (shard, "false") != 0) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: [%s] shard: '%s' is not true or false", e->path, group, shard);
    g_free (spec);
    g_free (shard);
    return FALSE;
  }
  vars = g_ptr_array_new_with_free_func (g_free);
  counts = g_array_new (FALSE, FALSE, sizeof (guint64));
  firsts = g_array_new (FALSE, FALSE, sizeof (guint64));
  parts = g_strsplit_set (spec, " ;,", -1);
  for (i = 0; ok && parts[i]; i++) {
    char *colon = strchr (parts[i], ':'), *at;
    guint64 n, first = 0;
    if (*parts[i] == '\0')
      continue;
    if (colon != NULL)
      *colon = '\0';
    /* VAR:N@FIRST: FIRST ... FIRST+N-1 */
    at = colon ? strchr (colon + 1, '@') : NULL;
    if (at != NULL)
      *at = '\0';
    if (colon == NULL || !is_step_variable (parts[i])
        || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 10000, &n, NULL)
        || (at != NULL && !g_ascii_string_to_unsigned (at + 1, 10, 0,
                G_MAXUINT32, &first, NULL))) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
          "%s: [%s] foreach: want VAR:N or VAR:N@FIRST ... (N from 1 to "
          "10000, FIRST from 0), not '%s'", e->path, group, spec);
      ok = FALSE;
      break;
    }
    g_ptr_array_add (vars, g_strdup (parts[i]));
    g_array_append_val (counts, n);
    g_array_append_val (firsts, first);
    total *= n;
  }
  for (k = 0; ok && k < total && vars->len > 0; k++) {
    GHashTable *loop;
    GString *iteration;
    guint64 rest = k;
    int v;
    if (k % shard_count != shard_index)
      continue;
    loop = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    iteration = g_string_new (name);
    for (v = (int) vars->len - 1; v >= 0; v--) {
      guint64 n = g_array_index (counts, guint64, v);
      g_hash_table_insert (loop, g_strdup (vars->pdata[v]),
          g_strdup_printf ("%" G_GUINT64_FORMAT, rest % n +
              g_array_index (firsts, guint64, v)));
      rest /= n;
    }
    for (v = 0; v < (int) vars->len; v++)
      g_string_append_printf (iteration, "-%s", (char *)
          g_hash_table_lookup (loop, vars->pdata[v]));
    if (g_key_file_has_key (kf, group, "experiment", NULL)) {
      ok = include_experiment (e, kf, iteration->str, group, raw, loop,
          builtins, depth, error);
    } else {
      GHashTable *loop_raw = g_hash_table_new_full (g_str_hash, g_str_equal,
          g_free, g_free);
      RunnerStep *step;
      copy_into (loop_raw, raw);
      copy_into (loop_raw, loop);
      step = load_step (e, kf, iteration->str, group, loop_raw, error);
      g_hash_table_unref (loop_raw);
      if (step) {
        step->results = g_strdup (g_hash_table_lookup (e->vars, "RESULTS"));
        g_ptr_array_add (e->steps, step);
      }
      ok = step != NULL;
    }
    g_string_free (iteration, TRUE);
    g_hash_table_unref (loop);
  }
  g_strfreev (parts);
  g_ptr_array_free (vars, TRUE);
  g_array_free (counts, TRUE);
  g_array_free (firsts, TRUE);
  g_free (spec);
  g_free (shard);
  return ok;
}

static RunnerStep *
load_step (RunnerExperiment * e, GKeyFile * kf, const char *name,
    const char *step_group, GHashTable * parent_raw, GError ** error)
{
  static const char *const pipeline_keys[] = { "pipeline", "launch",
    "description", "show-items", "collect", "timeout", "messages",
    "unless-set", "foreach", "shard", NULL
  };
  char *group = g_strdup (step_group);
  RunnerStep *s = g_new0 (RunnerStep, 1);
  gboolean ok = TRUE;
  GHashTable *raw = NULL;
  char *text;

  s->name = g_strdup (name);
  if (!g_key_file_has_group (kf, group)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: step '%s' is listed in [experiment] steps but has no [%s] "
        "group", e->path, name, group);
    goto fail;
  }
  raw = step_variables (kf, group, parent_raw, e->path, NULL, error);
  if (raw == NULL)
    goto fail;
  s->description = get_expanded (kf, group, "description", raw, e->path, &ok,
      error);
  if (!ok)                      /* the error is set: report that one */
    goto fail;

  if (g_key_file_has_key (kf, group, "generate", NULL)) {
    const RunnerGenerator *gen;
    const RunnerParam *p;
    GPtrArray *allowed = g_ptr_array_new ();

    s->kind = RUNNER_STEP_GENERATE;
    s->generator = g_key_file_get_string (kf, group, "generate", NULL);
    if (s->generator == NULL)   /* a value GKeyFile cannot read */
      s->generator = g_strdup ("");
    gen = runner_find_generator (s->generator);
    if (gen == NULL) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
          "%s: [%s]: unknown generator '%s' (affect-run --list shows the "
          "built-in ones)", e->path, group, s->generator);
      g_ptr_array_free (allowed, TRUE);
      goto fail;
    }
    g_ptr_array_add (allowed, (gpointer) "generate");
    g_ptr_array_add (allowed, (gpointer) "description");
    g_ptr_array_add (allowed, (gpointer) "unless-set");
    g_ptr_array_add (allowed, (gpointer) "foreach");
    g_ptr_array_add (allowed, (gpointer) "shard");
    for (p = gen->params; p->name; p++)
      g_ptr_array_add (allowed, (gpointer) p->name);
    g_ptr_array_add (allowed, NULL);
    ok = ok && check_step_keys (kf, group,
        (const char *const *) allowed->pdata, e->path, error);
    g_ptr_array_free (allowed, TRUE);

    s->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    for (p = gen->params; ok && p->name; p++) {
      char *value = get_expanded (kf, group, p->name, raw, e->path, &ok,
          error);
      if (ok && value == NULL) {
        char *what;
        if (p->default_value == NULL) {
          g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
              "%s: [%s]: generator '%s' needs '%s' (%s)", e->path, group,
              gen->name, p->name, p->blurb);
          ok = FALSE;
          break;
        }
        what = g_strdup_printf ("%s: [%s] %s (default)", e->path, group,
            p->name);
        value = runner_expand (p->default_value, raw, what, error);
        g_free (what);
        ok = value != NULL;
      }
      if (ok)
        g_hash_table_insert (s->params, g_strdup (p->name), value);
    }
    if (ok && gen->check && !gen->check (s->params, error)) {
      g_prefix_error (error, "%s: [%s]: ", e->path, group);
      ok = FALSE;
    }
    if (!ok)
      goto fail;
    g_hash_table_unref (raw);
    g_free (group);
    return s;
  }

  s->kind = RUNNER_STEP_PIPELINE;
  if (!check_step_keys (kf, group, pipeline_keys, e->path, error))
    goto fail;
  if (g_key_file_has_key (kf, group, "pipeline", NULL)
      == g_key_file_has_key (kf, group, "launch", NULL)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: [%s] needs exactly one of 'pipeline' (a .pipeline file), "
        "'launch' (a gst-launch string) or 'generate' (a built-in "
        "generator)", e->path, group);
    goto fail;
  }
  if (g_key_file_has_key (kf, group, "pipeline", NULL)) {
    char *file = get_expanded (kf, group, "pipeline", raw, e->path, &ok,
        error);
    if (!ok)
      goto fail;
    if (!g_str_has_suffix (file, ".pipeline") && !g_path_is_absolute (file)) {
      char *f = g_strconcat (file, ".pipeline", NULL);
      g_free (file);
      file = f;
    }
    s->file = g_path_is_absolute (file) ? g_strdup (file) :
        g_build_filename (e->dir, file, NULL);
    g_free (file);
    text = read_pipeline_file (s->file, error);
    if (text == NULL)
      goto fail;
    s->launch = runner_expand (text, raw, s->file, error);
    g_free (text);
    if (s->launch == NULL)
      goto fail;
  } else {
    s->launch = get_expanded (kf, group, "launch", raw, e->path, &ok, error);
    if (!ok)
      goto fail;
  }
  s->show_items = get_expanded (kf, group, "show-items", raw, e->path, &ok,
      error);
  if (s->show_items && (strcmp (s->show_items, "false") == 0
          || *s->show_items == '\0'))
    g_clear_pointer (&s->show_items, g_free);
  s->messages = get_expanded (kf, group, "messages", raw, e->path, &ok, error);
  text = get_expanded (kf, group, "collect", raw, e->path, &ok, error);
  if (!ok)
    goto fail;
  s->collect = g_strsplit_set (text ? text : "affect-*", ";, ", -1);
  g_free (text);
  text = get_expanded (kf, group, "timeout", raw, e->path, &ok, error);
  if (!ok)
    goto fail;
  if (text) {
    char *end;
    s->timeout = g_ascii_strtod (text, &end);
    if (*end != '\0' || s->timeout < 0) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
          "%s: [%s] timeout: '%s' is not a number of seconds", e->path,
          group, text);
      g_free (text);
      goto fail;
    }
    g_free (text);
  }
  g_hash_table_unref (raw);
  g_free (group);
  return s;

fail:
  if (raw)
    g_hash_table_unref (raw);
  g_free (group);
  step_free (s);
  return NULL;
}


RunnerExperiment *
runner_experiment_load (const char *path, GHashTable * builtins,
    GHashTable * overrides, GError ** error)
{
  return experiment_load (path, builtins, overrides, 0, error);
}

static RunnerExperiment *
experiment_load (const char *path, GHashTable * builtins,
    GHashTable * overrides, int depth, GError ** error)
{
  static const char *const experiment_keys[] = { "description", "steps",
    NULL
  };
  RunnerExperiment *e;
  GKeyFile *kf = g_key_file_new ();
  GHashTable *raw;
  GHashTableIter it;
  gpointer k, v;
  GError *kf_error = NULL;
  char **steps = NULL, **var_keys, **s;
  char *base, *var_value;
  gboolean ok = TRUE;

  e = g_new0 (RunnerExperiment, 1);
  e->path = g_strdup (path);
  e->dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  e->name = g_str_has_suffix (base, ".experiment") ?
      g_strndup (base, strlen (base) - strlen (".experiment")) :
      g_strdup (base);
  g_free (base);
  e->steps = g_ptr_array_new_with_free_func (step_free);
  e->skipped = g_ptr_array_new_with_free_func (g_free);
  raw = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &kf_error)) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: %s", path, kf_error->message);
    g_error_free (kf_error);
    goto fail;
  }
  if (!g_key_file_has_group (kf, "experiment")) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: no [experiment] group", path);
    goto fail;
  }
  if (!check_keys (kf, "experiment", experiment_keys, path, error))
    goto fail;

  /* built-in < [variables] < command line */
  copy_into (raw, builtins);
  if (g_key_file_has_group (kf, "variables")) {
    var_keys = g_key_file_get_keys (kf, "variables", NULL, NULL);
    for (s = var_keys; *s; s++) {
      const char *q;
      for (q = *s; *q && is_name_char (*q, q == *s); q++);
      if (*q != '\0') {
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
            "%s: [variables]: '%s' is not a variable name", path, *s);
        g_strfreev (var_keys);
        goto fail;
      }
      var_value = g_key_file_get_string (kf, "variables", *s, &kf_error);
      if (var_value == NULL) {
        /* bytes that are not UTF-8 (an escape GKeyFile does not know
         * sets the error too, but keeps the text as written, as for every
         * other key) */
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
            "%s: [variables] %s: %s", path, *s, kf_error->message);
        g_clear_error (&kf_error);
        g_strfreev (var_keys);
        goto fail;
      }
      g_clear_error (&kf_error);
      g_hash_table_insert (raw, g_strdup (*s), var_value);
    }
    g_strfreev (var_keys);
  }
  copy_into (raw, overrides);

  /* every variable must expand, used or not: a typo is found before any
   * step runs */
  e->vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&it, raw);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    char *what = g_strdup_printf ("%s: variable %s", path, (char *) k);
    char *value = runner_expand (v, raw, what, error);
    g_free (what);
    if (value == NULL)
      goto fail;
    g_hash_table_insert (e->vars, g_strdup (k), value);
  }

  e->description = get_expanded (kf, "experiment", "description", raw, path,
      &ok, error);
  if (!ok)
    goto fail;
  steps = g_key_file_get_string_list (kf, "experiment", "steps", NULL, NULL);
  if (steps == NULL || steps[0] == NULL) {
    g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
        "%s: [experiment] steps lists no step", path);
    goto fail;
  }
  for (s = steps; *s; s++) {
    guint i;
    g_strstrip (*s);
    if (**s == '\0')
      continue;
    for (i = 0; i < e->steps->len; i++) {
      if (strcmp (((RunnerStep *) g_ptr_array_index (e->steps, i))->name,
              *s) == 0) {
        g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
            "%s: step '%s' is listed twice", path, *s);
        goto fail;
      }
    }
    {
      char *group = g_strdup_printf ("step %s", *s);
      gboolean skip = FALSE;
      char *why = NULL;
      if (!unless_set (kf, group, raw, overrides, path, &skip, &why, error)) {
        g_free (group);
        goto fail;
      }
      if (skip) {
        char **vars = g_strsplit_set (why, ";, ", -1), **v;
        GString *list = g_string_new (NULL);
        for (v = vars; *v; v++)
          if (**v)
            g_string_append_printf (list, "%s%s", list->len ? ", " : "", *v);
        g_strfreev (vars);
        g_ptr_array_add (e->skipped, g_strdup_printf ("%s (%s given)", *s,
                list->str));
        g_string_free (list, TRUE);
        g_free (why);
        g_free (group);
        continue;
      }
      g_free (why);
      ok = load_steps (e, kf, *s, group, raw, builtins, depth, error);
      g_free (group);
      if (!ok)
        goto fail;
    }
  }
  g_strfreev (steps);
  g_hash_table_unref (raw);
  g_key_file_free (kf);
  return e;

fail:
  g_strfreev (steps);
  g_hash_table_unref (raw);
  g_key_file_free (kf);
  runner_experiment_free (e);
  return NULL;
}
