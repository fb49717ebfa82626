/* Table-driven properties (plugins/gstaffectprops.c): a GstObject with one
 * property of every kind gets its defaults at init, round-trips set and
 * get through its fields, keeps the ids of the table (a NONE entry leaves
 * one unused), takes the class's flags or its own, hands out the id after
 * the table, frees its strings at finalize, and an enum defined through
 * GST_AFFECT_DEFINE_ENUM, or GST_AFFECT_ENUM with its values inline, lists
 * its values. */
#include <gst/gst.h>

#include "gstaffectprops.h"

typedef enum
{
  TOY_COLOUR_RED,
  TOY_COLOUR_GREEN = 7
} ToyColour;

static const GEnumValue colour_values[] = {
  {TOY_COLOUR_RED, "Red", "red"},
  {TOY_COLOUR_GREEN, "Green", "green"},
  {0, NULL, NULL}
};

GST_AFFECT_DEFINE_ENUM (ToyColour, toy_colour, colour_values);

typedef enum
{
  TOY_SHAPE_ROUND = 3,
  TOY_SHAPE_SQUARE,
  TOY_SHAPE_FLAT = 9
} ToyShape;

GST_AFFECT_ENUM (ToyShape, toy_shape) = {
  {TOY_SHAPE_ROUND, "Round", "round"},
  {TOY_SHAPE_SQUARE, "Square", "square"},
  {TOY_SHAPE_FLAT, "Flat", "flat"},
  {0, NULL, NULL}
};

typedef struct
{
  GstObject parent;
  gboolean flag;
  gint offset;
  guint count;
  guint64 seed;
  gdouble gain;
  gchar *name, *note;
  ToyColour colour;
} Toy;

typedef struct
{
  GstObjectClass parent_class;
} ToyClass;

static GType toy_get_type (void);
G_DEFINE_TYPE (Toy, toy, GST_TYPE_OBJECT);

#define T Toy
static const GstAffectProp toy_props[] = {
  GST_AFFECT_PROP_BOOL ("flag", "Flag", "A boolean", T, flag, TRUE, 0),
  GST_AFFECT_PROP_INT ("offset", "Offset", "An int", T, offset, -5, 5, -2, 0),
  {"gone", NULL, NULL, GST_AFFECT_PROP_NONE, NULL, 0, 0, 0, 0, NULL, 0},
  GST_AFFECT_PROP_UINT ("count", "Count", "A uint", T, count, 1, 100, 10, 0),
  GST_AFFECT_PROP_UINT64 ("seed", "Seed", "A uint64", T, seed, 0, -1, 42,
      G_PARAM_READWRITE),
  GST_AFFECT_PROP_DOUBLE ("gain", "Gain", "A double", T, gain, -1.0, 1e6,
      0.25, 0),
  GST_AFFECT_PROP_STRING ("name", "Name", "A string", T, name, "toy", 0),
  GST_AFFECT_PROP_STRING ("note", "Note", "A string without default", T,
      note, NULL, 0),
  GST_AFFECT_PROP_ENUM ("colour", "Colour", "An enum", T, colour,
      toy_colour_get_type, TOY_COLOUR_GREEN, 0),
};

#undef T

static guint next_id;

static void
toy_finalize (GObject * object)
{
  gst_affect_props_finalize (object);
  G_OBJECT_CLASS (toy_parent_class)->finalize (object);
}

static void
toy_class_init (ToyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  next_id = gst_affect_props_install (gobject_class, toy_props,
      G_N_ELEMENTS (toy_props), G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY);
  gobject_class->finalize = toy_finalize;
}

static void
toy_init (Toy * self)
{
  gst_affect_props_init (G_OBJECT (self));
}

static void
test_defaults (void)
{
  Toy *toy = g_object_new (toy_get_type (), NULL);

  g_assert_true (toy->flag);
  g_assert_cmpint (toy->offset, ==, -2);
  g_assert_cmpuint (toy->count, ==, 10);
  g_assert_cmpuint (toy->seed, ==, 42);
  g_assert_cmpfloat (toy->gain, ==, 0.25);
  g_assert_cmpstr (toy->name, ==, "toy");
  g_assert_null (toy->note);
  g_assert_cmpint (toy->colour, ==, TOY_COLOUR_GREEN);
  gst_object_unref (toy);
}

static void
test_round_trip (void)
{
  Toy *toy = g_object_new (toy_get_type (), NULL);
  gboolean flag;
  gint offset, colour;
  guint count;
  guint64 seed;
  gdouble gain;
  gchar *name, *note;

  g_object_set (toy, "flag", FALSE, "offset", 5, "count", 99,
      "seed", G_MAXUINT64, "gain", -1.0, "name", "other", "note", "n",
      "colour", TOY_COLOUR_RED, NULL);
  g_assert_false (toy->flag);
  g_assert_cmpint (toy->offset, ==, 5);
  g_assert_cmpuint (toy->count, ==, 99);
  g_assert_cmpuint (toy->seed, ==, G_MAXUINT64);
  g_assert_cmpfloat (toy->gain, ==, -1.0);
  g_assert_cmpstr (toy->name, ==, "other");
  g_assert_cmpint (toy->colour, ==, TOY_COLOUR_RED);
  /* set twice: the first copy is freed (the sanitizer run checks) */
  g_object_set (toy, "name", "third", NULL);
  g_object_get (toy, "flag", &flag, "offset", &offset, "count", &count,
      "seed", &seed, "gain", &gain, "name", &name, "note", &note,
      "colour", &colour, NULL);
  g_assert_false (flag);
  g_assert_cmpint (offset, ==, 5);
  g_assert_cmpuint (count, ==, 99);
  g_assert_cmpuint (seed, ==, G_MAXUINT64);
  g_assert_cmpfloat (gain, ==, -1.0);
  g_assert_cmpstr (name, ==, "third");
  g_assert_cmpstr (note, ==, "n");
  g_assert_cmpint (colour, ==, TOY_COLOUR_RED);
  g_free (name);
  g_free (note);
  gst_object_unref (toy);
}

static void
test_specs (void)
{
  GObjectClass *klass = g_type_class_ref (toy_get_type ());
  GParamSpec *count = g_object_class_find_property (klass, "count");
  GParamSpec *seed = g_object_class_find_property (klass, "seed");
  GParamSpec *colour = g_object_class_find_property (klass, "colour");
  GParamSpecUInt *u = G_PARAM_SPEC_UINT (count);
  GParamSpecUInt64 *u64 = G_PARAM_SPEC_UINT64 (seed);
  GEnumClass *e;

  /* ids follow the table; the NONE entry keeps its id unused */
  g_assert_null (g_object_class_find_property (klass, "gone"));
  g_assert_cmpuint (count->param_id, ==, 4);
  g_assert_cmpint (gst_affect_props_index (count), ==, 3);
  g_assert_cmpuint (next_id, ==, G_N_ELEMENTS (toy_props) + 1);
  g_assert_cmpuint (u->minimum, ==, 1);
  g_assert_cmpuint (u->maximum, ==, 100);
  g_assert_cmpuint (u64->maximum, ==, G_MAXUINT64);
  /* the class's flags, or the entry's own */
  g_assert_true (count->flags & GST_PARAM_MUTABLE_READY);
  g_assert_false (seed->flags & GST_PARAM_MUTABLE_READY);
  g_assert_true (seed->flags & G_PARAM_STATIC_NAME);
  g_assert_true (gst_affect_props_lookup (count) == &toy_props[3]);
  /* the enum type and its values */
  g_assert_cmpstr (g_type_name (colour->value_type), ==, "ToyColour");
  e = g_type_class_ref (colour->value_type);
  g_assert_cmpuint (e->n_values, ==, 2);
  g_assert_cmpstr (g_enum_get_value (e, 7)->value_nick, ==, "green");
  g_type_class_unref (e);
  g_type_class_unref (klass);
}

/* the values written inline: every one registered, under its own value */
static void
test_enum_inline (void)
{
  GType type = toy_shape_get_type ();
  GEnumClass *e = g_type_class_ref (type);

  g_assert_cmpuint (type, ==, toy_shape_get_type ());
  g_assert_cmpstr (g_type_name (type), ==, "ToyShape");
  g_assert_cmpuint (e->n_values, ==, 3);
  g_assert_cmpint (e->minimum, ==, TOY_SHAPE_ROUND);
  g_assert_cmpint (e->maximum, ==, TOY_SHAPE_FLAT);
  g_assert_cmpstr (g_enum_get_value (e, TOY_SHAPE_SQUARE)->value_nick, ==,
      "square");
  g_assert_cmpint (g_enum_get_value_by_nick (e, "flat")->value, ==,
      TOY_SHAPE_FLAT);
  g_assert_null (g_enum_get_value (e, 5));
  g_type_class_unref (e);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/props/defaults", test_defaults);
  g_test_add_func ("/props/round-trip", test_round_trip);
  g_test_add_func ("/props/specs", test_specs);
  g_test_add_func ("/props/enum-inline", test_enum_inline);
  return g_test_run ();
}
