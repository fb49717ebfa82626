/* Model files: safetensors read (mmap, bounds-checked) and atomic write.
 *
 * Layout: 8-byte little-endian header length, a JSON header mapping each
 * tensor name to {dtype, shape, data_offsets} plus an optional
 * "__metadata__" string map, then the raw little-endian tensor bytes.
 *
 * Reading: F32 tensors are served straight from the mapping; F16, BF16 and
 * F64 tensors are converted to float32 once, on first access. Every offset,
 * size and shape is checked against the file before use; a hostile file is
 * rejected with an AFFECT_ERROR, never read out of bounds.
 *
 * Integer and boolean tensors (I8, I16, I32, I64, U8, U16, U32, U64, BOOL),
 * which PyTorch and numpy writers produce (e.g. BatchNorm's
 * num_batches_tracked), are converted to float32 on first access too.
 *
 * An open file may be read from several threads (conversions are done
 * under a lock, once).
 *
 * Like the reference implementation, the tensors must cover the data
 * section exactly (no holes, no overlaps, no trailing bytes), and names are
 * unique.
 */
#ifndef AFFECT_SAFETENSORS_H
#define AFFECT_SAFETENSORS_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define AFFECT_TENSOR_MAX_DIMS 8

typedef struct _AffectSafetensors AffectSafetensors;

/* A read-only float32 view of one tensor. Valid while the file is open. */
typedef struct
{
  const char *name;
  int n_dims;
  int64_t shape[AFFECT_TENSOR_MAX_DIMS];        /* outermost first, as stored */
  int64_t n_elements;
  const float *data;
} AffectTensorView;

AffectSafetensors *affect_safetensors_open (const char *path, GError ** error);
/* the same from bytes in memory (kept referenced while the file is open);
 * label names the source in error messages */
AffectSafetensors *affect_safetensors_open_bytes (GBytes * bytes,
    const char *label, GError ** error);
void affect_safetensors_close (AffectSafetensors * file);

guint affect_safetensors_n_tensors (const AffectSafetensors * file);
/* names in file order (the order of the JSON header) */
const char *affect_safetensors_name (const AffectSafetensors * file, guint i);
gboolean affect_safetensors_has (const AffectSafetensors * file,
    const char *name);
/* the stored dtype ("F32", "F16", "I64", ...), NULL if absent */
const char *affect_safetensors_dtype (const AffectSafetensors * file,
    const char *name);
/* FALSE + AFFECT_ERROR_FORMAT naming the tensor if absent or not convertible */
gboolean affect_safetensors_get (AffectSafetensors * file, const char *name,
    AffectTensorView * view, GError ** error);
/* The accessor for model weights: like _get but also checks the shape
 * (n_dims values, outermost first; AFFECT_ERROR_MISMATCH naming the tensor,
 * the expected and the found shape) and that every value is finite
 * (AFFECT_ERROR_FORMAT naming the file, the tensor and the first bad
 * element's index). */
gboolean affect_safetensors_get_shaped (AffectSafetensors * file,
    const char *name, int n_dims, const int64_t * shape,
    AffectTensorView * view, GError ** error);

/* the path (or label) the file was opened with, as errors name it */
const char *affect_safetensors_label (const AffectSafetensors * file);
/* __metadata__ entries; NULL if absent */
const char *affect_safetensors_metadata (const AffectSafetensors * file,
    const char *key);
/* NULL-terminated list of keys, owned by the file */
const char *const *affect_safetensors_metadata_keys (const AffectSafetensors *
    file);

typedef struct _AffectSafetensorsWriter AffectSafetensorsWriter;

AffectSafetensorsWriter *affect_safetensors_writer_new (void);
void affect_safetensors_writer_free (AffectSafetensorsWriter * writer);
void affect_safetensors_writer_set_metadata (AffectSafetensorsWriter * writer,
    const char *key, const char *value);
/* copies data; shape is outermost first */
void affect_safetensors_writer_add (AffectSafetensorsWriter * writer,
    const char *name, int n_dims, const int64_t * shape, const float *data);
/* Writes atomically: a temporary file beside path, fsync, rename, fsync of
 * the directory. Tensors are written in the order added, metadata keys in
 * the order first set, so the same contents give the same bytes. Fails
 * (AFFECT_ERROR_FORMAT) if two tensors share a name. */
gboolean affect_safetensors_writer_write (AffectSafetensorsWriter * writer,
    const char *path, GError ** error);

G_END_DECLS
#endif /* AFFECT_SAFETENSORS_H */
