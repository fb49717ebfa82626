/* affect-run live: live feeds as a service (tools/affect-run/live.c, docs/live.md) */
#ifndef AFFECT_RUNNER_LIVE_H
#define AFFECT_RUNNER_LIVE_H

#include <glib.h>

G_BEGIN_DECLS
/* argv[1] is "live"; parses its own options and VAR=value arguments,
 * initialises GStreamer, runs until SIGINT/SIGTERM (or --duration) and
 * returns the exit status */
int runner_live_main (int argc, char **argv);

/* the HTTP side (tools/affect-run/live-http.c): /, /metrics, /events, /recent */
typedef struct _LiveHttp LiveHttp;

typedef struct
{
  /* Prometheus text of the current state (caller frees) */
  char *(*metrics) (gpointer user_data);
  /* JSON array of the latest result lines (caller frees) */
  char *(*recent) (gpointer user_data);
  /* TRUE while audio arrives (/healthz) */
    gboolean (*healthy) (gpointer user_data);
} LiveHttpFuncs;

LiveHttp *live_http_new (const char *address, guint port,
    const LiveHttpFuncs * funcs, gpointer user_data, GError ** error);
/* the port listened on (the chosen one when 0 was asked) */
guint live_http_port (LiveHttp * http);
/* one JSON line to every /events client, as an SSE event */
void live_http_publish (LiveHttp * http, const char *event,
    const char *json_line);
guint live_http_clients (LiveHttp * http);
void live_http_free (LiveHttp * http);

G_END_DECLS
#endif
