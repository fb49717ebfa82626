/* Every element of the affect plugin, declared once for plugin.c */
#ifndef __GST_AFFECT_ELEMENTS_H__
#define __GST_AFFECT_ELEMENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS
/* one line per element, in the order of gstaffect.c */
GST_ELEMENT_REGISTER_DECLARE (affectsrc);
GST_ELEMENT_REGISTER_DECLARE (affectmel);
GST_ELEMENT_REGISTER_DECLARE (affectis09);
GST_ELEMENT_REGISTER_DECLARE (affectmetrics);
GST_ELEMENT_REGISTER_DECLARE (affectregress);
GST_ELEMENT_REGISTER_DECLARE (affectgate);
GST_ELEMENT_REGISTER_DECLARE (affecthnr);
GST_ELEMENT_REGISTER_DECLARE (affectclassify);
GST_ELEMENT_REGISTER_DECLARE (affectfeaturesrc);
GST_ELEMENT_REGISTER_DECLARE (affectfeaturesink);

G_END_DECLS
#endif /* __GST_AFFECT_ELEMENTS_H__ */
