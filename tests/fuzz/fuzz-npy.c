/* libFuzzer target: any bytes given to the .npy reader either read in full
 * or fail with an AFFECT_ERROR.  Build and run: tests/fuzz/run.sh npy */
#include <stdint.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/npy.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GBytes *bytes = g_bytes_new_static (data, size);
  GError *error = NULL;
  AffectNpyArray *a = affect_npy_read_bytes (bytes, "fuzz",
      size % 2 ? AFFECT_NPY_FLOAT32 : AFFECT_NPY_FLOAT64, &error);

  if (a == NULL) {
    g_assert (error != NULL && error->domain == AFFECT_ERROR);
    g_error_free (error);
  } else {
    volatile double sum = 0;
    int64_t i;
    for (i = 0; i < a->n_elements; i++)
      sum += a->type == AFFECT_NPY_FLOAT32 ? affect_npy_array_float (a)[i] :
          affect_npy_array_double (a)[i];
    (void) sum;
    affect_npy_array_free (a);
  }
  g_bytes_unref (bytes);
  return 0;
}
