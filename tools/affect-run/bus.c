/* affect-run: the bus of a pipeline step and the stall watchdog.
 *
 * The bus handler runs on the main thread: it ends the step at EOS or at
 * the first error, records warnings, items (posted by the item probes of
 * steps.c) and every collected element message, and drives the progress
 * line (progress.c). */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include "run.h"

static void stall_watch_message (StallWatch * w, GstMessage * msg);

static gboolean
collected (Runner * r, const char *name)
{
  char **p;

  for (p = r->step->collect; p && *p; p++)
    if (**p && g_pattern_match_simple (*p, name))
      return TRUE;
  return FALSE;
}

gboolean
runner_on_bus_message (GstBus * bus, GstMessage * msg, gpointer user_data)
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
        r->error =
            runner_error_object (r->step->name, path, err->message, debug);
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
      runner_print_line (r, line);
      w = runner_error_object (r->step->name, src, err->message, debug);
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
          runner_print_item (r, s);
        json_array_add_object_element (r->items, runner_structure_to_json (s));
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
      json_object_set_object_member (m, "fields", runner_structure_to_json (s));
      json_array_add_object_element (r->messages, m);

      if (gst_structure_has_name (s, "affect-dataset-done") && !r->quiet)
        runner_print_dataset_done (r, src, s);
      if (gst_structure_has_name (s, "affect-train-epoch") && !r->quiet)
        runner_print_epoch (r, src, s);
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
          runner_print_progress (r, FALSE);
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

gboolean
runner_on_tick (gpointer user_data)
{
  Runner *r = user_data;

  /* keeps the elapsed time and ETA moving between messages */
  if (r->tty && r->progress_shown)
    runner_print_progress (r, FALSE);
  return G_SOURCE_CONTINUE;
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

void
runner_stall_watch_start (Runner * r)
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

void
runner_stall_watch_stop (Runner * r)
{
  if (r->error == NULL && r->stall && r->stall->message)
    r->error = runner_error_object (r->step->name, NULL, r->stall->message,
        r->stall->debug);
  g_clear_pointer (&r->stall, stall_watch_free);
}
