/* libFuzzer target: any text given to affect-run's experiment loader, as an
 * experiment file beside the project's own experiments and pipeline files
 * (which it may include), either loads (and then every step is complete) or
 * fails with a RUNNER_ERROR.  The files live in a private temporary folder;
 * inputs naming /dev, /proc or /sys are skipped (reading a device such as
 * /dev/zero as an experiment never ends, which is not the loader's fault). */
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "runner.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static char *dir, *file;
static GHashTable *builtins;

static void
cleanup (void)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  const char *src = g_getenv ("AFFECT_SOURCE_DIR");
  char *pipelines;
  GDir *d;
  const char *name;

  /* a GLib warning (e.g. a GError set twice) is a finding too */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  dir = g_dir_make_tmp ("fuzz-experiment-XXXXXX", NULL);
  g_assert (dir != NULL);
  atexit (cleanup);
  /* the project's experiments and pipelines, for includes and file= */
  pipelines = g_build_filename (src ? src : AFFECT_SOURCE_DIR, "pipelines",
      NULL);
  d = g_dir_open (pipelines, 0, NULL);
  while (d && (name = g_dir_read_name (d))) {
    if (g_str_has_suffix (name, ".experiment")
        || g_str_has_suffix (name, ".pipeline")) {
      char *from = g_build_filename (pipelines, name, NULL);
      char *to = g_build_filename (dir, name, NULL);
      g_assert (symlink (from, to) == 0);
      g_free (from);
      g_free (to);
    }
  }
  if (d)
    g_dir_close (d);
  g_free (pipelines);
  file = g_build_filename (dir, "fuzz.experiment", NULL);
  builtins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (builtins, g_strdup ("PIPELINES"), g_strdup (dir));
  g_hash_table_insert (builtins, g_strdup ("EXPERIMENT"), g_strdup ("fuzz"));
  g_hash_table_insert (builtins, g_strdup ("RESULTS"),
      g_build_filename (dir, "results", NULL));
  g_hash_table_insert (builtins, g_strdup ("SOURCE_DIR"), g_strdup (dir));
  g_hash_table_insert (builtins, g_strdup ("CACHE"),
      g_build_filename (dir, "cache", NULL));
  g_hash_table_insert (builtins, g_strdup ("SHARD"), g_strdup ("0/1"));
  g_hash_table_insert (builtins, g_strdup ("SHARD_INDEX"), g_strdup ("0"));
  g_hash_table_insert (builtins, g_strdup ("SHARD_COUNT"), g_strdup ("1"));
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GHashTable *overrides;
  RunnerExperiment *e;
  GError *error = NULL;
  guint i;

  if (g_strstr_len ((const char *) data, size, "/dev")
      || g_strstr_len ((const char *) data, size, "/proc")
      || g_strstr_len ((const char *) data, size, "/sys"))
    return 0;
  g_assert (g_file_set_contents (file, (const char *) data, size, NULL));
  overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (overrides, g_strdup ("SEED"), g_strdup ("3"));
  e = runner_experiment_load (file, builtins, overrides, &error);
  if (e == NULL) {
    g_assert (error != NULL && error->domain == RUNNER_ERROR);
    g_error_free (error);
  } else {
    g_assert (e->name != NULL && e->steps != NULL);
    for (i = 0; i < e->steps->len; i++) {
      RunnerStep *s = g_ptr_array_index (e->steps, i);
      g_assert (s->name != NULL && s->results != NULL);
      if (s->kind == RUNNER_STEP_PIPELINE)
        g_assert (s->launch != NULL);
      else
        g_assert (runner_find_generator (s->generator) != NULL);
    }
    runner_experiment_free (e);
  }
  g_hash_table_unref (overrides);
  return 0;
}
