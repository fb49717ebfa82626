/* Crops of long items (include/affect/crops.h). */
#include <math.h>
#include <string.h>

#include "affect/crops.h"
#include "affect/nn.h"

static const char *const mode_names[] = { "random", "first" };

const char *
affect_crops_mode_name (AffectCropsMode mode)
{
  return (guint) mode < G_N_ELEMENTS (mode_names) ? mode_names[mode] : "?";
}

gboolean
affect_crops_mode_from_name (const char *name, AffectCropsMode * mode)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (mode_names); i++)
    if (!strcmp (name, mode_names[i])) {
      *mode = (AffectCropsMode) i;
      return TRUE;
    }
  return FALSE;
}

/* one splitmix64 step: mixes a word into a well-spread 64-bit value */
static uint64_t
mix (uint64_t z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int
affect_crop_position (uint64_t seed, int epoch, int item, int n_frames,
    int crop_frames)
{
  AffectRng rng;
  const int span = n_frames - crop_frames;

  if (span <= 0)
    return 0;
  /* a stream of its own per (seed, epoch, item): drawing crops takes
   * nothing from the training loop's RNG, so a run whose items are no
   * longer than a crop draws what it drew before crops existed */
  affect_rng_init (&rng, mix (mix (mix (seed ^ 0xc40b5eedULL) +
              (uint64_t) (uint32_t) epoch) + (uint64_t) (uint32_t) item));
  return (int) (affect_rng_uniform (&rng) * (span + 1));
}

int
affect_crop_cover (int n_frames, int crop_frames, int *starts)
{
  int n;

  if (crop_frames < 1 || n_frames <= crop_frames) {
    if (starts != NULL)
      starts[0] = 0;
    return 1;
  }
  n = (n_frames + crop_frames - 1) / crop_frames;
  for (int k = 0; starts != NULL && k < n; k++)
    starts[k] = (int) (((int64_t) k * (n_frames - crop_frames) * 2 +
            (n - 1)) / (2 * (int64_t) (n - 1)));
  return n;
}

void
affect_crop_fill (const float *frames, int n_frames, int width, int start,
    int crop_frames, float *dst)
{
  for (int t = 0; t < crop_frames; t++) {
    const float *f = frames + (size_t) ((start + t) % n_frames) * width;
    for (int m = 0; m < width; m++)
      dst[(size_t) m * crop_frames + t] = f[m];
  }
}
