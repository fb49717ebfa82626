/* launch: gst-launch-1.0 in the project's own build, so that a sanitizer
 * build runs the plugin inside an instrumented process (the system
 * gst-launch-1.0 cannot load an instrumented plugin).
 *
 *   launch ELEMENT ! ELEMENT ...        (the words of a gst-launch line)
 *
 * Runs the pipeline to EOS; an error message, or no EOS within 300 s, prints
 * the error and exits 1. */
#include <gst/gst.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
  GstElement *pipeline;
  GstMessage *msg;
  GError *error = NULL;
  int status = 0;

  gst_init (&argc, &argv);
  if (argc < 2) {
    fprintf (stderr, "usage: %s PIPELINE-DESCRIPTION\n", argv[0]);
    return 2;
  }
  pipeline = gst_parse_launchv ((const char **) argv + 1, &error);
  if (pipeline == NULL || error != NULL) {
    fprintf (stderr, "launch: %s\n", error ? error->message : "no pipeline");
    g_clear_error (&error);
    if (pipeline)
      gst_object_unref (pipeline);
    return 1;
  }
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    status = 1;
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      300 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL) {
    fprintf (stderr, "launch: no EOS within 300 s\n");
    status = 1;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *debug = NULL;
    gst_message_parse_error (msg, &error, &debug);
    fprintf (stderr, "launch: %s: %s\n%s\n", GST_OBJECT_NAME (msg->src),
        error->message, debug ? debug : "");
    g_error_free (error);
    g_free (debug);
    status = 1;
  }
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gst_deinit ();
  return status;
}
