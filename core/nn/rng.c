/* Seeded RNG for weights, dropout, shuffling: xoshiro256** seeded by
 * splitmix64, normals by Box-Muller (both halves are not cached, so a
 * sequence of draws depends only on the seed and the number of calls). */
#include <math.h>

#include "affect/nn.h"

static uint64_t
splitmix64 (uint64_t * x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

void
affect_rng_init (AffectRng * rng, uint64_t seed)
{
  int i;

  for (i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&seed);
}

uint64_t
affect_rng_next (AffectRng * rng)
{
  uint64_t *s = rng->s;
  uint64_t result = rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
affect_rng_uniform (AffectRng * rng)
{
  return (affect_rng_next (rng) >> 11) * 0x1.0p-53;
}

double
affect_rng_normal (AffectRng * rng)
{
  double u1, u2;

  do
    u1 = affect_rng_uniform (rng);
  while (u1 <= 0.0);
  u2 = affect_rng_uniform (rng);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}

void
affect_rng_permutation (AffectRng * rng, int *perm, int n)
{
  int i;

  for (i = 0; i < n; i++)
    perm[i] = i;
  for (i = n - 1; i > 0; i--) {
    int j = (int) (affect_rng_uniform (rng) * (i + 1));
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}
