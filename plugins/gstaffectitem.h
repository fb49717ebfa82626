/* Item events: how gst-affect marks where one dataset item (a track, an
 * utterance, a generated clip) starts and ends inside a stream.
 *
 * Both are custom serialized downstream events, so they travel in order with
 * the buffers through queues, tees and funnels. docs/protocol.md specifies
 * every field.
 *
 *   affect-item-start  id, index, path, split, origin, duration, task,
 *                      vocabulary, labels, class, targets, columns
 *                      (+ route, route-probability once through affectgate)
 *   affect-item-end    id, index
 */
#ifndef __GST_AFFECT_ITEM_H__
#define __GST_AFFECT_ITEM_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_AFFECT_ITEM_START_NAME "affect-item-start"
#define GST_AFFECT_ITEM_END_NAME "affect-item-end"

typedef enum
{
  GST_AFFECT_TASK_NONE,         /* no labels */
  GST_AFFECT_TASK_TAGS,         /* multi-label over a vocabulary */
  GST_AFFECT_TASK_CLASS,        /* single label over a vocabulary */
  GST_AFFECT_TASK_REGRESSION    /* numeric targets only */
} GstAffectTask;

typedef struct
{
  gchar *id;
  guint index;                  /* position in the emitted sequence */
  gchar *path;                  /* as resolved on disk; may be NULL */
  gchar *split;                 /* "train", "validation", "test" or NULL */
  gchar *origin;                /* "real" or "generated" */
  GstClockTime duration;        /* from the manifest, or GST_CLOCK_TIME_NONE */
  GstAffectTask task;
  gchar **vocabulary;           /* NULL-terminated label names, or NULL */
  gfloat *labels;               /* n_labels values (multi/one-hot), or NULL */
  guint n_labels;
  gchar *class_name;            /* single-label tasks, or NULL */
  GstStructure *targets;        /* "targets": double fields, or NULL */
  GstStructure *columns;        /* "columns": every other manifest column as
                                 * strings, or NULL */
  gint route;                   /* affectgate decision, -1 if not routed */
  gdouble route_probability;
} GstAffectItem;

GstAffectItem *gst_affect_item_new (const gchar * id);
GstAffectItem *gst_affect_item_copy (const GstAffectItem * item);
void gst_affect_item_free (GstAffectItem * item);

/* Vocabulary + labels in one go; vocabulary copied. For TAGS pass a
 * multi-hot vector, for CLASS the class name (labels become one-hot). */
void gst_affect_item_set_tags (GstAffectItem * item,
    const gchar * const *vocabulary, const gfloat * labels);
gboolean gst_affect_item_set_class (GstAffectItem * item,
    const gchar * const *vocabulary, const gchar * class_name);
void gst_affect_item_set_target (GstAffectItem * item, const gchar * name,
    gdouble value);
gboolean gst_affect_item_get_target (const GstAffectItem * item,
    const gchar * name, gdouble * value);
void gst_affect_item_set_column (GstAffectItem * item, const gchar * name,
    const gchar * value);
const gchar *gst_affect_item_get_column (const GstAffectItem * item,
    const gchar * name);
/* the item's value `name`: a target, or a column holding a number or a
 * word label (affect_parse_label); FALSE without (or without an item) */
gboolean gst_affect_item_get_value (const GstAffectItem * item,
    const gchar * name, gdouble * value);

GstStructure *gst_affect_item_to_structure (const GstAffectItem * item);
GstAffectItem *gst_affect_item_from_structure (const GstStructure * s);

GstEvent *gst_affect_item_start_event_new (const GstAffectItem * item);
GstEvent *gst_affect_item_end_event_new (const GstAffectItem * item);
gboolean gst_affect_event_is_item_start (GstEvent * event);
gboolean gst_affect_event_is_item_end (GstEvent * event);
/* NULL unless event is an affect-item-start */
GstAffectItem *gst_affect_item_parse_start_event (GstEvent * event);
/* id of an affect-item-end event, or NULL */
const gchar *gst_affect_item_parse_end_event (GstEvent * event,
    guint * index);

/* The item a buffer belongs to, carried on the buffer itself
 * (GstAffectItemMeta, a GstCustomMeta with the fields id and index).
 * Item events keep their order within one branch, but where branches that
 * run in threads of their own meet again (queues into a funnel), the events
 * and buffers of two items interleave: a sink that scores predictions needs
 * the buffer to say whose it is. Does nothing when item is NULL. */
#define GST_AFFECT_ITEM_META_NAME "GstAffectItemMeta"
void gst_affect_item_meta_add (GstBuffer * buffer, const GstAffectItem * item);
/* the id in buffer's GstAffectItemMeta, or NULL (no meta) */
const gchar *gst_affect_item_meta_get_id (GstBuffer * buffer);

/* A new element-message structure opening with the fields every affect
 * message starts with, as level's do: `timestamp` (ts), `stream-time` and
 * `running-time` (ts in segment; GST_CLOCK_TIME_NONE when ts is invalid,
 * outside the segment or segment is NULL or not in time) and `duration`,
 * all guint64. The caller appends its own fields. */
GstStructure *gst_affect_message_structure_new (const gchar * name,
    const GstSegment * segment, GstClockTime ts, GstClockTime duration);

/* GstValueArray fields: n strings (strv[pick[i]], or strv[i] when pick is
 * NULL; "" when strv is NULL) and n floats */
void gst_affect_structure_set_strings (GstStructure * s, const gchar * field,
    const gchar * const *strv, const guint * pick, guint n);
void gst_affect_structure_set_floats (GstStructure * s, const gchar * field,
    const gfloat * data, guint n);

/* A warning (GST_STREAM_ERROR, `code`) about item `id` (`path`):
 * "Item "<id>" (<path>): <format…>"; `debug` may be NULL */
void gst_affect_item_warning (GstElement * element, gint code,
    const gchar * id, const gchar * path, const gchar * debug,
    const gchar * format, ...) G_GNUC_PRINTF (6, 7);

const gchar *gst_affect_task_to_string (GstAffectTask task);
GstAffectTask gst_affect_task_from_string (const gchar * str);

G_END_DECLS
#endif /* __GST_AFFECT_ITEM_H__ */
