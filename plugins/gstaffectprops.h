/* Table-driven properties.
 *
 * An element describes its properties in one static table (name, nick,
 * blurb, type, range, default, flags and the offset of the instance field
 * that holds the value) and installs it in class_init; set, get, the
 * defaults at init and the strings at finalize are then done here, under
 * the object lock, so that the element writes no set/get switch. An
 * element whose properties need more than a store (affectmel's preset,
 * affectis09's state check) wraps gst_affect_props_set_property () or
 * reads and writes single fields with gst_affect_prop_store () and
 * gst_affect_prop_load ().
 */
#ifndef __GST_AFFECT_PROPS_H__
#define __GST_AFFECT_PROPS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#ifndef GST_AFFECT_DEFINE_ENUM
/* One GEnum type from its values (a GEnumValue array ending in {0}):
 * `GST_AFFECT_DEFINE_ENUM (GstAffectMode, gst_affect_mode, mode_values)`
 * defines gst_affect_mode_get_type (). */
#define GST_AFFECT_DEFINE_ENUM(TypeName, type_name, values)                \
GType type_name##_get_type (void);                                        \
GType                                                                     \
type_name##_get_type (void)                                               \
{                                                                         \
  static GType type = 0;                                                  \
  if (g_once_init_enter (&type)) {                                        \
    GType t = g_enum_register_static (#TypeName, values);                 \
    g_once_init_leave (&type, t);                                         \
  }                                                                       \
  return type;                                                            \
}
/* The same with the values written inline, as the array's initializer:
 * `GST_AFFECT_ENUM (GstAffectMode, gst_affect_mode) = { {…}, {0} };` */
#define GST_AFFECT_ENUM(TypeName, type_name)                              \
G_GNUC_EXTENSION static const GEnumValue type_name##_values[];            \
GST_AFFECT_DEFINE_ENUM (TypeName, type_name, type_name##_values)           \
static const GEnumValue type_name##_values[]
#endif

typedef enum
{
  GST_AFFECT_PROP_NONE,         /* a placeholder: installs nothing */
  GST_AFFECT_PROP_BOOLEAN,      /* gboolean */
  GST_AFFECT_PROP_INT,          /* gint */
  GST_AFFECT_PROP_UINT,         /* guint */
  GST_AFFECT_PROP_UINT64,       /* guint64 */
  GST_AFFECT_PROP_DOUBLE,       /* gdouble */
  GST_AFFECT_PROP_STRING,       /* gchar *, owned by the instance */
  GST_AFFECT_PROP_ENUM          /* an enum, stored as gint */
} GstAffectPropKind;

/* One property. `flags` 0 takes the flags given to
 * gst_affect_props_install (); otherwise they are the property's own
 * (G_PARAM_STATIC_STRINGS is always added). A STRING entry with
 * G_PARAM_DEPRECATED is an alias of another entry of the same offset: it
 * sets no default and frees nothing. */
typedef struct
{
  const gchar *name, *nick, *blurb;
  GstAffectPropKind kind;
  GType (*enum_type) (void);
  gsize offset;
  gdouble min, max, def;        /* uint64: max < 0 is G_MAXUINT64 */
  const gchar *def_string;
  GParamFlags flags;
} GstAffectProp;

#define GST_AFFECT_PROP_BOOL(n, k, b, S, f, d, fl) \
  { n, k, b, GST_AFFECT_PROP_BOOLEAN, NULL, G_STRUCT_OFFSET (S, f), 0, 1, d, NULL, fl }
#define GST_AFFECT_PROP_INT(n, k, b, S, f, lo, hi, d, fl) \
  { n, k, b, GST_AFFECT_PROP_INT, NULL, G_STRUCT_OFFSET (S, f), lo, hi, d, NULL, fl }
#define GST_AFFECT_PROP_UINT(n, k, b, S, f, lo, hi, d, fl) \
  { n, k, b, GST_AFFECT_PROP_UINT, NULL, G_STRUCT_OFFSET (S, f), lo, hi, d, NULL, fl }
#define GST_AFFECT_PROP_UINT64(n, k, b, S, f, lo, hi, d, fl) \
  { n, k, b, GST_AFFECT_PROP_UINT64, NULL, G_STRUCT_OFFSET (S, f), lo, hi, d, NULL, fl }
#define GST_AFFECT_PROP_DOUBLE(n, k, b, S, f, lo, hi, d, fl) \
  { n, k, b, GST_AFFECT_PROP_DOUBLE, NULL, G_STRUCT_OFFSET (S, f), lo, hi, d, NULL, fl }
#define GST_AFFECT_PROP_STRING(n, k, b, S, f, d, fl) \
  { n, k, b, GST_AFFECT_PROP_STRING, NULL, G_STRUCT_OFFSET (S, f), 0, 0, 0, d, fl }
#define GST_AFFECT_PROP_ENUM(n, k, b, S, f, type_func, d, fl) \
  { n, k, b, GST_AFFECT_PROP_ENUM, type_func, G_STRUCT_OFFSET (S, f), 0, 0, d, NULL, fl }

/* Installs the table's entries as properties 1, 2, … in order (a NONE
 * entry keeps its id unused) and makes gst_affect_props_set_property /
 * _get_property the class's set and get; returns the first id after the
 * table, for properties the class installs by hand. */
guint gst_affect_props_install (GObjectClass * klass,
    const GstAffectProp * props, guint n_props, GParamFlags flags);
/* the table entry of a property installed from a table, or NULL */
const GstAffectProp *gst_affect_props_lookup (GParamSpec * pspec);
/* the table index (property id - 1) of a property, or -1 */
gint gst_affect_props_index (GParamSpec * pspec);

/* GObject's set and get for table properties: the field at the entry's
 * offset, under the object lock */
void gst_affect_props_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
void gst_affect_props_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);

/* one field, no lock: `field` points at a value of the entry's kind */
void gst_affect_prop_store (const GstAffectProp * p, gpointer field,
    const GValue * value);
void gst_affect_prop_load (const GstAffectProp * p, gconstpointer field,
    GValue * value);
/* bytes of the entry's field */
gsize gst_affect_prop_size (const GstAffectProp * p);

/* instance init: every table field to its property's default */
void gst_affect_props_init (GObject * object);
/* the same from a base class's instance init, where the object's class is
 * still the base's: `klass` is the final class GLib passes */
void gst_affect_props_init_class (GObject * object, GObjectClass * klass);
/* finalize: frees every table string */
void gst_affect_props_finalize (GObject * object);

G_END_DECLS
#endif /* __GST_AFFECT_PROPS_H__ */
