/* affect-run: where experiments are. A name is looked up as NAME.experiment
 * in the pipelines folder ($AFFECT_PIPELINES_DIR, else the source tree's
 * pipelines/, else the installed share/gst-affect/pipelines/); --list shows
 * them with the built-in generators, --dry-run an experiment expanded. */
#include <string.h>

#include "run.h"

static char *
pipelines_dir (void)
{
  const char *env = g_getenv ("AFFECT_PIPELINES_DIR");

  if (env && *env)
    return g_strdup (env);
  if (g_file_test (AFFECT_SOURCE_PIPELINES_DIR, G_FILE_TEST_IS_DIR))
    return g_strdup (AFFECT_SOURCE_PIPELINES_DIR);
  return g_strdup (AFFECT_INSTALLED_PIPELINES_DIR);
}

char *
runner_find_experiment (const char *arg)
{
  char *dir, *path;

  if (strchr (arg, '/') || g_str_has_suffix (arg, ".experiment"))
    return g_strdup (arg);
  dir = pipelines_dir ();
  path = g_strdup_printf ("%s/%s.experiment", dir, arg);
  g_free (dir);
  return path;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
runner_list_experiments (void)
{
  char *dir = pipelines_dir ();
  GDir *d = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  const RunnerGenerator *const *gen;
  guint i;

  g_print ("Experiments in %s:\n", dir);
  while (d && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".experiment"))
      g_ptr_array_add (names, g_strdup (name));
  if (d)
    g_dir_close (d);
  g_ptr_array_sort (names, compare_names);
  for (i = 0; i < names->len; i++) {
    char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
    GKeyFile *kf = g_key_file_new ();
    char *desc = NULL;
    char *short_name = g_strndup (g_ptr_array_index (names, i),
        strlen (g_ptr_array_index (names, i)) - strlen (".experiment"));
    if (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
      desc = g_key_file_get_string (kf, "experiment", "description", NULL);
    g_print ("  %-20s %s\n", short_name, desc ? desc : "");
    g_free (short_name);
    g_free (desc);
    g_key_file_free (kf);
    g_free (path);
  }
  g_print ("\nBuilt-in generators (steps with generate=NAME):\n");
  for (gen = runner_generators (); *gen; gen++) {
    const RunnerParam *p;
    g_print ("  %-20s %s\n", (*gen)->name, (*gen)->description);
    for (p = (*gen)->params; p->name; p++)
      g_print ("      %-12s %s (default: %s)\n", p->name, p->blurb,
          p->default_value ? p->default_value : "required");
  }
  g_ptr_array_free (names, TRUE);
  g_free (dir);
  return 0;
}

void
runner_print_dry_run (RunnerExperiment * e)
{
  GList *keys = g_hash_table_get_keys (e->vars), *l;
  guint i;

  g_print ("experiment %s (%s)\n", e->name, e->path);
  keys = g_list_sort (keys, (GCompareFunc) g_strcmp0);
  for (l = keys; l; l = l->next)
    g_print ("  %s=%s\n", (char *) l->data,
        (char *) g_hash_table_lookup (e->vars, l->data));
  g_list_free (keys);
  for (i = 0; i < e->steps->len; i++) {
    RunnerStep *s = g_ptr_array_index (e->steps, i);
    if (s->kind == RUNNER_STEP_PIPELINE) {
      g_print ("step %u %s: gst-launch-1.0 %s\n", i + 1, s->name, s->launch);
    } else {
      const RunnerParam *p = runner_find_generator (s->generator)->params;
      g_print ("step %u %s: generate=%s", i + 1, s->name, s->generator);
      for (; p->name; p++)
        g_print (" %s=%s", p->name,
            (char *) g_hash_table_lookup (s->params, p->name));
      g_print ("\n");
    }
  }
  for (i = 0; i < e->skipped->len; i++)
    g_print ("skipped %s\n", (char *) g_ptr_array_index (e->skipped, i));
}
