/* Element tests of refused properties: a pipeline whose element cannot work
 * with the stream must end with one error from it, within a time limit. */
#ifndef __TEST_REFUSAL_H__
#define __TEST_REFUSAL_H__

#include <string.h>
#include <gst/gst.h>

/* seconds allowed before the first error; a run that takes longer fails */
#define REFUSAL_TIMEOUT_S 20
/* how long repeated posts are waited for after the first error */
#define REFUSAL_SETTLE_MS 500

/* Runs `launch` to its first ERROR message (failing the test if none comes
 * within REFUSAL_TIMEOUT_S), waits REFUSAL_SETTLE_MS for more, stops the
 * pipeline and returns how many ERROR messages the element named `name`
 * posted; `*text` gets the first one's message (g_free). */
static G_GNUC_UNUSED guint
run_refusal (const gchar * launch, const gchar * name, gchar ** text)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  GstBus *bus;
  GstMessage *msg;
  GstClockTime wait = REFUSAL_TIMEOUT_S * GST_SECOND;
  guint n = 0, n_any = 0;
  gint64 settle_end = 0;

  g_assert_no_error (error);
  *text = NULL;
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    msg = gst_bus_timed_pop_filtered (bus, wait,
        GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    if (msg == NULL)
      break;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      gst_message_unref (msg);
      g_error ("'%s' ran to EOS instead of failing", launch);
    }
    n_any++;
    if (g_strcmp0 (GST_MESSAGE_SRC_NAME (msg), name) == 0) {
      if (n++ == 0) {
        GError *err = NULL;
        gst_message_parse_error (msg, &err, NULL);
        *text = g_strdup (err->message);
        g_error_free (err);
      }
    }
    gst_message_unref (msg);
    if (settle_end == 0)
      settle_end = g_get_monotonic_time () + REFUSAL_SETTLE_MS * 1000;
    wait = MAX (settle_end - g_get_monotonic_time (), 0) * GST_USECOND;
  }
  if (n_any == 0)
    g_error ("'%s' posted no error within %d s", launch, REFUSAL_TIMEOUT_S);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return n;
}

/* One error from `name`, whose message holds every string of `needles`
 * (NULL-terminated) */
static G_GNUC_UNUSED void
assert_refused (const gchar * launch, const gchar * name,
    const gchar * const *needles)
{
  gchar *text = NULL;
  guint n = run_refusal (launch, name, &text);

  if (n != 1)
    g_error ("'%s': %u errors from %s (first: %s), expected 1", launch, n,
        name, text ? text : "none");
  for (; *needles; needles++)
    if (strstr (text, *needles) == NULL)
      g_error ("'%s': error \"%s\" does not name \"%s\"", launch, text,
          *needles);
  g_test_message ("%s: %s", name, text);
  g_free (text);
}

#endif /* __TEST_REFUSAL_H__ */
