/* The body of affect_batchnorm_lane_sums (core/nn/batchnorm.c), included
 * there once per instruction-set variant: LANE_SUMS_NAME, its attributes
 * LANE_SUMS_ATTR and LANE_SUMS_CVT8 (8 floats to 8 doubles) are defined
 * by the includer, which also has CLAMP_SPLATS, CLAMP_PASS8 and
 * clamp_pass. Not a header of its own: no include guard. */

LANE_SUMS_ATTR static void
LANE_SUMS_NAME (int64_t m, int64_t first, const float *restrict x,
    const float *restrict g, const float *restrict y, int mask_x, float ma,
    float mb, float lo, float hi, float mu, float r, double acc[16])
{
  /* the 8 lanes as one vector of 8 doubles (one register with AVX-512) */
  v8df a, b;
  v8sf vmu, vr;
  int64_t i = 0;
  CLAMP_SPLATS (ma, mb, lo, hi);

  SPLAT8 (vmu, mu);
  SPLAT8 (vr, r);
  memcpy (&a, acc, sizeof (a));
  memcpy (&b, acc + 8, sizeof (b));
  for (; first % 8 == 0 && i + 8 <= m; i += 8) {
    v8sf xv, gv;
    memcpy (&xv, x + i, sizeof (xv));
    memcpy (&gv, g + i, sizeof (gv));
    CLAMP_PASS8 (gv, xv, y, i, mask_x);
    a += LANE_SUMS_CVT8 (gv);
    b += LANE_SUMS_CVT8 (gv * ((xv - vmu) * vr));
  }
  for (; i < m; i++) {
    const int l = (int) ((first + i) % 8);
    const float gi = clamp_pass (g[i], x[i], y, i, mask_x, ma, mb, lo, hi,
        inf);
    a[l] += gi;
    b[l] += gi * ((x[i] - mu) * r);
  }
  memcpy (acc, &a, sizeof (a));
  memcpy (acc + 8, &b, sizeof (b));
}

