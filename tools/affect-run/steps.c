/* affect-run: running the steps of an experiment, in order.
 *
 * A pipeline step is built with gst_parse_launch_full() (fatal on a missing
 * element), set to PLAYING and run on the main loop until EOS, the first
 * error, its timeout, a stall (bus.c) or Ctrl-C. A generator step calls a
 * built-in generator (runner.h). Shards need nothing here: --shard only
 * sets the variables the pipelines pass on (options.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "run.h"

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
    r->error = runner_error_object (r->step->name, NULL, error->message, debug);
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
    r->error = runner_error_object (r->step->name, NULL, error->message, NULL);
    g_error_free (error);
    goto done;
  }

  bus = gst_element_get_bus (r->pipeline);
  bus_watch = gst_bus_add_watch (bus, runner_on_bus_message, r);
  gst_object_unref (bus);
  tick = g_timeout_add (250, runner_on_tick, r);
  if (r->step->timeout > 0)
    timeout = g_timeout_add ((guint) (r->step->timeout * 1000), on_timeout, r);

  r->step_start = g_get_monotonic_time ();
  runner_stall_watch_start (r);
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
        runner_on_bus_message (b, m, r);
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
    runner_print_progress (r, TRUE);
  runner_clear_line (r);

  if (r->error == NULL && start_failed)
    r->error =
        runner_error_object (r->step->name, NULL,
        "the pipeline could not " "be set to PLAYING (no element said why)",
        NULL);
  if (r->error == NULL && r->timed_out) {
    char *m = g_strdup_printf ("timed out after %g s (timeout key of the "
        "step)", r->step->timeout);
    r->error = runner_error_object (r->step->name, NULL, m, NULL);
    g_free (m);
  }
  runner_stall_watch_stop (r);

done:
  if (r->pipeline) {
    gst_object_unref (r->pipeline);
    r->pipeline = NULL;
  }
  if (r->error == NULL && !r->interrupted && r->step->messages
      && !runner_write_messages (r->step->messages, r->messages, &error)) {
    r->error = runner_error_object (r->step->name, NULL, error->message, NULL);
    g_clear_error (&error);
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
    runner_print_progress (r, FALSE);
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
    runner_print_progress (r, TRUE);
  runner_clear_line (r);
  json_object_set_object_member (result, "report", report);
  if (!ok) {
    r->error =
        runner_error_object (r->step->name, gen->name, error->message, NULL);
    json_object_set_object_member (result, "error", r->error);
    g_error_free (error);
  } else if (!r->quiet && json_object_has_member (report, "summary")) {
    char *line = g_strdup_printf ("  %s: %s", gen->name,
        json_object_get_string_member (report, "summary"));
    runner_print_line (r, line);
    g_free (line);
  } else if (!r->quiet) {
    char *line = g_strdup_printf ("  %s: %" G_GINT64_FORMAT
        " items in %s%s", gen->name,
        json_object_get_int_member_with_default (report, "items", 0),
        json_object_get_string_member_with_default (report, "output", ""),
        json_object_get_boolean_member_with_default (report, "cached",
            FALSE) ? " (cached)" : "");
    runner_print_line (r, line);
    g_free (line);
  }
  return ok;
}

int
runner_run_steps (Runner * r, RunnerExperiment * e, JsonArray * steps,
    JsonObject * root)
{
  int status = 0;
  guint i;
  char *t;

  r->tty = isatty (STDOUT_FILENO) && g_strcmp0 (g_getenv ("TERM"), "dumb");
  r->loop = g_main_loop_new (NULL, FALSE);
  r->n_steps = e->steps->len;
  if (!r->quiet)
    g_print ("affect-run: %s: %u step%s%s%s\n", e->name, r->n_steps,
        r->n_steps == 1 ? "" : "s", e->description ? " - " : "",
        e->description ? e->description : "");
  for (i = 0; i < e->skipped->len && !r->quiet; i++)
    g_print ("affect-run: skipped %s\n",
        (char *) g_ptr_array_index (e->skipped, i));

  for (i = 0; i < e->steps->len && status == 0; i++) {
    JsonObject *result = json_object_new ();
    gint64 start = g_get_monotonic_time ();
    gboolean ok;
    guint sigint;

    r->step = g_ptr_array_index (e->steps, i);
    r->step_number = i + 1;
    r->error = NULL;
    json_object_set_string_member (result, "name", r->step->name);
    if (r->step->description)
      json_object_set_string_member (result, "description",
          r->step->description);
    /* Ctrl-C stops a pipeline cleanly (results written, exit 130); during
     * a generator it keeps its default effect, so a long generation can be
     * interrupted too (generators write atomically) */
    sigint = r->step->kind == RUNNER_STEP_PIPELINE ?
        g_unix_signal_add (SIGINT, on_sigint, r) : 0;
    if (!r->quiet) {
      t = g_strdup_printf ("[%u/%u %s]%s%s", r->step_number, r->n_steps,
          r->step->name, r->step->description ? " " : "",
          r->step->description ? r->step->description : "");
      runner_print_line (r, t);
      g_free (t);
    }

    /* an included experiment's results folder */
    if (r->step->results && g_mkdir_with_parents (r->step->results, 0755) != 0) {
      g_printerr ("affect-run: cannot create %s: %s\n", r->step->results,
          g_strerror (errno));
      status = EXIT_STEP_FAILED;
      json_object_unref (result);
      if (sigint)
        g_source_remove (sigint);
      break;
    }
    ok = r->step->kind == RUNNER_STEP_PIPELINE ? run_pipeline_step (r, result)
        : run_generate_step (r, result);
    if (sigint)
      g_source_remove (sigint);
    json_object_set_double_member (result, "seconds",
        (g_get_monotonic_time () - start) / 1e6);
    json_object_set_string_member (result, "status", ok ? "ok" :
        r->interrupted ? "interrupted" : "error");
    json_array_add_object_element (steps, result);

    if (r->interrupted) {
      g_printerr ("affect-run: interrupted in step '%s'\n", r->step->name);
      status = EXIT_INTERRUPTED;
    } else if (!ok) {
      const char *src = json_object_has_member (r->error, "source") ?
          json_object_get_string_member (r->error, "source") : NULL;
      g_printerr ("affect-run: step '%s' failed%s%s: %s\n", r->step->name,
          src ? " in " : "", src ? src : "",
          json_object_get_string_member (r->error, "message"));
      if (json_object_has_member (r->error, "debug"))
        g_printerr ("  %s\n", json_object_get_string_member (r->error,
                "debug"));
      json_object_set_object_member (root, "error", json_object_ref (r->error));
      status = EXIT_STEP_FAILED;
    }
  }

  g_clear_pointer (&r->loop, g_main_loop_unref);
  return status;
}
