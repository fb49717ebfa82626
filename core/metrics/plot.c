/* Figures of a metric report, drawn with cairo: ROC and PR curves, and the
 * row-normalised confusion matrix with class names. PNG or SVG by the file
 * name's extension. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/metrics.h"

#ifdef HAVE_CAIRO
#include <cairo.h>
#include <cairo-svg.h>

typedef struct
{
  cairo_surface_t *surface;
  cairo_t *cr;
  gboolean svg;
  char *path;
} Canvas;

static gboolean
canvas_open (Canvas * c, const char *path, int w, int h, GError ** error)
{
  c->svg = g_str_has_suffix (path, ".svg");
  if (!c->svg && !g_str_has_suffix (path, ".png")) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "%s: figures are .png or .svg", path);
    return FALSE;
  }
  c->path = g_strdup (path);
  c->surface = c->svg ? cairo_svg_surface_create (path, w, h) :
      cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  c->cr = cairo_create (c->surface);
  cairo_set_source_rgb (c->cr, 1, 1, 1);
  cairo_paint (c->cr);
  cairo_select_font_face (c->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
      CAIRO_FONT_WEIGHT_NORMAL);
  return TRUE;
}

static gboolean
canvas_close (Canvas * c, GError ** error)
{
  cairo_status_t st;

  cairo_destroy (c->cr);
  if (c->svg) {
    cairo_surface_finish (c->surface);
    st = cairo_surface_status (c->surface);
  } else {
    st = cairo_surface_write_to_png (c->surface, c->path);
  }
  cairo_surface_destroy (c->surface);
  if (st != CAIRO_STATUS_SUCCESS)
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_IO, "%s: %s", c->path,
        cairo_status_to_string (st));
  g_free (c->path);
  return st == CAIRO_STATUS_SUCCESS;
}

/* text anchored at (x, y): ax/ay = 0 left/top, 0.5 centre, 1 right/bottom */
static void
text (cairo_t * cr, double x, double y, double ax, double ay, double size,
    const char *s)
{
  cairo_text_extents_t e;

  cairo_set_font_size (cr, size);
  cairo_text_extents (cr, s, &e);
  cairo_move_to (cr, x - ax * e.width - e.x_bearing,
      y - ay * e.height - e.y_bearing);
  cairo_show_text (cr, s);
}

/* a qualitative palette for up to 10 outputs */
static void
colour (cairo_t * cr, guint i, double alpha)
{
  static const double pal[10][3] = {
    {0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
    {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
    {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}, {0.74, 0.74, 0.13},
    {0.09, 0.75, 0.81}
  };
  cairo_set_source_rgba (cr, pal[i % 10][0], pal[i % 10][1], pal[i % 10][2],
      alpha);
}

typedef struct
{
  double x0, y0, w, h;          /* plot area in device units */
} Panel;

static void
panel_frame (cairo_t * cr, const Panel * p, const char *title,
    const char *xlabel, const char *ylabel)
{
  char buf[16];
  int i;

  cairo_set_line_width (cr, 1);
  for (i = 0; i <= 5; i++) {
    double f = i / 5.0;
    cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
    cairo_move_to (cr, p->x0 + f * p->w, p->y0);
    cairo_line_to (cr, p->x0 + f * p->w, p->y0 + p->h);
    cairo_move_to (cr, p->x0, p->y0 + p->h - f * p->h);
    cairo_line_to (cr, p->x0 + p->w, p->y0 + p->h - f * p->h);
    cairo_stroke (cr);
    cairo_set_source_rgb (cr, 0, 0, 0);
    g_snprintf (buf, sizeof buf, "%.1f", f);
    text (cr, p->x0 + f * p->w, p->y0 + p->h + 6, 0.5, 0, 12, buf);
    text (cr, p->x0 - 6, p->y0 + p->h - f * p->h, 1, 0.5, 12, buf);
  }
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_rectangle (cr, p->x0, p->y0, p->w, p->h);
  cairo_stroke (cr);
  text (cr, p->x0 + p->w / 2, p->y0 - 12, 0.5, 1, 15, title);
  text (cr, p->x0 + p->w / 2, p->y0 + p->h + 26, 0.5, 0, 13, xlabel);
  cairo_save (cr);
  cairo_translate (cr, p->x0 - 40, p->y0 + p->h / 2);
  cairo_rotate (cr, -G_PI / 2);
  text (cr, 0, 0, 0.5, 1, 13, ylabel);
  cairo_restore (cr);
}

/* polyline of a curve, skipping points closer than a pixel to the last */
static void
panel_curve (cairo_t * cr, const Panel * p, const double *x, const double *y,
    gsize n, gboolean steps)
{
  double lx = -1, ly = -1;
  gsize i;

  for (i = 0; i < n; i++) {
    double px = p->x0 + x[i] * p->w, py = p->y0 + p->h - y[i] * p->h;
    if (i == 0) {
      cairo_move_to (cr, px, py);
    } else {
      if (i + 1 < n && fabs (px - lx) < 0.5 && fabs (py - ly) < 0.5)
        continue;
      /* average precision's step function: recall rises from the last
       * point's to this one's at this point's precision */
      if (steps)
        cairo_line_to (cr, lx, py);
      cairo_line_to (cr, px, py);
    }
    lx = px;
    ly = py;
  }
  cairo_stroke (cr);
}

gboolean
affect_metrics_plot_curves (const AffectMetrics * m, const char *path,
    GError ** error)
{
  const float *scores = affect_metrics_get_scores (m);
  const uint8_t *truth = affect_metrics_get_truth (m);
  const char *const *names = affect_metrics_get_names (m);
  guint k = affect_metrics_get_n_outputs (m), c;
  guint64 n = affect_metrics_get_n_items (m);
  gboolean legend = k <= 10;
  AffectRankScores micro;
  Canvas cv;
  Panel roc = { 70, 50, 400, 400 }, pr = { 560, 50, 400, 400 };
  char title[128];
  int pass;

  if (scores == NULL || n == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "%s: no scores to draw curves of", path);
    return FALSE;
  }
  if (!canvas_open (&cv, path, 1000, legend ? 540 + 18 * ((k + 1) / 2) : 530,
          error))
    return FALSE;
  affect_rank_scores (scores, 1, truth, 1, n * k, &micro);
  g_snprintf (title, sizeof title, "ROC (micro AUC %.3f)", micro.roc_auc);
  panel_frame (cv.cr, &roc, title, "false positive rate", "true positive rate");
  g_snprintf (title, sizeof title, "Precision-recall (micro AP %.3f)",
      micro.average_precision);
  panel_frame (cv.cr, &pr, title, "recall", "precision");
  /* chance: the diagonal, and the positive rate for PR */
  cairo_set_source_rgb (cv.cr, 0.6, 0.6, 0.6);
  cairo_set_dash (cv.cr, (double[]) { 4, 4 }, 2, 0);
  cairo_move_to (cv.cr, roc.x0, roc.y0 + roc.h);
  cairo_line_to (cv.cr, roc.x0 + roc.w, roc.y0);
  {
    double prev = (double) micro.n_positive / (double) (n * k);
    cairo_move_to (cv.cr, pr.x0, pr.y0 + pr.h - prev * pr.h);
    cairo_line_to (cv.cr, pr.x0 + pr.w, pr.y0 + pr.h - prev * pr.h);
  }
  cairo_stroke (cv.cr);
  cairo_set_dash (cv.cr, NULL, 0, 0);

  for (pass = 0; pass < 2; pass++) {
    for (c = 0; c < (pass ? 1 : k); c++) {
      double *x, *y;
      gsize np;
      const float *s = pass ? scores : scores + c;
      const uint8_t *t = pass ? truth : truth + c;
      gsize stride = pass ? 1 : k;
      gsize count = pass ? n * k : n;

      if (pass) {
        cairo_set_source_rgb (cv.cr, 0, 0, 0);
        cairo_set_line_width (cv.cr, 2.5);
      } else {
        if (legend)
          colour (cv.cr, c, 0.9);
        else
          cairo_set_source_rgba (cv.cr, 0.2, 0.4, 0.8, 0.25);
        cairo_set_line_width (cv.cr, legend ? 1.5 : 1.0);
      }
      if (affect_roc_curve (s, stride, t, stride, count, &x, &y, &np))
        panel_curve (cv.cr, &roc, x, y, np, FALSE);
      g_free (x);
      g_free (y);
      if (affect_pr_curve (s, stride, t, stride, count, &x, &y, &np))
        panel_curve (cv.cr, &pr, x, y, np, TRUE);
      g_free (x);
      g_free (y);
    }
  }
  cairo_set_source_rgb (cv.cr, 0, 0, 0);
  if (legend) {
    double y0 = 530;
    for (c = 0; c <= k; c++) {
      double lx = 70 + (c % 2) * 490, ly = y0 + 18 * (c / 2);
      AffectRankScores s;
      char buf[160];
      if (c < k) {
        affect_rank_scores (scores + c, k, truth + c, k, n, &s);
        colour (cv.cr, c, 0.9);
        cairo_set_line_width (cv.cr, 1.5);
        g_snprintf (buf, sizeof buf, "%s (ROC-AUC %.3f, AP %.3f)", names[c],
            s.roc_auc, s.average_precision);
      } else {
        cairo_set_source_rgb (cv.cr, 0, 0, 0);
        cairo_set_line_width (cv.cr, 2.5);
        g_snprintf (buf, sizeof buf, "micro (all %u outputs pooled)", k);
      }
      cairo_move_to (cv.cr, lx, ly);
      cairo_line_to (cv.cr, lx + 24, ly);
      cairo_stroke (cv.cr);
      cairo_set_source_rgb (cv.cr, 0, 0, 0);
      text (cv.cr, lx + 30, ly, 0, 0.5, 12, buf);
    }
  } else {
    char buf[160];
    g_snprintf (buf, sizeof buf, "thin: each of the %u outputs; thick: "
        "micro (all pooled); dashed: chance", k);
    text (cv.cr, 500, 512, 0.5, 0.5, 12, buf);
  }
  return canvas_close (&cv, error);
}

gboolean
affect_metrics_plot_confusion (const AffectMetricsResult * r,
    const char *path, GError ** error)
{
  guint k = r->n_outputs, i, j;
  double cell, left = 150, top = 70, side, widest = 0, below;
  gboolean turn;
  Canvas cv;
  char buf[64];

  if (r->confusion_normalised == NULL) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
        "%s: a confusion matrix needs a single-label (class) task", path);
    return FALSE;
  }
  cell = k <= 6 ? 100 : MAX (28.0, 600.0 / k);
  side = cell * k;
  /* room for the longest class name at the left, and below when the
   * names are turned 45 degrees (wider than a cell) */
  {
    cairo_surface_t *probe = cairo_image_surface_create (CAIRO_FORMAT_RGB24,
        1, 1);
    cairo_t *pc = cairo_create (probe);
    cairo_text_extents_t ext;
    cairo_select_font_face (pc, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
        CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size (pc, 13);
    for (i = 0; i < k; i++) {
      cairo_text_extents (pc, r->names[i], &ext);
      widest = MAX (widest, ext.width);
    }
    cairo_destroy (pc);
    cairo_surface_destroy (probe);
  }
  left = MAX (left, widest + 48);
  turn = k > 6 || widest > cell - 6;
  below = turn ? widest * 0.72 + 40 : 40;
  if (!canvas_open (&cv, path, (int) (left + side + 110),
          (int) (top + side + below + 50), error))
    return FALSE;
  g_snprintf (buf, sizeof buf, "Confusion (row-normalised), accuracy %.3f",
      r->accuracy);
  cairo_set_source_rgb (cv.cr, 0, 0, 0);
  text (cv.cr, left + side / 2, 24, 0.5, 0.5, 16, buf);
  for (i = 0; i < k; i++) {
    guint64 row = 0;
    for (j = 0; j < k; j++)
      row += r->confusion[i * k + j];
    for (j = 0; j < k; j++) {
      double v = r->confusion_normalised[i * k + j];
      double x = left + j * cell, y = top + i * cell;
      /* white → dark blue; text flips to white on dark cells */
      cairo_set_source_rgb (cv.cr, 1 - 0.85 * v, 1 - 0.65 * v, 1 - 0.3 * v);
      cairo_rectangle (cv.cr, x, y, cell, cell);
      cairo_fill (cv.cr);
      if (v > 0.55)
        cairo_set_source_rgb (cv.cr, 1, 1, 1);
      else
        cairo_set_source_rgb (cv.cr, 0, 0, 0);
      if (cell >= 60) {
        g_snprintf (buf, sizeof buf, "%.2f", v);
        text (cv.cr, x + cell / 2, y + cell / 2 - 9, 0.5, 0.5, 16, buf);
        g_snprintf (buf, sizeof buf, "(%" G_GUINT64_FORMAT ")",
            r->confusion[i * k + j]);
        text (cv.cr, x + cell / 2, y + cell / 2 + 12, 0.5, 0.5, 12, buf);
      } else {
        g_snprintf (buf, sizeof buf, "%.0f", 100 * v);
        text (cv.cr, x + cell / 2, y + cell / 2, 0.5, 0.5, cell / 3, buf);
      }
    }
    cairo_set_source_rgb (cv.cr, 0, 0, 0);
    g_snprintf (buf, sizeof buf, "%s", r->names[i]);
    text (cv.cr, left - 8, top + i * cell + cell / 2, 1, 0.5, 13, buf);
    if (row == 0)
      text (cv.cr, left + side + 6, top + i * cell + cell / 2, 0, 0.5, 11,
          "(no items)");
  }
  for (j = 0; j < k; j++) {
    cairo_save (cv.cr);
    cairo_translate (cv.cr, left + j * cell + cell / 2, top + side + 8);
    if (turn)
      cairo_rotate (cv.cr, G_PI / 4);
    text (cv.cr, 0, 0, turn ? 0 : 0.5, 0, 13, r->names[j]);
    cairo_restore (cv.cr);
  }
  cairo_set_source_rgb (cv.cr, 0, 0, 0);
  cairo_set_line_width (cv.cr, 1);
  cairo_rectangle (cv.cr, left, top, side, side);
  cairo_stroke (cv.cr);
  text (cv.cr, left + side / 2, top + side + below + 10, 0.5, 0.5, 14,
      "predicted class");
  cairo_save (cv.cr);
  cairo_translate (cv.cr, 18, top + side / 2);
  cairo_rotate (cv.cr, -G_PI / 2);
  text (cv.cr, 0, 0, 0.5, 0.5, 14, "true class");
  cairo_restore (cv.cr);
  return canvas_close (&cv, error);
}

/* a tick step of 1, 2 or 5 × 10^k giving about n intervals over span */
static double
nice_step (double span, int n)
{
  double raw = span / n, mag = pow (10, floor (log10 (raw))), f = raw / mag;

  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

gboolean
affect_metrics_plot_series (const char *path, const char *title,
    const char *xlabel, const char *ylabel, guint n_series,
    const char *const *series_names, guint n_points, const double *x,
    const double *y, GError ** error)
{
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  double xstep, ystep, v;
  Panel p = { 80, 50, 560, 360 };
  guint s, i, n_defined = 0;
  Canvas cv;
  char buf[64];

  for (i = 0; i < n_points; i++) {
    xmin = MIN (xmin, x[i]);
    xmax = MAX (xmax, x[i]);
    for (s = 0; s < n_series; s++) {
      v = y[s * n_points + i];
      if (!isfinite (v))
        continue;
      ymin = MIN (ymin, v);
      ymax = MAX (ymax, v);
      n_defined++;
    }
  }
  if (n_points == 0 || n_defined == 0) {
    g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_EMPTY,
        "%s: no values to draw", path);
    return FALSE;
  }
  if (xmax <= xmin)
    xmax = xmin + 1;
  /* y range padded by 10 % and rounded out to whole ticks */
  v = ymax > ymin ? 0.1 * (ymax - ymin) : MAX (0.05 * fabs (ymax), 0.01);
  ymin -= v;
  ymax += v;
  ystep = nice_step (ymax - ymin, 6);
  ymin = floor (ymin / ystep) * ystep;
  ymax = ceil (ymax / ystep) * ystep;
  xstep = nice_step (xmax - xmin, 6);
  if (!canvas_open (&cv, path, 840, 480, error))
    return FALSE;

#define PX(a) (p.x0 + ((a) - xmin) / (xmax - xmin) * p.w)
#define PY(a) (p.y0 + p.h - ((a) - ymin) / (ymax - ymin) * p.h)
  cairo_set_line_width (cv.cr, 1);
  for (v = ceil (xmin / xstep) * xstep; v <= xmax + 1e-9 * xstep; v += xstep) {
    cairo_set_source_rgb (cv.cr, 0.9, 0.9, 0.9);
    cairo_move_to (cv.cr, PX (v), p.y0);
    cairo_line_to (cv.cr, PX (v), p.y0 + p.h);
    cairo_stroke (cv.cr);
    cairo_set_source_rgb (cv.cr, 0, 0, 0);
    g_snprintf (buf, sizeof buf, "%g", fabs (v) < 1e-9 * xstep ? 0 : v);
    text (cv.cr, PX (v), p.y0 + p.h + 6, 0.5, 0, 12, buf);
  }
  for (v = ymin; v <= ymax + 1e-9 * ystep; v += ystep) {
    cairo_set_source_rgb (cv.cr, 0.9, 0.9, 0.9);
    cairo_move_to (cv.cr, p.x0, PY (v));
    cairo_line_to (cv.cr, p.x0 + p.w, PY (v));
    cairo_stroke (cv.cr);
    cairo_set_source_rgb (cv.cr, 0, 0, 0);
    g_snprintf (buf, sizeof buf, "%g", fabs (v) < 1e-9 * ystep ? 0 : v);
    text (cv.cr, p.x0 - 6, PY (v), 1, 0.5, 12, buf);
  }
  cairo_set_source_rgb (cv.cr, 0, 0, 0);
  cairo_rectangle (cv.cr, p.x0, p.y0, p.w, p.h);
  cairo_stroke (cv.cr);
  text (cv.cr, p.x0 + p.w / 2, p.y0 - 14, 0.5, 1, 15, title);
  text (cv.cr, p.x0 + p.w / 2, p.y0 + p.h + 28, 0.5, 0, 13, xlabel);
  cairo_save (cv.cr);
  cairo_translate (cv.cr, p.x0 - 55, p.y0 + p.h / 2);
  cairo_rotate (cv.cr, -G_PI / 2);
  text (cv.cr, 0, 0, 0.5, 1, 13, ylabel);
  cairo_restore (cv.cr);

  for (s = 0; s < n_series; s++) {
    gboolean pen = FALSE;
    colour (cv.cr, s, 1);
    cairo_set_line_width (cv.cr, 2);
    for (i = 0; i < n_points; i++) {
      v = y[s * n_points + i];
      if (!isfinite (v)) {
        pen = FALSE;
        continue;
      }
      if (pen)
        cairo_line_to (cv.cr, PX (x[i]), PY (v));
      else
        cairo_move_to (cv.cr, PX (x[i]), PY (v));
      pen = TRUE;
    }
    cairo_stroke (cv.cr);
    for (i = 0; i < n_points; i++) {
      v = y[s * n_points + i];
      if (!isfinite (v))
        continue;
      cairo_arc (cv.cr, PX (x[i]), PY (v), 3.5, 0, 2 * G_PI);
      cairo_fill (cv.cr);
    }
    /* legend on the right */
    cairo_move_to (cv.cr, p.x0 + p.w + 16, p.y0 + 10 + 20 * s);
    cairo_line_to (cv.cr, p.x0 + p.w + 40, p.y0 + 10 + 20 * s);
    cairo_stroke (cv.cr);
    cairo_set_source_rgb (cv.cr, 0, 0, 0);
    text (cv.cr, p.x0 + p.w + 46, p.y0 + 10 + 20 * s, 0, 0.5, 12,
        series_names != NULL ? series_names[s] : "");
  }
#undef PX
#undef PY
  return canvas_close (&cv, error);
}

#else /* !HAVE_CAIRO */

gboolean
affect_metrics_plot_series (const char *path, const char *title,
    const char *xlabel, const char *ylabel, guint n_series,
    const char *const *series_names, guint n_points, const double *x,
    const double *y, GError ** error)
{
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
      "%s: built without cairo (-Dplots=disabled)", path);
  return FALSE;
}

gboolean
affect_metrics_plot_curves (const AffectMetrics * m, const char *path,
    GError ** error)
{
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
      "%s: built without cairo (-Dplots=disabled)", path);
  return FALSE;
}

gboolean
affect_metrics_plot_confusion (const AffectMetricsResult * r,
    const char *path, GError ** error)
{
  g_set_error (error, AFFECT_ERROR, AFFECT_ERROR_FAILED,
      "%s: built without cairo (-Dplots=disabled)", path);
  return FALSE;
}

#endif
