/* Crops of long items for clip training (the music seed's random crops).
 *
 * A model that takes a fixed number of frames (MoodNet: chunks ×
 * chunk_frames) sees a long item through crops of that length. In
 * training, each epoch draws every item's crop at a random position of the
 * whole item; in prediction, the outputs of crops that cover the whole item
 * are averaged. An item shorter than a crop is repeated from its start
 * until the crop is full (frame t of the crop is frame t mod n_frames of
 * the item), as the seed's data loader pads a short spectrogram (its
 * get_spectogram concatenates the spectrogram with itself); such an item
 * has one crop, at 0. */
#ifndef AFFECT_CROPS_H
#define AFFECT_CROPS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS typedef enum
{
  /* every epoch, each item's crop at a random position of the whole item;
   * prediction averages the crops that cover the item */
  AFFECT_CROPS_RANDOM,
  /* the first crop of every item, in training and in prediction: the rest
   * of a longer item is never seen */
  AFFECT_CROPS_FIRST
} AffectCropsMode;

/* "random", "first" */
const char *affect_crops_mode_name (AffectCropsMode mode);
gboolean affect_crops_mode_from_name (const char *name, AffectCropsMode * mode);

/* The first frame of `item`'s crop in `epoch`: uniform over 0 …
 * n_frames − crop_frames (0 when the item is not longer than a crop). A
 * function of (seed, epoch, item, n_frames, crop_frames) alone: the same
 * in any order of calls, on any thread, and after a resume. */
int affect_crop_position (uint64_t seed, int epoch, int item, int n_frames,
    int crop_frames);

/* The crops that cover a whole item: ceil(n_frames / crop_frames) of them
 * (one when the item is not longer than a crop), the first at 0, the last
 * ending at the item's end, the others evenly spread between (rounded to
 * the nearest frame), so they overlap by less than a crop. Returns their
 * count and writes their first frames to starts (may be NULL). */
int affect_crop_cover (int n_frames, int crop_frames, int *starts);

/* A crop as a model input: frames [start, start + crop_frames) of an item
 * of n_frames rows of width values (frame-major, as cached) into dst,
 * channel-major (width × crop_frames: dst[m · crop_frames + t]). Frames
 * past the item's end repeat it from its start (t mod n_frames). */
void affect_crop_fill (const float *frames, int n_frames, int width,
    int start, int crop_frames, float *dst);

G_END_DECLS
#endif /* AFFECT_CROPS_H */
