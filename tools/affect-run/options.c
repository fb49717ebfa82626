/* affect-run: the command line.
 *
 *   affect-run [OPTION...] EXPERIMENT [VAR=value ...]
 *
 * The options (with GStreamer's), --shard i/N, the VAR=value arguments and
 * the built-in variables (docs/runner.md: options, built-in variables). A
 * bad command line is exit 2 before anything runs. */
#include <string.h>

#include "run.h"

/* From the build tree the plugin sits in BUILD/plugins, two folders above
 * this program's (BUILD/tools/affect-run); point GStreamer at it unless the
 * user chose a plugin path. */
void
runner_find_plugin_in_build_tree (void)
{
  const char *env = g_getenv ("GST_PLUGIN_PATH");
  char *exe, *dir, *plugins, *lib;

  if (env != NULL && *env != '\0')
    return;
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe == NULL)
    return;
  dir = g_path_get_dirname (exe);
  plugins = g_build_filename (dir, "..", "..", "plugins", NULL);
  lib = g_build_filename (plugins, "libgstaffect.so", NULL);
  if (g_file_test (lib, G_FILE_TEST_EXISTS))
    g_setenv ("GST_PLUGIN_PATH", plugins, TRUE);
  g_free (lib);
  g_free (plugins);
  g_free (dir);
  g_free (exe);
}

void
runner_usage_error (const char *message)
{
  g_printerr ("affect-run: %s\n(affect-run --help for usage)\n", message);
}

void
runner_options_clear (Runner * r)
{
  g_clear_pointer (&r->output, g_free);
  g_clear_pointer (&r->shard, g_free);
}

static gboolean
parse_shard (Runner * r)
{
  guint64 a, b;
  char **parts;
  gboolean ok;

  r->shard_index = 0;
  r->shard_count = 1;
  if (r->shard == NULL)
    return TRUE;
  parts = g_strsplit (r->shard, "/", 2);
  ok = g_strv_length (parts) == 2
      && g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXUINT, &a, NULL)
      && g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXUINT, &b, NULL)
      && a < b;
  g_strfreev (parts);
  if (ok) {
    r->shard_index = a;
    r->shard_count = b;
  }
  return ok;
}

int
runner_options_parse (Runner * r, int *argc, char ***argv)
{
  GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &r->output,
        "Folder for results.json (default: results/EXPERIMENT); also the "
          "variable RESULTS", "DIR"},
    {"shard", 's', 0, G_OPTION_ARG_STRING, &r->shard,
          "Run shard i of N (0 <= i < N), passed to pipelines as ${SHARD}",
        "i/N"},
    {"list", 'l', 0, G_OPTION_ARG_NONE, &r->list,
        "List the experiments and built-in generators, then exit", NULL},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &r->dry_run,
          "Print the variables and the expanded steps without running them",
        NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &r->quiet,
          "No progress or item lines (warnings and errors are still printed)",
        NULL},
    {"stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &r->stall_timeout,
        "Fail a pipeline step that makes no progress (no buffer at a sink, "
          "no bus message, no CPU work) for SECONDS, naming what waits "
          "(default 300; 0 = never)", "SECONDS"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("EXPERIMENT [VAR=value ...]");
  GError *error = NULL;
  const char *problem = NULL;
  gboolean ok;

  g_option_context_set_summary (ctx,
      "Runs a gst-affect experiment: its steps (corpus generators and "
      "gst-launch pipelines) in order,\nwith a progress line, and collects "
      "every affect-* bus message into RESULTS/results.json.\n\n"
      "EXPERIMENT is a name (looked up as pipelines/NAME.experiment) or a "
      "path.\nVAR=value sets ${VAR} in the experiment's pipelines, over its "
      "[variables] defaults.\n\naffect-run merge DIR joins a sharded run; "
      "affect-run live ... runs a live feed (docs/live.md).");
  g_option_context_set_description (ctx,
      "Built-in variables: SOURCE_DIR, PIPELINES (the experiment's folder), "
      "EXPERIMENT,\nRESULTS, CACHE (generated corpora; default "
      "$XDG_CACHE_HOME/gst-affect), SHARD (i/N),\nSHARD_INDEX, SHARD_COUNT.\n"
      "Exit status: 0 success, 1 a step failed, 2 bad usage or experiment, "
      "130 interrupted.\nSee docs/runner.md.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  ok = g_option_context_parse (ctx, argc, argv, &error);
  g_option_context_free (ctx);
  if (!ok)
    problem = error->message;
  else if (!(r->stall_timeout >= 0.0 && r->stall_timeout <= 1e6))
    problem = "--stall-timeout wants seconds in [0, 1000000]";
  else if (!parse_shard (r))
    problem = "--shard wants i/N with 0 <= i < N, e.g. 0/4";
  else if (*argc < 2 && !r->list)
    problem = "no experiment given";
  else if (*argc >= 2 && strcmp ((*argv)[1], "merge") == 0 && *argc != 3)
    problem = "merge wants one folder: affect-run merge DIR";
  if (problem) {
    runner_usage_error (problem);
    g_clear_error (&error);
    runner_options_clear (r);
    return EXIT_USAGE;
  }
  return -1;
}

/* VAR=value arguments; the shard's variables belong to --shard */
static GHashTable *
parse_overrides (int argc, char **argv)
{
  const char *const shard_vars[] = { "SHARD", "SHARD_INDEX", "SHARD_COUNT",
    NULL
  };
  GHashTable *overrides = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, g_free);
  int i;

  for (i = 2; i < argc; i++) {
    const char *eq = strchr (argv[i], '=');
    char *name, *m = NULL;
    if (eq == NULL || eq == argv[i])
      m = g_strdup_printf ("'%s' is not VAR=value", argv[i]);
    name = m ? NULL : g_strndup (argv[i], eq - argv[i]);
    if (name && g_strv_contains (shard_vars, name))
      m = g_strdup_printf ("%s is set by --shard i/N", name);
    if (m) {
      runner_usage_error (m);
      g_free (m);
      g_free (name);
      g_hash_table_unref (overrides);
      return NULL;
    }
    g_hash_table_insert (overrides, name, g_strdup (eq + 1));
  }
  return overrides;
}

#define SET(table, name, value) \
  g_hash_table_insert (table, g_strdup (name), value)

int
runner_options_experiment (Runner * r, int argc, char **argv, char **path,
    char **results_dir, GHashTable ** builtins, GHashTable ** overrides)
{
  char *cwd, *dir, *base, *name;

  *path = runner_find_experiment (argv[1]);
  if (!g_file_test (*path, G_FILE_TEST_IS_REGULAR)) {
    char *m = g_strdup_printf ("no experiment '%s' (looked for %s; "
        "affect-run --list shows them)", argv[1], *path);
    runner_usage_error (m);
    g_free (m);
    return EXIT_USAGE;
  }
  *overrides = parse_overrides (argc, argv);
  if (*overrides == NULL)
    return EXIT_USAGE;

  *builtins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cwd = g_get_current_dir ();
  dir = g_path_get_dirname (*path);
  base = g_path_get_basename (*path);
  name = g_str_has_suffix (base, ".experiment") ?
      g_strndup (base, strlen (base) - strlen (".experiment")) :
      g_strdup (base);
  SET (*builtins, "PIPELINES", g_path_is_absolute (dir) ? g_strdup (dir) :
      g_build_filename (cwd, dir, NULL));
  SET (*builtins, "EXPERIMENT", g_strdup (name));
  if (r->output)
    *results_dir = g_path_is_absolute (r->output) ? g_strdup (r->output) :
        g_build_filename (cwd, r->output, NULL);
  else if (g_hash_table_contains (*overrides, "RESULTS"))
    *results_dir = g_strdup (g_hash_table_lookup (*overrides, "RESULTS"));
  else
    *results_dir = g_build_filename (cwd, "results", name, NULL);
  SET (*builtins, "RESULTS", g_strdup (*results_dir));
  g_hash_table_remove (*overrides, "RESULTS");
  SET (*builtins, "SOURCE_DIR", g_strdup (AFFECT_SOURCE_DIR));
  SET (*builtins, "CACHE", g_getenv ("AFFECT_CACHE_DIR") ?
      g_strdup (g_getenv ("AFFECT_CACHE_DIR")) :
      g_build_filename (g_get_user_cache_dir (), "gst-affect", NULL));
  /* audioresample's own default; affectsrc resamples each item with it */
  SET (*builtins, "RESAMPLE_QUALITY", g_strdup ("4"));
  SET (*builtins, "SHARD", g_strdup_printf ("%u/%u", r->shard_index,
          r->shard_count));
  SET (*builtins, "SHARD_INDEX", g_strdup_printf ("%u", r->shard_index));
  SET (*builtins, "SHARD_COUNT", g_strdup_printf ("%u", r->shard_count));
  g_free (dir);
  g_free (base);
  g_free (name);
  g_free (cwd);
  return -1;
}
