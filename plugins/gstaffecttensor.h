/* Tensor caps: the NNStreamer-compatible description of our tensor streams.
 *
 *   other/tensors, format=static, num_tensors=1, types=float32,
 *       dimensions=<d0:d1:...> (innermost first), framerate=<n/d>
 *
 * Each buffer holds one tensor of those dimensions, float32, innermost
 * dimension contiguous. docs/protocol.md lists the shape of every stream.
 */
#ifndef __GST_AFFECT_TENSOR_H__
#define __GST_AFFECT_TENSOR_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_AFFECT_TENSOR_MAX_DIMS 8

#define GST_AFFECT_TENSOR_CAPS_TEMPLATE \
  "other/tensors, format = (string) static, num_tensors = (int) 1, " \
  "types = (string) float32, framerate = (fraction) [ 0/1, MAX ]"

typedef struct
{
  guint n_dims;
  guint dims[GST_AFFECT_TENSOR_MAX_DIMS];       /* innermost first */
  gint rate_n, rate_d;          /* tensors per second */
} GstAffectTensorInfo;

void gst_affect_tensor_info_init (GstAffectTensorInfo * info, guint n_dims,
    const guint * dims, gint rate_n, gint rate_d);
gsize gst_affect_tensor_info_n_elements (const GstAffectTensorInfo * info);
gsize gst_affect_tensor_info_size (const GstAffectTensorInfo * info);

GstCaps *gst_affect_tensor_caps_from_info (const GstAffectTensorInfo * info);
/* FALSE if caps are not fixed single float32 static tensors */
gboolean gst_affect_tensor_info_from_caps (GstAffectTensorInfo * info,
    const GstCaps * caps);
/* "96:256" (innermost first); free with g_free */
gchar *gst_affect_tensor_dims_to_string (const GstAffectTensorInfo * info);

G_END_DECLS
#endif /* __GST_AFFECT_TENSOR_H__ */
