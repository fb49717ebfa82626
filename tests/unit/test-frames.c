/* A Mel stream's frames on the clock (affect/frames.h): the frame rate,
 * frames to nanoseconds over an hour, live windows from nanoseconds and
 * their refusal, an item's span, the windows' frames and start times. */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/frames.h"

static void
test_rate_and_time (void)
{
  AffectFrameStream s = { {0} };

  /* 50 tensors a second of 4 frames each */
  affect_frame_stream_set_rate (&s, 96, 50, 1, 4, 12000, 256);
  g_assert_cmpint (s.fps_n, ==, 200);
  g_assert_cmpint (s.fps_d, ==, 1);
  g_assert_cmpuint (s.fr.mels, ==, 96);
  /* no tensor rate: sample-rate / hop, else one frame a second */
  affect_frame_stream_set_rate (&s, 96, 0, 1, 4, 22050, 512);
  g_assert_cmpint (s.fps_n, ==, 22050);
  g_assert_cmpint (s.fps_d, ==, 512);
  /* an hour of frames: 155039 × 512 / 22050 s, rounded down to the ns;
   * 10^8 frames (the product overflows 64 bits unless done wider) */
  g_assert_cmpuint (affect_frame_stream_time (&s, 155039), ==,
      G_GUINT64_CONSTANT (3599998548752));
  g_assert_cmpuint (affect_frame_stream_time (&s, 100000000), ==,
      G_GUINT64_CONSTANT (2321995464852607));
  g_assert_cmpuint (affect_frame_stream_time (&s, 1), ==, 23219954);
  affect_frame_stream_set_rate (&s, 96, 0, 1, 1, 0, 512);
  g_assert_cmpint (s.fps_n, ==, 1);
  g_assert_cmpint (s.fps_d, ==, 1);
}

static void
test_windows (void)
{
  AffectFrameStream s = { {0} };
  GError *error = NULL;

  affect_frame_stream_set_rate (&s, 96, 0, 1, 1, 12000, 256);
  /* 10 s = 468.75 frames → 469; the hop defaults to the window */
  g_assert_true (affect_frame_stream_set_windows (&s,
          G_GUINT64_CONSTANT (10000000000), 0, 256, NULL));
  g_assert_cmpuint (s.window, ==, 469);
  g_assert_cmpuint (s.hop, ==, 469);
  g_assert_true (affect_frame_stream_set_windows (&s, 0,
          G_GUINT64_CONSTANT (5000000000), 256, NULL));
  g_assert_cmpuint (s.window, ==, 256);
  g_assert_cmpuint (s.hop, ==, 234);    /* 234.375 */
  /* a frame is 21.3 ms: 12 ms rounds to one frame, 10 ms to none */
  g_assert_true (affect_frame_stream_set_windows (&s, 12000000, 0, 256, NULL));
  g_assert_cmpuint (s.window, ==, 1);
  g_assert_false (affect_frame_stream_set_windows (&s, 0, 10000000, 256,
          &error));
  g_assert_error (error, AFFECT_ERROR, AFFECT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "hop=10000000 ns"));
  g_assert_nonnull (strstr (error->message, "21.333 ms"));
  g_clear_error (&error);
}

/* one band, frames 0, 1, 2, … at one frame a second */
static void
test_items_and_live (void)
{
  const guint64 sec = G_GUINT64_CONSTANT (1000000000);
  AffectFrameStream s = { {0} };
  float data[12], bad[3] = { 1, NAN, -INFINITY };
  guint i = 0;

  for (guint k = 0; k < 12; k++)
    data[k] = (float) k;
  g_assert_cmpuint (affect_count_nonfinite (bad, 3), ==, 2);
  g_assert_cmpuint (affect_count_nonfinite (data, 12), ==, 0);
  affect_frame_stream_set_rate (&s, 1, 1, 1, 1, 0, 0);
  affect_frame_stream_clear (&s, TRUE);
  g_assert_cmpuint (s.start, ==, AFFECT_TIME_NONE);
  /* an item: its frames as far as the limit, its span over the inputs */
  affect_frame_stream_add (&s, data, 4, 6, 2 * sec, 4 * sec);
  affect_frame_stream_add (&s, data + 4, 4, 6, 6 * sec, AFFECT_TIME_NONE);
  g_assert_cmpuint (s.fr.n, ==, 6);
  g_assert_cmpuint (s.start, ==, 2 * sec);
  g_assert_cmpuint (s.end, ==, 6 * sec);
  affect_frame_stream_clear (&s, TRUE);
  g_assert_cmpuint (s.fr.n, ==, 0);
  g_assert_cmpuint (s.end, ==, AFFECT_TIME_NONE);

  /* live: windows of 3 frames every 2, the input starting at 10 s */
  g_assert_true (affect_frame_stream_set_windows (&s, 3 * sec, 2 * sec, 0,
          NULL));
  g_assert_true (affect_frame_stream_next_window (&s, data, 5, &i, 10 * sec));
  g_assert_cmpuint (i, ==, 3);
  g_assert_cmpuint (s.start, ==, 10 * sec);
  g_assert_cmpfloat (s.fr.frames[0], ==, 0);
  affect_frame_stream_slide (&s);
  g_assert_cmpuint (s.start, ==, 12 * sec);
  g_assert_true (affect_frame_stream_next_window (&s, data, 5, &i, 10 * sec));
  g_assert_cmpuint (i, ==, 5);
  g_assert_cmpfloat (s.fr.frames[0], ==, 2);
  g_assert_cmpfloat (s.fr.frames[2], ==, 4);
  affect_frame_stream_slide (&s);
  g_assert_false (affect_frame_stream_next_window (&s, data, 5, &i, 10 * sec));
  g_assert_cmpuint (s.start, ==, 14 * sec);
  /* hop beyond the window: the frames between are skipped, and the next
   * window starts where its first frame was */
  i = 0;
  affect_frame_stream_clear (&s, TRUE);
  g_assert_true (affect_frame_stream_set_windows (&s, 2 * sec, 5 * sec, 0,
          NULL));
  g_assert_true (affect_frame_stream_next_window (&s, data, 12, &i, 0));
  affect_frame_stream_slide (&s);
  g_assert_true (affect_frame_stream_next_window (&s, data, 12, &i, 0));
  g_assert_cmpfloat (s.fr.frames[0], ==, 5);
  g_assert_cmpuint (s.start, ==, 5 * sec);
  g_free (s.fr.frames);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/frames/rate-and-time", test_rate_and_time);
  g_test_add_func ("/frames/windows", test_windows);
  g_test_add_func ("/frames/items-and-live", test_items_and_live);
  return g_test_run ();
}
