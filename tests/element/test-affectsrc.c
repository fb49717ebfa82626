/* affectsrc over generated manifests: item events in order around their
 * audio, labels and targets, continuous timestamps, the corrupt file
 * skipped and reported, selection (split, shuffle, shards), manifest errors,
 * and stopping mid-stream. */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/audio/audio.h>

#include "gstaffectitem.h"

typedef enum
{
  REC_STREAM_START,
  REC_CAPS,
  REC_SEGMENT,
  REC_ITEM_START,
  REC_ITEM_END,
  REC_BUFFER,
  REC_EOS
} RecType;

typedef struct
{
  RecType type;
  GstAffectItem *item;          /* REC_ITEM_START */
  gchar *end_id;                /* REC_ITEM_END */
  guint end_index;
  GstClockTime pts, duration;   /* REC_BUFFER */
  gboolean discont;
  guint64 frames;
  gint rate;                    /* of the current caps */
} Rec;

typedef struct
{
  GArray *recs;                 /* Rec, in arrival order */
  GstAudioInfo info;
  GList *warnings;              /* warning texts */
  GList *progress;              /* GstStructure copies, in order */
  GstStructure *done;
  gchar *error;
} Run;

static gchar *tmp_dir;

/* one WAV of n_buffers × 400 frames */
static void
make_wav (const gchar * name, gint rate, gint channels, gint n_buffers)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=%d "
      "samplesperbuffer=400 ! audio/x-raw,format=S16LE,rate=%d,channels=%d ! "
      "wavenc ! filesink location=\"%s\"", n_buffers, rate, channels, path);
  GstElement *p = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg;

  g_assert_nonnull (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_free (desc);
  g_free (path);
}

static gchar *
write_file (const gchar * name, const gchar * text)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static GstPadProbeReturn
record_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Run *run = data;
  Rec rec = { 0 };

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    rec.type = REC_BUFFER;
    rec.pts = GST_BUFFER_PTS (buf);
    rec.duration = GST_BUFFER_DURATION (buf);
    rec.discont = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT);
    rec.frames = gst_buffer_get_size (buf) / GST_AUDIO_INFO_BPF (&run->info);
    rec.rate = GST_AUDIO_INFO_RATE (&run->info);
  } else {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    switch (GST_EVENT_TYPE (event)) {
      case GST_EVENT_STREAM_START:
        rec.type = REC_STREAM_START;
        break;
      case GST_EVENT_CAPS:{
        GstCaps *caps;
        gst_event_parse_caps (event, &caps);
        g_assert_true (gst_audio_info_from_caps (&run->info, caps));
        rec.type = REC_CAPS;
        break;
      }
      case GST_EVENT_SEGMENT:{
        const GstSegment *segment;
        gst_event_parse_segment (event, &segment);
        g_assert_cmpint (segment->format, ==, GST_FORMAT_TIME);
        /* one timeline: every segment (the first and each item's drain) is
         * the same */
        g_assert_cmpuint (segment->start, ==, 0);
        g_assert_cmpuint (segment->base, ==, 0);
        g_assert_cmpuint (segment->time, ==, 0);
        g_assert_cmpfloat (segment->rate, ==, 1.0);
        rec.type = REC_SEGMENT;
        break;
      }
      case GST_EVENT_EOS:
        rec.type = REC_EOS;
        break;
      case GST_EVENT_CUSTOM_DOWNSTREAM:
        if (gst_affect_event_is_item_start (event)) {
          rec.type = REC_ITEM_START;
          rec.item = gst_affect_item_parse_start_event (event);
        } else if (gst_affect_event_is_item_end (event)) {
          rec.type = REC_ITEM_END;
          rec.end_id = g_strdup (gst_affect_item_parse_end_event (event,
                  &rec.end_index));
        } else
          return GST_PAD_PROBE_OK;
        break;
      default:
        return GST_PAD_PROBE_OK;
    }
  }
  g_array_append_val (run->recs, rec);
  return GST_PAD_PROBE_OK;
}

static void
run_free (Run * run)
{
  guint i;

  for (i = 0; i < run->recs->len; i++) {
    Rec *r = &g_array_index (run->recs, Rec, i);
    gst_affect_item_free (r->item);
    g_free (r->end_id);
  }
  g_array_free (run->recs, TRUE);
  g_list_free_full (run->warnings, g_free);
  g_list_free_full (run->progress, (GDestroyNotify) gst_structure_free);
  if (run->done)
    gst_structure_free (run->done);
  g_free (run->error);
  g_free (run);
}

/* Run "affectsrc PROPS ! fakesink" to EOS or error, recording what reaches
 * the sink and what is posted on the bus. */
static Run *
run_src (const gchar * props)
{
  gchar *desc = g_strdup_printf ("affectsrc name=src %s ! "
      "fakesink name=sink sync=false", props);
  GError *error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstPad *pad;
  GstBus *bus;
  Run *run = g_new0 (Run, 1);
  gboolean running = TRUE;

  g_assert_no_error (error);
  run->recs = g_array_new (FALSE, TRUE, sizeof (Rec));
  gst_audio_info_init (&run->info);
  sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record_probe, run, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  while (running) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING |
        GST_MESSAGE_ELEMENT);
    GError *err = NULL;
    const GstStructure *s;

    g_assert_nonnull (msg);     /* a stall is a failure */
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_EOS:
        running = FALSE;
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (msg, &err, NULL);
        run->error = g_strdup (err->message);
        g_error_free (err);
        running = FALSE;
        break;
      case GST_MESSAGE_WARNING:
        gst_message_parse_warning (msg, &err, NULL);
        run->warnings = g_list_append (run->warnings, g_strdup (err->message));
        g_error_free (err);
        break;
      case GST_MESSAGE_ELEMENT:
        s = gst_message_get_structure (msg);
        if (gst_structure_has_name (s, "affect-progress"))
          run->progress = g_list_append (run->progress, gst_structure_copy (s));
        else if (gst_structure_has_name (s, "affect-dataset-done")) {
          g_assert_null (run->done);
          run->done = gst_structure_copy (s);
        }
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  g_free (desc);
  return run;
}

/* ids of the items, in order */
static gchar **
item_ids (Run * run)
{
  GPtrArray *ids = g_ptr_array_new ();
  guint i;

  for (i = 0; i < run->recs->len; i++) {
    Rec *r = &g_array_index (run->recs, Rec, i);
    if (r->type == REC_ITEM_START)
      g_ptr_array_add (ids, g_strdup (r->item->id));
  }
  g_ptr_array_add (ids, NULL);
  return (gchar **) g_ptr_array_free (ids, FALSE);
}

static const gchar *csv_text =
    "id,path,label,valence,arousal,split,speaker\n"
    "a,a.wav,happy,0.5,0.25,train,s1\n"
    "bad,corrupt.wav,sad,-1,0,train,s2\n"
    "b,b.wav,sad,-0.5,1,train,s3\n" "c,c.wav,happy,0.75,-0.25,test,s4\n";

static void
test_items (void)
{
  gchar *manifest = write_file ("items.csv", csv_text);
  gchar *props = g_strdup_printf ("location=\"%s\"", manifest);
  gchar *bad = g_build_filename (tmp_dir, "corrupt.wav", NULL);
  Run *run = run_src (props);
  const gchar *ids[] = { "a", "b", "c" };
  const guint64 frames[] = { 4000, 2000, 1200 };
  const gint rates[] = { 16000, 22050, 16000 };
  guint64 item_frames = 0;
  GstClockTime end = 0, item_base = 0;
  gboolean first_of_item = FALSE;
  gint in_item = -1, n_items = 0;
  guint i, n_caps = 0, n_buffers = 0, n_drains = 0;
  const GValue *skipped;
  GstStructure *last;
  gdouble v;

  g_assert_null (run->error);
  /* sticky events first, then items */
  g_assert_cmpint (g_array_index (run->recs, Rec, 0).type, ==,
      REC_STREAM_START);
  g_assert_cmpint (g_array_index (run->recs, Rec, 1).type, ==, REC_CAPS);
  g_assert_cmpint (g_array_index (run->recs, Rec, 2).type, ==, REC_SEGMENT);
  g_assert_cmpint (g_array_index (run->recs, Rec, run->recs->len - 1).type,
      ==, REC_EOS);

  for (i = 3; i < run->recs->len - 1; i++) {
    Rec *r = &g_array_index (run->recs, Rec, i);
    switch (r->type) {
      case REC_ITEM_START:
        g_assert_cmpint (in_item, ==, -1);
        g_assert_cmpint (n_items, <, 3);
        in_item = n_items;
        g_assert_cmpstr (r->item->id, ==, ids[n_items]);
        g_assert_cmpuint (r->item->index, ==, n_items);
        item_frames = 0;
        item_base = end;
        first_of_item = TRUE;
        break;
      case REC_BUFFER:
        /* no audio outside an item; timestamps continuous and monotonic */
        g_assert_cmpint (in_item, >=, 0);
        g_assert_cmpuint (r->pts, ==, end);
        g_assert_cmpuint (r->duration, >, 0);
        g_assert_cmpint (r->discont, ==, first_of_item);
        g_assert_cmpint (r->rate, ==, rates[in_item]);
        first_of_item = FALSE;
        item_frames += r->frames;
        end = r->pts + r->duration;
        g_assert_cmpuint (end, ==, item_base +
            gst_util_uint64_scale_int (item_frames, GST_SECOND, r->rate));
        n_buffers++;
        break;
      case REC_ITEM_END:
        g_assert_cmpint (in_item, >=, 0);
        g_assert_cmpstr (r->end_id, ==, ids[in_item]);
        g_assert_cmpuint (r->end_index, ==, in_item);
        g_assert_cmpuint (item_frames, ==, frames[in_item]);
        in_item = -1;
        n_items++;
        break;
      case REC_CAPS:
        /* a format change happens between items only */
        g_assert_cmpint (in_item, ==, -1);
        n_caps++;
        break;
      case REC_SEGMENT:
        /* the item's drain: after its last buffer, right before its end */
        g_assert_cmpint (in_item, >=, 0);
        g_assert_cmpint (g_array_index (run->recs, Rec, i + 1).type, ==,
            REC_ITEM_END);
        n_drains++;
        break;
      default:
        g_assert_not_reached ();
    }
  }
  g_assert_cmpint (n_items, ==, 3);
  g_assert_cmpint (in_item, ==, -1);
  g_assert_cmpuint (n_caps, ==, 2);     /* b's format, then a's again */
  g_assert_cmpuint (n_drains, ==, 3);
  g_assert_cmpuint (n_buffers, >=, 3);
  g_assert_cmpuint (end, ==, GST_SECOND / 4 +
      gst_util_uint64_scale_int (2000, GST_SECOND, 22050) +
      gst_util_uint64_scale_int (1200, GST_SECOND, 16000));

  /* labels, targets, split, columns of the first and last item */
  for (i = 0; i < run->recs->len; i++) {
    Rec *r = &g_array_index (run->recs, Rec, i);
    GstAffectItem *item = r->item;
    if (r->type != REC_ITEM_START)
      continue;
    g_assert_cmpint (item->task, ==, GST_AFFECT_TASK_CLASS);
    g_assert_cmpuint (item->n_labels, ==, 2);
    g_assert_cmpstr (item->vocabulary[0], ==, "happy");
    g_assert_cmpstr (item->vocabulary[1], ==, "sad");
    g_assert_cmpstr (item->origin, ==, "real");
    g_assert_true (g_str_has_suffix (item->path, ".wav"));
    g_assert_true (g_file_test (item->path, G_FILE_TEST_EXISTS));
    if (strcmp (item->id, "a") == 0) {
      g_assert_cmpstr (item->class_name, ==, "happy");
      g_assert_cmpfloat (item->labels[0], ==, 1.0f);
      g_assert_cmpfloat (item->labels[1], ==, 0.0f);
      g_assert_true (gst_affect_item_get_target (item, "valence", &v));
      g_assert_cmpfloat (v, ==, 0.5);
      g_assert_true (gst_affect_item_get_target (item, "arousal", &v));
      g_assert_cmpfloat (v, ==, 0.25);
      g_assert_cmpstr (item->split, ==, "train");
      g_assert_cmpstr (gst_affect_item_get_column (item, "speaker"), ==, "s1");
    } else if (strcmp (item->id, "b") == 0) {
      g_assert_cmpstr (item->class_name, ==, "sad");
      g_assert_cmpfloat (item->labels[1], ==, 1.0f);
      g_assert_true (gst_affect_item_get_target (item, "arousal", &v));
      g_assert_cmpfloat (v, ==, 1.0);
    } else {
      g_assert_cmpstr (item->split, ==, "test");
      g_assert_cmpstr (gst_affect_item_get_column (item, "speaker"), ==, "s4");
    }
  }

  /* the skip: a warning naming the file and why, and the final count */
  g_assert_cmpuint (g_list_length (run->warnings), ==, 1);
  g_assert_nonnull (strstr (run->warnings->data, bad));
  g_assert_cmpuint (strlen (strstr (run->warnings->data, bad)), >, strlen (bad) + 2);   /* "path: reason" */
  g_assert_nonnull (run->done);
  g_assert_true (gst_structure_get_uint (run->done, "items-emitted", &i));
  g_assert_cmpuint (i, ==, 3);
  g_assert_true (gst_structure_get_uint (run->done, "items-skipped", &i));
  g_assert_cmpuint (i, ==, 1);
  skipped = gst_structure_get_value (run->done, "skipped");
  g_assert_true (GST_VALUE_HOLDS_ARRAY (skipped));
  g_assert_cmpuint (gst_value_array_get_size (skipped), ==, 1);
  g_assert_true (g_str_has_prefix (g_value_get_string
          (gst_value_array_get_value (skipped, 0)), bad));

  /* a progress message per item, skipped one included */
  g_assert_cmpuint (g_list_length (run->progress), ==, 4);
  last = g_list_last (run->progress)->data;
  g_assert_true (gst_structure_get_uint (last, "items-done", &i));
  g_assert_cmpuint (i, ==, 4);
  g_assert_true (gst_structure_get_uint (last, "items-total", &i));
  g_assert_cmpuint (i, ==, 4);
  g_assert_true (gst_structure_get_uint (last, "items-skipped", &i));
  g_assert_cmpuint (i, ==, 1);
  g_assert_cmpstr (gst_structure_get_string (g_list_nth_data (run->progress,
              1), "id"), ==, "bad");

  run_free (run);
  g_free (bad);
  g_free (props);
  g_free (manifest);
}

static void
test_mtg_tsv (void)
{
  gchar *manifest = write_file ("x-validation.tsv",
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n"
      "track_0000001\tartist_1\talbum_1\tc.wav\t0.075\tmood/theme---happy\t"
      "mood/theme---sad\r\n");
  gchar *props = g_strdup_printf ("location=\"%s\" root=\"%s\" "
      "origin=generated", manifest, tmp_dir);
  Run *run = run_src (props);
  GstAffectItem *item = NULL;
  guint i;
  gfloat sum = 0;

  g_assert_null (run->error);
  for (i = 0; i < run->recs->len; i++)
    if (g_array_index (run->recs, Rec, i).type == REC_ITEM_START)
      item = g_array_index (run->recs, Rec, i).item;
  g_assert_nonnull (item);
  g_assert_cmpstr (item->id, ==, "track_0000001");
  g_assert_cmpint (item->task, ==, GST_AFFECT_TASK_TAGS);
  g_assert_cmpuint (item->n_labels, ==, 56);
  g_assert_cmpstr (item->vocabulary[26], ==, "mood/theme---happy");
  for (i = 0; i < item->n_labels; i++)
    sum += item->labels[i];
  g_assert_cmpfloat (sum, ==, 2.0f);
  g_assert_cmpfloat (item->labels[26], ==, 1.0f);
  g_assert_cmpfloat (item->labels[44], ==, 1.0f);
  g_assert_cmpstr (item->split, ==, "validation");
  g_assert_cmpstr (item->origin, ==, "generated");
  g_assert_cmpuint (item->duration, ==, 75 * GST_MSECOND);
  g_assert_cmpstr (gst_affect_item_get_column (item, "ARTIST_ID"), ==,
      "artist_1");
  run_free (run);
  g_free (props);
  g_free (manifest);
}

/* ids of every handled item (emitted or skipped), from affect-progress */
static gchar **
progress_ids (Run * run)
{
  GPtrArray *ids = g_ptr_array_new ();
  GList *l;

  for (l = run->progress; l; l = l->next)
    g_ptr_array_add (ids, g_strdup (gst_structure_get_string (l->data, "id")));
  g_ptr_array_add (ids, NULL);
  return (gchar **) g_ptr_array_free (ids, FALSE);
}

static void
test_selection (void)
{
  gchar *manifest = write_file ("sel.csv", csv_text);
  gchar *props = g_strdup_printf ("location=\"%s\" split=train "
      "shuffle=true seed=11", manifest);
  Run *run = run_src (props), *again;
  gchar **full = progress_ids (run), **emitted = item_ids (run), **ids;
  guint s, k, n = 0;

  /* split=train: a, bad, b in a seeded order; bad is skipped */
  g_assert_cmpuint (g_strv_length (full), ==, 3);
  g_assert_cmpuint (g_strv_length (emitted), ==, 2);
  g_assert_true (g_strv_contains ((const gchar * const *) full, "a"));
  g_assert_true (g_strv_contains ((const gchar * const *) full, "bad"));
  g_assert_true (g_strv_contains ((const gchar * const *) full, "b"));
  /* the same seed, the same order */
  again = run_src (props);
  ids = progress_ids (again);
  g_assert_true (g_strv_equal ((const gchar * const *) ids,
          (const gchar * const *) full));
  g_strfreev (ids);
  run_free (again);

  /* shard s/2 handles positions s, s+2, ... of the unsharded order */
  for (s = 0; s < 2; s++) {
    gchar *shard_props = g_strdup_printf ("%s shard=%u/2", props, s);
    Run *shard = run_src (shard_props);
    ids = progress_ids (shard);
    for (k = 0; ids[k]; k++, n++)
      g_assert_cmpstr (ids[k], ==, full[s + 2 * k]);
    g_strfreev (ids);
    run_free (shard);
    g_free (shard_props);
  }
  g_assert_cmpuint (n, ==, 3);
  g_strfreev (emitted);
  g_strfreev (full);
  run_free (run);
  g_free (props);
  g_free (manifest);
}

static void
test_bad_manifests (void)
{
  gchar *malformed = write_file ("malformed.csv",
      "path,valence\na.wav,0.5\nb.wav\n");
  gchar *empty = write_file ("empty.tsv",
      "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\r\n");
  gchar *props = g_strdup_printf ("location=\"%s\"", malformed);
  gchar *where = g_strdup_printf ("%s:3:", malformed);
  Run *run = run_src (props);

  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, where));
  g_assert_nonnull (strstr (run->error, "expected 2 fields"));
  g_assert_cmpuint (run->recs->len, ==, 0);
  run_free (run);
  g_free (props);

  props = g_strdup_printf ("location=\"%s\"", empty);
  run = run_src (props);
  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, "empty manifest"));
  run_free (run);
  g_free (props);

  /* an id that is not UTF-8 (Latin-1 'é') is an error naming file:line
   * before any item, not a GStreamer complaint and a dropped id */
  {
    gchar *latin1 = write_file ("latin1.csv",
        "id,path,valence\nok,a.wav,1\ncaf\xe9,b.wav,2\n");
    gchar *at = g_strdup_printf ("%s:3: expected UTF-8 text", latin1);
    gchar *p = g_strdup_printf ("location=\"%s\"", latin1);
    Run *r = run_src (p);
    g_assert_nonnull (r->error);
    g_assert_nonnull (strstr (r->error, at));
    g_assert_cmpuint (r->recs->len, ==, 0);
    run_free (r);
    g_free (p);
    g_free (at);
    g_free (latin1);
  }

  props = g_strdup_printf ("location=\"%s\" split=nosuchsplit", malformed);
  run = run_src (props);        /* the parse error comes first */
  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, where));
  run_free (run);
  g_free (props);

  g_free (malformed);
  malformed = write_file ("good.csv", csv_text);
  props = g_strdup_printf ("location=\"%s\" split=nosuchsplit", malformed);
  run = run_src (props);
  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, "no item of split 'nosuchsplit'"));
  run_free (run);
  g_free (props);

  props = g_strdup_printf ("location=\"%s\" shard=2/2", malformed);
  run = run_src (props);
  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, "bad shard '2/2'"));
  run_free (run);
  g_free (props);

  /* downstream refuses the decoded format: an error naming the file */
  {
    gchar *desc = g_strdup_printf ("affectsrc location=\"%s\" ! "
        "audio/x-raw,rate=8000 ! fakesink", malformed);
    GstElement *p = gst_parse_launch (desc, NULL);
    GstBus *bus = gst_element_get_bus (p);
    GstMessage *msg;
    GError *err = NULL;

    gst_element_set_state (p, GST_STATE_PLAYING);
    msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    g_assert_nonnull (msg);
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_ERROR);
    gst_message_parse_error (msg, &err, NULL);
    g_assert_nonnull (strstr (err->message, "a.wav"));
    g_assert_nonnull (strstr (err->message, "rate=(int)16000"));
    g_error_free (err);
    gst_message_unref (msg);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (p);
    g_free (desc);
  }

  run = run_src ("location=/nonexistent/manifest.csv");
  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, "/nonexistent/manifest.csv"));
  run_free (run);

  g_free (where);
  g_free (malformed);
  g_free (empty);
}

/* a file with streams but no audio: skipped with that reason */
static void
test_no_audio (void)
{
  gchar *video = g_build_filename (tmp_dir, "video.mkv", NULL);
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=5 ! "
      "video/x-raw,width=32,height=32 ! matroskamux ! filesink "
      "location=\"%s\"", video);
  gchar *manifest, *props;
  GstElement *p;
  GstBus *bus;
  GstMessage *msg;
  Run *run;

  p = gst_parse_launch (desc, NULL);
  if (p == NULL) {
    g_test_skip ("matroskamux is not installed");
    g_free (desc);
    g_free (video);
    return;
  }
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);

  manifest = write_file ("video.csv", "path\nvideo.mkv\nc.wav\n.\n");
  props = g_strdup_printf ("location=\"%s\"", manifest);
  run = run_src (props);
  g_assert_null (run->error);
  g_assert_cmpuint (g_list_length (run->warnings), ==, 2);
  g_assert_nonnull (strstr (run->warnings->data, video));
  g_assert_nonnull (strstr (run->warnings->data, "no audio stream"));
  /* the folder itself */
  g_assert_nonnull (strstr (run->warnings->next->data, tmp_dir));
  g_assert_nonnull (strstr (run->warnings->next->data, "not a regular file"));
  g_assert_nonnull (run->done);
  {
    guint emitted = 0;
    g_assert_true (gst_structure_get_uint (run->done, "items-emitted",
            &emitted));
    g_assert_cmpuint (emitted, ==, 1);
  }
  run_free (run);
  g_free (props);
  g_free (manifest);
  g_free (desc);
  g_free (video);
}

/* state changes while items are flowing: no deadlock, no leak */
static void
test_stop_mid_stream (void)
{
  gchar *manifest = write_file ("stop.csv", csv_text);
  gchar *desc = g_strdup_printf ("affectsrc location=\"%s\" ! "
      "fakesink sync=true", manifest);
  guint round;

  for (round = 0; round < 4; round++) {
    GstElement *p = gst_parse_launch (desc, NULL);
    gint64 t0 = g_get_monotonic_time ();

    gst_element_set_state (p, GST_STATE_PLAYING);
    g_usleep (30000 + 40000 * round);
    if (round % 2)
      g_assert_cmpint (gst_element_set_state (p, GST_STATE_READY), !=,
          GST_STATE_CHANGE_FAILURE);
    g_assert_cmpint (gst_element_set_state (p, GST_STATE_NULL), ==,
        GST_STATE_CHANGE_SUCCESS);
    g_assert_cmpint (g_get_monotonic_time () - t0, <, 3 * G_USEC_PER_SEC);
    gst_object_unref (p);
  }

  /* pause and resume mid-stream: every item still arrives */
  {
    GstElement *p = gst_parse_launch (desc, NULL);
    GstBus *bus = gst_element_get_bus (p);
    GstMessage *msg;
    guint items_done = 0;

    gst_element_set_state (p, GST_STATE_PLAYING);
    g_usleep (100000);
    gst_element_set_state (p, GST_STATE_PAUSED);
    g_assert_cmpint (gst_element_get_state (p, NULL, NULL, 5 * GST_SECOND),
        ==, GST_STATE_CHANGE_SUCCESS);
    g_usleep (100000);
    gst_element_set_state (p, GST_STATE_PLAYING);
    while ((msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
                GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      GstMessageType type = GST_MESSAGE_TYPE (msg);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name
          (gst_message_get_structure (msg), "affect-dataset-done"))
        g_assert_true (gst_structure_get_uint (gst_message_get_structure
                (msg), "items-emitted", &items_done));
      gst_message_unref (msg);
      g_assert_cmpint (type, !=, GST_MESSAGE_ERROR);
      if (type == GST_MESSAGE_EOS)
        break;
    }
    g_assert_cmpuint (items_done, ==, 3);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (p);
  }

  /* a flushing seek is refused (a dataset is read once) and the stream goes
   * on to EOS */
  {
    GstElement *p = gst_parse_launch (desc, NULL);
    GstBus *bus = gst_element_get_bus (p);
    GstMessage *msg;

    gst_element_set_state (p, GST_STATE_PLAYING);
    g_assert_cmpint (gst_element_get_state (p, NULL, NULL, 5 * GST_SECOND),
        ==, GST_STATE_CHANGE_SUCCESS);
    g_assert_false (gst_element_seek_simple (p, GST_FORMAT_TIME,
            GST_SEEK_FLAG_FLUSH, 0));
    msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    g_assert_nonnull (msg);
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
    gst_message_unref (msg);
    gst_element_set_state (p, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (p);
  }
  g_free (desc);
  g_free (manifest);
}

int
main (int argc, char **argv)
{
  gchar *wav;
  int ret;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("affectsrc-XXXXXX", NULL);
  make_wav ("a.wav", 16000, 1, 10);     /* 4000 frames */
  make_wav ("b.wav", 22050, 2, 5);      /* 2000 frames, another format */
  make_wav ("c.wav", 16000, 1, 3);      /* 1200 frames */
  /* not audio, but named like it */
  g_free (write_file ("corrupt.wav",
          "RIFX this is not a wave file, only text pretending to be one"));

  g_test_add_func ("/affectsrc/items", test_items);
  g_test_add_func ("/affectsrc/mtg-tsv", test_mtg_tsv);
  g_test_add_func ("/affectsrc/selection", test_selection);
  g_test_add_func ("/affectsrc/bad-manifests", test_bad_manifests);
  g_test_add_func ("/affectsrc/no-audio", test_no_audio);
  g_test_add_func ("/affectsrc/stop-mid-stream", test_stop_mid_stream);
  ret = g_test_run ();

  /* clean up the generated files */
  {
    GDir *dir = g_dir_open (tmp_dir, 0, NULL);
    const gchar *name;
    while (dir && (name = g_dir_read_name (dir))) {
      wav = g_build_filename (tmp_dir, name, NULL);
      g_unlink (wav);
      g_free (wav);
    }
    if (dir)
      g_dir_close (dir);
    g_rmdir (tmp_dir);
    g_free (tmp_dir);
  }
  return ret;
}
