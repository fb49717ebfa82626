/* Atomic file writing (temporary file + fsync + rename + directory fsync) */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "affect/affect.h"
#include "affect/atomicfile.h"

struct _AffectAtomicFile
{
  char *path;
  char *tmp_path;
  int fd;
};

AffectAtomicFile *
affect_atomic_file_new (const char *path, GError ** error)
{
  AffectAtomicFile *file;
  int fd;
  char *tmp_path;

  g_return_val_if_fail (path != NULL && *path != '\0', NULL);

  /* same directory as the destination, so rename() never crosses file
   * systems and stays atomic */
  tmp_path = g_strdup_printf ("%s.tmp-XXXXXX", path);
  fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s: cannot create a temporary file beside it: %s", path,
        g_strerror (err));
    g_free (tmp_path);
    return NULL;
  }
  /* mkstemp creates 0600; model and result files are meant to be shared */
  (void) fchmod (fd, 0644);

  file = g_new0 (AffectAtomicFile, 1);
  file->path = g_strdup (path);
  file->tmp_path = tmp_path;
  file->fd = fd;
  return file;
}

gboolean
affect_atomic_file_check_writable (const char *path, GError ** error)
{
  char *dir;
  AffectAtomicFile *probe;
  GError *err = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  if (*path == '\0') {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "an empty file name cannot be written");
    return FALSE;
  }
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s is a folder, not a file", path);
    return FALSE;
  }
  dir = g_path_get_dirname (path);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s cannot be written: its folder %s %s", path, dir,
        g_file_test (dir, G_FILE_TEST_EXISTS) ? "is not a folder" :
        "does not exist");
    g_free (dir);
    return FALSE;
  }
  /* the writer's own first step, so permissions, read-only file systems
   * and ACLs answer as they will at the end */
  probe = affect_atomic_file_new (path, &err);
  if (probe == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s cannot be written in folder %s (%s)", path, dir, err->message);
    g_error_free (err);
    g_free (dir);
    return FALSE;
  }
  affect_atomic_file_abort (probe);
  g_free (dir);
  return TRUE;
}

gboolean
affect_atomic_file_write (AffectAtomicFile * file, const void *data,
    gsize size, GError ** error)
{
  const guint8 *p = data;

  while (size > 0) {
    ssize_t n = write (file->fd, p, MIN (size, (gsize) 1 << 30));
    if (n < 0) {
      int err = errno;
      if (err == EINTR)
        continue;
      g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO, "%s: write failed: %s",
          file->path, g_strerror (err));
      return FALSE;
    }
    p += n;
    size -= n;
  }
  return TRUE;
}

static void
atomic_file_free (AffectAtomicFile * file)
{
  if (file->fd >= 0)
    close (file->fd);
  g_free (file->path);
  g_free (file->tmp_path);
  g_free (file);
}

void
affect_atomic_file_abort (AffectAtomicFile * file)
{
  if (file == NULL)
    return;
  g_unlink (file->tmp_path);
  atomic_file_free (file);
}

static void
fsync_directory_of (const char *path)
{
  char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  /* makes the rename itself durable; some file systems refuse fsync on a
   * directory, which only weakens durability, not atomicity */
  if (fd >= 0) {
    (void) fsync (fd);
    close (fd);
  }
  g_free (dir);
}

gboolean
affect_atomic_file_commit (AffectAtomicFile * file, GError ** error)
{
  int err;

  if (fsync (file->fd) != 0) {
    err = errno;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO, "%s: fsync failed: %s",
        file->path, g_strerror (err));
    affect_atomic_file_abort (file);
    return FALSE;
  }
  if (close (file->fd) != 0) {
    err = errno;
    file->fd = -1;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO, "%s: close failed: %s",
        file->path, g_strerror (err));
    affect_atomic_file_abort (file);
    return FALSE;
  }
  file->fd = -1;
  if (g_rename (file->tmp_path, file->path) != 0) {
    err = errno;
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO,
        "%s: cannot rename %s over it: %s", file->path, file->tmp_path,
        g_strerror (err));
    affect_atomic_file_abort (file);
    return FALSE;
  }
  fsync_directory_of (file->path);
  atomic_file_free (file);
  return TRUE;
}

gboolean
affect_file_set_contents_atomic (const char *path, const void *data,
    gsize size, GError ** error)
{
  AffectAtomicFile *file = affect_atomic_file_new (path, error);

  if (file == NULL)
    return FALSE;
  if (!affect_atomic_file_write (file, data, size, error)) {
    affect_atomic_file_abort (file);
    return FALSE;
  }
  return affect_atomic_file_commit (file, error);
}
