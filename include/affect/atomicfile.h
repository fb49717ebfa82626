/* Atomic file writing: a temporary file in the destination's directory,
 * fsync, rename over the destination, fsync of the directory. A reader
 * sees either the old file or the complete new one, never a partial write,
 * even across a crash or power loss.
 *
 *   AffectAtomicFile *f = affect_atomic_file_new (path, &error);
 *   affect_atomic_file_write (f, data, n, &error) ... ;
 *   affect_atomic_file_commit (f, &error);   // or affect_atomic_file_abort
 */
#ifndef AFFECT_ATOMICFILE_H
#define AFFECT_ATOMICFILE_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AffectAtomicFile AffectAtomicFile;

AffectAtomicFile *affect_atomic_file_new (const char *path, GError ** error);
gboolean affect_atomic_file_write (AffectAtomicFile * file, const void *data,
    gsize size, GError ** error);
/* fsync, rename, fsync the directory; frees file whatever the outcome */
gboolean affect_atomic_file_commit (AffectAtomicFile * file, GError ** error);
/* removes the temporary file; frees file */
void affect_atomic_file_abort (AffectAtomicFile * file);

/* Whether path can be written: its folder exists and takes a temporary
 * file (created and removed at once); FALSE + AFFECT_ERROR_IO naming the
 * path and the folder. Elements call it before they read any input. */
gboolean affect_atomic_file_check_writable (const char *path, GError ** error);

/* the whole file in one go */
gboolean affect_file_set_contents_atomic (const char *path, const void *data,
    gsize size, GError ** error);

G_END_DECLS
#endif /* AFFECT_ATOMICFILE_H */
