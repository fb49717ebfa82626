/* Docs that cannot drift: each element's docs/elements/NAME.md is checked
 * against its plugins/gstNAME.c documentation block and its class.
 *
 * Per element (TAP, one test each):
 * - the .c opens with a gtk-doc block `SECTION:element-NAME` with `@title`,
 *   a "## Example launch line" and at least one |[ … ]| example;
 * - every example launch line of the block and of the .md parses with
 *   gst_parse_launch (fatal errors; an element of another plugin that is
 *   not installed is skipped, as are .md lines with placeholders "…");
 * - every property gst-inspect-1.0 lists (the element's own and its
 *   subclasses', not GstObject's, GstElement's or GstBaseSink's) appears in
 *   the .md as `name`, on a line that also shows its default;
 * - every message the block documents (a paragraph opening with
 *   `affect-…`) and each of its fields (the `field` names of the list
 *   below it) appear in the .md; `timestamp`, `stream-time`,
 *   `running-time` and `duration` may be said as "time fields".
 *
 *   AFFECT_SOURCE_DIR (set by meson test) locates the sources.
 */
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

static const gchar *elements[] = {
  "affectsrc", "affectmel", "affectis09", "affecthnr", "affectclassify",
  "affectregress", "affectgate", "affectmetrics", "affectfeaturesrc",
  "affectfeaturesink", NULL
};

static gint n_test = 0;
static GRegex *gst_launch_opts;
static GString *diag;

static void
problem (const gchar * fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  g_string_append (diag, "# ");
  g_string_append_vprintf (diag, fmt, ap);
  g_string_append_c (diag, '\n');
  va_end (ap);
}

/* The first comment of SRC that opens with / * * and names the section,
 * without the leading " * " of each line. */
static gchar *
doc_block (const gchar * src, const gchar * name)
{
  gchar *section = g_strdup_printf ("SECTION:element-%s", name);
  const gchar *open = strstr (src, "/**");
  const gchar *close;
  gchar **lines, *res;
  GString *out = g_string_new (NULL);
  guint i;

  if (!open || !(close = strstr (open, "*/"))
      || !g_strstr_len (open, close - open, section)) {
    g_free (section);
    g_string_free (out, TRUE);
    return NULL;
  }
  {
    gchar *body = g_strndup (open + 3, close - open - 3);
    lines = g_strsplit (body, "\n", -1);
    g_free (body);
  }
  for (i = 0; lines[i]; i++) {
    const gchar *l = lines[i];
    while (*l == ' ')
      l++;
    if (*l == '*') {
      l++;
      if (*l == ' ')
        l++;
    }
    g_string_append (out, l);
    g_string_append_c (out, '\n');
  }
  g_strfreev (lines);
  g_free (section);
  res = g_string_free (out, FALSE);
  return res;
}

/* "gst-launch-1.0 [-m -v -e -q] PIPELINE" with backslash continuations
 * joined; trailing comments ("# …") dropped */
static gchar *
launch_of (const gchar * text)
{
  GString *s = g_string_new (NULL);
  gchar **lines = g_strsplit (text, "\n", -1);
  gchar *res, **tok;
  guint i;

  for (i = 0; lines[i]; i++) {
    gchar *l = g_strstrip (lines[i]);
    gchar *hash = strstr (l, "  #");
    gboolean cont;

    if (hash)
      *hash = '\0';
    if ((hash = strstr (l, " | ")))     /* a shell pipe after the command */
      *hash = '\0';
    g_strstrip (l);
    cont = g_str_has_suffix (l, "\\");
    if (cont)
      l[strlen (l) - 1] = '\0';
    g_string_append (s, l);
    g_string_append_c (s, ' ');
  }
  g_strfreev (lines);
  tok = g_strsplit (g_strstrip (s->str), " ", 2);
  g_string_free (s, TRUE);
  if (!tok[0] || strcmp (tok[0], "gst-launch-1.0") || !tok[1]) {
    g_strfreev (tok);
    return NULL;
  }
  res = g_strdup (g_strchug (tok[1]));
  g_strfreev (tok);
  {
    /* gst-launch's options (-m, -v, -e, -q), wherever they stand */
    gchar *opts = g_regex_replace (gst_launch_opts, res, -1, 0, " ", 0, NULL);
    g_free (res);
    res = g_strdup (g_strstrip (opts));
    g_free (opts);
  }
  return res;
}

static void
check_launch (const gchar * where, const gchar * line)
{
  GError *err = NULL;
  GstElement *p;

  if (strstr (line, "...") || strstr (line, "…")) {
    problem ("%s: a placeholder, not a pipeline: %s", where, line);
    return;
  }
  p = gst_parse_launch_full (line, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (p)
    gst_object_unref (p);
  if (err) {
    gboolean missing = err->domain == GST_PARSE_ERROR
        && err->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT
        && !strstr (err->message, "affect");
    if (missing)
      g_string_append_printf (diag, "# %s: skipped (%s): %s\n", where,
          err->message, line);
    else
      problem ("%s: does not parse (%s): %s", where, err->message, line);
    g_clear_error (&err);
  }
}

/* examples of the block: |[ … ]| */
static guint
check_block_examples (const gchar * block, const gchar * name)
{
  const gchar *p = block;
  guint n = 0;

  while ((p = strstr (p, "|["))) {
    const gchar *e = strstr (p, "]|");
    gchar *text, *line;

    if (!e)
      break;
    text = g_strndup (p + 2, e - p - 2);
    line = launch_of (text);
    if (line) {
      gchar *where = g_strdup_printf ("gst%s.c example %u", name, n + 1);
      check_launch (where, line);
      g_free (where);
      n++;
    }
    g_free (line);
    g_free (text);
    p = e + 2;
  }
  return n;
}

/* examples of the .md: ```sh blocks, each gst-launch-1.0 command in them */
static void
check_md_examples (const gchar * md, const gchar * name)
{
  gchar **blocks = g_strsplit (md, "```", -1);
  guint i, n = 0;

  for (i = 1; blocks[i]; i += 2) {
    gchar **lines = g_strsplit (blocks[i], "\n", -1);
    GString *cmd = NULL;
    guint j;

    for (j = 0; lines[j]; j++) {
      gchar *l = lines[j];
      if (g_str_has_prefix (g_strstrip (l), "gst-launch-1.0"))
        cmd = g_string_new (NULL);
      if (!cmd)
        continue;
      g_string_append (cmd, l);
      g_string_append_c (cmd, '\n');
      if (!g_str_has_suffix (l, "\\")) {
        gchar *line = launch_of (cmd->str);
        if (line && !strstr (line, "…")) {
          gchar *where = g_strdup_printf ("%s.md example %u", name, ++n);
          check_launch (where, line);
          g_free (where);
        }
        g_free (line);
        g_string_free (cmd, TRUE);
        cmd = NULL;
      }
    }
    if (cmd)
      g_string_free (cmd, TRUE);
    g_strfreev (lines);
  }
  g_strfreev (blocks);
}

/* the ways a default may be written in a table */
static gchar **
default_spellings (GParamSpec * ps)
{
  GValue v = G_VALUE_INIT;
  GPtrArray *a = g_ptr_array_new ();
  const GValue *d = g_param_spec_get_default_value (ps);

  if (G_IS_PARAM_SPEC_ENUM (ps)) {
    GEnumValue *ev = g_enum_get_value (G_PARAM_SPEC_ENUM (ps)->enum_class,
        g_value_get_enum (d));
    g_ptr_array_add (a, g_strdup (ev ? ev->value_nick : "?"));
  } else if (G_IS_PARAM_SPEC_BOOLEAN (ps)) {
    g_ptr_array_add (a, g_strdup (g_value_get_boolean (d) ? "true" : "false"));
  } else if (G_IS_PARAM_SPEC_STRING (ps)) {
    const gchar *s = g_value_get_string (d);
    /* NULL is said in words ("the manifest's folder", "all"): any line */
    g_ptr_array_add (a, g_strdup (s && *s ? s : ""));
  } else if (G_IS_PARAM_SPEC_DOUBLE (ps) || G_IS_PARAM_SPEC_FLOAT (ps)) {
    gdouble x = G_IS_PARAM_SPEC_DOUBLE (ps) ? g_value_get_double (d)
        : g_value_get_float (d);
    gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
    gchar *g = g_strdup_printf ("%g", x), *e = strstr (g, "e-0");
    g_ptr_array_add (a, g_strdup (g));
    if (e) {                    /* 1e-06 as 1e-6 */
      memmove (e + 2, e + 3, strlen (e + 3) + 1);
      g_ptr_array_add (a, g_strdup (g));
    }
    for (gint prec = 0; prec < 4; prec++) {     /* 0.0001 as 1e-4 */
      gchar *sci = g_strdup_printf ("%.*e", prec, x), *z;
      if (g_ascii_strtod (sci, NULL) == x) {
        if ((z = strstr (sci, "e-0")) || (z = strstr (sci, "e+0")))
          memmove (z + 2, z + 3, strlen (z + 3) + 1);
        g_ptr_array_add (a, sci);
        break;
      }
      g_free (sci);
    }
    if (x < 0)                  /* −60: the minus sign */
      g_ptr_array_add (a, g_strdup_printf ("\u2212%g", -x));
    g_free (g);
    g_ptr_array_add (a, g_strdup (g_ascii_formatd (buf, sizeof buf, "%.1f",
                x)));
    g_ptr_array_add (a, g_strdup_printf ("%.0e", x));
  } else {
    g_value_init (&v, G_TYPE_STRING);
    if (g_value_transform (d, &v) && g_value_get_string (&v))
      g_ptr_array_add (a, g_strdup (g_value_get_string (&v)));
    else
      g_ptr_array_add (a, g_strdup ("?"));
    g_value_unset (&v);
  }
  g_ptr_array_add (a, NULL);
  return (gchar **) g_ptr_array_free (a, FALSE);
}

static gboolean
inherited (GType owner)
{
  return owner == GST_TYPE_OBJECT || owner == GST_TYPE_ELEMENT
      || g_type_is_a (GST_TYPE_ELEMENT, owner)
      || !strncmp (g_type_name (owner), "GstBase", 7);
}

static void
check_properties (const gchar * md, const gchar * name)
{
  GstElement *e = gst_element_factory_make (name, NULL);
  GParamSpec **props;
  guint n, i;
  gchar **lines = g_strsplit (md, "\n", -1);

  if (!e) {
    problem ("no element %s", name);
    g_strfreev (lines);
    return;
  }
  props = g_object_class_list_properties (G_OBJECT_GET_CLASS (e), &n);
  for (i = 0; i < n; i++) {
    GParamSpec *ps = props[i];
    gchar *quoted = g_strdup_printf ("`%s`", ps->name);
    gchar **spell;
    gboolean named = FALSE, with_default = FALSE;
    guint j, k;

    if (inherited (ps->owner_type)) {
      g_free (quoted);
      continue;
    }
    spell = default_spellings (ps);
    for (j = 0; lines[j]; j++) {
      if (!strstr (lines[j], quoted))
        continue;
      named = TRUE;
      if (!(ps->flags & G_PARAM_WRITABLE))
        with_default = TRUE;
      for (k = 0; spell[k] && !with_default; k++)
        if (strstr (lines[j], spell[k]))
          with_default = TRUE;
    }
    if (!named)
      problem ("%s.md: property `%s` is not documented", name, ps->name);
    else if (!with_default)
      problem ("%s.md: property `%s`: no line names it with its default %s",
          name, ps->name, spell[0]);
    g_strfreev (spell);
    g_free (quoted);
  }
  g_free (props);
  g_strfreev (lines);
  gst_object_unref (e);
}

static gboolean
is_time_field (const gchar * f)
{
  return !strcmp (f, "timestamp") || !strcmp (f, "stream-time")
      || !strcmp (f, "running-time") || !strcmp (f, "duration");
}

/* "`affect-x` …" opens a message; "- `a`, `b` (type): …" lists fields */
static void
check_messages (const gchar * block, const gchar * md, const gchar * name)
{
  const gchar *start = strstr (block, "## Messages");
  const gchar *end;
  gchar *section, **lines;
  gchar *msg = NULL;
  guint i;

  if (!start)
    return;
  end = strstr (start, "## Example");
  section = end ? g_strndup (start, end - start) : g_strdup (start);
  lines = g_strsplit (section, "\n", -1);
  for (i = 0; lines[i]; i++) {
    const gchar *l = lines[i];
    if (g_str_has_prefix (l, "`affect-")) {
      const gchar *q = strchr (l + 1, '`');
      g_free (msg);
      msg = g_strndup (l, q - l + 1);
      if (!strstr (md, msg))
        problem ("%s.md: message %s is not documented", name, msg);
    } else if (msg && (g_str_has_prefix (l, "- `") || g_str_has_prefix (l,
                "* `"))) {
      const gchar *p = l + 2;
      const gchar *stop = strpbrk (p, "(:");
      while ((p = strchr (p, '`')) && (!stop || p < stop)) {
        const gchar *q = strchr (p + 1, '`');
        gchar *field;
        if (!q)
          break;
        field = g_strndup (p, q - p + 1);
        if (!strstr (md, field)) {
          gchar *bare = g_strndup (p + 1, q - p - 1);
          if (!(is_time_field (bare) && strstr (md, "time fields")))
            problem ("%s.md: field %s of %s is not documented", name, field,
                msg);
          g_free (bare);
        }
        g_free (field);
        p = q + 1;
      }
    }
  }
  g_free (msg);
  g_strfreev (lines);
  g_free (section);
}

static void
check_element (const gchar * srcdir, const gchar * name)
{
  gchar *cpath = g_strdup_printf ("%s/plugins/gst%s.c", srcdir, name);
  gchar *mdpath = g_strdup_printf ("%s/docs/elements/%s.md", srcdir, name);
  gchar *src = NULL, *md = NULL, *block;
  gchar *title = g_strdup_printf ("@title: %s\n", name);

  diag = g_string_new (NULL);
  n_test++;
  if (!g_file_get_contents (cpath, &src, NULL, NULL)
      || !g_file_get_contents (mdpath, &md, NULL, NULL)) {
    problem ("cannot read %s or %s", cpath, mdpath);
    goto done;
  }
  block = doc_block (src, name);
  if (!block) {
    problem ("gst%s.c does not open with a /** SECTION:element-%s block",
        name, name);
  } else {
    if (!strstr (block, title))
      problem ("gst%s.c: the block has no @title", name);
    if (!strstr (block, "## Example launch line"))
      problem ("gst%s.c: the block has no \"## Example launch line\"", name);
    if (check_block_examples (block, name) == 0)
      problem ("gst%s.c: the block has no |[ gst-launch-1.0 … ]| example",
          name);
    check_messages (block, md, name);
    g_free (block);
  }
  check_md_examples (md, name);
  check_properties (md, name);
done:
  {
    gboolean ok = !strstr (diag->str, "# ") || !g_regex_match_simple
        ("^# (?!.*: skipped)", diag->str, G_REGEX_MULTILINE, 0);
    printf ("%s %d - %s\n%s", ok ? "ok" : "not ok", n_test, name, diag->str);
  }
  g_string_free (diag, TRUE);
  g_free (title);
  g_free (src);
  g_free (md);
  g_free (cpath);
  g_free (mdpath);
}

int
main (int argc, char **argv)
{
  const gchar *srcdir = g_getenv ("AFFECT_SOURCE_DIR");
  guint i;

  gst_init (&argc, &argv);
  gst_launch_opts = g_regex_new ("(^| )-[mveq](?= |$)", 0, 0, NULL);
  if (!srcdir)
    srcdir = ".";
  printf ("1..%u\n", g_strv_length ((gchar **) elements));
  for (i = 0; elements[i]; i++)
    check_element (srcdir, elements[i]);
  return 0;
}
