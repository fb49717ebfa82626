/* GStreamer affect plugin
 * Copyright (C) 2026 gst-affect contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "affect/classifier.h"
#include "gstaffectcaps.h"

typedef struct
{
  GstCaps *caps;
  guint32 stream_seqnum;        /* of the STREAM_START the refusal was in */
} Refusal;

static GQuark
refusal_quark (void)
{
  return g_quark_from_static_string ("affect-refused-caps");
}

static void
refusal_free (gpointer data)
{
  Refusal *r = data;

  gst_caps_unref (r->caps);
  g_free (r);
}

/* The seqnum of the pad's STREAM_START: a new run sends a new event */
static guint32
stream_seqnum (GstPad * pad)
{
  GstEvent *ev = gst_pad_get_sticky_event (pad, GST_EVENT_STREAM_START, 0);
  guint32 seqnum = GST_SEQNUM_INVALID;

  if (ev) {
    seqnum = gst_event_get_seqnum (ev);
    gst_event_unref (ev);
  }
  return seqnum;
}

gboolean
gst_affect_caps_refused_before (GstPad * sinkpad, GstCaps * caps)
{
  Refusal *r;
  gboolean refused;
  guint32 seqnum = GST_SEQNUM_INVALID;

  GST_OBJECT_LOCK (sinkpad);
  r = g_object_get_qdata (G_OBJECT (sinkpad), refusal_quark ());
  refused = r != NULL && gst_caps_is_equal (r->caps, caps);
  if (refused)
    seqnum = r->stream_seqnum;
  GST_OBJECT_UNLOCK (sinkpad);
  return refused && seqnum == stream_seqnum (sinkpad);
}

void
gst_affect_caps_note (GstPad * sinkpad, GstCaps * caps, gboolean accepted)
{
  Refusal *r = NULL;

  if (!accepted) {
    r = g_new0 (Refusal, 1);
    r->caps = gst_caps_ref (caps);
    r->stream_seqnum = stream_seqnum (sinkpad);
  }
  GST_OBJECT_LOCK (sinkpad);
  g_object_set_qdata_full (G_OBJECT (sinkpad), refusal_quark (), r,
      r ? refusal_free : NULL);
  GST_OBJECT_UNLOCK (sinkpad);
}

void
gst_affect_caps_answer_query (GstQuery * query, GstCaps * caps)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    GstCaps *asked;

    gst_query_parse_accept_caps (query, &asked);
    gst_query_set_accept_caps_result (query, gst_caps_is_subset (asked, caps));
  } else {
    GstCaps *filter;

    gst_query_parse_caps (query, &filter);
    if (filter) {
      GstCaps *tmp = gst_caps_intersect_full (filter, caps,
          GST_CAPS_INTERSECT_FIRST);
      gst_caps_unref (caps);
      caps = tmp;
    }
    gst_query_set_caps_result (query, caps);
  }
  gst_caps_unref (caps);
}

/* The caps fields as libaffect describes a feature stream, without the
 * tensor layout; serialised values of other types are kept in `strings`
 * until the fields go */
static AffectFeatureField *
features_of (const GstStructure * s, guint * n, GPtrArray * strings)
{
  static const gchar *skip[] = { "dimensions", "types", "format",
    "num_tensors", "framerate", NULL
  };
  AffectFeatureField *f = g_new0 (AffectFeatureField,
      gst_structure_n_fields (s) + 1);

  *n = 0;
  for (gint i = 0; i < gst_structure_n_fields (s); i++) {
    const gchar *name = gst_structure_nth_field_name (s, i);
    const GValue *v = gst_structure_get_value (s, name);
    AffectFeatureField *o = &f[*n];
    if (g_strv_contains (skip, name))
      continue;
    o->name = name;
    if (G_VALUE_HOLDS_INT (v)) {
      o->kind = AFFECT_FEATURE_INT;
      o->i = g_value_get_int (v);
    } else if (G_VALUE_HOLDS_DOUBLE (v)) {
      o->kind = AFFECT_FEATURE_DOUBLE;
      o->d = g_value_get_double (v);
    } else {
      o->kind = AFFECT_FEATURE_STRING;
      o->s = G_VALUE_HOLDS_STRING (v) ? g_value_get_string (v) : NULL;
      if (!G_VALUE_HOLDS_STRING (v))
        g_ptr_array_add (strings, (gpointer) (o->s = gst_value_serialize (v)));
    }
    (*n)++;
  }
  return f;
}

gchar *
gst_affect_caps_features_json (const GstStructure * s)
{
  GPtrArray *strings = g_ptr_array_new_with_free_func (g_free);
  guint n;
  AffectFeatureField *f = features_of (s, &n, strings);
  gchar *out = affect_features_json (f, n);

  g_free (f);
  g_ptr_array_unref (strings);
  return out;
}

gboolean
gst_affect_caps_check_features (const GstStructure * s,
    const gchar * features_json, const gchar * model, GError ** error)
{
  GPtrArray *strings = g_ptr_array_new_with_free_func (g_free);
  guint n;
  AffectFeatureField *f = features_of (s, &n, strings);
  gboolean ok = affect_features_check (features_json, f, n, model, error);

  g_free (f);
  g_ptr_array_unref (strings);
  return ok;
}
