/* affect-run: the state of a run and the jobs of the runner's files.
 *
 *   affect-run.c   main: the order of the jobs below
 *   options.c      command line, built-in variables, the plugin in the
 *                  build tree
 *   find.c         experiment lookup, --list, --dry-run
 *   experiment.c   experiment files: parsing, ${VARIABLES} (runner.h)
 *   steps.c        running the steps: pipelines, generators, item probes
 *   bus.c          the bus of a pipeline step and the stall watchdog
 *   progress.c     progress, item and epoch lines
 *   results.c      GValue -> JSON, results.json
 *   report.c       tables and figures (report.h), generate-report.c
 *   merge.c        affect-run merge (merge.h)
 *   live.c, live-http.c   affect-run live (live.h)
 *   generate-crossval.c   the folds and crossval steps (cross-validation)
 *   generate-*.c   the other built-in steps (runner.h)
 *
 * docs/runner.md documents the command line, the experiment files and the
 * results.
 */
#ifndef AFFECT_RUN_H
#define AFFECT_RUN_H

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "runner.h"

G_BEGIN_DECLS

#define EXIT_STEP_FAILED 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130
#define DEFAULT_STALL_TIMEOUT 300.0

typedef struct _StallWatch StallWatch;

typedef struct
{
  /* options */
  char *output;
  char *shard;
  gboolean list, dry_run, quiet;
  guint shard_index, shard_count;
  double stall_timeout;         /* seconds, 0 = never */

  /* while a pipeline step runs */
  GMainLoop *loop;
  GstElement *pipeline;
  RunnerStep *step;
  guint step_number, n_steps;
  JsonArray *messages, *items, *warnings;
  JsonObject *error;
  gboolean interrupted, timed_out;
  StallWatch *stall;            /* while a pipeline step runs */
  gint64 step_start;
  /* progress */
  gboolean tty, progress_shown, line_open;
  guint done, total, skipped;
  char *last_id;
  gint64 last_plain;
  gint64 last_epoch_line;       /* last affect-train-epoch line printed */
} Runner;

/* ---- options.c ---- */

/* From the build tree, point GStreamer at the plugin built beside this
 * program unless the user chose a plugin path. */
void runner_find_plugin_in_build_tree (void);
/* Parses the options (GStreamer's among them) into r and leaves the
 * positional arguments in argv; -1 to go on, else the exit status. */
int runner_options_parse (Runner * r, int *argc, char ***argv);
void runner_options_clear (Runner * r);
void runner_usage_error (const char *message);
/* The experiment's file (argv[1]), the results folder, and the built-in
 * and command-line variables (argv[2...]); -1 to go on, else the exit
 * status (the message printed). */
int runner_options_experiment (Runner * r, int argc, char **argv,
    char **path, char **results_dir, GHashTable ** builtins,
    GHashTable ** overrides);

/* ---- find.c ---- */

/* NAME -> PIPELINES/NAME.experiment; a path stays as it is */
char *runner_find_experiment (const char *arg);
int runner_list_experiments (void);
void runner_print_dry_run (RunnerExperiment * e);

/* ---- steps.c ---- */

/* runs the steps of e in order into the steps array; the exit status */
int runner_run_steps (Runner * r, RunnerExperiment * e, JsonArray * steps,
    JsonObject * root);

/* ---- bus.c ---- */

gboolean runner_on_bus_message (GstBus * bus, GstMessage * msg,
    gpointer user_data);
/* the 250 ms tick that redraws the progress line */
gboolean runner_on_tick (gpointer user_data);
void runner_stall_watch_start (Runner * r);
/* after the pipeline went to NULL; sets r->error when the step stalled */
void runner_stall_watch_stop (Runner * r);

/* ---- progress.c ---- */

void runner_clear_line (Runner * r);
void runner_print_progress (Runner * r, gboolean final);
/* above the progress line, which is then redrawn */
void runner_print_line (Runner * r, const char *text);
void runner_print_item (Runner * r, const GstStructure * s);
void runner_print_dataset_done (Runner * r, const char *src,
    const GstStructure * s);
void runner_print_epoch (Runner * r, const char *src, const GstStructure * s);
/* "done in 12:40: results in ..." and the report's tables */
void runner_print_summary (Runner * r, int status, gint64 run_start,
    const char *results_path);

/* ---- results.c ---- */

JsonNode *runner_value_to_json (const GValue * v);
JsonObject *runner_structure_to_json (const GstStructure * s);
JsonObject *runner_error_object (const char *step, const char *source,
    const char *message, const char *debug);
/* the head of results.json: experiment, versions, shard, variables */
JsonObject *runner_results_new (Runner * r, RunnerExperiment * e);
/* a step's collected messages (messages= key), written atomically */
gboolean runner_write_messages (const char *path, JsonArray * messages,
    GError ** error);
/* "finished" and "status", written atomically */
gboolean runner_results_write (const char *path, JsonObject * root,
    int status, GError ** error);

G_END_DECLS
#endif /* AFFECT_RUN_H */
