/* libFuzzer target: any bytes given to the safetensors reader either open
 * (and then every tensor reads in full) or fail with an AFFECT_ERROR.
 * Build and run: tests/fuzz/run.sh safetensors [seconds] */
#include <stdint.h>
#include <glib.h>

#include "affect/affect.h"
#include "affect/safetensors.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GBytes *bytes = g_bytes_new_static (data, size);
  GError *error = NULL;
  AffectSafetensors *file = affect_safetensors_open_bytes (bytes, "fuzz",
      &error);
  guint i;

  if (file == NULL) {
    g_assert (error != NULL && error->domain == AFFECT_ERROR);
    g_error_free (error);
  } else {
    const char *const *keys = affect_safetensors_metadata_keys (file);
    for (; *keys; keys++)
      g_assert (affect_safetensors_metadata (file, *keys) != NULL);
    for (i = 0; i < affect_safetensors_n_tensors (file); i++) {
      AffectTensorView v;
      volatile float sum = 0;
      int64_t j;
      if (affect_safetensors_get (file, affect_safetensors_name (file, i), &v,
              &error)) {
        for (j = 0; j < v.n_elements; j++)
          sum += v.data[j];
        (void) sum;
      } else {
        g_assert (error->domain == AFFECT_ERROR);
        g_clear_error (&error);
      }
    }
    affect_safetensors_close (file);
  }
  g_bytes_unref (bytes);
  return 0;
}
