/* The affect plugin refuses to load when one of its elements fails to
 * register (plugin_init returns FALSE), instead of loading without it.
 *
 * An element's registration fails when its GType cannot be made: here a
 * type named GstAffectMetrics already exists, so affectmetrics' type
 * registration fails and gst_element_register returns FALSE. GLib prints
 * criticals for that on purpose: this test runs without
 * G_DEBUG=fatal-criticals. The second case loads the plugin normally.
 *
 *   test-plugin-init PLUGIN.so [--conflict]   (TAP; meson runs both)
 */
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  gboolean conflict = argc > 2 && !strcmp (argv[2], "--conflict");
  GError *err = NULL;
  GstPlugin *plugin;

  gst_init (&argc, &argv);
  if (argc < 2) {
    fprintf (stderr, "usage: test-plugin-init PLUGIN.so [--conflict]\n");
    return 2;
  }
  printf ("1..1\n");
  if (conflict) {
    static const GTypeInfo info = { sizeof (GObjectClass), NULL, NULL, NULL,
      NULL, NULL, sizeof (GObject), 0, NULL, NULL
    };
    g_type_register_static (G_TYPE_OBJECT, "GstAffectMetrics", &info, 0);
  }
  plugin = gst_plugin_load_file (argv[1], &err);
  if (conflict) {
    printf ("%s 1 - the plugin refuses to load when affectmetrics cannot "
        "register%s%s\n", plugin ? "not ok" : "ok", err ? ": " : "",
        err ? err->message : "");
  } else {
    printf ("%s 1 - the plugin loads with its 8 elements%s%s\n",
        plugin && gst_registry_find_feature (gst_registry_get (),
            "affectmetrics", GST_TYPE_ELEMENT_FACTORY) ? "ok" : "not ok",
        err ? ": " : "", err ? err->message : "");
  }
  g_clear_error (&err);
  if (plugin)
    gst_object_unref (plugin);
  return 0;
}
