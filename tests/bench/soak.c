/* soak: a live chain for a long time, its memory and file descriptors
 * sampled, and a verdict on whether they stay flat (docs/benchmarks.md).
 *
 *   soak [--seconds=3600] [--interval=10] [--pipeline=DESCRIPTION]
 *
 * The default chain is live audio (audiotestsrc is-live=true, pink noise
 * with a sine, 16 kHz) split into affectis09 (2 s windows every 0.5 s, each
 * vector posted as a message) and affectmel (musicnn preset), both into
 * fakesinks. Every interval it prints the process's resident set (VmRSS),
 * its open file descriptors and how many vectors and Mel tensors arrived.
 *
 * Verdict: after a warm-up (the first tenth of the run, at least 30 s), a
 * least-squares line through the RSS samples must not rise by more than
 * 1 MiB over the rest of the run, the descriptor count must not change, and
 * the outputs must keep arriving at the rate the chain promises (at least
 * 90 %). Exit status 0 flat, 1 not flat, 2 bad usage or pipeline error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gst/gst.h>

#define DEFAULT_PIPELINE \
  "audiotestsrc is-live=true wave=pink-noise volume=0.3 samplesperbuffer=160 ! " \
  "audio/x-raw,format=F32LE,rate=16000,channels=1 ! tee name=t " \
  "t. ! queue ! affectis09 window=2000000000 hop=500000000 " \
  "post-messages=true ! fakesink name=is09sink " \
  "t. ! queue ! affectmel preset=musicnn frames-per-buffer=64 ! " \
  "fakesink name=melsink signal-handoffs=true"

typedef struct
{
  double t;                     /* seconds since PLAYING */
  gint64 rss_kb;
  int fds;
  guint64 vectors, tensors;
} Sample;

typedef struct
{
  GMainLoop *loop;
  GArray *samples;
  gint64 start;
  guint64 vectors;
  gint tensors;                 /* atomic: counted in the streaming thread */
  double seconds, interval;
  gboolean failed;
} Soak;

static gint64
rss_kb (void)
{
  char *status = NULL, *line;
  gint64 kb = -1;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "VmRSS:");
  if (line)
    kb = g_ascii_strtoll (line + strlen ("VmRSS:"), NULL, 10);
  g_free (status);
  return kb;
}

static int
open_fds (void)
{
  GDir *d = g_dir_open ("/proc/self/fd", 0, NULL);
  int n = 0;

  if (d == NULL)
    return -1;
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n - 1;                 /* the descriptor of the listing itself */
}

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, Soak * s)
{
  g_atomic_int_inc (&s->tensors);
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, Soak * s)
{
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, "affect-is09"))
        s->vectors++;
      break;
    case GST_MESSAGE_ERROR:{
      GError *error = NULL;
      gchar *debug = NULL;
      gst_message_parse_error (msg, &error, &debug);
      g_printerr ("soak: error from %s: %s\n%s\n", GST_OBJECT_NAME (msg->src),
          error->message, debug ? debug : "");
      g_error_free (error);
      g_free (debug);
      s->failed = TRUE;
      g_main_loop_quit (s->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_printerr ("soak: unexpected EOS\n");
      s->failed = TRUE;
      g_main_loop_quit (s->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sample (Soak * s)
{
  Sample x;

  x.t = (g_get_monotonic_time () - s->start) / 1e6;
  x.rss_kb = rss_kb ();
  x.fds = open_fds ();
  x.vectors = s->vectors;
  x.tensors = g_atomic_int_get (&s->tensors);
  g_array_append_val (s->samples, x);
  printf ("t=%6.0f s  rss=%7" G_GINT64_FORMAT " KiB  fds=%3d  "
      "is09-vectors=%6" G_GUINT64_FORMAT "  mel-tensors=%6" G_GUINT64_FORMAT
      "\n", x.t, x.rss_kb, x.fds, x.vectors, x.tensors);
  fflush (stdout);
  if (x.t >= s->seconds - 1e-3) {
    g_main_loop_quit (s->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* least-squares slope of y over t */
static double
slope (const double *t, const double *y, guint n)
{
  double mt = 0, my = 0, stt = 0, sty = 0;
  guint i;

  for (i = 0; i < n; i++) {
    mt += t[i] / n;
    my += y[i] / n;
  }
  for (i = 0; i < n; i++) {
    stt += (t[i] - mt) * (t[i] - mt);
    sty += (t[i] - mt) * (y[i] - my);
  }
  return stt > 0 ? sty / stt : 0;
}

static int
verdict (Soak * s, gboolean default_chain)
{
  Sample *x = (Sample *) s->samples->data;
  guint n = s->samples->len, first, i, m;
  double warmup = MAX (30.0, s->seconds / 10), *t, *y, rise, span;
  gint64 rss_min = G_MAXINT64, rss_max = 0;
  int fd_min = G_MAXINT, fd_max = 0;
  gboolean flat = TRUE;

  for (first = 0; first < n && x[first].t < warmup; first++);
  m = n - first;
  if (m < 3) {
    printf ("verdict: too short (%u samples after a %.0f s warm-up; run "
        "longer or sample more often)\n", m, warmup);
    return 2;
  }
  t = g_new (double, m);
  y = g_new (double, m);
  for (i = 0; i < m; i++) {
    t[i] = x[first + i].t;
    y[i] = x[first + i].rss_kb;
    rss_min = MIN (rss_min, x[first + i].rss_kb);
    rss_max = MAX (rss_max, x[first + i].rss_kb);
    fd_min = MIN (fd_min, x[first + i].fds);
    fd_max = MAX (fd_max, x[first + i].fds);
  }
  span = t[m - 1] - t[0];
  rise = slope (t, y, m) * span;
  printf ("after the %.0f s warm-up (%u samples over %.0f s): RSS %"
      G_GINT64_FORMAT "..%" G_GINT64_FORMAT " KiB, fitted rise %+.0f KiB "
      "(%+.1f KiB/h); fds %d..%d\n", warmup, m, span, rss_min, rss_max, rise,
      rise / span * 3600, fd_min, fd_max);
  if (rise > 1024) {
    printf ("RSS grows: %+.0f KiB over %.0f s (limit 1024 KiB)\n", rise, span);
    flat = FALSE;
  }
  if (fd_min != fd_max) {
    printf ("file descriptors change: %d..%d\n", fd_min, fd_max);
    flat = FALSE;
  }
  if (default_chain) {
    /* 2 s windows every 0.5 s: a vector every 0.5 s once the first window
     * is full; Mel: 16000 / 256 frames per second, 64 per tensor */
    double secs = x[n - 1].t;
    double want_vectors = (secs - 2.0) / 0.5, want_tensors =
        secs * 16000.0 / 256 / 64;
    printf ("outputs: %" G_GUINT64_FORMAT " IS09 vectors (%.0f expected), %"
        G_GUINT64_FORMAT " Mel tensors (%.0f expected)\n", x[n - 1].vectors,
        want_vectors, x[n - 1].tensors, want_tensors);
    if (x[n - 1].vectors < 0.9 * want_vectors
        || x[n - 1].tensors < 0.9 * want_tensors) {
      printf ("outputs fall behind the live rate\n");
      flat = FALSE;
    }
  }
  printf ("verdict: %s\n", flat ? "FLAT" : "NOT FLAT");
  g_free (t);
  g_free (y);
  return flat ? 0 : 1;
}

int
main (int argc, char **argv)
{
  Soak s = { 0 };
  char *description = NULL;
  GOptionEntry entries[] = {
    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &s.seconds,
        "How long to run (default 3600)", "S"},
    {"interval", 0, 0, G_OPTION_ARG_DOUBLE, &s.interval,
        "Seconds between samples (default 10)", "S"},
    {"pipeline", 0, 0, G_OPTION_ARG_STRING, &description,
        "A live pipeline to soak instead of the default chain", "DESC"},
    {NULL}
  };
  GOptionContext *ctx = g_option_context_new ("- soak a live chain");
  GError *error = NULL;
  GstElement *pipeline, *melsink;
  GstBus *bus;
  int status;

  s.seconds = 3600;
  s.interval = 10;
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || s.seconds <= 0
      || s.interval <= 0) {
    g_printerr ("soak: %s\n", error ? error->message :
        "--seconds and --interval must be positive");
    g_clear_error (&error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  pipeline = gst_parse_launch (description ? description : DEFAULT_PIPELINE,
      &error);
  if (pipeline == NULL || error) {
    g_printerr ("soak: %s\n", error ? error->message : "no pipeline");
    return 2;
  }
  printf ("soak: %.0f s, a sample every %.0f s: %s\n", s.seconds, s.interval,
      description ? description : DEFAULT_PIPELINE);
  melsink = gst_bin_get_by_name (GST_BIN (pipeline), "melsink");
  if (melsink) {
    g_signal_connect (melsink, "handoff", G_CALLBACK (on_handoff), &s);
    gst_object_unref (melsink);
  }
  s.loop = g_main_loop_new (NULL, FALSE);
  s.samples = g_array_new (FALSE, FALSE, sizeof (Sample));
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, (GstBusFunc) on_message, &s);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_printerr ("soak: the pipeline does not start\n");
    return 2;
  }
  s.start = g_get_monotonic_time ();
  on_sample (&s);
  g_timeout_add ((guint) (s.interval * 1000), (GSourceFunc) on_sample, &s);
  g_main_loop_run (s.loop);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  status = s.failed ? 2 : verdict (&s, description == NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_array_free (s.samples, TRUE);
  g_main_loop_unref (s.loop);
  g_free (description);
  return status;
}
