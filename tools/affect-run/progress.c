/* affect-run: what a run prints. A progress line driven by affectsrc's
 * affect-progress messages and the generators (redrawn in place on a
 * terminal, at most one plain line a second otherwise), with item, epoch
 * and warning lines above it (docs/runner.md, "Progress"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

void
runner_clear_line (Runner * r)
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

void
runner_print_progress (Runner * r, gboolean final)
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
    runner_clear_line (r);
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
void
runner_print_line (Runner * r, const char *text)
{
  runner_clear_line (r);
  fprintf (stdout, "%s\n", text);
  if (r->tty && r->progress_shown && r->step)
    runner_print_progress (r, FALSE);
  fflush (stdout);
}

/* "  3 tone-003  split=train  class=activated_pleasant  valence=0.71" */
void
runner_print_item (Runner * r, const GstStructure * s)
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
  runner_print_line (r, line->str);
  g_string_free (line, TRUE);
}

/* "affectsrc0: 15 items, 1 skipped" and one line per skipped item */
void
runner_print_dataset_done (Runner * r, const char *src, const GstStructure * s)
{
  guint emitted = 0, skipped = 0, i;
  const GValue *list = gst_structure_get_value (s, "skipped");
  char *line;

  gst_structure_get_uint (s, "items-emitted", &emitted);
  gst_structure_get_uint (s, "items-skipped", &skipped);
  line = g_strdup_printf ("  %s: %u item%s, %u skipped", src, emitted,
      emitted == 1 ? "" : "s", skipped);
  runner_print_line (r, line);
  g_free (line);
  if (list && GST_VALUE_HOLDS_ARRAY (list)) {
    for (i = 0; i < gst_value_array_get_size (list); i++) {
      const GValue *v = gst_value_array_get_value (list, i);
      if (G_VALUE_HOLDS_STRING (v)) {
        line = g_strdup_printf ("    skipped %s", g_value_get_string (v));
        runner_print_line (r, line);
        g_free (line);
      }
    }
  }
}


/* training runs after the items have streamed: an epoch line keeps the
 * progress going (every epoch of a second or more, faster ones once a
 * second) */
void
runner_print_epoch (Runner * r, const char *src, const GstStructure * s)
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
    g_string_append_printf (line, ", validation %s %.4f", metric_name, metric);
  if (best)
    g_string_append (line, " *");
  if (isfinite (seconds))
    g_string_append_printf (line, ", %.1f s", seconds);
  runner_print_line (r, line->str);
  g_string_free (line, TRUE);
}

void
runner_print_summary (Runner * r, int status, gint64 run_start,
    const char *results_path)
{
  const char *markdown = NULL, *tables = runner_report_tables (&markdown);
  double seconds = (g_get_monotonic_time () - run_start) / 1e6;

  /* UTF-8 as written (λ, ε, ▲), whatever the locale's charset */
  if (status == 0 && tables != NULL) {
    fputs ("\n", stdout);
    fputs (tables, stdout);
    fflush (stdout);
  }
  if (status == 0 && markdown != NULL)
    g_print ("affect-run: report: %s\n", markdown);
  g_print ("affect-run: %s in %.0f:%02.0f: results in %s\n",
      status == 0 ? "done" : "stopped", floor (seconds / 60),
      fmod (floor (seconds), 60), results_path);
}
