/* affect-run: runs a gst-affect experiment.
 *
 *   affect-run [OPTION...] EXPERIMENT [VAR=value ...]
 *   affect-run merge DIR
 *
 * An experiment (pipelines/NAME.experiment, a GLib key-file) lists steps in
 * order: gst-launch pipelines (pipelines/NAME.pipeline, with ${VARIABLES}) and
 * built-in steps such as corpus generators. Each pipeline runs with
 * gst_parse_launch() until EOS; affectsrc's affect-progress messages drive a
 * progress line (items done/total, rate, ETA; redrawn in place on a
 * terminal, plain lines otherwise); the first bus error stops the run with a
 * non-zero exit. Every affect-* element message is collected, with the
 * steps' outcomes, into RESULTS/results.json.
 *
 * A report step (generate=report) leaves its tables to be printed when the
 * run ends, with the path of report.md. `affect-run merge DIR` joins the
 * per-item files of a sharded run into its metrics (pipelines/merge.c).
 *
 * A pipeline step that makes no progress (no buffer at a sink, no bus
 * message, no CPU work) for --stall-timeout seconds fails, naming what
 * waits.
 *
 * Exit status: 0 success, 1 a step failed, 2 bad command line or
 * experiment, 130 interrupted. docs/runner.md has the full description.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"
#include "live.h"
#include "merge.h"
#include "runner.h"

#define EXIT_STEP_FAILED 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130
#define DEFAULT_STALL_TIMEOUT 300.0

typedef struct _StallWatch StallWatch;
static void stall_watch_message (StallWatch * w, GstMessage * msg);

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
  gint64 last_epoch_line;        /* last affect-train-epoch line printed */
} Runner;

/* ---- GValue / GstStructure -> JSON ---- */

static JsonNode *value_to_json (const GValue * v);

static JsonObject *
structure_to_json (const GstStructure * s)
{
  JsonObject *obj = json_object_new ();
  int i, n = gst_structure_n_fields (s);

  for (i = 0; i < n; i++) {
    const char *name = gst_structure_nth_field_name (s, i);
    json_object_set_member (obj, name,
        value_to_json (gst_structure_get_value (s, name)));
  }
  return obj;
}

static JsonNode *
double_node (double d)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  /* JSON has no NaN or infinity */
  if (isfinite (d))
    json_node_set_double (node, d);
  else
    json_node_init_null (node);
  return node;
}

static gboolean
is_value_array (GType t)
{
  static GType value_array_type = 0;

  /* GValueArray is deprecated, so look its type up by name */
  if (value_array_type == 0)
    value_array_type = g_type_from_name ("GValueArray");
  return value_array_type != 0 && t == value_array_type;
}

static JsonNode *
value_to_json (const GValue * v)
{
  JsonNode *node;
  GType t = G_VALUE_TYPE (v);

  if (t == G_TYPE_STRING) {
    node = json_node_new (JSON_NODE_VALUE);
    if (g_value_get_string (v))
      json_node_set_string (node, g_value_get_string (v));
    else
      json_node_init_null (node);
    return node;
  }
  if (t == G_TYPE_BOOLEAN) {
    node = json_node_new (JSON_NODE_VALUE);
    json_node_set_boolean (node, g_value_get_boolean (v));
    return node;
  }
  if (t == G_TYPE_INT || t == G_TYPE_UINT || t == G_TYPE_INT64
      || t == G_TYPE_LONG || t == G_TYPE_ULONG || t == G_TYPE_CHAR
      || t == G_TYPE_UCHAR) {
    GValue i64 = G_VALUE_INIT;
    g_value_init (&i64, G_TYPE_INT64);
    g_value_transform (v, &i64);
    node = json_node_new (JSON_NODE_VALUE);
    json_node_set_int (node, g_value_get_int64 (&i64));
    return node;
  }
  if (t == G_TYPE_UINT64) {
    guint64 u = g_value_get_uint64 (v);
    node = json_node_new (JSON_NODE_VALUE);
    /* GST_CLOCK_TIME_NONE and friends */
    if (u == G_MAXUINT64)
      json_node_init_null (node);
    else
      json_node_set_int (node, (gint64) MIN (u, (guint64) G_MAXINT64));
    return node;
  }
  if (t == G_TYPE_DOUBLE)
    return double_node (g_value_get_double (v));
  if (t == G_TYPE_FLOAT)
    return double_node (g_value_get_float (v));
  if (t == GST_TYPE_ARRAY || t == GST_TYPE_LIST) {
    JsonArray *a = json_array_new ();
    guint i, n = t == GST_TYPE_ARRAY ? gst_value_array_get_size (v) :
        gst_value_list_get_size (v);
    for (i = 0; i < n; i++)
      json_array_add_element (a, value_to_json (t == GST_TYPE_ARRAY ?
              gst_value_array_get_value (v, i) :
              gst_value_list_get_value (v, i)));
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, a);
    return node;
  }
  if (is_value_array (t)) {
    /* still used by stock elements' messages (level's rms, peak, decay) */
    JsonArray *a = json_array_new ();
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS;
    GValueArray *va = g_value_get_boxed (v);
    guint i;
    for (i = 0; va && i < va->n_values; i++)
      json_array_add_element (a, value_to_json (&va->values[i]));
    G_GNUC_END_IGNORE_DEPRECATIONS;
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, a);
    return node;
  }
  if (t == G_TYPE_STRV) {
    JsonArray *a = json_array_new ();
    const char *const *strv = g_value_get_boxed (v);
    for (; strv && *strv; strv++)
      json_array_add_string_element (a, *strv);
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, a);
    return node;
  }
  if (t == GST_TYPE_STRUCTURE) {
    const GstStructure *s = gst_value_get_structure (v);
    node = json_node_new (JSON_NODE_OBJECT);
    if (s)
      json_node_take_object (node, structure_to_json (s));
    else
      json_node_init_null (node);
    return node;
  }
  if (t == G_TYPE_ERROR) {
    const GError *e = g_value_get_boxed (v);
    node = json_node_new (JSON_NODE_VALUE);
    json_node_set_string (node, e ? e->message : "");
    return node;
  }
  /* fractions, caps, enums, ...: GStreamer's own serialisation */
  {
    char *s = gst_value_serialize (v);
    node = json_node_new (JSON_NODE_VALUE);
    if (s)
      json_node_set_string (node, s);
    else
      json_node_init_null (node);
    g_free (s);
  }
  return node;
}

/* ---- output ---- */

static void
clear_line (Runner * r)
{
  if (r->line_open) {
    fputs ("\r\033[K", stdout);
    r->line_open = FALSE;
  }
}

static void
format_duration (GString * s, double seconds)
{
  long t = (long) (seconds + 0.5);

  if (t >= 3600)
    g_string_append_printf (s, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
        t % 60);
  else
    g_string_append_printf (s, "%ld:%02ld", t / 60, t % 60);
}

static void
print_progress (Runner * r, gboolean final)
{
  GString *s;
  double elapsed = (g_get_monotonic_time () - r->step_start) / 1e6;
  double rate = elapsed > 0 ? r->done / elapsed : 0;

  if (!r->progress_shown || r->quiet)
    return;
  s = g_string_new (NULL);
  g_string_append_printf (s, "[%u/%u %s] %u", r->step_number, r->n_steps,
      r->step->name, r->done);
  if (r->total)
    g_string_append_printf (s, "/%u items (%.0f%%)", r->total,
        100.0 * r->done / r->total);
  else
    g_string_append (s, " items");
  if (r->skipped)
    g_string_append_printf (s, ", %u skipped", r->skipped);
  g_string_append_printf (s, ", %.1f items/s, ", rate);
  if (!final && r->total && rate > 0 && r->done < r->total) {
    g_string_append (s, "ETA ");
    format_duration (s, (r->total - r->done) / rate);
  } else {
    format_duration (s, elapsed);
    g_string_append (s, " elapsed");
  }
  if (r->last_id && !final)
    g_string_append_printf (s, ", %s", r->last_id);

  if (r->tty) {
    clear_line (r);
    fputs (s->str, stdout);
    r->line_open = TRUE;
    if (final) {
      fputc ('\n', stdout);
      r->line_open = FALSE;
    }
  } else {
    fprintf (stdout, "%s\n", s->str);
  }
  fflush (stdout);
  g_string_free (s, TRUE);
}

/* above the progress line, which is then redrawn */
static void
print_line (Runner * r, const char *text)
{
  clear_line (r);
  fprintf (stdout, "%s\n", text);
  if (r->tty && r->progress_shown && r->step)
    print_progress (r, FALSE);
  fflush (stdout);
}

/* "  3 tone-003  split=train  class=activated_pleasant  valence=0.71" */
static void
print_item (Runner * r, const GstStructure * s)
{
  GString *line = g_string_new ("  item");
  const char *str;
  guint index;
  const GValue *vocab, *labels;
  const GstStructure *targets = NULL;

  if (gst_structure_get_uint (s, "index", &index))
    g_string_append_printf (line, " %u", index);
  if ((str = gst_structure_get_string (s, "id")))
    g_string_append_printf (line, " %s", str);
  if ((str = gst_structure_get_string (s, "split")))
    g_string_append_printf (line, "  split=%s", str);
  if ((str = gst_structure_get_string (s, "origin"))
      && strcmp (str, "real") != 0)
    g_string_append_printf (line, "  origin=%s", str);
  if ((str = gst_structure_get_string (s, "class"))) {
    g_string_append_printf (line, "  class=%s", str);
  } else {
    vocab = gst_structure_get_value (s, "vocabulary");
    labels = gst_structure_get_value (s, "labels");
    if (vocab && labels && GST_VALUE_HOLDS_ARRAY (vocab)
        && GST_VALUE_HOLDS_ARRAY (labels)) {
      guint i, n = MIN (gst_value_array_get_size (vocab),
          gst_value_array_get_size (labels));
      gboolean first = TRUE;
      for (i = 0; i < n; i++) {
        const GValue *l = gst_value_array_get_value (labels, i);
        const GValue *name = gst_value_array_get_value (vocab, i);
        double x = G_VALUE_HOLDS_FLOAT (l) ? g_value_get_float (l) :
            G_VALUE_HOLDS_DOUBLE (l) ? g_value_get_double (l) : 0;
        if (x > 0.5 && G_VALUE_HOLDS_STRING (name)) {
          g_string_append_printf (line, "%s%s", first ? "  tags=" : ",",
              g_value_get_string (name));
          first = FALSE;
        }
      }
    }
  }
  if (gst_structure_get (s, "targets", GST_TYPE_STRUCTURE, &targets, NULL)
      && targets) {
    int i;
    for (i = 0; i < gst_structure_n_fields (targets); i++) {
      const char *name = gst_structure_nth_field_name (targets, i);
      double x;
      if (gst_structure_get_double (targets, name, &x))
        g_string_append_printf (line, "  %s=%.3g", name, x);
    }
    gst_structure_free ((GstStructure *) targets);
  }
  print_line (r, line->str);
  g_string_free (line, TRUE);
}

/* "affectsrc0: 15 items, 1 skipped" and one line per skipped item */
static void
print_dataset_done (Runner * r, const char *src, const GstStructure * s)
{
  guint emitted = 0, skipped = 0, i;
  const GValue *list = gst_structure_get_value (s, "skipped");
  char *line;

  gst_structure_get_uint (s, "items-emitted", &emitted);
  gst_structure_get_uint (s, "items-skipped", &skipped);
  line = g_strdup_printf ("  %s: %u item%s, %u skipped", src, emitted,
      emitted == 1 ? "" : "s", skipped);
  print_line (r, line);
  g_free (line);
  if (list && GST_VALUE_HOLDS_ARRAY (list)) {
    for (i = 0; i < gst_value_array_get_size (list); i++) {
      const GValue *v = gst_value_array_get_value (list, i);
      if (G_VALUE_HOLDS_STRING (v)) {
        line = g_strdup_printf ("    skipped %s", g_value_get_string (v));
        print_line (r, line);
        g_free (line);
      }
    }
  }
}

/* ---- running a pipeline step ---- */

/* training runs after the items have streamed: an epoch line keeps the
 * progress going (every epoch of a second or more, faster ones once a
 * second) */
static void
print_epoch (Runner * r, const char *src, const GstStructure * s)
{
  GString *line = g_string_new (NULL);
  guint epoch = 0, epochs = 0;
  double loss = NAN, metric = NAN, seconds = NAN;
  const char *phase = gst_structure_get_string (s, "phase");
  const char *metric_name = gst_structure_get_string (s, "metric");
  const char *target = gst_structure_get_string (s, "target");
  gboolean best = FALSE;
  gint64 now = g_get_monotonic_time ();

  gst_structure_get_uint (s, "epoch", &epoch);
  gst_structure_get_uint (s, "epochs", &epochs);
  gst_structure_get_double (s, "train-loss", &loss);
  gst_structure_get_double (s, "validation-metric", &metric);
  gst_structure_get_double (s, "seconds", &seconds);
  gst_structure_get_boolean (s, "best", &best);
  if (!(seconds >= 1.0) && now - r->last_epoch_line < G_USEC_PER_SEC)
    return;
  r->last_epoch_line = now;
  g_string_append_printf (line, "  %s%s%s: epoch %u", src, target ? " " : "",
      target ? target : "", epoch);
  if (epochs)
    g_string_append_printf (line, "/%u", epochs);
  if (phase)
    g_string_append_printf (line, " (%s)", phase);
  g_string_append_printf (line, ", train loss %.4g", loss);
  if (metric_name && isfinite (metric))
    g_string_append_printf (line, ", validation %s %.4f", metric_name,
        metric);
  if (best)
    g_string_append (line, " *");
  if (isfinite (seconds))
    g_string_append_printf (line, ", %.1f s", seconds);
  print_line (r, line->str);
  g_string_free (line, TRUE);
}

static JsonObject *
error_object (const char *step, const char *source, const char *message,
    const char *debug)
{
  JsonObject *e = json_object_new ();

  json_object_set_string_member (e, "step", step);
  if (source)
    json_object_set_string_member (e, "source", source);
  json_object_set_string_member (e, "message", message);
  if (debug)
    json_object_set_string_member (e, "debug", debug);
  return e;
}

static gboolean
collected (Runner * r, const char *name)
{
  char **p;

  for (p = r->step->collect; p && *p; p++)
    if (**p && g_pattern_match_simple (*p, name))
      return TRUE;
  return FALSE;
}

static gboolean
on_bus_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Runner *r = user_data;
  const GstStructure *s;
  const char *src = GST_MESSAGE_SRC (msg) ? GST_MESSAGE_SRC_NAME (msg) : "";

  stall_watch_message (r->stall, msg);
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      g_main_loop_quit (r->loop);
      break;
    case GST_MESSAGE_ERROR:{
      GError *err = NULL;
      char *debug = NULL, *path;
      gst_message_parse_error (msg, &err, &debug);
      path = gst_object_get_path_string (GST_MESSAGE_SRC (msg));
      if (r->error == NULL)
        r->error = error_object (r->step->name, path, err->message, debug);
      g_free (path);
      g_error_free (err);
      g_free (debug);
      g_main_loop_quit (r->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *err = NULL;
      char *debug = NULL, *line;
      JsonObject *w;
      gst_message_parse_warning (msg, &err, &debug);
      line = g_strdup_printf ("warning: %s: %s", src, err->message);
      print_line (r, line);
      w = error_object (r->step->name, src, err->message, debug);
      json_array_add_object_element (r->warnings, w);
      g_free (line);
      g_error_free (err);
      g_free (debug);
      break;
    }
    case GST_MESSAGE_APPLICATION:
      /* posted by our pad probe for each affect-item-start */
      s = gst_message_get_structure (msg);
      if (s && gst_structure_has_name (s, "affect-item-start")) {
        if (!r->quiet)
          print_item (r, s);
        json_array_add_object_element (r->items, structure_to_json (s));
      }
      break;
    case GST_MESSAGE_ELEMENT:{
      JsonObject *m;
      double t;
      s = gst_message_get_structure (msg);
      if (s == NULL || !collected (r, gst_structure_get_name (s)))
        break;
      t = (g_get_monotonic_time () - r->step_start) / 1e6;
      m = json_object_new ();
      json_object_set_string_member (m, "name", gst_structure_get_name (s));
      json_object_set_string_member (m, "source", src);
      json_object_set_double_member (m, "seconds", t);
      json_object_set_object_member (m, "fields", structure_to_json (s));
      json_array_add_object_element (r->messages, m);

      if (gst_structure_has_name (s, "affect-dataset-done") && !r->quiet)
        print_dataset_done (r, src, s);
      if (gst_structure_has_name (s, "affect-train-epoch") && !r->quiet)
        print_epoch (r, src, s);
      if (gst_structure_has_name (s, "affect-progress")) {
        const char *id = gst_structure_get_string (s, "id");
        gint64 now = g_get_monotonic_time ();
        gst_structure_get_uint (s, "items-done", &r->done);
        gst_structure_get_uint (s, "items-total", &r->total);
        gst_structure_get_uint (s, "items-skipped", &r->skipped);
        g_free (r->last_id);
        r->last_id = g_strdup (id);
        r->progress_shown = TRUE;
        /* plain output: one line a second at most; the step's end prints
         * the final count */
        if (r->tty || (now - r->last_plain >= G_USEC_PER_SEC
                && !(r->total && r->done >= r->total))) {
          print_progress (r, FALSE);
          r->last_plain = now;
        }
      }
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_tick (gpointer user_data)
{
  Runner *r = user_data;

  /* keeps the elapsed time and ETA moving between messages */
  if (r->tty && r->progress_shown)
    print_progress (r, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  Runner *r = user_data;

  r->timed_out = TRUE;
  g_main_loop_quit (r->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_sigint (gpointer user_data)
{
  Runner *r = user_data;

  r->interrupted = TRUE;
  if (r->loop)
    g_main_loop_quit (r->loop);
  return G_SOURCE_CONTINUE;
}

static GstPadProbeReturn
item_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  const GstStructure *s;

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM
      && (s = gst_event_get_structure (event)) != NULL
      && gst_structure_has_name (s, "affect-item-start")) {
    GstElement *element = gst_pad_get_parent_element (pad);
    if (element) {
      gst_element_post_message (element,
          gst_message_new_application (GST_OBJECT (element),
              gst_structure_copy (s)));
      gst_object_unref (element);
    }
  }
  return GST_PAD_PROBE_OK;
}

static void
probe_element (GstElement * element)
{
  GList *l;

  GST_OBJECT_LOCK (element);
  for (l = element->sinkpads; l; l = l->next)
    gst_pad_add_probe (GST_PAD (l->data), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
        item_probe, NULL, NULL);
  GST_OBJECT_UNLOCK (element);
}

static void
probe_sink (const GValue * item, gpointer user_data)
{
  probe_element (g_value_get_object (item));
}

/* show-items: watch the sink pads of the named element, or of every sink */
static gboolean
install_item_probes (Runner * r, GError ** error)
{
  if (strcmp (r->step->show_items, "true") == 0) {
    GstIterator *it = gst_bin_iterate_sinks (GST_BIN (r->pipeline));
    gst_iterator_foreach (it, probe_sink, NULL);
    gst_iterator_free (it);
  } else {
    GstElement *e = gst_bin_get_by_name (GST_BIN (r->pipeline),
        r->step->show_items);
    if (e == NULL) {
      g_set_error (error, RUNNER_ERROR, RUNNER_ERROR_EXPERIMENT,
          "show-items: the pipeline has no element named '%s'",
          r->step->show_items);
      return FALSE;
    }
    probe_element (e);
    gst_object_unref (e);
  }
  return TRUE;
}

/* ---- stall watchdog (--stall-timeout) ----
 *
 * A pipeline step makes progress while buffers reach its sinks, while its
 * elements post bus messages, or while the process works (CPU time grows by
 * more than STALL_CPU_SHARE of a core: a training epoch posts nothing for a
 * long time but computes). A step with none of the three for the stall
 * timeout fails, naming what waits: the pipeline's state, the sinks that
 * never received a buffer and the states they are stuck in, and the last
 * element that posted. */

#define STALL_CPU_SHARE 0.05

typedef struct
{
  StallWatch *watch;
  GstElement *sink;
  GstPad *pad;
  gulong probe;
  gint buffers;                 /* atomic: buffers that reached the sink */
} StallSink;

struct _StallWatch
{
  double timeout;
  GArray *sinks;                /* of StallSink */
  gint buffers;                 /* atomic: buffers at any sink */
  gint last_buffers;
  gint64 last_progress, last_check;     /* monotonic µs */
  double last_cpu;              /* process CPU seconds */
  char *last_poster;            /* element and type of the last message */
  gint64 last_message;
  guint source;
  char *message, *debug;        /* set when the step stalled */
};

static double
process_cpu_seconds (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return 0.0;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static GstPadProbeReturn
stall_buffer_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  StallSink *sink = user_data;

  g_atomic_int_inc (&sink->buffers);
  g_atomic_int_inc (&sink->watch->buffers);
  return GST_PAD_PROBE_OK;
}

static void
stall_add_sink (const GValue * item, gpointer user_data)
{
  StallWatch *w = user_data;
  GstElement *element = g_value_get_object (item);
  GList *l;

  GST_OBJECT_LOCK (element);
  for (l = element->sinkpads; l; l = l->next) {
    StallSink s = { 0 };
    s.sink = gst_object_ref (element);
    s.pad = gst_object_ref (l->data);
    g_array_append_val (w->sinks, s);
  }
  GST_OBJECT_UNLOCK (element);
}

static StallWatch *
stall_watch_new (GstElement * pipeline, double timeout)
{
  StallWatch *w = g_new0 (StallWatch, 1);
  GstIterator *it = gst_bin_iterate_sinks (GST_BIN (pipeline));
  guint i;

  w->timeout = timeout;
  w->sinks = g_array_new (FALSE, TRUE, sizeof (StallSink));
  gst_iterator_foreach (it, stall_add_sink, w);
  gst_iterator_free (it);
  /* the array is complete: element addresses are stable from here on */
  for (i = 0; i < w->sinks->len; i++) {
    StallSink *s = &g_array_index (w->sinks, StallSink, i);
    s->watch = w;
    s->probe = gst_pad_add_probe (s->pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_BUFFER_LIST, stall_buffer_probe, s, NULL);
  }
  w->last_progress = w->last_check = g_get_monotonic_time ();
  w->last_cpu = process_cpu_seconds ();
  return w;
}

/* every bus message of the pipeline is progress, and the last one is named
 * when the step stalls */
static void
stall_watch_message (StallWatch * w, GstMessage * msg)
{
  if (w == NULL)
    return;
  w->last_progress = w->last_message = g_get_monotonic_time ();
  g_free (w->last_poster);
  w->last_poster = g_strdup_printf ("%s (%s)", GST_MESSAGE_SRC (msg) ?
      GST_MESSAGE_SRC_NAME (msg) : "?", GST_MESSAGE_TYPE_NAME (msg));
}

static const char *
state_name (GstState s)
{
  return gst_element_state_get_name (s);
}

/* what waits: the pipeline's state, the sinks without data, the last
 * message */
static void
stall_describe (StallWatch * w, GstElement * pipeline, double seconds)
{
  GString *d = g_string_new (NULL);
  GString *idle = g_string_new (NULL);
  GstState cur, pending;
  guint i;

  gst_element_get_state (pipeline, &cur, &pending, 0);
  for (i = 0; i < w->sinks->len; i++) {
    StallSink *s = &g_array_index (w->sinks, StallSink, i);
    GstState sc, sp;
    if (g_atomic_int_get (&s->buffers) > 0)
      continue;
    gst_element_get_state (s->sink, &sc, &sp, 0);
    g_string_append_printf (idle, "%s%s (%s%s%s)", idle->len ? ", " : "",
        GST_OBJECT_NAME (s->sink), state_name (sc),
        sp != GST_STATE_VOID_PENDING ? ", waiting for " : "",
        sp != GST_STATE_VOID_PENDING ? state_name (sp) : "");
  }
  w->message = g_strdup_printf ("no progress for %g s (--stall-timeout): "
      "pipeline %s%s%s; %s%s", seconds, state_name (cur),
      pending != GST_STATE_VOID_PENDING ? ", waiting for " : "",
      pending != GST_STATE_VOID_PENDING ? state_name (pending) : "",
      idle->len ? "sinks that never received a buffer: " :
      "every sink received buffers, none lately", idle->len ? idle->str : "");
  if (w->last_poster)
    g_string_append_printf (d, "last bus message: %s, %.1f s before",
        w->last_poster, (g_get_monotonic_time () - w->last_message) / 1e6);
  else
    g_string_append (d, "no bus message");
  if (idle->len && cur < GST_STATE_PAUSED)
    g_string_append (d, "; a sink that gets no data never prerolls, and "
        "holds the whole pipeline before PAUSED");
  w->debug = g_string_free (d, FALSE);
  g_string_free (idle, TRUE);
}

static gboolean
on_stall_check (gpointer user_data)
{
  Runner *r = user_data;
  StallWatch *w = r->stall;
  gint64 now = g_get_monotonic_time ();
  double cpu = process_cpu_seconds ();
  gint buffers = g_atomic_int_get (&w->buffers);

  if (buffers != w->last_buffers
      || cpu - w->last_cpu > STALL_CPU_SHARE * (now - w->last_check) / 1e6)
    w->last_progress = now;
  w->last_buffers = buffers;
  w->last_cpu = cpu;
  w->last_check = now;
  if ((now - w->last_progress) / 1e6 < w->timeout)
    return G_SOURCE_CONTINUE;
  stall_describe (w, r->pipeline, w->timeout);
  w->source = 0;
  g_main_loop_quit (r->loop);
  return G_SOURCE_REMOVE;
}

static void
stall_watch_start (Runner * r)
{
  guint interval;

  if (r->stall_timeout <= 0)
    return;
  r->stall = stall_watch_new (r->pipeline, r->stall_timeout);
  /* checks often enough to fail within a tenth of the timeout of it */
  interval = (guint) CLAMP (r->stall_timeout * 100, 10, 1000);
  r->stall->source = g_timeout_add (interval, on_stall_check, r);
}

/* after the pipeline went to NULL: no streaming thread touches the probes */
static void
stall_watch_free (StallWatch * w)
{
  guint i;

  if (w == NULL)
    return;
  if (w->source)
    g_source_remove (w->source);
  for (i = 0; i < w->sinks->len; i++) {
    StallSink *s = &g_array_index (w->sinks, StallSink, i);
    gst_pad_remove_probe (s->pad, s->probe);
    gst_object_unref (s->pad);
    gst_object_unref (s->sink);
  }
  g_array_free (w->sinks, TRUE);
  g_free (w->last_poster);
  g_free (w->message);
  g_free (w->debug);
  g_free (w);
}

static gboolean
run_pipeline_step (Runner * r, JsonObject * result)
{
  GError *error = NULL;
  GstElement *element;
  GstBus *bus;
  guint bus_watch, tick, timeout = 0;
  gboolean start_failed = FALSE;
  GstParseContext *ctx = gst_parse_context_new ();

  json_object_set_string_member (result, "kind", "pipeline");
  if (r->step->file)
    json_object_set_string_member (result, "file", r->step->file);
  json_object_set_string_member (result, "launch", r->step->launch);
  r->messages = json_array_new ();
  r->items = json_array_new ();
  r->warnings = json_array_new ();
  r->error = NULL;
  r->done = r->total = r->skipped = 0;
  r->progress_shown = FALSE;
  r->last_plain = 0;
  g_clear_pointer (&r->last_id, g_free);

  element = gst_parse_launch_full (r->step->launch, ctx,
      GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (element == NULL) {
    char **missing = gst_parse_context_get_missing_elements (ctx);
    char *extra = missing ? g_strjoinv (", ", missing) : NULL;
    char *debug = extra ? g_strdup_printf ("missing elements: %s "
        "(is GST_PLUGIN_PATH set? see docs/runner.md)", extra) : NULL;
    r->error = error_object (r->step->name, NULL, error->message, debug);
    g_strfreev (missing);
    g_free (extra);
    g_free (debug);
    g_error_free (error);
    gst_parse_context_free (ctx);
    goto done;
  }
  gst_parse_context_free (ctx);
  if (!GST_IS_PIPELINE (element)) {
    r->pipeline = gst_pipeline_new (NULL);
    gst_bin_add (GST_BIN (r->pipeline), element);
  } else {
    r->pipeline = element;
  }
  if (r->step->show_items && !install_item_probes (r, &error)) {
    r->error = error_object (r->step->name, NULL, error->message, NULL);
    g_error_free (error);
    goto done;
  }

  bus = gst_element_get_bus (r->pipeline);
  bus_watch = gst_bus_add_watch (bus, on_bus_message, r);
  gst_object_unref (bus);
  tick = g_timeout_add (250, on_tick, r);
  if (r->step->timeout > 0)
    timeout = g_timeout_add ((guint) (r->step->timeout * 1000), on_timeout,
        r);

  r->step_start = g_get_monotonic_time ();
  stall_watch_start (r);
  /* a failure to start normally posts its error on the bus; the drain
   * below picks it up */
  if (gst_element_set_state (r->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    start_failed = TRUE;
  else if (!r->interrupted)
    g_main_loop_run (r->loop);

  /* drain what is left on the bus (messages posted with the EOS, or the
   * error of a failed start) before going to NULL, which flushes it */
  {
    GstBus *b = gst_element_get_bus (r->pipeline);
    GstMessage *m;
    while ((m = gst_bus_pop (b)) != NULL) {
      if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT
          || GST_MESSAGE_TYPE (m) == GST_MESSAGE_APPLICATION
          || GST_MESSAGE_TYPE (m) == GST_MESSAGE_WARNING
          || GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
        on_bus_message (b, m, r);
      gst_message_unref (m);
    }
    gst_object_unref (b);
  }
  gst_element_set_state (r->pipeline, GST_STATE_NULL);
  g_source_remove (bus_watch);
  g_source_remove (tick);
  if (timeout && !r->timed_out)
    g_source_remove (timeout);
  if (r->progress_shown)
    print_progress (r, TRUE);
  clear_line (r);

  if (r->error == NULL && start_failed)
    r->error = error_object (r->step->name, NULL, "the pipeline could not "
        "be set to PLAYING (no element said why)", NULL);
  if (r->error == NULL && r->timed_out) {
    char *m = g_strdup_printf ("timed out after %g s (timeout key of the "
        "step)", r->step->timeout);
    r->error = error_object (r->step->name, NULL, m, NULL);
    g_free (m);
  }
  if (r->error == NULL && r->stall && r->stall->message)
    r->error = error_object (r->step->name, NULL, r->stall->message,
        r->stall->debug);
  g_clear_pointer (&r->stall, stall_watch_free);

done:
  if (r->pipeline) {
    gst_object_unref (r->pipeline);
    r->pipeline = NULL;
  }
  json_object_set_array_member (result, "messages", r->messages);
  if (r->step->show_items)
    json_object_set_array_member (result, "items", r->items);
  else
    json_array_unref (r->items);
  json_object_set_array_member (result, "warnings", r->warnings);
  r->messages = r->items = r->warnings = NULL;
  if (r->error) {
    json_object_set_object_member (result, "error", r->error);
    return FALSE;
  }
  return !r->interrupted;
}

static void
on_generator_progress (guint done, guint total, const char *what,
    gpointer user_data)
{
  Runner *r = user_data;
  gint64 now = g_get_monotonic_time ();

  r->done = done;
  r->total = total;
  g_free (r->last_id);
  r->last_id = g_strdup (what);
  r->progress_shown = TRUE;
  if (r->tty || (now - r->last_plain >= G_USEC_PER_SEC && done < total)) {
    print_progress (r, FALSE);
    r->last_plain = now;
  }
}

static gboolean
run_generate_step (Runner * r, JsonObject * result)
{
  const RunnerGenerator *gen = runner_find_generator (r->step->generator);
  JsonObject *report = json_object_new ();
  JsonObject *params = json_object_new ();
  const RunnerParam *p;
  GError *error = NULL;
  gboolean ok;

  json_object_set_string_member (result, "kind", "generate");
  json_object_set_string_member (result, "generator", gen->name);
  for (p = gen->params; p->name; p++)
    json_object_set_string_member (params, p->name,
        g_hash_table_lookup (r->step->params, p->name));
  json_object_set_object_member (result, "params", params);
  r->step_start = g_get_monotonic_time ();
  r->done = r->total = r->skipped = 0;
  r->progress_shown = FALSE;
  r->last_plain = 0;
  g_clear_pointer (&r->last_id, g_free);
  ok = gen->run (r->step->params, report, on_generator_progress, r, &error);
  if (r->progress_shown)
    print_progress (r, TRUE);
  clear_line (r);
  json_object_set_object_member (result, "report", report);
  if (!ok) {
    r->error = error_object (r->step->name, gen->name, error->message, NULL);
    json_object_set_object_member (result, "error", r->error);
    g_error_free (error);
  } else if (!r->quiet && json_object_has_member (report, "summary")) {
    char *line = g_strdup_printf ("  %s: %s", gen->name,
        json_object_get_string_member (report, "summary"));
    print_line (r, line);
    g_free (line);
  } else if (!r->quiet) {
    char *line = g_strdup_printf ("  %s: %" G_GINT64_FORMAT
        " items in %s%s", gen->name,
        json_object_get_int_member_with_default (report, "items", 0),
        json_object_get_string_member_with_default (report, "output", ""),
        json_object_get_boolean_member_with_default (report, "cached",
            FALSE) ? " (cached)" : "");
    print_line (r, line);
    g_free (line);
  }
  return ok;
}

/* ---- experiments ---- */

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

static char *
find_experiment (const char *arg)
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

static int
list_experiments (void)
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

static void
print_dry_run (RunnerExperiment * e)
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
}

/* From the build tree the plugin sits in ../plugins beside this program's
 * folder; point GStreamer at it unless the user chose a plugin path. */
static void
find_plugin_in_build_tree (void)
{
  const char *env = g_getenv ("GST_PLUGIN_PATH");
  char *exe, *dir, *plugins, *lib;

  if (env != NULL && *env != '\0')
    return;
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe == NULL)
    return;
  dir = g_path_get_dirname (exe);
  plugins = g_build_filename (dir, "..", "plugins", NULL);
  lib = g_build_filename (plugins, "libgstaffect.so", NULL);
  if (g_file_test (lib, G_FILE_TEST_EXISTS))
    g_setenv ("GST_PLUGIN_PATH", plugins, TRUE);
  g_free (lib);
  g_free (plugins);
  g_free (dir);
  g_free (exe);
}

static gboolean
write_results (const char *path, JsonObject * root, GError ** error)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  JsonGenerator *gen = json_generator_new ();
  char *text;
  gsize len;
  gboolean ok;

  json_node_set_object (node, root);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, &len);
  text = g_realloc (text, len + 2);
  text[len++] = '\n';
  text[len] = '\0';
  ok = affect_file_set_contents_atomic (path, text, len, error);
  g_free (text);
  g_object_unref (gen);
  json_node_unref (node);
  return ok;
}

static char *
iso_now (void)
{
  GDateTime *now = g_date_time_new_now_utc ();
  char *s = g_date_time_format_iso8601 (now);

  g_date_time_unref (now);
  return s;
}

static void
usage_error (GOptionContext * ctx, const char *message)
{
  g_printerr ("affect-run: %s\n(affect-run --help for usage)\n", message);
}

/* the option strings and the context, on the ways out before the run */
static void
options_free (Runner * r, GOptionContext * ctx)
{
  g_clear_pointer (&r->output, g_free);
  g_clear_pointer (&r->shard, g_free);
  g_option_context_free (ctx);
}

int
main (int argc, char **argv)
{
  Runner r = {.stall_timeout = DEFAULT_STALL_TIMEOUT };
  GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &r.output,
        "Folder for results.json (default: results/EXPERIMENT); also the "
          "variable RESULTS", "DIR"},
    {"shard", 's', 0, G_OPTION_ARG_STRING, &r.shard,
        "Run shard i of N (0 <= i < N), passed to pipelines as ${SHARD}",
        "i/N"},
    {"list", 'l', 0, G_OPTION_ARG_NONE, &r.list,
        "List the experiments and built-in generators, then exit", NULL},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &r.dry_run,
        "Print the variables and the expanded steps without running them",
        NULL},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &r.quiet,
        "No progress or item lines (warnings and errors are still printed)", NULL},
    {"stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &r.stall_timeout,
        "Fail a pipeline step that makes no progress (no buffer at a sink, "
          "no bus message, no CPU work) for SECONDS, naming what waits "
          "(default 300; 0 = never)", "SECONDS"},
    {NULL}
  };
  GOptionContext *ctx;
  GError *error = NULL;
  GHashTable *builtins, *overrides;
  RunnerExperiment *e = NULL;
  JsonObject *root = NULL, *vars_obj;
  JsonArray *steps;
  char *path = NULL, *results_path = NULL, *results_dir = NULL, *cwd, *t;
  int status = 0, i;
  gint64 run_start = g_get_monotonic_time ();
  GList *keys, *l;

  find_plugin_in_build_tree ();
  /* the live service parses its own options (pipelines/live.c) */
  if (argc >= 2 && strcmp (argv[1], "live") == 0)
    return runner_live_main (argc, argv);

  ctx = g_option_context_new ("EXPERIMENT [VAR=value ...]");
  g_option_context_set_summary (ctx,
      "Runs a gst-affect experiment: its steps (corpus generators and "
      "gst-launch pipelines) in order,\nwith a progress line, and collects "
      "every affect-* bus message into RESULTS/results.json.\n\n"
      "EXPERIMENT is a name (looked up as pipelines/NAME.experiment) or a "
      "path.\nVAR=value sets ${VAR} in the experiment's pipelines, over its "
      "[variables] defaults.");
  g_option_context_set_description (ctx,
      "Built-in variables: SOURCE_DIR, PIPELINES (the experiment's folder), "
      "EXPERIMENT,\nRESULTS, CACHE (generated corpora; default "
      "$XDG_CACHE_HOME/gst-affect), SHARD (i/N),\nSHARD_INDEX, SHARD_COUNT.\n"
      "Exit status: 0 success, 1 a step failed, 2 bad usage or experiment, "
      "130 interrupted.\nSee docs/runner.md.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    usage_error (ctx, error->message);
    g_error_free (error);
    options_free (&r, ctx);
    return EXIT_USAGE;
  }
  if (!(r.stall_timeout >= 0.0 && r.stall_timeout <= 1e6)) {
    usage_error (ctx, "--stall-timeout wants seconds in [0, 1000000]");
    options_free (&r, ctx);
    return EXIT_USAGE;
  }
  gst_init (NULL, NULL);
  affect_init ();
  if (r.list) {
    options_free (&r, ctx);
    return list_experiments ();
  }
  if (argc < 2) {
    usage_error (ctx, "no experiment given");
    options_free (&r, ctx);
    return EXIT_USAGE;
  }
  if (strcmp (argv[1], "merge") == 0) {
    int merged;
    if (argc != 3) {
      usage_error (ctx, "merge wants one folder: affect-run merge DIR");
      options_free (&r, ctx);
      return EXIT_USAGE;
    }
    merged = runner_merge (argv[2], r.quiet);
    options_free (&r, ctx);
    return merged == 0 ? 0 : EXIT_STEP_FAILED;
  }

  r.shard_index = 0;
  r.shard_count = 1;
  if (r.shard) {
    guint64 a, b;
    char **parts = g_strsplit (r.shard, "/", 2);
    if (g_strv_length (parts) != 2
        || !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXUINT, &a, NULL)
        || !g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXUINT, &b, NULL)
        || a >= b) {
      g_strfreev (parts);
      usage_error (ctx, "--shard wants i/N with 0 <= i < N, e.g. 0/4");
      options_free (&r, ctx);
      return EXIT_USAGE;
    }
    r.shard_index = a;
    r.shard_count = b;
    g_strfreev (parts);
  }

  path = find_experiment (argv[1]);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    char *m = g_strdup_printf ("no experiment '%s' (looked for %s; "
        "affect-run --list shows them)", argv[1], path);
    usage_error (ctx, m);
    g_free (m);
    g_free (path);
    options_free (&r, ctx);
    return EXIT_USAGE;
  }

  overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (i = 2; i < argc; i++) {
    const char *eq = strchr (argv[i], '=');
    const char *const shard_vars[] = { "SHARD", "SHARD_INDEX",
      "SHARD_COUNT", NULL
    };
    char *name, *m = NULL;
    if (eq == NULL || eq == argv[i])
      m = g_strdup_printf ("'%s' is not VAR=value", argv[i]);
    name = m ? NULL : g_strndup (argv[i], eq - argv[i]);
    if (name && g_strv_contains (shard_vars, name))
      m = g_strdup_printf ("%s is set by --shard i/N", name);
    if (m) {
      usage_error (ctx, m);
      g_free (m);
      g_free (name);
      g_hash_table_unref (overrides);
      g_free (path);
      options_free (&r, ctx);
      return EXIT_USAGE;
    }
    g_hash_table_insert (overrides, name, g_strdup (eq + 1));
  }

  /* built-in variables */
  builtins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cwd = g_get_current_dir ();
  {
    char *dir = g_path_get_dirname (path), *abs_dir, *name;
    char *base = g_path_get_basename (path);
    abs_dir = g_path_is_absolute (dir) ? g_strdup (dir) :
        g_build_filename (cwd, dir, NULL);
    name = g_str_has_suffix (base, ".experiment") ?
        g_strndup (base, strlen (base) - strlen (".experiment")) :
        g_strdup (base);
    g_hash_table_insert (builtins, g_strdup ("PIPELINES"), abs_dir);
    g_hash_table_insert (builtins, g_strdup ("EXPERIMENT"), g_strdup (name));
    if (r.output)
      results_dir = g_path_is_absolute (r.output) ? g_strdup (r.output) :
          g_build_filename (cwd, r.output, NULL);
    else if (g_hash_table_contains (overrides, "RESULTS"))
      results_dir = g_strdup (g_hash_table_lookup (overrides, "RESULTS"));
    else
      results_dir = g_build_filename (cwd, "results", name, NULL);
    g_hash_table_insert (builtins, g_strdup ("RESULTS"),
        g_strdup (results_dir));
    g_hash_table_remove (overrides, "RESULTS");
    g_free (dir);
    g_free (base);
    g_free (name);
  }
  g_hash_table_insert (builtins, g_strdup ("SOURCE_DIR"),
      g_strdup (AFFECT_SOURCE_DIR));
  g_hash_table_insert (builtins, g_strdup ("CACHE"),
      g_getenv ("AFFECT_CACHE_DIR") ? g_strdup (g_getenv ("AFFECT_CACHE_DIR"))
      : g_build_filename (g_get_user_cache_dir (), "gst-affect", NULL));
  /* audioresample's own default; affectsrc resamples each item with it */
  g_hash_table_insert (builtins, g_strdup ("RESAMPLE_QUALITY"),
      g_strdup ("4"));
  g_hash_table_insert (builtins, g_strdup ("SHARD"),
      g_strdup_printf ("%u/%u", r.shard_index, r.shard_count));
  g_hash_table_insert (builtins, g_strdup ("SHARD_INDEX"),
      g_strdup_printf ("%u", r.shard_index));
  g_hash_table_insert (builtins, g_strdup ("SHARD_COUNT"),
      g_strdup_printf ("%u", r.shard_count));

  e = runner_experiment_load (path, builtins, overrides, &error);
  g_hash_table_unref (builtins);
  g_hash_table_unref (overrides);
  if (e == NULL) {
    g_printerr ("affect-run: %s\n", error->message);
    g_error_free (error);
    status = EXIT_USAGE;
    goto out;
  }
  if (r.dry_run) {
    print_dry_run (e);
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

  root = json_object_new ();
  json_object_set_string_member (root, "experiment", e->name);
  json_object_set_string_member (root, "file", e->path);
  if (e->description)
    json_object_set_string_member (root, "description", e->description);
  t = iso_now ();
  json_object_set_string_member (root, "started", t);
  g_free (t);
  t = gst_version_string ();
  json_object_set_string_member (root, "gstreamer", t);
  g_free (t);
  json_object_set_string_member (root, "libaffect", affect_version ());
  {
    JsonObject *shard = json_object_new ();
    json_object_set_int_member (shard, "index", r.shard_index);
    json_object_set_int_member (shard, "count", r.shard_count);
    json_object_set_object_member (root, "shard", shard);
  }
  vars_obj = json_object_new ();
  keys = g_list_sort (g_hash_table_get_keys (e->vars),
      (GCompareFunc) g_strcmp0);
  for (l = keys; l; l = l->next)
    json_object_set_string_member (vars_obj, l->data,
        g_hash_table_lookup (e->vars, l->data));
  g_list_free (keys);
  json_object_set_object_member (root, "variables", vars_obj);
  steps = json_array_new ();
  json_object_set_array_member (root, "steps", steps);

  r.tty = isatty (STDOUT_FILENO) && g_strcmp0 (g_getenv ("TERM"), "dumb");
  r.loop = g_main_loop_new (NULL, FALSE);
  r.n_steps = e->steps->len;
  if (!r.quiet)
    g_print ("affect-run: %s: %u step%s%s%s\n", e->name, r.n_steps,
        r.n_steps == 1 ? "" : "s", e->description ? " - " : "",
        e->description ? e->description : "");

  for (i = 0; i < (int) e->steps->len && status == 0; i++) {
    JsonObject *result = json_object_new ();
    gint64 start = g_get_monotonic_time ();
    gboolean ok;
    guint sigint;

    r.step = g_ptr_array_index (e->steps, i);
    r.step_number = i + 1;
    r.error = NULL;
    json_object_set_string_member (result, "name", r.step->name);
    if (r.step->description)
      json_object_set_string_member (result, "description",
          r.step->description);
    /* Ctrl-C stops a pipeline cleanly (results written, exit 130); during
     * a generator it keeps its default effect, so a long generation can be
     * interrupted too (generators write atomically) */
    sigint = r.step->kind == RUNNER_STEP_PIPELINE ?
        g_unix_signal_add (SIGINT, on_sigint, &r) : 0;
    if (!r.quiet) {
      t = g_strdup_printf ("[%u/%u %s]%s%s", r.step_number, r.n_steps,
          r.step->name, r.step->description ? " " : "",
          r.step->description ? r.step->description : "");
      print_line (&r, t);
      g_free (t);
    }

    /* an included experiment's results folder */
    if (r.step->results && g_mkdir_with_parents (r.step->results, 0755) != 0) {
      g_printerr ("affect-run: cannot create %s: %s\n", r.step->results,
          g_strerror (errno));
      status = EXIT_STEP_FAILED;
      json_object_unref (result);
      if (sigint)
        g_source_remove (sigint);
      break;
    }
    ok = r.step->kind == RUNNER_STEP_PIPELINE ? run_pipeline_step (&r, result)
        : run_generate_step (&r, result);
    if (sigint)
      g_source_remove (sigint);
    json_object_set_double_member (result, "seconds",
        (g_get_monotonic_time () - start) / 1e6);
    json_object_set_string_member (result, "status", ok ? "ok" :
        r.interrupted ? "interrupted" : "error");
    json_array_add_object_element (steps, result);

    if (r.interrupted) {
      g_printerr ("affect-run: interrupted in step '%s'\n", r.step->name);
      status = EXIT_INTERRUPTED;
    } else if (!ok) {
      const char *src = json_object_has_member (r.error, "source") ?
          json_object_get_string_member (r.error, "source") : NULL;
      g_printerr ("affect-run: step '%s' failed%s%s: %s\n", r.step->name,
          src ? " in " : "", src ? src : "",
          json_object_get_string_member (r.error, "message"));
      if (json_object_has_member (r.error, "debug"))
        g_printerr ("  %s\n", json_object_get_string_member (r.error,
                "debug"));
      json_object_set_object_member (root, "error",
          json_object_ref (r.error));
      status = EXIT_STEP_FAILED;
    }
  }

  t = iso_now ();
  json_object_set_string_member (root, "finished", t);
  g_free (t);
  json_object_set_string_member (root, "status", status == 0 ? "ok" :
      status == EXIT_INTERRUPTED ? "interrupted" : "error");
  if (!write_results (results_path, root, &error)) {
    g_printerr ("affect-run: %s\n", error->message);
    g_error_free (error);
    if (status == 0)
      status = EXIT_STEP_FAILED;
  } else if (!r.quiet || status != 0) {
    const char *markdown = NULL, *tables = runner_report_tables (&markdown);
    /* UTF-8 as written (λ, ε, ▲), whatever the locale's charset */
    if (status == 0 && tables != NULL) {
      fputs ("\n", stdout);
      fputs (tables, stdout);
      fflush (stdout);
    }
    if (status == 0 && markdown != NULL)
      g_print ("affect-run: report: %s\n", markdown);
    g_print ("affect-run: %s in %.0f:%02.0f: results in %s\n",
        status == 0 ? "done" : "stopped",
        floor ((g_get_monotonic_time () - run_start) / 60e6),
        fmod (floor ((g_get_monotonic_time () - run_start) / 1e6), 60),
        results_path);
  }

out:
  if (root)
    json_object_unref (root);
  if (r.loop)
    g_main_loop_unref (r.loop);
  g_free (r.last_id);
  runner_experiment_free (e);
  g_free (path);
  g_free (results_path);
  g_free (results_dir);
  g_free (r.output);
  g_free (r.shard);
  g_option_context_free (ctx);
  g_free (cwd);
  return status;
}
