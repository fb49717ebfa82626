/* affect-run live: one live feed analysed as a service
 *
 *   affect-run live SOURCE=rtp://:5004 TASK=speech GATE=gate.safetensors \
 *       MODEL_SPONTANEOUS=spont.safetensors MODEL_SCRIPTED=script.safetensors \
 *       PORT=8080
 *
 * The pipeline is two bins: the source ("SOURCE ! audioconvert", rebuilt
 * at every reconnection) and the documented live chain of the task
 * (windowed affectis09 → affectgate → affectregress on each route, or
 * affectmel → affectclassify windows). Results are read from the
 * affect-prediction messages on the bus; a sync handler notes the pipeline
 * clock when each is posted. The capture-to-result latency of a window is
 * that clock time minus the clock time at which the window's last sample
 * was captured: base time + its running time (window start + duration),
 * or the running time at which the buffer holding it reached the analysis
 * if that is earlier (sources that stamp ahead of the clock; docs/live.md,
 * "Latency"). The source's own reported latency is exported beside it.
 *
 * When the source posts an error, ends, or delivers no audio for TIMEOUT
 * seconds, the pipeline is torn down and built again after a backoff
 * (RECONNECT_MIN doubling up to RECONNECT_MAX) until audio arrives again;
 * the outage (last audio → first audio again) is logged and counted. The
 * counters and latest scores live here, not in the pipeline, so they
 * survive reconnections. An error from the analysis bin (a model that
 * does not fit the stream) is not an outage: the service stops, exit 1.
 *
 * Output: one JSON line per window (stdout, or OUTPUT rotated by size),
 * and with PORT an HTTP server (live-http.c). docs/live.md documents the
 * variables, the JSON lines and the metrics.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include "affect/affect.h"
#include "live.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define RECENT_LINES 300
#define WATCH_INTERVAL_MS 100

static const double latency_buckets[] = {
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0
};

#define N_BUCKETS G_N_ELEMENTS (latency_buckets)
#define ARRIVALS 1024           /* buffers remembered at the analysis input */

/* a latency's Prometheus histogram and latest value */
typedef struct
{
  double last, sum;
  guint64 count, bucket[N_BUCKETS];
} Histogram;

/* when a buffer's end (running time) entered the analysis: monotonic
 * time, and running time on the pipeline clock */
typedef struct
{
  GstClockTime end;
  gint64 at_us;
  GstClockTime at_running;
} Arrival;

/* the service's variables: name, default, meaning (--help lists them) */
typedef struct
{
  const char *name;
  const char *default_value;
  const char *blurb;
} LiveVar;

static const LiveVar live_vars[] = {
  {"SOURCE", NULL, "test | URI (rtp://HOST:PORT, udp://, srt://, rtsp://, "
        "http(s)://, file://) | alsa:DEVICE | pulse:DEVICE | launch:GST-LAUNCH "
        "| a file path"},
  {"TASK", "speech",
      "speech (IS09 -> regressor(s)) or music (Mel -> MoodNet)"},
  {"MODEL", "",
      "speech: the one regressor (no gate); music: the MoodNet model"},
  {"GATE", "",
      "speech: the affectgate model; with MODEL_SPONTANEOUS and "
        "MODEL_SCRIPTED"},
  {"MODEL_SPONTANEOUS", "", "speech: the regressor of the gate's src_0"},
  {"MODEL_SCRIPTED", "", "speech: the regressor of the gate's src_1"},
  {"THRESHOLD", "0.5", "speech: the gate's threshold"},
  {"WINDOW", "", "seconds per window (speech: 2; music: the model's input)"},
  {"HOP", "", "seconds between windows (speech: 1; music: WINDOW)"},
  {"RATE", "", "analysis sample rate in Hz (speech 16000, music 12000)"},
  {"PRESET", "mtg-jamendo", "music: affectmel preset"},
  {"TOP_K", "3", "music: labels named per window (0: above 0.5)"},
  {"TEST_WAVE", "pink-noise", "SOURCE=test: audiotestsrc wave"},
  {"RTP_CAPS", "application/x-rtp,media=audio,clock-rate=16000,"
        "encoding-name=L16,channels=1", "SOURCE=rtp://: the stream's caps"},
  {"JITTER", "200", "SOURCE=rtp://: rtpjitterbuffer latency in ms"},
  {"REALTIME", "auto", "pace the source at the clock: auto (files, http), "
        "true, false"},
  {"OUTPUT", "-", "JSON lines: - (stdout) or a file"},
  {"ROTATE_SIZE", "10485760", "rotate OUTPUT at this many bytes (0: never)"},
  {"ROTATE_KEEP", "5", "rotated files kept (OUTPUT.1 ... OUTPUT.N)"},
  {"PORT", "", "HTTP port (empty: no server; 0: any free port)"},
  {"BIND", "127.0.0.1", "HTTP address"},
  {"TIMEOUT", "5", "seconds without audio that make an outage"},
  {"RECONNECT_MIN", "0.5", "first backoff in seconds"},
  {"RECONNECT_MAX", "30", "longest backoff in seconds"},
  {"DURATION", "0", "stop after this many seconds (0: run until stopped)"},
  {NULL}
};

typedef enum
{
  LIVE_WAITING,                 /* no pipeline; a reconnection is scheduled */
  LIVE_CONNECTING,              /* pipeline built, no audio yet */
  LIVE_RUNNING                  /* audio arrives */
} LiveState;

typedef struct
{
  GstClockTime running_now;     /* pipeline running time at posting */
  gint64 wall_us;               /* g_get_real_time () at posting */
  double processing;            /* s since the window's end arrived */
  double latency;               /* s since the window's last sample was
                                 * captured */
} PostInfo;

/* latest result of one route */
typedef struct
{
  char *route;
  guint64 windows;
  GPtrArray *names;             /* char* */
  GArray *scores;               /* double */
} RouteState;

typedef struct
{
  /* configuration */
  GHashTable *vars;
  char *task;
  gboolean music, gated;
  double window, hop, timeout, reconnect_min, reconnect_max, duration;
  char *source_desc, *analysis_desc;
  gboolean realtime;
  char *output;
  guint64 rotate_size;
  guint rotate_keep;

  /* running */
  GMainLoop *loop;
  int exit_status;
  LiveState state;
  GstElement *pipeline, *source_bin;
  guint bus_watch;
  guint retry_timer, watch_timer;
  char *pending_failure;        /* reason of a failure not yet handled */
  guint generation;             /* pipelines built so far */
  guint pending_generation;     /* the pipeline the pending failure is of */
  GMutex lock;                  /* last_data_us, buffers (streaming threads) */
  gint64 last_data_us;
  gint64 first_data_us;         /* of this pipeline, 0 before any */
  guint64 buffers;
  Arrival arrivals[ARRIVALS];   /* ring, the latest at (n_arrivals - 1) */
  guint64 n_arrivals;
  gint64 start_us, attempt_start_us, outage_start_us;
  double backoff;
  guint attempts;               /* failed attempts in the current outage */
  gboolean ever_connected;
  char *outage_reason;

  /* state kept across reconnections */
  guint64 connections, outages, source_failures, windows, errors;
  double outage_seconds, last_outage;
  GHashTable *routes;           /* route → RouteState* */
  double spontaneity;           /* gate's latest probability */
  GstClockTime gate_timestamp;
  int gate_route;
  Histogram latency, processing;
  double source_latency;        /* s the source reports (min), NAN unknown */
  gint64 last_result_us;
  GQueue recent;                /* the latest window lines (char*) */

  /* output */
  FILE *out;
  guint64 out_bytes;
  LiveHttp *http;
} Live;

static GQuark post_quark;

static char *
iso_time (gint64 wall_us)
{
  GDateTime *t =
      g_date_time_new_from_unix_utc ((gint64) (wall_us / G_USEC_PER_SEC));
  char *s = g_date_time_format (t, "%Y-%m-%dT%H:%M:%S");
  char *r = g_strdup_printf ("%s.%03dZ", s,
      (int) ((wall_us % G_USEC_PER_SEC) / 1000));

  g_free (s);
  g_date_time_unref (t);
  return r;
}

static void
live_log (const char *format, ...)
G_GNUC_PRINTF (1, 2);

     static void live_log (const char *format, ...)
{
  va_list ap;
  char *msg, *now = iso_time (g_get_real_time ());

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_printerr ("affect-run live: %s %s\n", now, msg);
  g_free (msg);
  g_free (now);
}

static const char *
var (Live * live, const char *name)
{
  return g_hash_table_lookup (live->vars, name);
}

/* gst-launch text for a property value */
static char *
quoted (const char *value)
{
  GString *s = g_string_new ("\"");
  const char *p;

  for (p = value; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c (s, '\\');
    g_string_append_c (s, *p);
  }
  g_string_append_c (s, '"');
  return g_string_free (s, FALSE);
}

static gboolean
parse_seconds (const char *name, const char *text, double min, double max,
    double *value, GError ** error)
{
  char *end;
  double v = g_ascii_strtod (text, &end);

  if (*text == '\0' || *end != '\0' || !(v >= min && v <= max)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "%s=%s: want a number in [%g, %g]", name, text, min, max);
    return FALSE;
  }
  *value = v;
  return TRUE;
}

static gboolean
parse_uint (const char *name, const char *text, guint64 max, guint64 * value,
    GError ** error)
{
  if (!g_ascii_string_to_unsigned (text, 10, 0, max, value, NULL)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "%s=%s: want an integer in [0, %" G_GUINT64_FORMAT "]", name, text,
        max);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_model (Live * live, const char *name, GError ** error)
{
  const char *path = var (live, name);

  if (*path == '\0') {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "%s is required", name);
    return FALSE;
  }
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "%s=%s: no such file", name, path);
    return FALSE;
  }
  return TRUE;
}

/* "SOURCE ! audioconvert": the part rebuilt at every reconnection */
static char *
source_description (Live * live, GError ** error)
{
  const char *src = var (live, "SOURCE");
  char *q, *d = NULL;
  gboolean file = FALSE;

  if (*src == '\0') {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "SOURCE is required (test, a URI, alsa:DEVICE, pulse:DEVICE, "
        "launch:...)");
    return NULL;
  }
  if (strcmp (src, "test") == 0) {
    d = g_strdup_printf ("audiotestsrc is-live=true wave=%s",
        var (live, "TEST_WAVE"));
  } else if (g_str_has_prefix (src, "alsa:") || g_str_has_prefix (src,
          "pulse:")) {
    const char *dev = strchr (src, ':') + 1;
    const char *el = src[0] == 'a' ? "alsasrc" : "pulsesrc";
    if (*dev == '\0')
      d = g_strdup (el);
    else {
      q = quoted (dev);
      d = g_strdup_printf ("%s device=%s", el, q);
      g_free (q);
    }
  } else if (g_str_has_prefix (src, "launch:")) {
    d = g_strdup (src + strlen ("launch:"));
  } else if (g_str_has_prefix (src, "rtp://")) {
    /* rtp://[HOST]:PORT: RTP over UDP, HOST the address to bind or join
     * (a multicast group); RTP_CAPS says what the payload is */
    const char *hp = src + strlen ("rtp://");
    const char *colon = strrchr (hp, ':');
    guint64 port;
    char *host, *caps;

    if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1,
            65535, &port, NULL)) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "SOURCE=%s: want rtp://[HOST]:PORT", src);
      return NULL;
    }
    host = g_strndup (hp, colon - hp);
    if (*host == '\0' || strcmp (host, "@") == 0) {
      g_free (host);
      host = g_strdup ("0.0.0.0");
    }
    caps = quoted (var (live, "RTP_CAPS"));
    d = g_strdup_printf ("udpsrc address=%s port=%u caps=%s ! "
        "rtpjitterbuffer latency=%s ! decodebin", host, (guint) port, caps,
        var (live, "JITTER"));
    g_free (caps);
    g_free (host);
  } else if (gst_uri_is_valid (src)) {
    q = quoted (src);
    d = g_strdup_printf ("uridecodebin uri=%s", q);
    g_free (q);
    /* files and HTTP resources arrive faster than real time (a radio
     * stream over HTTP arrives at it: pacing only buffers it) */
    file = g_str_has_prefix (src, "file:") || g_str_has_prefix (src, "http:")
        || g_str_has_prefix (src, "https:");
  } else if (g_file_test (src, G_FILE_TEST_IS_REGULAR)) {
    char *uri = gst_filename_to_uri (src, NULL);
    q = quoted (uri);
    d = g_strdup_printf ("uridecodebin uri=%s", q);
    g_free (q);
    g_free (uri);
    file = TRUE;
  } else {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "SOURCE=%s: not test, a URI, alsa:, pulse:, launch: or a file", src);
    return NULL;
  }
  if (strcmp (var (live, "REALTIME"), "auto") == 0)
    live->realtime = file;
  else
    live->realtime = strcmp (var (live, "REALTIME"), "true") == 0;
  /* a file is read as fast as the analysis goes unless paced */
  q = g_strdup_printf ("%s ! %saudioconvert name=live-in", d,
      live->realtime ? "clocksync ! " : "");
  g_free (d);
  return q;
}

static char *
analysis_description (Live * live, GError ** error)
{
  GString *s = g_string_new (NULL);
  const char *rate = var (live, "RATE");
  guint64 window_ns = (guint64) llround (live->window * GST_SECOND);
  guint64 hop_ns = (guint64) llround (live->hop * GST_SECOND);
  char *q;

  if (live->music) {
    guint64 top_k;
    if (!check_model (live, "MODEL", error)
        || !parse_uint ("TOP_K", var (live, "TOP_K"), 1000, &top_k, error))
      goto fail;
    q = quoted (var (live, "MODEL"));
    g_string_append_printf (s, "audioresample ! audio/x-raw,format=F32LE,"
        "channels=1,rate=%s ! affectmel preset=%s ! queue ! "
        "affectclassify name=classify model=%s window=%" G_GUINT64_FORMAT
        " hop=%" G_GUINT64_FORMAT " top-k=%u ! "
        "fakesink sync=false async=false", *rate ? rate : "12000",
        var (live, "PRESET"), q, window_ns, hop_ns, (guint) top_k);
    g_free (q);
    return g_string_free (s, FALSE);
  }
  if (window_ns == 0)
    window_ns = 2 * GST_SECOND;
  g_string_append_printf (s, "audioresample ! audio/x-raw,format=F32LE,"
      "channels=1,rate=%s ! affectis09 window=%" G_GUINT64_FORMAT " hop=%"
      G_GUINT64_FORMAT " ! ", *rate ? rate : "16000", window_ns, hop_ns);
  if (!live->gated) {
    if (!check_model (live, "MODEL", error))
      goto fail;
    q = quoted (var (live, "MODEL"));
    g_string_append_printf (s, "affectregress name=all model-file=%s ! "
        "fakesink sync=false async=false", q);
    g_free (q);
  } else {
    char *g, *m0, *m1;
    double threshold;
    if (!check_model (live, "GATE", error)
        || !check_model (live, "MODEL_SPONTANEOUS", error)
        || !check_model (live, "MODEL_SCRIPTED", error)
        || !parse_seconds ("THRESHOLD", var (live, "THRESHOLD"), 0, 1,
            &threshold, error))
      goto fail;
    g = quoted (var (live, "GATE"));
    m0 = quoted (var (live, "MODEL_SPONTANEOUS"));
    m1 = quoted (var (live, "MODEL_SCRIPTED"));
    g_string_append_printf (s, "affectgate name=gate model-file=%s "
        "threshold=%s "
        "gate.src_0 ! queue ! affectregress name=spontaneous model-file=%s ! "
        "fakesink sync=false async=false "
        "gate.src_1 ! queue ! affectregress name=scripted model-file=%s ! "
        "fakesink sync=false async=false", g, var (live, "THRESHOLD"), m0, m1);
    g_free (g);
    g_free (m0);
    g_free (m1);
  }
  return g_string_free (s, FALSE);
fail:
  g_string_free (s, TRUE);
  return NULL;
}

static gboolean
configure (Live * live, GError ** error)
{
  guint64 u;
  const char *w = var (live, "WINDOW"), *h = var (live, "HOP");

  live->task = g_strdup (var (live, "TASK"));
  if (strcmp (live->task, "music") == 0)
    live->music = TRUE;
  else if (strcmp (live->task, "speech") != 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "TASK=%s: want speech or music", live->task);
    return FALSE;
  }
  if (!live->music) {
    gboolean any = *var (live, "GATE") || *var (live, "MODEL_SPONTANEOUS")
        || *var (live, "MODEL_SCRIPTED");
    if (any && *var (live, "MODEL")) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
          "speech takes MODEL (one regressor) or GATE, MODEL_SPONTANEOUS "
          "and MODEL_SCRIPTED, not both");
      return FALSE;
    }
    live->gated = any;
  }
  live->window = live->music ? 0 : 2;
  if (*w && !parse_seconds ("WINDOW", w, 0.03, 3600, &live->window, error))
    return FALSE;
  live->hop = live->music ? 0 : MIN (1.0, live->window);
  if (*h && !parse_seconds ("HOP", h, 0.01, 3600, &live->hop, error))
    return FALSE;
  if (!parse_seconds ("TIMEOUT", var (live, "TIMEOUT"), 0.1, 3600,
          &live->timeout, error)
      || !parse_seconds ("RECONNECT_MIN", var (live, "RECONNECT_MIN"), 0.01,
          3600, &live->reconnect_min, error)
      || !parse_seconds ("RECONNECT_MAX", var (live, "RECONNECT_MAX"),
          live->reconnect_min, 86400, &live->reconnect_max, error)
      || !parse_seconds ("DURATION", var (live, "DURATION"), 0, 1e9,
          &live->duration, error)
      || !parse_uint ("ROTATE_SIZE", var (live, "ROTATE_SIZE"), G_MAXUINT64,
          &live->rotate_size, error)
      || !parse_uint ("ROTATE_KEEP", var (live, "ROTATE_KEEP"), 1000, &u, error)
      || !parse_uint ("JITTER", var (live, "JITTER"), 60000, &u, error))
    return FALSE;
  parse_uint ("ROTATE_KEEP", var (live, "ROTATE_KEEP"), 1000, &u, NULL);
  live->rotate_keep = (guint) u;
  if (*var (live, "PORT") && !parse_uint ("PORT", var (live, "PORT"), 65535,
          &u, error))
    return FALSE;
  if (strcmp (var (live, "REALTIME"), "auto") != 0
      && strcmp (var (live, "REALTIME"), "true") != 0
      && strcmp (var (live, "REALTIME"), "false") != 0) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "REALTIME=%s: want auto, true or false", var (live, "REALTIME"));
    return FALSE;
  }
  live->output = g_strdup (var (live, "OUTPUT"));
  live->source_desc = source_description (live, error);
  if (live->source_desc == NULL)
    return FALSE;
  live->analysis_desc = analysis_description (live, error);
  return live->analysis_desc != NULL;
}

/* ---- output ---- */

static gboolean
open_output (Live * live, const char *mode, GError ** error)
{
  GStatBuf st;

  if (strcmp (live->output, "-") == 0) {
    live->out = stdout;
    return TRUE;
  }
  live->out = g_fopen (live->output, mode);
  if (live->out == NULL) {
    int e = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
        "OUTPUT=%s: %s", live->output, g_strerror (e));
    return FALSE;
  }
  live->out_bytes = g_stat (live->output, &st) == 0 ? (guint64) st.st_size : 0;
  return TRUE;
}

static void
rotate_output (Live * live)
{
  guint k;
  GError *error = NULL;

  fclose (live->out);
  live->out = NULL;
  if (live->rotate_keep == 0)
    g_unlink (live->output);
  for (k = live->rotate_keep; k >= 1; k--) {
    char *from = k == 1 ? g_strdup (live->output) :
        g_strdup_printf ("%s.%u", live->output, k - 1);
    char *to = g_strdup_printf ("%s.%u", live->output, k);
    g_rename (from, to);
    g_free (from);
    g_free (to);
  }
  if (!open_output (live, "w", &error)) {
    live_log ("%s; results go to stdout", error->message);
    g_error_free (error);
    g_free (live->output);
    live->output = g_strdup ("-");
    live->out = stdout;
  }
}

static void
emit_line (Live * live, const char *event, char *line)
{
  gsize n = strlen (line);

  if (live->out != stdout && live->rotate_size > 0 && live->out_bytes > 0
      && live->out_bytes + n + 1 > live->rotate_size)
    rotate_output (live);
  fputs (line, live->out);
  fputc ('\n', live->out);
  fflush (live->out);
  live->out_bytes += n + 1;
  if (live->http)
    live_http_publish (live->http, event, line);
  if (strcmp (event, "window") == 0) {
    g_queue_push_tail (&live->recent, line);
    while (g_queue_get_length (&live->recent) > RECENT_LINES)
      g_free (g_queue_pop_head (&live->recent));
  } else {
    g_free (line);
  }
}

/* JSON lines are written by hand: fixed decimals read better than
 * json-glib's 17 significant digits, and the schema is flat */
static void
json_string (GString * s, const char *v)
{
  g_string_append_c (s, '"');
  for (; *v; v++) {
    guchar c = (guchar) * v;
    if (c == '"' || c == '\\')
      g_string_append_printf (s, "\\%c", c);
    else if (c < 0x20)
      g_string_append_printf (s, "\\u%04x", c);
    else
      g_string_append_c (s, c);
  }
  g_string_append_c (s, '"');
}

static void
json_number (GString * s, double v, const char *format)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isfinite (v))
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, format, v));
  else
    g_string_append (s, "null");
}

static void
line_str (GString * s, const char *name, const char *v)
{
  g_string_append_printf (s, ",\"%s\":", name);
  json_string (s, v ? v : "");
}

static void
line_num (GString * s, const char *name, double v, const char *format)
{
  g_string_append_printf (s, ",\"%s\":", name);
  json_number (s, v, format);
}

static GString *
line_new (Live * live, const char *type, gint64 wall_us)
{
  GString *s = g_string_new ("{\"type\":");
  char *when = iso_time (wall_us);

  json_string (s, type);
  line_str (s, "time", when);
  g_string_append_printf (s, ",\"connection\":%" G_GUINT64_FORMAT,
      live->connections);
  g_free (when);
  return s;
}

static char *
line_end (GString * s)
{
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* ---- results ---- */

/* The buffer that completed the window: the oldest whose end reaches the
 * window's end, else the newest. Sets info->processing (from its arrival
 * to now) and info->latency (from the capture of the window's last sample
 * to info->running_now). */
static void
window_times (Live * live, const GstStructure * s, gint64 now_us,
    PostInfo * info)
{
  GstClockTime rt = GST_CLOCK_TIME_NONE, dur = GST_CLOCK_TIME_NONE, end;
  GstClockTime captured;
  const Arrival *found = NULL;
  Arrival a = { GST_CLOCK_TIME_NONE, -1, GST_CLOCK_TIME_NONE };
  guint64 i;

  info->processing = info->latency = NAN;
  if (!gst_structure_get_uint64 (s, "running-time", &rt)
      || !gst_structure_get_uint64 (s, "duration", &dur)
      || !GST_CLOCK_TIME_IS_VALID (rt) || !GST_CLOCK_TIME_IS_VALID (dur))
    return;
  end = rt + dur;
  g_mutex_lock (&live->lock);
  for (i = live->n_arrivals; i > 0 && i + ARRIVALS > live->n_arrivals; i--) {
    const Arrival *c = &live->arrivals[(i - 1) % ARRIVALS];
    if (!GST_CLOCK_TIME_IS_VALID (c->end) || c->end < end)
      break;
    found = c;
  }
  /* a window can complete before its nominal end (its last whole
   * analysis frame): then the newest buffer completed it */
  if (found == NULL && live->n_arrivals > 0)
    found = &live->arrivals[(live->n_arrivals - 1) % ARRIVALS];
  if (found)
    a = *found;
  g_mutex_unlock (&live->lock);
  if (a.at_us >= 0)
    info->processing = (now_us - a.at_us) / 1e6;
  /* The timestamps say when a sample was captured: running time `end` is
   * clock time base_time + end. A sample cannot have been captured after
   * it reached the analysis, so a source that stamps ahead of the clock
   * (audiotestsrc pushes a buffer when the clock reaches its first sample;
   * a network receiver stamps a packet's first sample with the packet's
   * arrival) is held to its arrival. Both sides are on the pipeline clock,
   * relative to the same base time. */
  captured = end;
  if (GST_CLOCK_TIME_IS_VALID (a.at_running) && a.at_running < captured)
    captured = a.at_running;
  info->latency = ((double) info->running_now - (double) captured) / GST_SECOND;
}

static GstBusSyncReply
sync_handler (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  GstElement *src;
  GstClock *clock;

  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT
      || !gst_message_has_name (msg, "affect-prediction")
      || !GST_IS_ELEMENT (GST_MESSAGE_SRC (msg)))
    return GST_BUS_PASS;
  src = GST_ELEMENT (GST_MESSAGE_SRC (msg));
  clock = gst_element_get_clock (src);
  if (clock != NULL) {
    PostInfo *info = g_new (PostInfo, 1);
    GstClockTime now = gst_clock_get_time (clock);
    GstClockTime base = gst_element_get_base_time (src);

    info->running_now = now >= base ? now - base : 0;
    info->wall_us = g_get_real_time ();
    window_times (user_data, gst_message_get_structure (msg),
        g_get_monotonic_time (), info);
    gst_mini_object_set_qdata (GST_MINI_OBJECT_CAST (msg), post_quark, info,
        g_free);
    gst_object_unref (clock);
  }
  return GST_BUS_PASS;
}

static void
route_state_free (gpointer data)
{
  RouteState *r = data;

  g_free (r->route);
  g_ptr_array_unref (r->names);
  g_array_unref (r->scores);
  g_free (r);
}

static RouteState *
route_state (Live * live, const char *route)
{
  RouteState *r = g_hash_table_lookup (live->routes, route);

  if (r == NULL) {
    r = g_new0 (RouteState, 1);
    r->route = g_strdup (route);
    r->names = g_ptr_array_new_with_free_func (g_free);
    r->scores = g_array_new (FALSE, FALSE, sizeof (double));
    g_hash_table_insert (live->routes, r->route, r);
  }
  return r;
}

static double
ns_to_s (GstClockTime t)
{
  return GST_CLOCK_TIME_IS_VALID (t) ? (double) t / GST_SECOND : NAN;
}

static void
add_array (GString * s, const char *name, const GValue * arr,
    RouteState * r, gboolean scores)
{
  guint i, n = arr ? gst_value_array_get_size (arr) : 0;

  g_string_append_printf (s, ",\"%s\":[", name);
  for (i = 0; i < n; i++) {
    const GValue *v = gst_value_array_get_value (arr, i);
    if (i > 0)
      g_string_append_c (s, ',');
    if (scores) {
      double d = G_VALUE_HOLDS_FLOAT (v) ? g_value_get_float (v) :
          G_VALUE_HOLDS_DOUBLE (v) ? g_value_get_double (v) : NAN;
      json_number (s, d, "%.6g");
      if (r)
        g_array_append_val (r->scores, d);
    } else {
      const char *str = G_VALUE_HOLDS_STRING (v) ? g_value_get_string (v) : "";
      json_string (s, str ? str : "");
      if (r)
        g_ptr_array_add (r->names, g_strdup (str ? str : ""));
    }
  }
  g_string_append_c (s, ']');
}

static void
histogram_add (Histogram * h, double v)
{
  guint i;

  if (!isfinite (v))
    return;
  h->last = v;
  h->sum += v;
  h->count++;
  for (i = 0; i < N_BUCKETS; i++)
    if (v <= latency_buckets[i])
      h->bucket[i]++;
}

/* the minimum latency the source declares (a capture buffer, a jitter
 * buffer), from a LATENCY query upstream of the analysis; NAN when it
 * does not answer */
static double
query_source_latency (Live * live)
{
  GstQuery *q = gst_query_new_latency ();
  GstPad *pad = live->source_bin ?
      gst_element_get_static_pad (live->source_bin, "src") : NULL;
  GstClockTime min = GST_CLOCK_TIME_NONE;
  gboolean is_live = FALSE;
  double seconds = NAN;

  if (pad && gst_pad_query (pad, q)) {
    gst_query_parse_latency (q, &is_live, &min, NULL);
    if (GST_CLOCK_TIME_IS_VALID (min))
      seconds = (double) min / GST_SECOND;
  }
  if (pad)
    gst_object_unref (pad);
  gst_query_unref (q);
  return seconds;
}

static void
on_prediction (Live * live, GstMessage * msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  const char *who = GST_OBJECT_NAME (GST_MESSAGE_SRC (msg));
  PostInfo *info = gst_mini_object_get_qdata (GST_MINI_OBJECT_CAST (msg),
      post_quark);
  GstClockTime ts = GST_CLOCK_TIME_NONE, rt = GST_CLOCK_TIME_NONE,
      dur = GST_CLOCK_TIME_NONE;
  gint64 wall = info ? info->wall_us : g_get_real_time ();
  double latency = NAN;
  GString *b;
  RouteState *r;

  gst_structure_get_uint64 (s, "timestamp", &ts);
  gst_structure_get_uint64 (s, "running-time", &rt);
  gst_structure_get_uint64 (s, "duration", &dur);
  if (strcmp (who, "gate") == 0) {
    const GValue *scores = gst_structure_get_value (s, "scores");
    const GValue *v = scores && gst_value_array_get_size (scores) > 0 ?
        gst_value_array_get_value (scores, 0) : NULL;
    live->spontaneity = v && G_VALUE_HOLDS_FLOAT (v) ?
        g_value_get_float (v) : NAN;
    live->gate_timestamp = ts;
    live->gate_route = -1;
    gst_structure_get_int (s, "route", &live->gate_route);
    return;
  }
  if (info)
    latency = info->latency;
  if (!isfinite (live->source_latency))
    live->source_latency = query_source_latency (live);

  r = route_state (live, who);
  r->windows++;
  g_ptr_array_set_size (r->names, 0);
  g_array_set_size (r->scores, 0);
  live->windows++;
  live->last_result_us = wall;
  histogram_add (&live->latency, latency);
  histogram_add (&live->processing, info ? info->processing : NAN);

  b = line_new (live, "window", wall);
  line_num (b, "running_time", info ? ns_to_s (info->running_now) : NAN,
      "%.3f");
  line_num (b, "window_start", ns_to_s (rt), "%.3f");
  line_num (b, "window_duration", ns_to_s (dur), "%.3f");
  line_num (b, "latency", latency, "%.4f");
  line_num (b, "processing", info ? info->processing : NAN, "%.4f");
  line_num (b, "source_latency", live->source_latency, "%.4f");
  line_str (b, "task", live->task);
  if (live->gated) {
    line_str (b, "route", who);
    line_num (b, "spontaneity", live->gate_timestamp == ts ?
        live->spontaneity : NAN, "%.4f");
  }
  add_array (b, "names", gst_structure_get_value (s, "names"), r, FALSE);
  add_array (b, "scores", gst_structure_get_value (s, "scores"), r, TRUE);
  if (gst_structure_has_field (s, "labels"))
    add_array (b, "labels", gst_structure_get_value (s, "labels"), NULL, FALSE);
  emit_line (live, "window", line_end (b));
}

/* ---- connection ---- */

static void schedule_failure (Live * live, const char *reason);

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Live *live = user_data;
  GError *error = NULL;
  char *debug = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, "affect-prediction"))
        on_prediction (live, msg);
      break;
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &error, &debug);
      if (live->source_bin != NULL && GST_MESSAGE_SRC (msg) != NULL
          && gst_object_has_as_ancestor (GST_MESSAGE_SRC (msg),
              GST_OBJECT (live->source_bin))) {
        char *reason = g_strdup_printf ("%s: %s",
            GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message);
        schedule_failure (live, reason);
        g_free (reason);
      } else {
        /* not the feed: a model that does not fit the stream, a missing
         * element; reconnecting would fail the same way */
        live_log ("error from %s: %s (%s); stopping",
            GST_MESSAGE_SRC (msg) ? GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)) :
            "?", error->message, debug ? debug : "");
        live->errors++;
        live->exit_status = EXIT_FAILED;
        g_main_loop_quit (live->loop);
      }
      g_clear_error (&error);
      g_free (debug);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &error, &debug);
      live_log ("warning from %s: %s",
          GST_MESSAGE_SRC (msg) ? GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)) :
          "?", error->message);
      g_clear_error (&error);
      g_free (debug);
      break;
    case GST_MESSAGE_EOS:
      schedule_failure (live, "end of stream");
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static GstPadProbeReturn
data_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Live *live = user_data;
  GstBuffer *buf = NULL;
  GstClockTime end = GST_CLOCK_TIME_NONE, at_running = GST_CLOCK_TIME_NONE;
  GstElement *element = GST_PAD_PARENT (pad);
  GstClock *clock = element ? gst_element_get_clock (element) : NULL;
  GstEvent *ev;
  gint64 now = g_get_monotonic_time ();

  if (clock) {
    GstClockTime t = gst_clock_get_time (clock);
    GstClockTime base = gst_element_get_base_time (element);
    if (GST_CLOCK_TIME_IS_VALID (base) && t >= base)
      at_running = t - base;
    gst_object_unref (clock);
  }

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    buf = GST_PAD_PROBE_INFO_BUFFER (info);
  else {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    if (gst_buffer_list_length (list) > 0)
      buf = gst_buffer_list_get (list, gst_buffer_list_length (list) - 1);
  }
  ev = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  if (buf && ev && GST_BUFFER_PTS_IS_VALID (buf)
      && GST_BUFFER_DURATION_IS_VALID (buf)) {
    const GstSegment *seg;
    gst_event_parse_segment (ev, &seg);
    end = gst_segment_to_running_time (seg, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf) + GST_BUFFER_DURATION (buf));
  }
  if (ev)
    gst_event_unref (ev);
  g_mutex_lock (&live->lock);
  live->last_data_us = now;
  if (live->first_data_us == 0)
    live->first_data_us = now;
  live->buffers++;
  live->arrivals[live->n_arrivals % ARRIVALS].end = end;
  live->arrivals[live->n_arrivals % ARRIVALS].at_us = now;
  live->arrivals[live->n_arrivals % ARRIVALS].at_running = at_running;
  live->n_arrivals++;
  g_mutex_unlock (&live->lock);
  return GST_PAD_PROBE_OK;
}

static void
teardown (Live * live)
{
  GstBus *bus;

  if (live->pipeline == NULL)
    return;
  gst_element_set_state (live->pipeline, GST_STATE_NULL);
  bus = gst_element_get_bus (live->pipeline);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  if (live->bus_watch) {
    g_source_remove (live->bus_watch);
    live->bus_watch = 0;
  }
  gst_object_unref (bus);
  gst_clear_object (&live->pipeline);
  live->source_bin = NULL;
}

static gboolean
build (Live * live, GError ** error)
{
  GstElement *analysis, *in;
  GstPad *pad;
  GstBus *bus;

  /* ghosting by hand: with ghost_unlinked_pads, a source whose pads
   * appear later (decodebin) would leave audioconvert's sink unlinked at
   * parse time, and that would be ghosted as well */
  live->source_bin = gst_parse_bin_from_description_full (live->source_desc,
      FALSE, NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (live->source_bin == NULL)
    return FALSE;
  live->generation++;
  g_mutex_lock (&live->lock);
  live->n_arrivals = 0;
  live->first_data_us = 0;
  live->source_latency = NAN;
  g_mutex_unlock (&live->lock);
  in = gst_bin_get_by_name (GST_BIN (live->source_bin), "live-in");
  pad = gst_element_get_static_pad (in, "src");
  gst_element_add_pad (live->source_bin, gst_ghost_pad_new ("src", pad));
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_BUFFER_LIST, data_probe, live, NULL);
  gst_object_unref (pad);
  gst_object_unref (in);
  analysis = gst_parse_bin_from_description_full (live->analysis_desc, TRUE,
      NULL, GST_PARSE_FLAG_FATAL_ERRORS, error);
  if (analysis == NULL) {
    gst_object_unref (gst_object_ref_sink (live->source_bin));
    live->source_bin = NULL;
    return FALSE;
  }
  gst_object_set_name (GST_OBJECT (live->source_bin), "source");
  gst_object_set_name (GST_OBJECT (analysis), "analysis");
  live->pipeline = gst_pipeline_new ("live");
  gst_bin_add_many (GST_BIN (live->pipeline), live->source_bin, analysis, NULL);
  if (!gst_element_link (live->source_bin, analysis)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "cannot link the source to the analysis");
    gst_clear_object (&live->pipeline);
    live->source_bin = NULL;
    return FALSE;
  }
  bus = gst_element_get_bus (live->pipeline);
  gst_bus_set_sync_handler (bus, sync_handler, live, NULL);
  live->bus_watch = gst_bus_add_watch (bus, on_bus, live);
  gst_object_unref (bus);
  return TRUE;
}

static gboolean connect_source (gpointer user_data);
static void on_audio (Live * live, gint64 first_us);

static void
retry_later (Live * live)
{
  live->state = LIVE_WAITING;
  live->retry_timer = g_timeout_add ((guint) (live->backoff * 1000),
      connect_source, live);
}

static gboolean
connect_source (gpointer user_data)
{
  Live *live = user_data;
  GError *error = NULL;

  live->retry_timer = 0;
  live->attempt_start_us = g_get_monotonic_time ();
  if (!build (live, &error)) {
    live_log ("cannot build the pipeline: %s", error->message);
    g_error_free (error);
    live->exit_status = EXIT_FAILED;
    g_main_loop_quit (live->loop);
    return G_SOURCE_REMOVE;
  }
  live->state = LIVE_CONNECTING;
  if (gst_element_set_state (live->pipeline,
          GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* the error says whose fault it is (a source that cannot open: an
     * outage; a model that cannot load: fatal), before any idle runs */
    GstBus *bus = gst_element_get_bus (live->pipeline);
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

    if (msg != NULL) {
      on_bus (bus, msg, live);
      gst_message_unref (msg);
    } else {
      schedule_failure (live, "the pipeline cannot start");
    }
    gst_object_unref (bus);
  }
  return G_SOURCE_REMOVE;
}

static void
handle_failure (Live * live, const char *reason)
{
  gint64 now = g_get_monotonic_time ();

  if (live->state == LIVE_WAITING)
    return;
  if (live->state == LIVE_CONNECTING) {
    gint64 first;

    g_mutex_lock (&live->lock);
    first = live->first_data_us;
    g_mutex_unlock (&live->lock);
    /* audio came before the watch saw it (a short file's end): connected */
    if (first != 0)
      on_audio (live, first);
  }
  teardown (live);
  live->source_failures++;
  if (live->state == LIVE_RUNNING) {
    gint64 last;
    GString *b;

    g_mutex_lock (&live->lock);
    last = live->last_data_us;
    g_mutex_unlock (&live->lock);
    live->outage_start_us = last;
    live->attempts = 0;
    live->backoff = live->reconnect_min;
    g_free (live->outage_reason);
    live->outage_reason = g_strdup (reason);
    live_log ("source lost: %s (last audio %.1f s ago); reconnecting in "
        "%.2f s", reason, (now - last) / 1e6, live->backoff);
    b = line_new (live, "outage", g_get_real_time ());
    line_str (b, "reason", reason);
    line_num (b, "silent_seconds", (now - last) / 1e6, "%.3f");
    line_num (b, "reconnect_in", live->backoff, "%.3f");
    emit_line (live, "status", line_end (b));
  } else {
    live->attempts++;
    live_log ("%s attempt %u failed: %s; next in %.2f s",
        live->ever_connected ? "reconnection" : "connection",
        live->attempts, reason, live->backoff);
  }
  retry_later (live);
  live->backoff = MIN (live->backoff * 2, live->reconnect_max);
}

static gboolean
failure_idle (gpointer user_data)
{
  Live *live = user_data;
  char *reason = live->pending_failure;

  live->pending_failure = NULL;
  /* a pipeline already replaced may have failed as well: not an outage of
   * the new one */
  if (reason && live->pending_generation == live->generation)
    handle_failure (live, reason);
  g_free (reason);
  return G_SOURCE_REMOVE;
}

/* from the bus watch: tear down outside of it */
static void
schedule_failure (Live * live, const char *reason)
{
  if (live->pending_failure != NULL || live->state == LIVE_WAITING)
    return;
  live->pending_failure = g_strdup (reason);
  live->pending_generation = live->generation;
  g_idle_add_full (G_PRIORITY_HIGH, failure_idle, live, NULL);
}

static void
on_audio (Live * live, gint64 first_us)
{
  live->state = LIVE_RUNNING;
  live->connections++;
  if (live->ever_connected) {
    double outage = (first_us - live->outage_start_us) / 1e6;
    GString *b;

    live->outages++;
    live->outage_seconds += outage;
    live->last_outage = outage;
    live_log ("source back after a %.1f s outage (%s; %u failed attempts)",
        outage, live->outage_reason, live->attempts);
    b = line_new (live, "reconnected", g_get_real_time ());
    line_num (b, "outage_seconds", outage, "%.3f");
    line_str (b, "reason", live->outage_reason);
    g_string_append_printf (b, ",\"attempts\":%u", live->attempts + 1);
    emit_line (live, "status", line_end (b));
  } else {
    live_log ("audio arriving from %s", var (live, "SOURCE"));
  }
  live->ever_connected = TRUE;
  live->attempts = 0;
  live->backoff = live->reconnect_min;
}

static gboolean
watch (gpointer user_data)
{
  Live *live = user_data;
  gint64 now = g_get_monotonic_time (), last, first;

  if (live->duration > 0 && now - live->start_us >= live->duration * 1e6) {
    live_log ("--duration %.0f s reached", live->duration);
    g_main_loop_quit (live->loop);
    return G_SOURCE_CONTINUE;
  }
  g_mutex_lock (&live->lock);
  last = live->last_data_us;
  first = live->first_data_us;
  g_mutex_unlock (&live->lock);
  if (live->state == LIVE_CONNECTING) {
    if (first != 0)
      on_audio (live, first);
    else if (now - live->attempt_start_us > live->timeout * 1e6) {
      char *reason = g_strdup_printf ("no audio for %.1f s", live->timeout);
      handle_failure (live, reason);
      g_free (reason);
    }
  } else if (live->state == LIVE_RUNNING && now - last > live->timeout * 1e6) {
    char *reason = g_strdup_printf ("no audio for %.1f s", live->timeout);
    handle_failure (live, reason);
    g_free (reason);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  Live *live = user_data;

  live_log ("stopping");
  g_main_loop_quit (live->loop);
  return G_SOURCE_CONTINUE;
}

/* ---- HTTP callbacks ---- */

static void
prom_escape (GString * s, const char *v)
{
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      g_string_append_c (s, '\\');
    if (*v == '\n')
      g_string_append (s, "\\n");
    else
      g_string_append_c (s, *v);
  }
}

static void
prom_head (GString * s, const char *name, const char *type, const char *help)
{
  g_string_append_printf (s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
      type);
}

static void
prom_double (GString * s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (v))
    g_string_append (s, "NaN");
  else if (isinf (v))
    g_string_append (s, v > 0 ? "+Inf" : "-Inf");
  else
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.15g", v));
  g_string_append_c (s, '\n');
}

static void
prom_histogram (GString * s, const char *name, const char *help,
    const Histogram * h)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint i;

  prom_head (s, name, "histogram", help);
  for (i = 0; i < N_BUCKETS; i++)
    g_string_append_printf (s, "%s_bucket{le=\"%s\"} %" G_GUINT64_FORMAT
        "\n", name, g_ascii_formatd (buf, sizeof buf, "%g", latency_buckets[i]),
        h->bucket[i]);
  g_string_append_printf (s, "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT
      "\n%s_sum ", name, h->count, name);
  prom_double (s, h->sum);
  g_string_append_printf (s, "%s_count %" G_GUINT64_FORMAT "\n", name,
      h->count);
  g_string_append_printf (s, "# HELP %s_last %s (the latest window)\n"
      "# TYPE %s_last gauge\n%s_last ", name, help, name, name);
  prom_double (s, h->count ? h->last : NAN);
}

static int
compare_routes (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char *
live_metrics (gpointer user_data)
{
  Live *live = user_data;
  GString *s = g_string_new (NULL);
  GPtrArray *routes = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key, value;
  guint i, j;
  gint64 now = g_get_monotonic_time ();

  g_hash_table_iter_init (&it, live->routes);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_ptr_array_add (routes, key);
  g_ptr_array_sort (routes, compare_routes);

  prom_head (s, "affect_live_info", "gauge", "The service's task and source.");
  g_string_append (s, "affect_live_info{task=\"");
  prom_escape (s, live->task);
  g_string_append (s, "\",source=\"");
  prom_escape (s, var (live, "SOURCE"));
  g_string_append (s, "\"} 1\n");
  prom_head (s, "affect_live_up", "gauge",
      "1 while audio arrives from the source, 0 during an outage.");
  g_string_append_printf (s, "affect_live_up %d\n",
      live->state == LIVE_RUNNING);
  prom_head (s, "affect_live_uptime_seconds", "gauge",
      "Seconds since the service started.");
  g_string_append (s, "affect_live_uptime_seconds ");
  prom_double (s, (now - live->start_us) / 1e6);
  prom_head (s, "affect_live_windows_total", "counter",
      "Windows analysed, per route (spontaneous/scripted with the gate, "
      "else all).");
  for (i = 0; i < routes->len; i++) {
    RouteState *r = g_hash_table_lookup (live->routes, routes->pdata[i]);
    g_string_append (s, "affect_live_windows_total{route=\"");
    prom_escape (s, r->route);
    g_string_append_printf (s, "\"} %" G_GUINT64_FORMAT "\n", r->windows);
  }
  prom_head (s, "affect_live_score", "gauge",
      "Latest score of each output (regression targets or class/tag "
      "scores), per route.");
  for (i = 0; i < routes->len; i++) {
    RouteState *r = g_hash_table_lookup (live->routes, routes->pdata[i]);
    for (j = 0; j < r->scores->len && j < r->names->len; j++) {
      g_string_append (s, "affect_live_score{route=\"");
      prom_escape (s, r->route);
      g_string_append (s, "\",name=\"");
      prom_escape (s, r->names->pdata[j]);
      g_string_append (s, "\"} ");
      prom_double (s, g_array_index (r->scores, double, j));
    }
  }
  if (live->gated) {
    prom_head (s, "affect_live_spontaneity", "gauge",
        "Latest probability of spontaneous speech from the gate.");
    g_string_append (s, "affect_live_spontaneity ");
    prom_double (s, live->spontaneity);
  }
  prom_head (s, "affect_live_last_result_timestamp_seconds", "gauge",
      "Unix time of the latest window's result.");
  g_string_append (s, "affect_live_last_result_timestamp_seconds ");
  prom_double (s, live->last_result_us / 1e6);
  prom_histogram (s, "affect_live_latency_seconds", "Capture-to-result "
      "latency: pipeline clock when a window's result is posted minus the "
      "clock time its last sample was captured (base time + running time "
      "of the window's end, or of its arrival if earlier).", &live->latency);
  prom_head (s, "affect_live_source_latency_seconds", "gauge",
      "Minimum latency the source reports (LATENCY query), not part of "
      "affect_live_latency_seconds.");
  g_string_append (s, "affect_live_source_latency_seconds ");
  prom_double (s, live->source_latency);
  prom_histogram (s, "affect_live_processing_seconds", "From the arrival "
      "of the window's last audio at the analysis to its result.",
      &live->processing);
  prom_head (s, "affect_live_connections_total", "counter",
      "Pipelines that delivered audio (1 + reconnections).");
  g_string_append_printf (s, "affect_live_connections_total %" G_GUINT64_FORMAT
      "\n", live->connections);
  prom_head (s, "affect_live_outages_total", "counter",
      "Outages of the source that ended with audio arriving again.");
  g_string_append_printf (s, "affect_live_outages_total %" G_GUINT64_FORMAT
      "\n", live->outages);
  prom_head (s, "affect_live_outage_seconds_total", "counter",
      "Seconds without audio over the ended outages (last audio to first "
      "audio again).");
  g_string_append (s, "affect_live_outage_seconds_total ");
  prom_double (s, live->outage_seconds);
  prom_head (s, "affect_live_last_outage_seconds", "gauge",
      "Length of the latest ended outage.");
  g_string_append (s, "affect_live_last_outage_seconds ");
  prom_double (s, live->last_outage);
  prom_head (s, "affect_live_source_failures_total", "counter",
      "Source errors, ends of stream and timeouts, failed reconnection "
      "attempts included.");
  g_string_append_printf (s, "affect_live_source_failures_total %"
      G_GUINT64_FORMAT "\n", live->source_failures);
  if (live->http) {
    prom_head (s, "affect_live_event_clients", "gauge",
        "Clients connected to /events.");
    g_string_append_printf (s, "affect_live_event_clients %u\n",
        live_http_clients (live->http));
  }
  g_ptr_array_unref (routes);
  return g_string_free (s, FALSE);
}

static char *
live_recent (gpointer user_data)
{
  Live *live = user_data;
  GString *s = g_string_new ("[");
  GList *l;

  for (l = live->recent.head; l; l = l->next) {
    if (l != live->recent.head)
      g_string_append (s, ",\n");
    g_string_append (s, l->data);
  }
  g_string_append (s, "]\n");
  return g_string_free (s, FALSE);
}

static gboolean
live_healthy (gpointer user_data)
{
  return ((Live *) user_data)->state == LIVE_RUNNING;
}

/* ---- main ---- */

static void
print_vars (void)
{
  const LiveVar *v;

  g_print ("Variables (VAR=value):\n");
  for (v = live_vars; v->name; v++)
    g_print ("  %-18s %s%s%s%s\n", v->name, v->blurb,
        v->default_value && *v->default_value ? " [" : "",
        v->default_value && *v->default_value ? v->default_value : "",
        v->default_value && *v->default_value ? "]" : "");
}

int
runner_live_main (int argc, char **argv)
{
  Live live = { 0 };
  double duration = -1;
  gboolean dry_run = FALSE, list_vars = FALSE;
  GOptionEntry entries[] = {
    {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &duration,
        "Stop after SECONDS (as DURATION=)", "SECONDS"},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
        "Print the pipeline's two parts and exit", NULL},
    {"variables", 0, 0, G_OPTION_ARG_NONE, &list_vars,
        "List the variables and exit", NULL},
    {NULL}
  };
  GOptionContext *ctx;
  GError *error = NULL;
  const LiveVar *v;
  LiveHttpFuncs funcs = { live_metrics, live_recent, live_healthy };
  int i;

  ctx = g_option_context_new ("VAR=value ... - analyse a live feed until "
      "stopped");
  g_option_context_set_summary (ctx, "affect-run live SOURCE=... TASK=speech|"
      "music MODEL=... (or GATE=, MODEL_SPONTANEOUS=, MODEL_SCRIPTED=)\n"
      "Writes one JSON line per window; with PORT=, serves /, /metrics, "
      "/events.\nReconnects when the source fails. See docs/live.md; "
      "--variables lists the variables.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_set_prgname ("affect-run live");
  /* argv[1] is "live" */
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("affect-run live: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return EXIT_USAGE;
  }
  g_option_context_free (ctx);
  if (list_vars) {
    print_vars ();
    return 0;
  }
  gst_init (NULL, NULL);
  affect_init ();
  post_quark = g_quark_from_static_string ("affect-live-post");

  live.vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (v = live_vars; v->name; v++)
    g_hash_table_insert (live.vars, g_strdup (v->name),
        g_strdup (v->default_value ? v->default_value : ""));
  for (i = 2; i < argc; i++) {
    const char *eq = strchr (argv[i], '=');
    char *name = eq ? g_strndup (argv[i], eq - argv[i]) : NULL;

    if (name == NULL || !g_hash_table_contains (live.vars, name)) {
      g_printerr ("affect-run live: '%s' is not a known VAR=value "
          "(affect-run live --variables lists them)\n", argv[i]);
      g_free (name);
      g_hash_table_unref (live.vars);
      return EXIT_USAGE;
    }
    g_hash_table_insert (live.vars, name, g_strdup (eq + 1));
  }
  if (duration >= 0) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_hash_table_insert (live.vars, g_strdup ("DURATION"),
        g_strdup (g_ascii_dtostr (buf, sizeof buf, duration)));
  }
  if (!configure (&live, &error)) {
    g_printerr ("affect-run live: %s\n", error->message);
    g_error_free (error);
    return EXIT_USAGE;
  }
  if (dry_run) {
    g_print ("source:   %s\nanalysis: %s\n", live.source_desc,
        live.analysis_desc);
    return 0;
  }
  if (!open_output (&live, "a", &error)) {
    g_printerr ("affect-run live: %s\n", error->message);
    g_error_free (error);
    return EXIT_USAGE;
  }
  g_mutex_init (&live.lock);
  live.routes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      route_state_free);
  g_queue_init (&live.recent);
  live.spontaneity = NAN;
  live.last_outage = NAN;
  live.gate_timestamp = GST_CLOCK_TIME_NONE;
  live.start_us = g_get_monotonic_time ();
  live.last_data_us = G_MININT64;
  live.backoff = live.reconnect_min;
  live.loop = g_main_loop_new (NULL, FALSE);

  if (*var (&live, "PORT")) {
    live.http = live_http_new (var (&live, "BIND"),
        (guint) g_ascii_strtoull (var (&live, "PORT"), NULL, 10), &funcs,
        &live, &error);
    if (live.http == NULL) {
      g_printerr ("affect-run live: %s\n", error->message);
      g_error_free (error);
      return EXIT_FAILED;
    }
    live_log ("serving http://%s%s%s:%u/ (/metrics, /events)",
        strchr (var (&live, "BIND"), ':') ? "[" : "", var (&live, "BIND"),
        strchr (var (&live, "BIND"), ':') ? "]" : "",
        live_http_port (live.http));
  }
  live_log ("source: %s", live.source_desc);
  live_log ("analysis: %s", live.analysis_desc);

  g_unix_signal_add (SIGINT, on_signal, &live);
  g_unix_signal_add (SIGTERM, on_signal, &live);
  live.watch_timer = g_timeout_add (WATCH_INTERVAL_MS, watch, &live);
  connect_source (&live);
  if (live.exit_status == 0)
    g_main_loop_run (live.loop);

  teardown (&live);
  if (live.retry_timer)
    g_source_remove (live.retry_timer);
  g_source_remove (live.watch_timer);
  live_log ("%" G_GUINT64_FORMAT " windows, %" G_GUINT64_FORMAT
      " outages (%.1f s)", live.windows, live.outages, live.outage_seconds);
  if (live.http)
    live_http_free (live.http);
  if (live.out && live.out != stdout)
    fclose (live.out);
  g_queue_clear_full (&live.recent, g_free);
  g_hash_table_unref (live.routes);
  g_hash_table_unref (live.vars);
  g_main_loop_unref (live.loop);
  g_free (live.pending_failure);
  g_free (live.outage_reason);
  g_free (live.task);
  g_free (live.output);
  g_free (live.source_desc);
  g_free (live.analysis_desc);
  g_mutex_clear (&live.lock);
  return live.exit_status;
}
