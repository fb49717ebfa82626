/* affect-run: runs a gst-affect experiment.
 *
 *   affect-run [OPTION...] EXPERIMENT [VAR=value ...]
 *   affect-run merge DIR
 *   affect-run live VAR=value ...
 *
 * An experiment (pipelines/NAME.experiment, a GLib key-file) lists steps in
 * order: gst-launch pipelines (pipelines/NAME.pipeline, with ${VARIABLES})
 * and built-in steps such as corpus generators. The first failing step
 * stops the run; everything the pipelines reported goes into
 * RESULTS/results.json. run.h says which file does which job;
 * docs/runner.md has the full description.
 *
 * Exit status: 0 success, 1 a step failed, 2 bad command line or
 * experiment, 130 interrupted.
 */
#include <errno.h>
#include <malloc.h>
#include <string.h>

#include "affect/affect.h"
#include "live.h"
#include "merge.h"
#include "run.h"

int
main (int argc, char **argv)
{
  Runner r = {.stall_timeout = DEFAULT_STALL_TIMEOUT };
  GError *error = NULL;
  GHashTable *builtins = NULL, *overrides = NULL;
  RunnerExperiment *e = NULL;
  JsonObject *root = NULL;
  JsonArray *steps;
  char *path = NULL, *results_path = NULL, *results_dir = NULL;
  int status;
  gint64 run_start = g_get_monotonic_time ();

  /* Training allocates and frees buffers of megabytes in every step; by
   * default glibc maps and unmaps each of them and trims the heap after
   * every free, so a third of a training run went to page faults in the
   * kernel. The runner is a batch process: it keeps freed memory for the
   * next step instead (docs/benchmarks.md, "Heap"). An environment
   * variable (MALLOC_TRIM_THRESHOLD_, ...) still overrides these. */
  if (g_getenv ("MALLOC_TRIM_THRESHOLD_") == NULL
      && g_getenv ("MALLOC_MMAP_THRESHOLD_") == NULL) {
    mallopt (M_MMAP_THRESHOLD, 32 << 20);
    mallopt (M_TRIM_THRESHOLD, 1 << 30);
    mallopt (M_TOP_PAD, 64 << 20);
  }
  runner_find_plugin_in_build_tree ();
  /* the live service parses its own options (live.c) */
  if (argc >= 2 && strcmp (argv[1], "live") == 0)
    return runner_live_main (argc, argv);
  if ((status = runner_options_parse (&r, &argc, &argv)) >= 0)
    return status;
  gst_init (NULL, NULL);
  affect_init ();
  if (r.list)
    status = runner_list_experiments ();
  else if (strcmp (argv[1], "merge") == 0)
    status = runner_merge (argv[2], r.quiet) == 0 ? 0 : EXIT_STEP_FAILED;
  else if ((status = runner_options_experiment (&r, argc, argv, &path,
              &results_dir, &builtins, &overrides)) < 0) {
    e = runner_experiment_load (path, builtins, overrides, &error);
    status = 0;
  }
  if (e == NULL && error != NULL) {
    g_printerr ("affect-run: %s\n", error->message);
    g_error_free (error);
    status = EXIT_USAGE;
  }
  if (e == NULL || r.dry_run) {
    if (e)
      runner_print_dry_run (e);
    goto out;
  }
  if (g_mkdir_with_parents (results_dir, 0755) != 0) {
    g_printerr ("affect-run: cannot create %s: %s\n", results_dir,
        g_strerror (errno));
    status = EXIT_STEP_FAILED;
    goto out;
  }
  results_path = r.shard_count > 1 ?
      g_strdup_printf ("%s/results-%u-of-%u.json", results_dir,
      r.shard_index, r.shard_count) :
      g_build_filename (results_dir, "results.json", NULL);

  root = runner_results_new (&r, e);
  steps = json_array_new ();
  json_object_set_array_member (root, "steps", steps);
  status = runner_run_steps (&r, e, steps, root);
  if (!runner_results_write (results_path, root, status, &error)) {
    g_printerr ("affect-run: %s\n", error->message);
    g_error_free (error);
    if (status == 0)
      status = EXIT_STEP_FAILED;
  } else if (!r.quiet || status != 0) {
    runner_print_summary (&r, status, run_start, results_path);
  }

out:
  g_clear_pointer (&builtins, g_hash_table_unref);
  g_clear_pointer (&overrides, g_hash_table_unref);
  g_clear_pointer (&root, json_object_unref);
  g_free (r.last_id);
  runner_experiment_free (e);
  g_free (path);
  g_free (results_path);
  g_free (results_dir);
  runner_options_clear (&r);
  return status;
}
