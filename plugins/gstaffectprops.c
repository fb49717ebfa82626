/* GStreamer affect plugin
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Table-driven properties (gstaffectprops.h)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstaffectprops.h"

static GQuark
prop_quark (void)
{
  static GQuark quark = 0;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("gst-affect-prop");
  return quark;
}

guint
gst_affect_props_install (GObjectClass * klass, const GstAffectProp * props,
    guint n_props, GParamFlags flags)
{
  guint i;

  /* GObject does not inherit these: every class states its own */
  klass->set_property = gst_affect_props_set_property;
  klass->get_property = gst_affect_props_get_property;
  for (i = 0; i < n_props; i++) {
    const GstAffectProp *p = &props[i];
    GParamFlags f = (p->flags ? p->flags : flags) | G_PARAM_STATIC_STRINGS;
    GParamSpec *pspec = NULL;

    switch (p->kind) {
      case GST_AFFECT_PROP_NONE:
        continue;
      case GST_AFFECT_PROP_BOOLEAN:
        pspec = g_param_spec_boolean (p->name, p->nick, p->blurb, p->def != 0,
            f);
        break;
      case GST_AFFECT_PROP_INT:
        pspec = g_param_spec_int (p->name, p->nick, p->blurb, (gint) p->min,
            (gint) p->max, (gint) p->def, f);
        break;
      case GST_AFFECT_PROP_UINT:
        pspec = g_param_spec_uint (p->name, p->nick, p->blurb, (guint) p->min,
            (guint) p->max, (guint) p->def, f);
        break;
      case GST_AFFECT_PROP_UINT64:
        pspec = g_param_spec_uint64 (p->name, p->nick, p->blurb,
            (guint64) p->min, p->max < 0 ? G_MAXUINT64 : (guint64) p->max,
            (guint64) p->def, f);
        break;
      case GST_AFFECT_PROP_DOUBLE:
        pspec = g_param_spec_double (p->name, p->nick, p->blurb, p->min,
            p->max, p->def, f);
        break;
      case GST_AFFECT_PROP_STRING:
        pspec = g_param_spec_string (p->name, p->nick, p->blurb,
            p->def_string, f);
        break;
      case GST_AFFECT_PROP_ENUM:
        pspec = g_param_spec_enum (p->name, p->nick, p->blurb,
            p->enum_type (), (gint) p->def, f);
        gst_type_mark_as_plugin_api (p->enum_type (), 0);
        break;
    }
    g_param_spec_set_qdata (pspec, prop_quark (), (gpointer) p);
    g_object_class_install_property (klass, i + 1, pspec);
  }
  return n_props + 1;
}

const GstAffectProp *
gst_affect_props_lookup (GParamSpec * pspec)
{
  return g_param_spec_get_qdata (pspec, prop_quark ());
}

gint
gst_affect_props_index (GParamSpec * pspec)
{
  return gst_affect_props_lookup (pspec) ? (gint) pspec->param_id - 1 : -1;
}

gsize
gst_affect_prop_size (const GstAffectProp * p)
{
  switch (p->kind) {
    case GST_AFFECT_PROP_BOOLEAN:
      return sizeof (gboolean);
    case GST_AFFECT_PROP_INT:
    case GST_AFFECT_PROP_ENUM:
      return sizeof (gint);
    case GST_AFFECT_PROP_UINT:
      return sizeof (guint);
    case GST_AFFECT_PROP_UINT64:
      return sizeof (guint64);
    case GST_AFFECT_PROP_DOUBLE:
      return sizeof (gdouble);
    case GST_AFFECT_PROP_STRING:
      return sizeof (gchar *);
    case GST_AFFECT_PROP_NONE:
      break;
  }
  return 0;
}

void
gst_affect_prop_store (const GstAffectProp * p, gpointer field,
    const GValue * value)
{
  switch (p->kind) {
    case GST_AFFECT_PROP_BOOLEAN:
      *(gboolean *) field = g_value_get_boolean (value);
      break;
    case GST_AFFECT_PROP_INT:
      *(gint *) field = g_value_get_int (value);
      break;
    case GST_AFFECT_PROP_UINT:
      *(guint *) field = g_value_get_uint (value);
      break;
    case GST_AFFECT_PROP_UINT64:
      *(guint64 *) field = g_value_get_uint64 (value);
      break;
    case GST_AFFECT_PROP_DOUBLE:
      *(gdouble *) field = g_value_get_double (value);
      break;
    case GST_AFFECT_PROP_STRING:
      g_free (*(gchar **) field);
      *(gchar **) field = g_value_dup_string (value);
      break;
    case GST_AFFECT_PROP_ENUM:
      *(gint *) field = g_value_get_enum (value);
      break;
    case GST_AFFECT_PROP_NONE:
      break;
  }
}

void
gst_affect_prop_load (const GstAffectProp * p, gconstpointer field,
    GValue * value)
{
  switch (p->kind) {
    case GST_AFFECT_PROP_BOOLEAN:
      g_value_set_boolean (value, *(const gboolean *) field);
      break;
    case GST_AFFECT_PROP_INT:
      g_value_set_int (value, *(const gint *) field);
      break;
    case GST_AFFECT_PROP_UINT:
      g_value_set_uint (value, *(const guint *) field);
      break;
    case GST_AFFECT_PROP_UINT64:
      g_value_set_uint64 (value, *(const guint64 *) field);
      break;
    case GST_AFFECT_PROP_DOUBLE:
      g_value_set_double (value, *(const gdouble *) field);
      break;
    case GST_AFFECT_PROP_STRING:
      g_value_set_string (value, *(gchar * const *) field);
      break;
    case GST_AFFECT_PROP_ENUM:
      g_value_set_enum (value, *(const gint *) field);
      break;
    case GST_AFFECT_PROP_NONE:
      break;
  }
}

static gpointer
field_of (GObject * object, const GstAffectProp * p)
{
  return (guint8 *) object + p->offset;
}

void
gst_affect_props_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  const GstAffectProp *p = gst_affect_props_lookup (pspec);

  if (p == NULL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (object);
  gst_affect_prop_store (p, field_of (object, p), value);
  GST_OBJECT_UNLOCK (object);
}

void
gst_affect_props_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  const GstAffectProp *p = gst_affect_props_lookup (pspec);

  if (p == NULL) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (object);
  gst_affect_prop_load (p, field_of (object, p), value);
  GST_OBJECT_UNLOCK (object);
}

/* an alias shares its field with the entry it stands for */
static gboolean
owns_field (const GstAffectProp * p)
{
  return p != NULL && !(p->kind == GST_AFFECT_PROP_STRING
      && (p->flags & G_PARAM_DEPRECATED));
}

void
gst_affect_props_init (GObject * object)
{
  gst_affect_props_init_class (object, G_OBJECT_GET_CLASS (object));
}

void
gst_affect_props_init_class (GObject * object, GObjectClass * klass)
{
  GParamSpec **pspecs;
  guint i, n;

  pspecs = g_object_class_list_properties (klass, &n);
  for (i = 0; i < n; i++) {
    const GstAffectProp *p = gst_affect_props_lookup (pspecs[i]);
    GValue value = G_VALUE_INIT;

    if (!owns_field (p))
      continue;
    g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (pspecs[i]));
    g_param_value_set_default (pspecs[i], &value);
    gst_affect_prop_store (p, field_of (object, p), &value);
    g_value_unset (&value);
  }
  g_free (pspecs);
}

void
gst_affect_props_finalize (GObject * object)
{
  GParamSpec **pspecs;
  guint i, n;

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (object), &n);
  for (i = 0; i < n; i++) {
    const GstAffectProp *p = gst_affect_props_lookup (pspecs[i]);

    if (owns_field (p) && p->kind == GST_AFFECT_PROP_STRING)
      g_clear_pointer ((gchar **) field_of (object, p), g_free);
  }
  g_free (pspecs);
}
