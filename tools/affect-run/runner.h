/* affect-run internals: experiments, variables, built-in generators.
 *
 * docs/runner.md documents the experiment key-file schema.
 */
#ifndef AFFECT_RUNNER_H
#define AFFECT_RUNNER_H

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define RUNNER_ERROR (runner_error_quark ())
GQuark runner_error_quark (void);

typedef enum
{
  RUNNER_ERROR_EXPERIMENT,      /* the experiment or a pipeline file is wrong */
  RUNNER_ERROR_VARIABLE,        /* unknown variable, cycle, bad VAR=value */
  RUNNER_ERROR_STEP             /* a step failed while running */
} RunnerError;

typedef enum
{
  RUNNER_STEP_PIPELINE,
  RUNNER_STEP_GENERATE
} RunnerStepKind;

typedef struct
{
  char *name;
  RunnerStepKind kind;
  char *description;            /* or NULL */
  /* pipeline steps */
  char *file;                   /* the .pipeline file, or NULL for launch= */
  char *launch;                 /* gst-launch text, variables expanded */
  char *show_items;             /* NULL, "true" (every sink) or an element name */
  char **collect;               /* message-name patterns to record */
  double timeout;               /* seconds; 0 = none */
  char *messages;               /* the collected messages go here, or NULL */
  /* generate steps */
  char *generator;
  GHashTable *params;           /* key -> expanded value, defaults applied */
  /* the RESULTS folder of the experiment the step comes from (created
   * before the step runs) */
  char *results;
} RunnerStep;

typedef struct
{
  char *name;                   /* file name without .experiment */
  char *path;
  char *dir;                    /* where its pipeline files are */
  char *description;
  GHashTable *vars;             /* name -> expanded value */
  GPtrArray *steps;             /* RunnerStep* in order */
  /* steps left out by unless-set: "NAME (VAR VAR given)", in order,
   * NAME/STEP for those of included experiments */
  GPtrArray *skipped;
} RunnerExperiment;

/* vars: the built-in variables; overrides: VAR=value from the command line
 * (both name -> raw value). Precedence: built-in < [variables] < overrides. */
RunnerExperiment *runner_experiment_load (const char *path,
    GHashTable * builtins, GHashTable * overrides, GError ** error);
void runner_experiment_free (RunnerExperiment * experiment);

/* ${NAME} -> value (values may refer to other variables), $$ -> $;
 * where names the text in error messages */
char *runner_expand (const char *text, GHashTable * raw_vars,
    const char *where, GError ** error);

/* A built-in step that is not a pipeline (e.g. a corpus generator). */
typedef struct
{
  const char *name;
  const char *default_value;    /* may use ${VARS}; NULL = required */
  const char *blurb;
} RunnerParam;

/* called by a generator after each item it makes */
typedef void (*RunnerProgressFunc) (guint done, guint total, const char *what,
    gpointer user_data);

typedef struct
{
  const char *name;
  const char *description;
  const RunnerParam *params;    /* terminated by a { NULL } entry */
  /* params: every parameter, expanded, defaults applied; report: an
   * object to fill with what was made ("output", "items", "cached", ...) */
  gboolean (*run) (GHashTable * params, JsonObject * report,
      RunnerProgressFunc progress, gpointer user_data, GError ** error);
  /* checks the parameters' values when the experiment is loaded, so a bad
   * value fails before any step runs */
  gboolean (*check) (GHashTable * params, GError ** error);
} RunnerGenerator;

const RunnerGenerator *runner_find_generator (const char *name);
const RunnerGenerator *const *runner_generators (void);

/* parameter values, checked against a range; errors name the generator */
gboolean runner_param_int (GHashTable * params, const char *generator,
    const char *name, gint64 min, gint64 max, gint64 * value,
    GError ** error);
gboolean runner_param_double (GHashTable * params, const char *generator,
    const char *name, double min, double max, double *value,
    GError ** error);

/* generators */
extern const RunnerGenerator runner_generator_tones;
extern const RunnerGenerator runner_generator_music;
extern const RunnerGenerator runner_generator_baseline;
extern const RunnerGenerator runner_generator_speech;
extern const RunnerGenerator runner_generator_augment;
extern const RunnerGenerator runner_generator_report;
extern const RunnerGenerator runner_generator_folds;
extern const RunnerGenerator runner_generator_crossval;
extern const RunnerGenerator runner_generator_features;

/* the tables of the last report step (NULL if none ran) and its report.md */
const char *runner_report_tables (const char **markdown);
/* a step's tables to print at the end of the run (takes tables) */
void runner_report_set_tables (gchar * tables, const char *markdown);

/* Scores the runs of a cross-validation in dir (generate-crossval.c):
 * 1 crossval.json and crossval.md written (tables: the Markdown, markdown:
 * its path), 0 not every run is there yet (tables says how many), -1
 * error. */
int runner_crossval_summarise (const char *dir, gchar ** tables,
    char **markdown, GError ** error);

G_END_DECLS
#endif /* AFFECT_RUNNER_H */
