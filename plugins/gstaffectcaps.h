/* Refusing caps once.
 *
 * An element refuses caps its properties cannot work with (fmax above the
 * stream's Nyquist frequency, a window shorter than a frame, a model of
 * another rate) by posting one error that names the property and the
 * stream's value and returning FALSE from its CAPS event, so that upstream
 * gets not-negotiated and the pipeline stops. Upstream elements send the
 * same caps again on every push and reconfiguration; these helpers let the
 * element refuse a repeated CAPS event without posting its error again.
 * The memory is per stream: a new STREAM_START (a new run) forgets it.
 */
#ifndef __GST_AFFECT_CAPS_H__
#define __GST_AFFECT_CAPS_H__

#include <gst/gst.h>

G_BEGIN_DECLS
/* TRUE when `caps` were refused on `sinkpad` in the current stream: the
 * error is on the bus already, refuse them again silently */
    gboolean gst_affect_caps_refused_before (GstPad * sinkpad, GstCaps * caps);

/* Records the outcome of a CAPS event: refused caps are remembered,
 * accepted caps forget the refusal */
void gst_affect_caps_note (GstPad * sinkpad, GstCaps * caps, gboolean accepted);

/* Answers a CAPS query (@caps intersected with the query's filter) or an
 * ACCEPT_CAPS query (whether the caps asked about are a subset of @caps);
 * takes @caps. */
void gst_affect_caps_answer_query (GstQuery * query, GstCaps * caps);

/* The fields of a feature stream's caps (`sample-rate`, `hop`, `n-mels`,
 * `preset`, …; not the tensor layout) as a model's affect.features JSON
 * (affect_features_json), or checked against one (affect_features_check:
 * FALSE with AFFECT_ERROR_MISMATCH naming both values and `model`) */
gchar *gst_affect_caps_features_json (const GstStructure * s);
gboolean gst_affect_caps_check_features (const GstStructure * s,
    const gchar * features_json, const gchar * model, GError ** error);

G_END_DECLS
#endif /* __GST_AFFECT_CAPS_H__ */
