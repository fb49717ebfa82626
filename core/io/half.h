/* IEEE 754 binary16 -> binary32 (private to core/io) */
#ifndef AFFECT_IO_HALF_H
#define AFFECT_IO_HALF_H

#include <math.h>
#include <glib.h>

/* exact for every value: subnormals, infinities and NaN included */
static inline float
affect_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  union
  {
    guint32 u;
    float f;
  } v;

  if (exp == 0x1f) {
    v.u = sign | 0x7f800000 | (mant << 13);
  } else if (exp != 0) {
    v.u = sign | ((exp + 112) << 23) | (mant << 13);
  } else {
    /* zero or subnormal: mant * 2^-24 is exact in float32 */
    v.f = ldexpf ((float) mant, -24);
    v.u |= sign;
  }
  return v.f;
}

#endif /* AFFECT_IO_HALF_H */
