/* affect-run live: the HTTP server (libsoup 3)
 *
 *   /         a self-contained page plotting the scores as they arrive
 *   /metrics  Prometheus text format (the callbacks' text)
 *   /events   Server-Sent Events: "window" events (the JSON lines) and
 *             "status" events (outages, reconnections)
 *   /recent   JSON array of the latest window lines (the page's history)
 *   /healthz  200 while audio arrives, else 503
 *
 * Bound to one address (127.0.0.1 unless BIND says otherwise). Event
 * clients get chunked responses whose written chunks are not kept
 * (accumulate off), so memory stays flat however long they listen; a
 * comment every 15 s finds the clients that went away.
 */
#include <string.h>
#include <libsoup/soup.h>

#include "live.h"

#define KEEPALIVE_SECONDS 15

struct _LiveHttp
{
  SoupServer *server;
  LiveHttpFuncs funcs;
  gpointer user_data;
  GList *clients;               /* SoupServerMessage* of /events */
  guint keepalive;
  guint port;
};

static const char page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>gst-affect live</title>\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<style>\n"
    "body{font:14px system-ui,sans-serif;margin:16px;color:#222;"
    "background:#fafafa}\n"
    "h1{font-size:18px;margin:0 0 8px}\n"
    "#status span{margin-right:18px}\n"
    "#plot{background:#fff;border:1px solid #ccc;width:100%;height:360px}\n"
    "#legend span{margin-right:14px}\n"
    "#legend i{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0;"
    "vertical-align:middle}\n"
    ".down{color:#b00}\n"
    "</style></head>\n"
    "<body data-points=\"0\">\n"
    "<h1>gst-affect live</h1>\n"
    "<div id=\"status\"><span id=\"state\">connecting…</span>"
    "<span>windows: <b id=\"windows\">0</b></span>"
    "<span>latency: <b id=\"latency\">–</b></span>"
    "<span id=\"route\"></span><span id=\"labels\"></span></div>\n"
    "<canvas id=\"plot\" width=\"960\" height=\"360\"></canvas>\n"
    "<div id=\"legend\"></div>\n"
    "<script>\n"
    "'use strict';\n"
    "const MAX=600, COLORS=['#d62728','#1f77b4','#2ca02c','#ff7f0e',"
    "'#9467bd','#8c564b','#e377c2','#17becf'];\n"
    "const points=[]; let windows=0;\n"
    "const $=id=>document.getElementById(id);\n"
    "/* speech: every target (arousal, valence, ...); music: the top tags by "
    "mean score */\n"
    "function shown(){\n"
    "  if(!points.length) return [];\n"
    "  const names=points[points.length-1].names;\n"
    "  if(names.length<=6) return names.map((n,i)=>i);\n"
    "  const sum=names.map(()=>0);\n"
    "  for(const p of points) p.scores.forEach((s,i)=>{sum[i]+=s||0;});\n"
    "  return sum.map((s,i)=>[s,i]).sort((a,b)=>b[0]-a[0]).slice(0,5)"
    ".map(x=>x[1]);\n"
    "}\n"
    "function draw(){\n"
    "  const c=$('plot'), g=c.getContext('2d');\n"
    "  c.width=c.clientWidth||960;\n"
    "  const W=c.width,H=c.height,L=44,R=8,T=10,B=24;\n"
    "  g.clearRect(0,0,W,H);\n"
    "  const idx=shown(); let lo=Infinity,hi=-Infinity;\n"
    "  for(const p of points) for(const i of idx){const v=p.scores[i];"
    "if(v!=null){lo=Math.min(lo,v);hi=Math.max(hi,v);}}\n"
    "  if(!isFinite(lo)){lo=0;hi=1;} if(hi-lo<1e-6){lo-=0.5;hi+=0.5;}\n"
    "  const pad=(hi-lo)*0.08; lo-=pad; hi+=pad;\n"
    "  const t0=points.length?points[0].t:0, t1=points.length?"
    "points[points.length-1].t:1, span=Math.max(t1-t0,1);\n"
    "  const X=t=>L+(W-L-R)*(t-t0)/span, Y=v=>T+(H-T-B)*(hi-v)/(hi-lo);\n"
    "  g.strokeStyle='#ddd'; g.fillStyle='#666'; g.font='11px sans-serif';\n"
    "  for(let k=0;k<=4;k++){const v=lo+(hi-lo)*k/4, y=Y(v);"
    "g.beginPath();g.moveTo(L,y);g.lineTo(W-R,y);g.stroke();"
    "g.fillText(v.toFixed(2),2,y+4);}\n"
    "  g.fillText(points.length?new Date(t0).toISOString().slice(11,19):'',"
    "L,H-6);\n"
    "  g.fillText(points.length?new Date(t1).toISOString().slice(11,19)+' UTC':'',"
    "W-R-90,H-6);\n"
    "  const legend=[]; let drawn=0;\n"
    "  idx.forEach((i,k)=>{\n"
    "    const col=COLORS[k%COLORS.length]; g.strokeStyle=col; g.fillStyle=col;"
    " g.lineWidth=2; g.beginPath(); let first=true;\n"
    "    for(const p of points){const v=p.scores[i]; if(v==null){first=true;"
    "continue;} const x=X(p.t),y=Y(v); if(first){g.moveTo(x,y);first=false;}"
    "else g.lineTo(x,y);}\n"
    "    g.stroke();\n"
    "    for(const p of points){const v=p.scores[i]; if(v==null) continue;"
    " g.beginPath(); g.arc(X(p.t),Y(v),2.5,0,7); g.fill(); drawn++;}\n"
    "    legend.push('<span><i style=\"background:'+col+'\"></i>'+"
    "esc(points[points.length-1].names[i])+'</span>');\n"
    "  });\n"
    "  g.lineWidth=1;\n"
    "  $('legend').innerHTML=legend.join('');\n"
    "  document.body.dataset.points=drawn;\n"
    "}\n"
    "function esc(s){return String(s).replace(/[&<>\"]/g,"
    "c=>({'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c]));}\n"
    "function add(d){\n"
    "  if(d.type!=='window') return;\n"
    "  points.push({t:Date.parse(d.time), names:d.names, scores:d.scores});\n"
    "  if(points.length>MAX) points.shift();\n"
    "  windows++; $('windows').textContent=windows;\n"
    "  if(d.latency!=null) $('latency').textContent=(d.latency*1000)"
    ".toFixed(0)+' ms';\n"
    "  $('route').textContent=d.route?('route: '+d.route+(d.spontaneity!=null?"
    "' (p='+d.spontaneity.toFixed(2)+')':'')):'';\n"
    "  $('labels').textContent=d.labels&&d.labels.length?('labels: '+"
    "d.labels.join(', ')):'';\n"
    "}\n"
    "let pending=false;\n"
    "function redraw(){if(!pending){pending=true;requestAnimationFrame(()=>"
    "{pending=false;draw();});}}\n"
    "function state(text,down){const s=$('state');s.textContent=text;"
    "s.className=down?'down':'';}\n"
    "fetch('recent').then(r=>r.json()).then(a=>{a.forEach(add);draw();"
    "if(points.length) state('live');})"
    ".catch(()=>{}).finally(()=>{\n"
    "  const es=new EventSource('events');\n"
    "  es.onopen=()=>state('live');\n"
    "  es.onerror=()=>state('service unreachable, retrying…',true);\n"
    "  es.addEventListener('window',e=>{add(JSON.parse(e.data));redraw();"
    "state('live');});\n"
    "  es.addEventListener('status',e=>{const d=JSON.parse(e.data);"
    "if(d.type==='outage') state('source lost: '+d.reason,true);"
    "else state('reconnected after '+d.outage_seconds.toFixed(1)+' s');});\n"
    "});\n"
    "window.addEventListener('resize',draw);\n" "</script></body></html>\n";

static void
respond (SoupServerMessage * msg, guint status, const char *type, char *body)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (h, "Cache-Control", "no-store");
  /* an idle keep-alive connection closed by its client stays in
   * CLOSE_WAIT here (libsoup 3.2): one descriptor lost per scrape.
   * Closing after each response keeps descriptors flat */
  soup_message_headers_replace (h, "Connection", "close");
  soup_server_message_set_response (msg, type, SOUP_MEMORY_TAKE, body,
      strlen (body));
}

static void
client_finished (SoupServerMessage * msg, gpointer user_data)
{
  LiveHttp *http = user_data;
  GList *l = g_list_find (http->clients, msg);

  if (l != NULL) {
    http->clients = g_list_delete_link (http->clients, l);
    g_signal_handlers_disconnect_by_data (msg, http);
    g_object_unref (msg);
  }
}

static void
send_chunk (SoupServerMessage * msg, const char *text)
{
  soup_message_body_append (soup_server_message_get_response_body (msg),
      SOUP_MEMORY_COPY, text, strlen (text));
  soup_server_message_unpause (msg);
}

static void
handle (SoupServer * server, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer user_data)
{
  LiveHttp *http = user_data;
  const char *method = soup_server_message_get_method (msg);

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    return;
  }
  if (strcmp (path, "/") == 0 || strcmp (path, "/index.html") == 0) {
    respond (msg, SOUP_STATUS_OK, "text/html; charset=utf-8", g_strdup (page));
  } else if (strcmp (path, "/metrics") == 0) {
    respond (msg, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
        http->funcs.metrics (http->user_data));
  } else if (strcmp (path, "/recent") == 0) {
    respond (msg, SOUP_STATUS_OK, "application/json",
        http->funcs.recent (http->user_data));
  } else if (strcmp (path, "/healthz") == 0) {
    gboolean ok = http->funcs.healthy (http->user_data);
    respond (msg, ok ? SOUP_STATUS_OK : SOUP_STATUS_SERVICE_UNAVAILABLE,
        "text/plain", g_strdup (ok ? "ok\n" : "no audio\n"));
  } else if (strcmp (path, "/events") == 0) {
    SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    soup_message_headers_set_content_type (h, "text/event-stream", NULL);
    soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
    soup_message_headers_replace (h, "Cache-Control", "no-store");
    soup_message_body_set_accumulate (soup_server_message_get_response_body
        (msg), FALSE);
    g_signal_connect (msg, "finished", G_CALLBACK (client_finished), http);
    http->clients = g_list_prepend (http->clients, g_object_ref (msg));
    send_chunk (msg, "retry: 2000\n: gst-affect live\n\n");
  } else {
    respond (msg, SOUP_STATUS_NOT_FOUND, "text/plain",
        g_strdup ("not found: /, /metrics, /events, /recent, /healthz\n"));
  }
}

static gboolean
keepalive (gpointer user_data)
{
  LiveHttp *http = user_data;
  GList *l, *next;

  for (l = http->clients; l; l = next) {
    next = l->next;
    send_chunk (l->data, ": keep-alive\n\n");
  }
  return G_SOURCE_CONTINUE;
}

LiveHttp *
live_http_new (const char *address, guint port, const LiveHttpFuncs * funcs,
    gpointer user_data, GError ** error)
{
  LiveHttp *http = g_new0 (LiveHttp, 1);
  GInetAddress *inet = g_inet_address_new_from_string (address);
  GSocketAddress *sa;
  GSList *uris;

  if (inet == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "BIND=%s: not an IP address", address);
    g_free (http);
    return NULL;
  }
  http->funcs = *funcs;
  http->user_data = user_data;
  http->server = soup_server_new ("server-header", "gst-affect-live ", NULL);
  soup_server_add_handler (http->server, NULL, handle, http, NULL);
  sa = g_inet_socket_address_new (inet, port);
  g_object_unref (inet);
  if (!soup_server_listen (http->server, sa, 0, error)) {
    g_prefix_error (error, "HTTP on %s port %u: ", address, port);
    g_object_unref (sa);
    g_object_unref (http->server);
    g_free (http);
    return NULL;
  }
  g_object_unref (sa);
  uris = soup_server_get_uris (http->server);
  http->port = uris ? (guint) g_uri_get_port (uris->data) : port;
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  http->keepalive = g_timeout_add_seconds (KEEPALIVE_SECONDS, keepalive, http);
  return http;
}

guint
live_http_port (LiveHttp * http)
{
  return http->port;
}

guint
live_http_clients (LiveHttp * http)
{
  return g_list_length (http->clients);
}

void
live_http_publish (LiveHttp * http, const char *event, const char *json_line)
{
  char *text = g_strdup_printf ("event: %s\ndata: %s\n\n", event, json_line);
  GList *l, *next;

  for (l = http->clients; l; l = next) {
    next = l->next;
    send_chunk (l->data, text);
  }
  g_free (text);
}

void
live_http_free (LiveHttp * http)
{
  g_source_remove (http->keepalive);
  while (http->clients) {
    SoupServerMessage *msg = http->clients->data;
    g_signal_handlers_disconnect_by_data (msg, http);
    http->clients = g_list_delete_link (http->clients, http->clients);
    g_object_unref (msg);
  }
  soup_server_disconnect (http->server);
  g_object_unref (http->server);
  g_free (http);
}
