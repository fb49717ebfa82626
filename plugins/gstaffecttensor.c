/* Tensor caps helpers (NNStreamer other/tensors, static, one float32 tensor) */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "gstaffecttensor.h"

void
gst_affect_tensor_info_init (GstAffectTensorInfo * info, guint n_dims,
    const guint * dims, gint rate_n, gint rate_d)
{
  memset (info, 0, sizeof (*info));
  info->n_dims = MIN (n_dims, GST_AFFECT_TENSOR_MAX_DIMS);
  memcpy (info->dims, dims, info->n_dims * sizeof (guint));
  info->rate_n = rate_n;
  info->rate_d = rate_d > 0 ? rate_d : 1;
}

gsize
gst_affect_tensor_info_n_elements (const GstAffectTensorInfo * info)
{
  gsize n = info->n_dims ? 1 : 0;
  guint i;

  for (i = 0; i < info->n_dims; i++)
    n *= info->dims[i];
  return n;
}

gsize
gst_affect_tensor_info_size (const GstAffectTensorInfo * info)
{
  return gst_affect_tensor_info_n_elements (info) * sizeof (gfloat);
}

gchar *
gst_affect_tensor_dims_to_string (const GstAffectTensorInfo * info)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < info->n_dims; i++)
    g_string_append_printf (s, i ? ":%u" : "%u", info->dims[i]);
  return g_string_free (s, FALSE);
}

GstCaps *
gst_affect_tensor_caps_from_info (const GstAffectTensorInfo * info)
{
  gchar *dims = gst_affect_tensor_dims_to_string (info);
  GstCaps *caps = gst_caps_new_simple ("other/tensors",
      "format", G_TYPE_STRING, "static",
      "num_tensors", G_TYPE_INT, 1,
      "types", G_TYPE_STRING, "float32",
      "dimensions", G_TYPE_STRING, dims,
      "framerate", GST_TYPE_FRACTION, info->rate_n, info->rate_d, NULL);

  g_free (dims);
  return caps;
}

gboolean
gst_affect_tensor_info_from_caps (GstAffectTensorInfo * info,
    const GstCaps * caps)
{
  const GstStructure *s;
  const gchar *str;
  gchar **parts;
  gint n = 0;
  guint i;

  memset (info, 0, sizeof (*info));
  if (caps == NULL || !gst_caps_is_fixed (caps))
    return FALSE;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, "other/tensors"))
    return FALSE;
  if (g_strcmp0 (gst_structure_get_string (s, "format"), "static") != 0)
    return FALSE;
  if (!gst_structure_get_int (s, "num_tensors", &n) || n != 1)
    return FALSE;
  if (g_strcmp0 (gst_structure_get_string (s, "types"), "float32") != 0)
    return FALSE;
  str = gst_structure_get_string (s, "dimensions");
  if (str == NULL)
    return FALSE;
  parts = g_strsplit (str, ":", -1);
  for (i = 0; parts[i] && i < GST_AFFECT_TENSOR_MAX_DIMS; i++) {
    gchar *end = NULL;
    guint64 d = g_ascii_strtoull (parts[i], &end, 10);
    if (end == parts[i] || *end != '\0' || d == 0 || d > G_MAXUINT) {
      g_strfreev (parts);
      return FALSE;
    }
    info->dims[i] = (guint) d;
  }
  info->n_dims = i;
  g_strfreev (parts);
  if (!gst_structure_get_fraction (s, "framerate", &info->rate_n,
          &info->rate_d)) {
    info->rate_n = 0;
    info->rate_d = 1;
  }
  return info->n_dims > 0;
}
