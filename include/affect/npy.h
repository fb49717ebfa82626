/* numpy .npy arrays: read any numeric array as float32 or float64, write
 * float32, float64 and bool arrays atomically.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0, C order, dtypes
 * float16/32/64, signed and unsigned integers of 1 to 8 bytes and bool, in
 * either byte order; values are converted to the requested type. Fortran
 * order, structured and object dtypes are refused with an AFFECT_ERROR, as
 * is a file whose data does not match its header exactly.
 *
 * Writing produces version 1.0 (2.0 when the header needs it), C order,
 * little-endian, the header padded so the data starts 64-byte aligned, as
 * numpy itself writes it.
 */
#ifndef AFFECT_NPY_H
#define AFFECT_NPY_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define AFFECT_NPY_MAX_DIMS 8

typedef enum
{
  AFFECT_NPY_FLOAT32,           /* float,   '<f4' */
  AFFECT_NPY_FLOAT64,           /* double,  '<f8' */
  AFFECT_NPY_BOOL               /* guint8 0/1, '|b1' */
} AffectNpyType;

typedef struct
{
  int n_dims;
  int64_t shape[AFFECT_NPY_MAX_DIMS];   /* outermost first */
  int64_t n_elements;
  char descr[8];                /* dtype as stored, e.g. "<f4", "|b1" */
  AffectNpyType type;           /* what data holds */
  void *data;                   /* float * or double * (row-major) */
} AffectNpyArray;

/* type: AFFECT_NPY_FLOAT32 or AFFECT_NPY_FLOAT64 (what data will hold) */
AffectNpyArray *affect_npy_read (const char *path, AffectNpyType type,
    GError ** error);
AffectNpyArray *affect_npy_read_bytes (GBytes * bytes, const char *label,
    AffectNpyType type, GError ** error);
void affect_npy_array_free (AffectNpyArray * array);

static inline float *
affect_npy_array_float (const AffectNpyArray * a)
{
  return a->type == AFFECT_NPY_FLOAT32 ? (float *) a->data : NULL;
}

static inline double *
affect_npy_array_double (const AffectNpyArray * a)
{
  return a->type == AFFECT_NPY_FLOAT64 ? (double *) a->data : NULL;
}

/* data holds n_elements values of type (float, double or guint8 0/1),
 * row-major; written atomically (temp file, fsync, rename) */
gboolean affect_npy_write (const char *path, AffectNpyType type, int n_dims,
    const int64_t * shape, const void *data, GError ** error);

G_END_DECLS
#endif /* AFFECT_NPY_H */
