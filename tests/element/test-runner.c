/* affect-run: experiments run end to end, results.json holds what the bus
 * said, failures stop with the bus error and a non-zero exit, the tones
 * generator is deterministic and its labels are audible */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static char *runner;
static char *tmp_dir;

typedef struct
{
  int status;
  char *out, *err;
} Run;

static void
run_clear (Run * r)
{
  g_free (r->out);
  g_free (r->err);
}

/* runs affect-run with the arguments (NULL-terminated) */
static Run
run (const char *first, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  va_list ap;
  const char *a;
  Run r = { 0 };
  GError *error = NULL;
  int wait_status;

  g_ptr_array_add (argv, (gpointer) runner);
  va_start (ap, first);
  for (a = first; a; a = va_arg (ap, const char *))
      g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (tmp_dir, (char **) argv->pdata, NULL,
          G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &wait_status, &error));
  g_assert_no_error (error);
  g_ptr_array_free (argv, TRUE);
  g_assert_true (WIFEXITED (wait_status));
  r.status = WEXITSTATUS (wait_status);
  g_test_message ("affect-run exit %d\nstdout:\n%sstderr:\n%s", r.status,
      r.out, r.err);
  return r;
}

static char *
write_file (const char *name, const char *text)
{
  char *path = g_build_filename (tmp_dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static JsonNode *
load_json (const char *path)
{
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  JsonNode *root;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  root = json_node_copy (json_parser_get_root (parser));
  g_object_unref (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return root;
}

static double
mean_rms (JsonArray * messages)
{
  guint i, n = 0;
  double sum = 0;

  for (i = 0; i < json_array_get_length (messages); i++) {
    JsonObject *m = json_array_get_object_element (messages, i);
    JsonObject *f = json_object_get_object_member (m, "fields");
    JsonNode *rms = json_array_get_element (json_object_get_array_member (f,
            "rms"), 0);
    g_assert_cmpstr (json_object_get_string_member (m, "name"), ==, "level");
    if (JSON_NODE_HOLDS_NULL (rms))
      continue;
    sum += json_node_get_double (rms);
    n++;
  }
  g_assert_cmpuint (n, >, 0);
  return sum / n;
}

static const char *two_steps =
    "# two pipelines, one from a file, one inline\n"
    "[experiment]\n"
    "description=two pipelines\n"
    "steps=tone;copy\n"
    "[variables]\n"
    "N=3\n"
    "VOLUME=0.5\n"
    "NAME=copy-${N}\n"
    "LITERAL=$$5 $x ${N}\n"
    "[step tone]\n"
    "pipeline=tone\n"
    "collect=level\n"
    "[step copy]\n"
    "launch=audiotestsrc num-buffers=2 ! identity name=${NAME} ! fakesink\n";

static const char *tone_pipeline =
    "# a 0.5-amplitude sine, one level message per 100 ms buffer\n"
    "audiotestsrc num-buffers=${N} samplesperbuffer=4410 volume=${VOLUME} !\n"
    "  audio/x-raw,rate=44100,channels=1 !\n"
    "  level interval=100000000 ! fakesink\n";

static void
test_two_pipelines (void)
{
  char *exp = write_file ("two.experiment", two_steps);
  char *pipe = write_file ("tone.pipeline", tone_pipeline);
  char *out = g_build_filename (tmp_dir, "out-two", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  Run r = run (exp, "--output", out, "N=5", NULL);
  JsonNode *root;
  JsonObject *o, *step, *vars;
  JsonArray *steps, *messages;
  guint i, n_full;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "[1/2 tone]"));
  g_assert_nonnull (strstr (r.out, "[2/2 copy]"));
  root = load_json (results);
  o = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (o, "experiment"), ==, "two");
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "ok");
  g_assert_cmpstr (json_object_get_string_member (o, "description"), ==,
      "two pipelines");
  g_assert_false (json_object_has_member (o, "error"));
  vars = json_object_get_object_member (o, "variables");
  /* command line over [variables]; variables refer to variables */
  g_assert_cmpstr (json_object_get_string_member (vars, "N"), ==, "5");
  g_assert_cmpstr (json_object_get_string_member (vars, "NAME"), ==, "copy-5");
  /* $$ is a literal $, a $ without { stays as it is */
  g_assert_cmpstr (json_object_get_string_member (vars, "LITERAL"), ==,
      "$5 $x 5");
  g_assert_cmpstr (json_object_get_string_member (vars, "SHARD"), ==, "0/1");
  g_assert_cmpstr (json_object_get_string_member (vars, "RESULTS"), ==, out);

  steps = json_object_get_array_member (o, "steps");
  g_assert_cmpuint (json_array_get_length (steps), ==, 2);
  step = json_array_get_object_element (steps, 0);
  g_assert_cmpstr (json_object_get_string_member (step, "name"), ==, "tone");
  g_assert_cmpstr (json_object_get_string_member (step, "status"), ==, "ok");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (step,
              "file"), "tone.pipeline"));
  g_assert_nonnull (strstr (json_object_get_string_member (step, "launch"),
          "num-buffers=5 samplesperbuffer=4410 volume=0.5"));
  /* one message per 100 ms buffer (+ the remainder at EOS), each with the
   * sine's RMS: 20 log10 (0.5 / sqrt 2) = -9.03 dB */
  messages = json_object_get_array_member (step, "messages");
  n_full = 0;
  for (i = 0; i < json_array_get_length (messages); i++) {
    JsonObject *m = json_array_get_object_element (messages, i);
    JsonObject *f = json_object_get_object_member (m, "fields");
    JsonNode *rms = json_array_get_element (json_object_get_array_member (f,
            "rms"), 0);
    g_assert_cmpstr (json_object_get_string_member (m, "source"), ==, "level0");
    g_assert_cmpint (json_object_get_int_member (f, "running-time"), ==,
        i * 100000000);
    if (json_object_get_int_member (f, "duration") == 0) {
      /* the empty flush at EOS: level's NaN becomes null, not invalid JSON */
      g_assert_true (JSON_NODE_HOLDS_NULL (rms));
      continue;
    }
    g_assert_cmpfloat_with_epsilon (json_node_get_double (rms), -9.0309, 0.01);
    n_full++;
  }
  g_assert_cmpuint (n_full, ==, 5);
  step = json_array_get_object_element (steps, 1);
  g_assert_cmpstr (json_object_get_string_member (step, "status"), ==, "ok");
  g_assert_nonnull (strstr (json_object_get_string_member (step, "launch"),
          "identity name=copy-5"));
  /* default collect=affect-*: stock elements post none */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (step,
              "messages")), ==, 0);

  json_node_unref (root);
  run_clear (&r);
  g_free (exp);
  g_free (pipe);
  g_free (out);
  g_free (results);
}

static const char *failing =
    "[experiment]\n"
    "steps=ok;broken;never\n"
    "[step ok]\n"
    "launch=audiotestsrc num-buffers=1 ! level ! fakesink\n"
    "collect=level\n"
    "[step broken]\n"
    "launch=filesrc location=/nonexistent/corpus/x.wav ! fakesink\n"
    "[step never]\n" "launch=audiotestsrc num-buffers=1 ! fakesink\n";

static void
test_failure (void)
{
  char *exp = write_file ("failing.experiment", failing);
  char *out = g_build_filename (tmp_dir, "out-fail", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  Run r = run ("--output", out, exp, NULL);
  JsonNode *root;
  JsonObject *o, *err;
  JsonArray *steps;

  g_assert_cmpint (r.status, ==, 1);
  /* the bus error, its element and the path it names */
  g_assert_nonnull (strstr (r.err, "step 'broken' failed"));
  g_assert_nonnull (strstr (r.err, "filesrc0"));
  g_assert_nonnull (strstr (r.err, "/nonexistent/corpus/x.wav"));
  root = load_json (results);
  o = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "error");
  err = json_object_get_object_member (o, "error");
  g_assert_cmpstr (json_object_get_string_member (err, "step"), ==, "broken");
  g_assert_nonnull (strstr (json_object_get_string_member (err, "source"),
          "filesrc0"));
  steps = json_object_get_array_member (o, "steps");
  /* the run stops at the failure: "never" does not run */
  g_assert_cmpuint (json_array_get_length (steps), ==, 2);
  g_assert_cmpstr (json_object_get_string_member
      (json_array_get_object_element (steps, 0), "status"), ==, "ok");
  g_assert_cmpstr (json_object_get_string_member
      (json_array_get_object_element (steps, 1), "status"), ==, "error");
  json_node_unref (root);
  run_clear (&r);

  /* an element that does not exist: a parse error naming it */
  g_free (exp);
  exp = write_file ("missing.experiment", "[experiment]\nsteps=a\n"
      "[step a]\nlaunch=audiotestsrc ! nosuchelement ! fakesink\n");
  r = run ("-o", out, exp, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "nosuchelement"));
  run_clear (&r);

  /* a step that never ends is stopped by its timeout */
  g_free (exp);
  exp = write_file ("slow.experiment", "[experiment]\nsteps=a\n"
      "[step a]\nlaunch=audiotestsrc is-live=true ! fakesink\ntimeout=0.5\n");
  r = run ("-o", out, exp, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "timed out after 0.5 s"));
  run_clear (&r);

  g_free (exp);
  g_free (out);
  g_free (results);
}

/* --stall-timeout: a step that makes no progress fails, naming the sink
 * that never received a buffer and the states; a step that keeps making
 * progress for longer than the timeout runs to its end */
static void
test_stall (void)
{
  char *exp = write_file ("stall.experiment", "[experiment]\nsteps=a\n"
      "[step a]\nlaunch=appsrc ! fakesink name=never\n");
  char *out = g_build_filename (tmp_dir, "out-stall", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  gint64 t0 = g_get_monotonic_time ();
  double seconds;
  Run r = run ("--stall-timeout", "1", "-o", out, exp, NULL);
  JsonNode *root;
  JsonObject *err;

  seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpfloat (seconds, <, 10.0);
  g_assert_nonnull (strstr (r.err, "no progress for 1 s (--stall-timeout)"));
  g_assert_nonnull (strstr (r.err, "sinks that never received a buffer: "
          "never (READY, waiting for PAUSED)"));
  g_assert_nonnull (strstr (r.err, "pipeline READY, waiting for PLAYING"));
  root = load_json (results);
  err = json_object_get_object_member (json_node_get_object (root), "error");
  g_assert_nonnull (strstr (json_object_get_string_member (err, "message"),
          "--stall-timeout"));
  g_assert_nonnull (strstr (json_object_get_string_member (err, "debug"),
          "last bus message"));
  json_node_unref (root);
  run_clear (&r);

  /* 0 disables the watchdog: the step's own timeout stops it instead */
  g_free (exp);
  exp = write_file ("stall-off.experiment", "[experiment]\nsteps=a\n"
      "[step a]\nlaunch=appsrc ! fakesink\ntimeout=2\n");
  r = run ("--stall-timeout", "0", "-o", out, exp, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "timed out after 2 s"));
  g_assert_null (strstr (r.err, "stall-timeout"));
  run_clear (&r);

  /* a live source: a buffer every 0.1 s for 2.5 s is progress */
  g_free (exp);
  exp = write_file ("live.experiment", "[experiment]\nsteps=a\n"
      "[step a]\nlaunch=audiotestsrc is-live=true samplesperbuffer=1600 "
      "num-buffers=25 ! audio/x-raw,rate=16000 ! fakesink\n");
  r = run ("--stall-timeout", "1", "-o", out, exp, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);

  r = run ("--stall-timeout", "-1", "-o", out, exp, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--stall-timeout"));
  run_clear (&r);

  g_free (exp);
  g_free (out);
  g_free (results);
}

static void
test_bad_experiments (void)
{
  static const struct
  {
    const char *text;
    const char *message;
  } cases[] = {
    {"[experiment]\nsteps=a\n[step a]\nlaunch=fakesrc ! ${NOPE}\n",
        "unknown variable ${NOPE}"},
    {"[experiment]\nsteps=a\n[variables]\nA=${B}\nB=${A}\n"
          "[step a]\nlaunch=fakesrc ! fakesink\n", "cycle"},
    {"[experiment]\nsteps=a\n[step a]\nlaunch=fakesrc ! fakesink\n"
          "colect=level\n", "unknown key 'colect'"},
    {"[experiment]\nsteps=a;b\n[step a]\nlaunch=fakesrc ! fakesink\n",
        "has no [step b] group"},
    {"[experiment]\nsteps=a\n[step a]\npipeline=nothere\n", "nothere.pipeline"},
    {"[experiment]\nsteps=a\n[step a]\ngenerate=noise\n",
        "unknown generator 'noise'"},
    {"[experiment]\nsteps=a\n[step a]\ngenerate=tones\nitems=2\nlevel=3\n",
        "unknown key 'level'"},
    {"[experiment]\nsteps=a\n[step a]\n", "exactly one of"},
    {"[experiment]\nsteps=a\n[step a]\nlaunch=fakesrc ! ${OOPS\n",
        "unterminated '${'"},
    {"[experiment]\nsteps=a\n[step a]\nlaunch=fakesink\ntimeout=soon\n",
        "'soon' is not a number of seconds"},
    {"[experiment]\nsteps=a\n[step a]\ngenerate=tones\nitems=0\n",
        "items='0' is not an integer in [1, 100000]"},
    {"[experiment]\nsteps=a\n[variables]\nX=a\377b\n[step a]\n"
          "launch=fakesink\n", "[variables] X: "},
    {"[experiment]\nsteps=a\n[step a]\ngenerate=\377\n",
        "unknown generator ''"},
    {"[experiment]\nsteps=a\n[step a]\ndescription=${NOPE}\n"
          "generate=noise\n", "unknown variable ${NOPE}"},
    {"not a key file", "affect-run: "},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    char *exp = write_file ("bad.experiment", cases[i].text);
    Run r = run (exp, NULL);
    g_assert_cmpint (r.status, ==, 2);
    if (strstr (r.err, cases[i].message) == NULL)
      g_error ("case %u: \"%s\" lacks \"%s\"", i, r.err, cases[i].message);
    run_clear (&r);
    g_free (exp);
  }
  {
    Run r = run ("no-such-experiment", NULL);
    g_assert_cmpint (r.status, ==, 2);
    g_assert_nonnull (strstr (r.err, "no experiment 'no-such-experiment'"));
    run_clear (&r);
    r = run ("--shard", "3/3", "main", NULL);
    g_assert_cmpint (r.status, ==, 2);
    g_assert_nonnull (strstr (r.err, "--shard"));
    run_clear (&r);
  }
}

static void
test_shard_and_list (void)
{
  char *exp = write_file ("shard.experiment", "[experiment]\nsteps=a\n"
      "[step a]\nlaunch=audiotestsrc num-buffers=1 ! identity "
      "name=shard-${SHARD_INDEX}-of-${SHARD_COUNT} ! fakesink\n");
  char *out = g_build_filename (tmp_dir, "out-shard", NULL);
  char *results = g_build_filename (out, "results-1-of-3.json", NULL);
  Run r = run ("--shard", "1/3", "-o", out, exp, NULL);
  JsonNode *root;
  JsonObject *o;

  g_assert_cmpint (r.status, ==, 0);
  root = load_json (results);
  o = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member
          (o, "shard"), "index"), ==, 1);
  g_assert_nonnull (strstr (json_object_get_string_member
          (json_array_get_object_element (json_object_get_array_member (o,
                      "steps"), 0), "launch"), "name=shard-1-of-3"));
  json_node_unref (root);
  run_clear (&r);

  r = run ("--list", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "main"));
  g_assert_nonnull (strstr (r.out, "tones"));
  run_clear (&r);
  r = run ("--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "--shard"));
  run_clear (&r);
  g_free (exp);
  g_free (out);
  g_free (results);
}

/* tones: the same seed gives the same bytes, the cache is reused, and the
 * loud (activated) items really are louder than the soft ones */
static const char *tones_exp =
    "[experiment]\n"
    "steps=corpus;loud;soft\n"
    "[step corpus]\n"
    "generate=tones\n"
    "output=${CORPUS}\n"
    "items=1\n"
    "seconds=0.5\n"
    "corrupt=1\n"
    "seed=5\n"
    "[step loud]\n"
    "launch=filesrc location=${CORPUS}/tone-000.wav ! wavparse ! "
    "audioconvert ! level ! fakesink\n"
    "collect=level\n"
    "[step soft]\n"
    "launch=filesrc location=${CORPUS}/tone-003.wav ! wavparse ! "
    "audioconvert ! level ! fakesink\n" "collect=level\n";

static void
test_tones (void)
{
  char *exp = write_file ("tones.experiment", tones_exp);
  char *a = g_build_filename (tmp_dir, "corpus-a", NULL);
  char *b = g_build_filename (tmp_dir, "corpus-b", NULL);
  char *var_a = g_strdup_printf ("CORPUS=%s", a);
  char *var_b = g_strdup_printf ("CORPUS=%s", b);
  char *out = g_build_filename (tmp_dir, "out-tones", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  char *manifest = g_build_filename (a, "manifest.csv", NULL);
  char *text, **lines;
  const char *files[] = { "manifest.csv", "tone-000.wav", "tone-001.wav",
    "tone-002.wav", "tone-003.wav", "corrupt-000.wav", NULL
  };
  Run r;
  JsonNode *root;
  JsonArray *steps;
  JsonObject *report;
  double loud, soft;
  guint i;

  r = run ("-o", out, exp, var_a, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  root = load_json (results);
  steps = json_object_get_array_member (json_node_get_object (root), "steps");
  report = json_object_get_object_member (json_array_get_object_element
      (steps, 0), "report");
  g_assert_false (json_object_get_boolean_member (report, "cached"));
  g_assert_cmpint (json_object_get_int_member (report, "items"), ==, 5);
  loud = mean_rms (json_object_get_array_member
      (json_array_get_object_element (steps, 1), "messages"));
  soft = mean_rms (json_object_get_array_member
      (json_array_get_object_element (steps, 2), "messages"));
  g_test_message ("activated_pleasant %.1f dB, deactivated_unpleasant %.1f dB",
      loud, soft);
  /* -6 vs -22 dBFS peaks, +-1.5 dB jitter */
  g_assert_cmpfloat (loud - soft, >, 10.0);
  json_node_unref (root);

  g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 7);      /* header, 5, "" */
  g_assert_cmpstr (lines[0], ==,
      "id,path,label,valence,arousal,split,mode,tempo,loudness");
  g_assert_true (g_str_has_prefix (lines[1],
          "tone-000,tone-000.wav,activated_pleasant,0."));
  g_assert_true (g_str_has_suffix (lines[1], ",train,major,fast,loud"));
  g_assert_true (g_str_has_prefix (lines[4],
          "tone-003,tone-003.wav,deactivated_unpleasant,-0."));
  g_assert_true (g_str_has_suffix (lines[4], ",train,minor,slow,soft"));
  g_assert_true (g_str_has_prefix (lines[5], "corrupt-000,corrupt-000.wav,"));
  g_strfreev (lines);
  g_free (text);

  /* second run: cached */
  r = run ("-o", out, exp, var_a, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "(cached)"));
  run_clear (&r);

  /* elsewhere, same seed: the same bytes */
  r = run ("-o", out, exp, var_b, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  for (i = 0; files[i]; i++) {
    char *pa = g_build_filename (a, files[i], NULL);
    char *pb = g_build_filename (b, files[i], NULL);
    char *ca, *cb;
    gsize la, lb;
    g_assert_true (g_file_get_contents (pa, &ca, &la, NULL));
    g_assert_true (g_file_get_contents (pb, &cb, &lb, NULL));
    g_assert_cmpmem (ca, la, cb, lb);
    g_free (ca);
    g_free (cb);
    g_free (pa);
    g_free (pb);
  }
  g_free (exp);
  g_free (a);
  g_free (b);
  g_free (var_a);
  g_free (var_b);
  g_free (out);
  g_free (results);
  g_free (manifest);
}

/* The tones experiment, small: tones through affectsrc, items shown with
 * their labels, progress and dataset-done collected */
static void
test_tones_job (void)
{
  char *out = g_build_filename (tmp_dir, "out-tones", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  char *cache = g_strdup_printf ("CACHE=%s/tones-cache", tmp_dir);
  char *plugin_path = g_strdup (g_getenv ("GST_PLUGIN_PATH"));
  Run r;
  const char *classes[] = { "activated_pleasant", "deactivated_pleasant",
    "activated_unpleasant", "deactivated_unpleasant"
  };
  JsonNode *root;
  JsonObject *step, *last;
  JsonArray *items, *messages;
  guint i;

  /* as from the README: no GST_PLUGIN_PATH, the runner finds the plugin in
   * the build tree beside it */
  g_unsetenv ("GST_PLUGIN_PATH");
  r = run ("tones", "ITEMS=1", cache, "-o", out, NULL);
  if (plugin_path)
    g_setenv ("GST_PLUGIN_PATH", plugin_path, TRUE);
  g_free (plugin_path);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "item 0 tone-000  split=train  "
          "origin=generated  class=activated_pleasant  valence=0."));
  g_assert_nonnull (strstr (r.out, "4/4 items (100%)"));
  root = load_json (results);
  step = json_array_get_object_element (json_object_get_array_member
      (json_node_get_object (root), "steps"), 1);
  g_assert_cmpstr (json_object_get_string_member (step, "status"), ==, "ok");
  items = json_object_get_array_member (step, "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  for (i = 0; i < 4; i++) {
    JsonObject *it = json_array_get_object_element (items, i);
    JsonObject *targets = json_object_get_object_member (it, "targets");
    double valence = json_object_get_double_member (targets, "valence");
    g_assert_cmpstr (json_object_get_string_member (it, "class"), ==,
        classes[i]);
    g_assert_cmpstr (json_object_get_string_member (it, "origin"), ==,
        "generated");
    /* pleasant quadrants have positive valence */
    g_assert_cmpint (valence > 0, ==, i < 2);
  }
  messages = json_object_get_array_member (step, "messages");
  /* an affect-progress per item, then affect-dataset-done */
  g_assert_cmpuint (json_array_get_length (messages), ==, 5);
  for (i = 0; i < 4; i++) {
    JsonObject *m = json_array_get_object_element (messages, i);
    g_assert_cmpstr (json_object_get_string_member (m, "name"), ==,
        "affect-progress");
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member
            (m, "fields"), "items-done"), ==, i + 1);
  }
  last = json_object_get_object_member (json_array_get_object_element
      (messages, 4), "fields");
  g_assert_cmpint (json_object_get_int_member (last, "items-emitted"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (last, "items-skipped"), ==, 0);
  json_node_unref (root);
  run_clear (&r);
  g_free (out);
  g_free (results);
  g_free (cache);
}

/* a corrupt item: a warning naming it, the run goes on, counted as skipped */
static void
test_skipped_item (void)
{
  char *exp = write_file ("skip.experiment", "[experiment]\n"
      "steps=corpus;items\n[variables]\nCORPUS=${CACHE}/skip\n"
      "[step corpus]\ngenerate=tones\noutput=${CORPUS}\nitems=1\n"
      "seconds=0.3\ncorrupt=1\n"
      "[step items]\npipeline=${SOURCE_DIR}/pipelines/main-items.pipeline\n"
      "show-items=true\n");
  char *out = g_build_filename (tmp_dir, "out-skip", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  Run r = run (exp, "-o", out, NULL);
  JsonNode *root;
  JsonObject *step, *w;
  JsonArray *warnings;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "warning: affectsrc0: "));
  g_assert_nonnull (strstr (r.out, "corrupt-000.wav"));
  g_assert_nonnull (strstr (r.out, "affectsrc0: 4 items, 1 skipped"));
  root = load_json (results);
  step = json_array_get_object_element (json_object_get_array_member
      (json_node_get_object (root), "steps"), 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (step,
              "items")), ==, 4);
  warnings = json_object_get_array_member (step, "warnings");
  g_assert_cmpuint (json_array_get_length (warnings), ==, 1);
  w = json_array_get_object_element (warnings, 0);
  g_assert_cmpstr (json_object_get_string_member (w, "source"), ==,
      "affectsrc0");
  g_assert_nonnull (strstr (json_object_get_string_member (w, "message"),
          "corrupt-000.wav"));
  json_node_unref (root);
  run_clear (&r);
  g_free (exp);
  g_free (out);
  g_free (results);
}

/* the libaffect corpora as built-in steps: made, reported, readable by
 * affectsrc (the music TSV with its tags, the speech CSV with targets) */
static void
test_corpus_generators (void)
{
  char *espeak_path = g_find_program_in_path ("espeak-ng");
  gboolean have_espeak = espeak_path != NULL;
  char *exp = write_file ("corpora.experiment", have_espeak ?
      "[experiment]\nsteps=music;tags;speech;speech-items\n"
      "[step music]\ngenerate=music\noutput=${CACHE}/music\nitems=4\n"
      "seconds=0.5\n"
      "[step tags]\nlaunch=affectsrc location=\"${CACHE}/music/"
      "autotagging_moodtheme.tsv\" root=\"${CACHE}/music/audio\" ! "
      "fakesink sync=false\nshow-items=true\n"
      "[step speech]\ngenerate=speech\noutput=${CACHE}/speech\nitems=2\n"
      "[step speech-items]\nlaunch=affectsrc location=\"${CACHE}/speech/"
      "en.csv\" ! fakesink sync=false\nshow-items=true\n" :
      "[experiment]\nsteps=music;tags\n"
      "[step music]\ngenerate=music\noutput=${CACHE}/music\nitems=4\n"
      "seconds=0.5\n"
      "[step tags]\nlaunch=affectsrc location=\"${CACHE}/music/"
      "autotagging_moodtheme.tsv\" root=\"${CACHE}/music/audio\" ! "
      "fakesink sync=false\nshow-items=true\n");
  char *out = g_build_filename (tmp_dir, "out-corpora", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  char *cache = g_strdup_printf ("CACHE=%s/corpora", tmp_dir);
  Run r = run (exp, "-o", out, cache, NULL);
  JsonNode *root;
  JsonArray *steps, *items;
  JsonObject *report, *step;
  guint i;

  g_free (espeak_path);
  if (!have_espeak)
    g_test_message ("espeak-ng not installed: speech generator not run");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "tags=mood/theme---"));
  root = load_json (results);
  steps = json_object_get_array_member (json_node_get_object (root), "steps");
  report = json_object_get_object_member (json_array_get_object_element
      (steps, 0), "report");
  g_assert_cmpint (json_object_get_int_member (report, "items"), ==, 4);
  step = json_array_get_object_element (steps, 1);
  items = json_object_get_array_member (step, "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 4);
  for (i = 0; i < 4; i++) {
    JsonObject *it = json_array_get_object_element (items, i);
    g_assert_cmpstr (json_object_get_string_member (it, "task"), ==, "tags");
    /* the 56 MTG-Jamendo mood/theme tags */
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (it,
                "labels")), ==, 56);
  }
  if (have_espeak) {
    report = json_object_get_object_member (json_array_get_object_element
        (steps, 2), "report");
    g_assert_cmpint (json_object_get_int_member (report, "items"), ==, 4);
    items = json_object_get_array_member (json_array_get_object_element
        (steps, 3), "items");
    g_assert_cmpuint (json_array_get_length (items), ==, 2);
    for (i = 0; i < 2; i++) {
      JsonObject *it = json_array_get_object_element (items, i);
      g_assert_true (json_object_has_member (json_object_get_object_member
              (it, "targets"), "valence"));
    }
  }
  json_node_unref (root);
  run_clear (&r);
  g_free (exp);
  g_free (out);
  g_free (results);
  g_free (cache);
}

/* Ctrl-C: the pipeline stops, the results say so, exit status 130 */
/* foreach runs a step per combination (sharded with shard=true; VAR:N@FIRST
 * counts from FIRST), unless-set leaves a step out when its variables are
 * given (and says so), messages= writes the collected messages, a variable
 * name may hold variables */
static const char *foreach_exp =
    "[experiment]\n"
    "steps=make;each;from\n"
    "[variables]\n"
    "DATA=\n"
    "A=2\n"
    "START=5\n"
    "KIND=fake\n"
    "SINK_fake=fakesink\n"
    "[step from]\n"
    "foreach=K:2@${START}\n"
    "launch=audiotestsrc num-buffers=1 ! ${SINK_${KIND}} name=k${K}\n"
    "[step make]\n"
    "unless-set=DATA\n"
    "launch=audiotestsrc num-buffers=1 ! fakesink\n"
    "[step each]\n"
    "foreach=I:${A} J:3\n"
    "shard=true\n"
    "launch=audiotestsrc num-buffers=2 ! level post-messages=true "
    "interval=10000000 ! fakesink name=s${I}${J}\n"
    "collect=level\n" "messages=${RESULTS}/m-${I}-${J}.json\n";

static void
test_foreach (void)
{
  char *path = write_file ("foreach.experiment", foreach_exp);
  char *out = g_build_filename (tmp_dir, "foreach", NULL);
  char *m = g_build_filename (out, "m-1-2.json", NULL);
  Run r = run ("--dry-run", path, NULL);

  /* six combinations, the last varying fastest, after the make step */
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "step 1 make:"));
  g_assert_nonnull (strstr (r.out, "step 2 each-0-0:"));
  g_assert_nonnull (strstr (r.out, "step 3 each-0-1: gst-launch-1.0 "
          "audiotestsrc num-buffers=2 ! level post-messages=true "
          "interval=10000000 ! fakesink name=s01"));
  g_assert_nonnull (strstr (r.out, "step 7 each-1-2:"));
  g_assert_nonnull (strstr (r.out, "step 8 from-5: gst-launch-1.0 "
          "audiotestsrc num-buffers=1 ! fakesink name=k5\n"));
  g_assert_nonnull (strstr (r.out, "step 9 from-6: gst-launch-1.0 "
          "audiotestsrc num-buffers=1 ! fakesink name=k6\n"));
  g_assert_null (strstr (r.out, "step 10"));
  g_assert_null (strstr (r.out, "skipped"));
  run_clear (&r);
  /* DATA given: no make step; shard 1/4 keeps combinations 1 and 5 (from-*
   * is not sharded) */
  r = run ("--dry-run", "--shard", "1/4", path, "DATA=x", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, "step 1 make"));
  g_assert_nonnull (strstr (r.out, "skipped make (DATA given)\n"));
  g_assert_nonnull (strstr (r.out, "step 1 each-0-1:"));
  g_assert_nonnull (strstr (r.out, "step 2 each-1-2:"));
  g_assert_nonnull (strstr (r.out, "step 3 from-5:"));
  g_assert_nonnull (strstr (r.out, "step 4 from-6:"));
  g_assert_null (strstr (r.out, "step 5"));
  run_clear (&r);
  /* a name in a name that is not a variable */
  r = run ("--dry-run", path, "KIND=real", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "unknown variable ${SINK_real}"));
  run_clear (&r);
  /* FIRST that is not a number */
  r = run ("--dry-run", path, "START=x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "VAR:N@FIRST"));
  run_clear (&r);
  /* bad foreach: exit 2 before anything runs */
  r = run ("--dry-run", path, "A=x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "foreach: want VAR:N"));
  run_clear (&r);
  /* a run: each step's level messages in its file */
  r = run ("-q", "-o", out, "--shard", "1/4", path, "DATA=x", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_file_test (m, G_FILE_TEST_EXISTS));
  /* results.json lists the step left out */
  {
    JsonParser *p = json_parser_new ();
    char *res = g_build_filename (out, "results-1-of-4.json", NULL);
    JsonArray *a;
    g_assert_true (json_parser_load_from_file (p, res, NULL));
    a = json_object_get_array_member (json_node_get_object
        (json_parser_get_root (p)), "skipped");
    g_assert_cmpuint (json_array_get_length (a), ==, 1);
    g_assert_cmpstr (json_array_get_string_element (a, 0), ==,
        "make (DATA given)");
    g_object_unref (p);
    g_free (res);
  }
  {
    JsonParser *p = json_parser_new ();
    JsonArray *a;
    g_assert_true (json_parser_load_from_file (p, m, NULL));
    a = json_node_get_array (json_parser_get_root (p));
    g_assert_cmpuint (json_array_get_length (a), >=, 1);
    g_assert_cmpstr (json_object_get_string_member
        (json_array_get_object_element (a, 0), "name"), ==, "level");
    g_object_unref (p);
  }
  run_clear (&r);
  g_free (m);
  g_free (out);
  g_free (path);
}

static void
test_interrupt (void)
{
  char *exp = write_file ("live.experiment", "[experiment]\nsteps=live\n"
      "[step live]\nlaunch=audiotestsrc is-live=true ! level ! fakesink\n"
      "collect=level\n");
  char *out = g_build_filename (tmp_dir, "out-live", NULL);
  char *results = g_build_filename (out, "results.json", NULL);
  const char *argv[] = { runner, exp, "-o", out, NULL };
  GError *error = NULL;
  GPid pid;
  int wait_status, i, out_fd;
  GString *seen = g_string_new (NULL);
  JsonNode *root;
  JsonObject *o;

  g_assert_true (g_spawn_async_with_pipes (tmp_dir, (char **) argv, NULL,
          G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, NULL, &out_fd, NULL,
          &error));
  g_assert_no_error (error);
  /* the step's header is printed once the Ctrl-C handler is in place */
  for (i = 0; i < 300 && !strstr (seen->str, "[1/1 live]"); i++) {
    struct pollfd pfd = { out_fd, POLLIN, 0 };
    char buf[256];
    ssize_t n;
    if (poll (&pfd, 1, 100) > 0 && (n = read (out_fd, buf, sizeof (buf))) > 0)
      g_string_append_len (seen, buf, n);
  }
  g_assert_nonnull (strstr (seen->str, "[1/1 live]"));
  /* let level post a few messages (its interval is 100 ms) */
  g_usleep (1000 * 1000);
  kill (pid, SIGINT);
  for (i = 0; i < 100 && waitpid (pid, &wait_status, WNOHANG) == 0; i++)
    g_usleep (100 * 1000);
  g_assert_cmpint (i, <, 100);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 130);
  close (out_fd);
  g_string_free (seen, TRUE);
  root = load_json (results);
  o = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==,
      "interrupted");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member
          (json_array_get_object_element (json_object_get_array_member (o,
                      "steps"), 0), "messages")), >, 0);
  json_node_unref (root);
  g_free (exp);
  g_free (out);
  g_free (results);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    char *p = g_build_filename (path, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      remove_tree (p);
    else
      g_unlink (p);
    g_free (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (argc < 2) {
    g_printerr ("usage: %s PATH-TO-affect-run\n", argv[0]);
    return 1;
  }
  runner = g_canonicalize_filename (argv[1], NULL);
  tmp_dir = g_dir_make_tmp ("test-runner-XXXXXX", NULL);
  /* generated corpora must not land in the user's cache */
  g_setenv ("AFFECT_CACHE_DIR", tmp_dir, TRUE);
  g_test_add_func ("/runner/two-pipelines", test_two_pipelines);
  g_test_add_func ("/runner/foreach", test_foreach);
  g_test_add_func ("/runner/failure", test_failure);
  g_test_add_func ("/runner/stall", test_stall);
  g_test_add_func ("/runner/bad-experiments", test_bad_experiments);
  g_test_add_func ("/runner/shard-and-list", test_shard_and_list);
  g_test_add_func ("/runner/tones", test_tones);
  g_test_add_func ("/runner/tones-job", test_tones_job);
  g_test_add_func ("/runner/skipped-item", test_skipped_item);
  g_test_add_func ("/runner/corpus-generators", test_corpus_generators);
  g_test_add_func ("/runner/interrupt", test_interrupt);
  ret = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
