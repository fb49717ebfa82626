/* metrics-feed: items from a text file through affectmetrics (GstHarness),
 * so that a script can compare the element's report with scikit-learn.
 *
 *   metrics-feed ITEMS "affectmetrics location=r.json ..."
 *
 * ITEMS: a first line "class NAME..." or "regression NAME..." (the
 * outputs), then one line per item:
 *   SPLIT ROUTE GATE-LABEL TRUTH SCORE...
 * SPLIT "-" = none; ROUTE -1 = not routed; GATE-LABEL written into the
 * item's "spontaneity" column as is ("-" = none); TRUTH the class index
 * (class) or one target per output (regression). An error on the bus
 * exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstharness.h>

#include "gstaffectitem.h"

int
main (int argc, char **argv)
{
  gchar *text = NULL, **lines, **head, *names, *caps;
  GError *error = NULL;
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  gboolean regression;
  guint k, i, j, n_items = 0;
  int status = 0;

  gst_init (&argc, &argv);
  if (argc != 3) {
    fprintf (stderr, "usage: %s ITEMS LAUNCH\n", argv[0]);
    return 2;
  }
  if (!g_file_get_contents (argv[1], &text, NULL, &error)) {
    fprintf (stderr, "metrics-feed: %s\n", error->message);
    return 2;
  }
  lines = g_strsplit (text, "\n", -1);
  g_free (text);
  head = g_strsplit (lines[0], " ", -1);
  regression = g_strcmp0 (head[0], "regression") == 0;
  k = g_strv_length (head) - 1;
  names = g_strjoinv (",", head + 1);

  h = gst_harness_new_parse (argv[2]);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  caps = g_strdup_printf ("other/tensors, format=static, num_tensors=1, "
      "types=float32, dimensions=(string)%u, framerate=0/1, "
      "affect-output=%s, names=\"%s\"", k, regression ? "targets" : "scores",
      names);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);

  for (i = 1; lines[i] && lines[i][0]; i++) {
    gchar **f = g_strsplit (lines[i], " ", -1);
    GstAffectItem *item = gst_affect_item_new (NULL);
    float *scores = g_new (float, k);
    guint first = regression ? 3 + k : 4;
    GstBuffer *buf;

    if (g_strv_length (f) != first + k) {
      fprintf (stderr, "metrics-feed: line %u has %u fields\n", i + 1,
          g_strv_length (f));
      return 2;
    }
    item->id = g_strdup_printf ("item_%05u", n_items);
    item->index = n_items++;
    if (strcmp (f[0], "-") != 0)
      item->split = g_strdup (f[0]);
    item->route = atoi (f[1]);
    item->route_probability = item->route == 0 ? 1.0 : 0.0;
    if (strcmp (f[2], "-") != 0)
      gst_affect_item_set_column (item, "spontaneity", f[2]);
    if (regression) {
      for (j = 0; j < k; j++)
        gst_affect_item_set_target (item, head[1 + j],
            g_ascii_strtod (f[3 + j], NULL));
    } else {
      gst_affect_item_set_class (item, (const gchar * const *) head + 1,
          head[1 + atoi (f[3])]);
    }
    for (j = 0; j < k; j++)
      scores[j] = (float) g_ascii_strtod (f[first + j], NULL);
    buf = gst_buffer_new_wrapped (scores, k * sizeof (float));
    GST_BUFFER_PTS (buf) = item->index * GST_SECOND;
    GST_BUFFER_DURATION (buf) = GST_SECOND;
    gst_harness_push_event (h, gst_affect_item_start_event_new (item));
    gst_harness_push (h, buf);
    gst_harness_push_event (h, gst_affect_item_end_event_new (item));
    gst_affect_item_free (item);
    g_strfreev (f);
  }
  gst_harness_push_event (h, gst_event_new_eos ());

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
    gst_message_parse_error (msg, &error, NULL);
    fprintf (stderr, "metrics-feed: %s\n", error->message);
    g_clear_error (&error);
    gst_message_unref (msg);
    status = 1;
  }
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (names);
  g_strfreev (head);
  g_strfreev (lines);
  return status;
}
