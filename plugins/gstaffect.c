/* The affect plugin: registers every gst-affect element.
 *
 * Music: affectsrc → affectmel → affectclassify → affectmetrics
 * Speech: affectsrc → affectis09 → affectgate → affectregress → affectmetrics
 * Stored features: affectis09 → affectfeaturesink; affectfeaturesrc → …
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstaffectelements.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  /* A plugin that loads without one of its elements would make every
   * pipeline naming that element fail later with "no element": refuse the
   * whole plugin instead, so gst-inspect-1.0 and the registry say so. */
  gboolean ret = TRUE;

  /* ret &= GST_ELEMENT_REGISTER (name, plugin); one line per element */
  ret &= GST_ELEMENT_REGISTER (affectsrc, plugin);
  ret &= GST_ELEMENT_REGISTER (affectmel, plugin);
  ret &= GST_ELEMENT_REGISTER (affectis09, plugin);
  ret &= GST_ELEMENT_REGISTER (affectmetrics, plugin);
  ret &= GST_ELEMENT_REGISTER (affectregress, plugin);
  ret &= GST_ELEMENT_REGISTER (affectgate, plugin);
  ret &= GST_ELEMENT_REGISTER (affecthnr, plugin);
  ret &= GST_ELEMENT_REGISTER (affectclassify, plugin);
  ret &= GST_ELEMENT_REGISTER (affectfeaturesrc, plugin);
  ret &= GST_ELEMENT_REGISTER (affectfeaturesink, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, affect,
    "Audio affect analysis: features, classifiers, regressors and metrics",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
