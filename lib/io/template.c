/* template.c — notebooks written from a prose template and a values file: markdown with named placeholders
 * ({{key}}, {{key:%fmt}}, lists indexed by loops over table rows and columns) filled from the numbers a program
 * wrote, and directive lines (<!-- name args -->) for the cells a program builds itself, so that a notebook can be
 * rebuilt from data alone. The syntax is stated in dpm_notebook.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_io.h"
#include "dpm_notebook.h"

/* ---- values ------------------------------------------------------------------------------------------------ */

typedef struct {
  char *key;
  size_t n;
  char **val;
} entry;

struct dpm_notebook_values {
  char *path;
  entry *e;
  size_t n, cap;
};

void dpm_notebook_values_free(dpm_notebook_values *v)
{
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    for (size_t k = 0; k < v->e[i].n; k++)
      free(v->e[i].val[k]);
    free(v->e[i].val);
    free(v->e[i].key);
  }
  free(v->e);
  free(v->path);
  free(v);
}

static const entry *find(const dpm_notebook_values *v, const char *key)
{
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->e[i].key, key) == 0) return &v->e[i];
  return NULL;
}

/* a key: a name [A-Za-z_][A-Za-z0-9_]* and any number of indices [N] */
static int key_ok(const char *k)
{
  if (!(isalpha((unsigned char)*k) || *k == '_')) return 0;
  while (isalnum((unsigned char)*k) || *k == '_')
    k++;
  while (*k == '[') {
    k++;
    if (!isdigit((unsigned char)*k)) return 0;
    while (isdigit((unsigned char)*k))
      k++;
    if (*k++ != ']') return 0;
  }
  return *k == '\0';
}

/* Parse one line "KEY<TAB>V1<TAB>V2..." (newline removed) into v. */
static int values_line(dpm_notebook_values *v, char *line, size_t lineno)
{
  char *tab = strchr(line, '\t');
  if (!tab) DPM_ERROR(GSL_EINVAL, "%s:%zu: no tab after the key '%.40s'", v->path, lineno, line);
  *tab = '\0';
  if (!key_ok(line)) DPM_ERROR(GSL_EINVAL, "%s:%zu: bad key '%.40s'", v->path, lineno, line);
  if (find(v, line)) DPM_ERROR(GSL_EINVAL, "%s:%zu: key '%s' given twice", v->path, lineno, line);
  if (v->n == v->cap) {
    size_t cap = 2 * v->cap + 16;
    entry *e = realloc(v->e, cap * sizeof *e);
    if (!e) DPM_ERROR(GSL_ENOMEM, "%s: out of memory", v->path);
    v->e = e;
    v->cap = cap;
  }
  entry *e = &v->e[v->n];
  memset(e, 0, sizeof *e);
  size_t n = 1;
  for (const char *p = tab + 1; *p; p++)
    n += *p == '\t';
  e->key = strdup(line);
  e->val = calloc(n, sizeof *e->val);
  if (!e->key || !e->val) {
    free(e->key);
    free(e->val);
    DPM_ERROR(GSL_ENOMEM, "%s: out of memory", v->path);
  }
  v->n++;
  char *p = tab + 1;
  for (size_t k = 0; k < n; k++) {
    char *q = strchr(p, '\t');
    if (q) *q = '\0';
    if (!(e->val[k] = strdup(p))) DPM_ERROR(GSL_ENOMEM, "%s: out of memory", v->path);
    e->n++;
    if (q) p = q + 1;
  }
  return DPM_SUCCESS;
}

dpm_notebook_values *dpm_notebook_values_read(const char *path)
{
  if (!path) DPM_ERROR_NULL(GSL_EINVAL, "values: NULL path");
  FILE *fp = fopen(path, "r");
  if (!fp) DPM_ERROR_NULL(GSL_EFAILED, "cannot open values file '%s': %s", path, strerror(errno));
  dpm_notebook_values *v = dpm_calloc(1, sizeof *v);
  char *line = dpm_malloc(DPM_IO_MAX_LINE + 2);
  int st = (v && line) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st && !(v->path = strdup(path))) st = DPM_RAISE(GSL_ENOMEM, "values: out of memory");
  size_t lineno = 0;
  while (!st && fgets(line, DPM_IO_MAX_LINE + 2, fp)) {
    lineno++;
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n')
      line[--len] = '\0';
    else if (!feof(fp))
      st = DPM_RAISE(GSL_EINVAL, "%s:%zu: line too long", path, lineno);
    if (!st && len && line[len - 1] == '\r') line[--len] = '\0';
    if (!st && len && line[0] != '#') st = values_line(v, line, lineno);
  }
  if (!st && ferror(fp)) st = DPM_RAISE(GSL_EFAILED, "read error on '%s'", path);
  fclose(fp);
  free(line);
  if (st) {
    dpm_notebook_values_free(v);
    return NULL;
  }
  return v;
}

const char *dpm_notebook_values_get(const dpm_notebook_values *v, const char *key, size_t k)
{
  if (!v || !key) return NULL;
  const entry *e = find(v, key);
  return e && k < e->n ? e->val[k] : NULL;
}

/* ---- text buffer ---------------------------------------------------------------------------------------------
 */

typedef struct {
  char *s;
  size_t len, cap;
} sbuf;

static int sb_add(sbuf *b, const char *p, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = 2 * (b->len + n + 1) + 256;
    char *s = realloc(b->s, cap);
    if (!s) DPM_ERROR(GSL_ENOMEM, "template: out of memory");
    b->s = s;
    b->cap = cap;
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
  return DPM_SUCCESS;
}

/* ---- placeholders ----------------------------------------------------------------------------------------------
 */

enum { NVAR = 26, MAXIDX = 4 };

typedef struct {
  const dpm_notebook_values *v;
  const char *file;
  size_t line;
  long var[NVAR]; /* the value of loop variable 'a' + k, or -1 outside its loop */
} fill_ctx;

/* The end of the "{{...}}" that opens at p (p points at "{{"), i.e. the position of its closing "}}", nested
 * placeholders counted; NULL when it is not closed before end. */
static const char *closing(const char *p, const char *end)
{
  int depth = 0;
  while (p + 1 < end) {
    if (p[0] == '{' && p[1] == '{') {
      depth++;
      p += 2;
    } else if (p[0] == '}' && p[1] == '}') {
      if (--depth == 0) return p;
      p += 2;
    } else {
      p++;
    }
  }
  return NULL;
}

/* The next top-level occurrence of c in [p, end) (outside nested placeholders), or end. */
static const char *top_level(const char *p, const char *end, char c)
{
  while (p < end) {
    if (p + 1 < end && p[0] == '{' && p[1] == '{') {
      const char *q = closing(p, end);
      if (!q) return end;
      p = q + 2;
    } else if (*p == c) {
      return p;
    } else {
      p++;
    }
  }
  return end;
}

typedef struct {
  char name[128];
  size_t nidx;
  char idx[MAXIDX][24]; /* digits, or one lower-case loop letter */
} keyref;

/* Parse the key of a placeholder, [p, end) (the text before ':' or '|'). 0, or -1 when it is not a key. */
static int parse_key(const char *p, const char *end, keyref *k)
{
  memset(k, 0, sizeof *k);
  size_t n = 0;
  if (p == end || !(isalpha((unsigned char)*p) || *p == '_')) return -1;
  while (p < end && (isalnum((unsigned char)*p) || *p == '_')) {
    if (n + 1 >= sizeof k->name) return -1;
    k->name[n++] = *p++;
  }
  while (p < end && *p == '[') {
    if (k->nidx == MAXIDX) return -1;
    p++;
    size_t m = 0;
    while (p < end && *p != ']') {
      if (m + 1 >= sizeof k->idx[0] || !(isdigit((unsigned char)*p) || islower((unsigned char)*p))) return -1;
      k->idx[k->nidx][m++] = *p++;
    }
    if (p == end || m == 0 || (islower((unsigned char)k->idx[k->nidx][0]) && m != 1)) return -1;
    for (size_t j = 1; j < m && isdigit((unsigned char)k->idx[k->nidx][0]); j++)
      if (!isdigit((unsigned char)k->idx[k->nidx][j])) return -1;
    k->nidx++;
    p++;
  }
  return p == end ? 0 : -1;
}

/* The value of index j of k: its number, the value of its loop variable, or `unbound` for a loop variable
 * outside its loop (-1: an error). */
static long index_value(const fill_ctx *c, const keyref *k, size_t j, long unbound)
{
  const char *s = k->idx[j];
  if (islower((unsigned char)s[0])) {
    long v = c->var[s[0] - 'a'];
    return v >= 0 ? v : unbound;
  }
  return strtol(s, NULL, 10);
}

/* The entry name of k with its first m indices (values given), e.g. "x[2]". 0, or -1 when too long. */
static int entry_name(char *buf, size_t n, const keyref *k, size_t m, const long *idx)
{
  size_t len = (size_t)snprintf(buf, n, "%s", k->name);
  for (size_t j = 0; j < m && len < n; j++)
    len += (size_t)snprintf(buf + len, n - len, "[%ld]", idx[j]);
  return len < n ? 0 : -1;
}

/* Resolve a placeholder's key to its value text. */
static int lookup(const fill_ctx *c, const char *p, const char *end, const char **val)
{
  keyref k;
  const int len = (int)(end - p);
  if (parse_key(p, end, &k))
    DPM_ERROR(GSL_EINVAL, "%s:%zu: bad placeholder {{%.*s}} (a name, then indices [N] or [i]..[z])", c->file,
              c->line, len, p);
  long idx[MAXIDX];
  for (size_t j = 0; j < k.nidx; j++)
    if ((idx[j] = index_value(c, &k, j, -1)) < 0)
      DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: index '%s' outside a loop over it", c->file, c->line,
                len, p, k.idx[j]);
  char name[256];
  const size_t m = k.nidx ? k.nidx - 1 : 0;
  if (entry_name(name, sizeof name, &k, m, idx))
    DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: key too long", c->file, c->line, len, p);
  const entry *e = find(c->v, name);
  if (!e)
    DPM_ERROR(GSL_EINVAL, "%s:%zu: unknown placeholder {{%.*s}}: no '%s' in %s", c->file, c->line, len, p, name,
              c->v->path);
  if (k.nidx == 0 && e->n != 1)
    DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: '%s' holds %zu values, give an index", c->file, c->line,
              len, p, name, e->n);
  const size_t at = k.nidx ? (size_t)idx[k.nidx - 1] : 0;
  if (at >= e->n)
    DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: missing value, '%s' has %zu values (no index %zu) in %s",
              c->file, c->line, len, p, name, e->n, at, c->v->path);
  *val = e->val[at];
  return DPM_SUCCESS;
}

/* A printf format for one double: literal text with exactly one conversion %[-+ #0]*[0-9]*(.[0-9]*)?[eEfFgGaA]
 * ("%%" allowed). */
static int format_ok(const char *f)
{
  int conv = 0;
  for (const char *p = f; *p; p++) {
    if (*p != '%') continue;
    if (p[1] == '%') {
      p++;
      continue;
    }
    p++;
    while (*p && strchr("-+ #0", *p))
      p++;
    while (isdigit((unsigned char)*p))
      p++;
    if (*p == '.') {
      p++;
      while (isdigit((unsigned char)*p))
        p++;
    }
    if (!*p || !strchr("eEfFgGaA", *p)) return 0;
    conv++;
  }
  return conv == 1;
}

static int fill(fill_ctx *c, const char *p, const char *end, sbuf *out);

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
static int format_number(const char *fmt, double x, char *buf, size_t n)
{
  int k = snprintf(buf, n, fmt, x);
  return k < 0 || (size_t)k >= n ? -1 : 0;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* One placeholder, the text between "{{" and "}}": key[:format[|inf text[|nan text]]]. */
static int placeholder(fill_ctx *c, const char *p, const char *end, sbuf *out)
{
  const char *colon = top_level(p, end, ':'), *bar = top_level(p, end, '|');
  const char *kend = colon < bar ? colon : bar;
  const char *val = NULL;
  int st = lookup(c, p, kend, &val);
  if (st) return st;
  if (colon >= bar) {
    if (bar != end)
      DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: alternatives need a format", c->file, c->line,
                (int)(end - p), p);
    return sb_add(out, val, strlen(val));
  }
  char fmt[64];
  const size_t flen = (size_t)(bar - colon - 1);
  if (flen >= sizeof fmt) DPM_ERROR(GSL_EINVAL, "%s:%zu: format too long", c->file, c->line);
  memcpy(fmt, colon + 1, flen);
  fmt[flen] = '\0';
  if (!format_ok(fmt))
    DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: '%s' is not a format for one number", c->file, c->line,
              (int)(end - p), p, fmt);
  char *stop;
  errno = 0;
  double x = strtod(val, &stop);
  if (stop == val || *stop)
    DPM_ERROR(GSL_EINVAL, "%s:%zu: placeholder {{%.*s}}: value '%s' is not a number", c->file, c->line,
              (int)(end - p), p, val);
  if (isfinite(x)) {
    char buf[512];
    if (format_number(fmt, x, buf, sizeof buf))
      DPM_ERROR(GSL_EINVAL, "%s:%zu: format '%s' failed", c->file, c->line, fmt);
    return sb_add(out, buf, strlen(buf));
  }
  /* not finite: the alternative text, else a sign */
  const char *inf = bar < end ? bar + 1 : end, *inf_end = top_level(inf, end, '|');
  const char *nan_text = inf_end < end ? inf_end + 1 : end, *nan_end = top_level(nan_text, end, '|');
  if (isinf(x)) {
    if (bar < end) return fill(c, inf, inf_end, out);
    return sb_add(out, x > 0 ? "∞" : "−∞", strlen(x > 0 ? "∞" : "−∞"));
  }
  if (inf_end < end) return fill(c, nan_text, nan_end, out);
  return sb_add(out, "—", strlen("—"));
}

/* The common length of the lists that loop variable `var` runs over in [p, end): for each placeholder whose key
 * has the index var, the number of values (var the last index) or of rows (var an earlier one), other unbound
 * loop variables taken as 0. *n = 0 and *found = 0 when no key uses var. */
static int loop_length(const fill_ctx *c, const char *p, const char *end, char var, size_t *n, int *found)
{
  *found = 0;
  *n = 0;
  for (const char *q = p; q + 1 < end; q++) {
    if (!(q[0] == '{' && q[1] == '{')) continue;
    const char *a = q + 2, *b = a;
    while (b < end && (isalnum((unsigned char)*b) || *b == '_' || *b == '[' || *b == ']'))
      b++;
    keyref k;
    if (parse_key(a, b, &k)) continue;
    for (size_t j = 0; j < k.nidx; j++) {
      if (!(k.idx[j][0] == var && k.idx[j][1] == '\0')) continue;
      long idx[MAXIDX];
      for (size_t i = 0; i < k.nidx; i++)
        idx[i] = i == j ? 0 : index_value(c, &k, i, 0);
      char name[256];
      size_t len = 0;
      if (j + 1 == k.nidx) {
        if (entry_name(name, sizeof name, &k, j, idx)) continue;
        const entry *e = find(c->v, name);
        if (!e)
          DPM_ERROR(GSL_EINVAL, "%s:%zu: unknown placeholder {{%.*s}}: no '%s' in %s", c->file, c->line,
                    (int)(b - a), a, name, c->v->path);
        len = e->n;
      } else {
        for (;; len++) {
          idx[j] = (long)len;
          if (entry_name(name, sizeof name, &k, k.nidx - 1, idx) || !find(c->v, name)) break;
        }
        if (len == 0)
          DPM_ERROR(GSL_EINVAL, "%s:%zu: unknown placeholder {{%.*s}}: no '%s' in %s", c->file, c->line,
                    (int)(b - a), a, name, c->v->path);
      }
      if (*found && len != *n)
        DPM_ERROR(GSL_EINVAL, "%s:%zu: the lists of the loop over '%c' differ in length (%zu and %zu; {{%.*s}})",
                  c->file, c->line, var, *n, len, (int)(b - a), a);
      *n = len;
      *found = 1;
    }
  }
  return DPM_SUCCESS;
}

/* Fill [p, end) (within one line) into out: placeholders and column loops {{each j}}...{{end}}. */
static int fill(fill_ctx *c, const char *p, const char *end, sbuf *out)
{
  int st = DPM_SUCCESS;
  while (p < end && !st) {
    const char *open = p;
    while (open + 1 < end && !(open[0] == '{' && open[1] == '{'))
      open++;
    if (open + 1 >= end) return sb_add(out, p, (size_t)(end - p));
    if ((st = sb_add(out, p, (size_t)(open - p)))) return st;
    const char *close = closing(open, end);
    if (!close) DPM_ERROR(GSL_EINVAL, "%s:%zu: '{{' without its '}}'", c->file, c->line);
    const char *in = open + 2;
    if (close - in == 6 && strncmp(in, "each ", 5) == 0 && islower((unsigned char)in[5]) && in[5] != 'i') {
      const char var = in[5];
      static const char END[] = "{{end}}";
      const char *body = close + 2, *stop = body;
      while (stop < end && strncmp(stop, END, sizeof END - 1) != 0)
        stop++;
      if (stop >= end) DPM_ERROR(GSL_EINVAL, "%s:%zu: {{each %c}} without its {{end}}", c->file, c->line, var);
      if (c->var[var - 'a'] >= 0) DPM_ERROR(GSL_EINVAL, "%s:%zu: nested loops over '%c'", c->file, c->line, var);
      size_t n;
      int found;
      if ((st = loop_length(c, body, stop, var, &n, &found))) return st;
      if (!found)
        DPM_ERROR(GSL_EINVAL, "%s:%zu: {{each %c}} over no list indexed [%c]", c->file, c->line, var, var);
      for (size_t k = 0; k < n && !st; k++) {
        c->var[var - 'a'] = (long)k;
        st = fill(c, body, stop, out);
      }
      c->var[var - 'a'] = -1;
      p = stop + sizeof END - 1;
    } else if (close - in == 3 && strncmp(in, "end", 3) == 0) {
      DPM_ERROR(GSL_EINVAL, "%s:%zu: {{end}} without its {{each}}", c->file, c->line);
    } else {
      st = placeholder(c, in, close, out);
      p = close + 2;
    }
  }
  return st;
}

char *dpm_notebook_fill(const char *text, const dpm_notebook_values *v, const char *file, size_t line)
{
  if (!text || !v) DPM_ERROR_NULL(GSL_EINVAL, "template: NULL text or values");
  fill_ctx c = {.v = v, .file = file ? file : "template", .line = line};
  for (size_t k = 0; k < NVAR; k++)
    c.var[k] = -1;
  sbuf out = {0};
  int st = sb_add(&out, "", 0);
  const char *p = text;
  while (*p && !st) {
    const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
    /* a line whose keys use the index [i] is repeated for every row */
    size_t n;
    int found;
    st = loop_length(&c, p, end, 'i', &n, &found);
    for (size_t k = 0; k < (found ? n : 1) && !st; k++) {
      c.var['i' - 'a'] = found ? (long)k : -1;
      st = fill(&c, p, end, &out);
      if (!st && (nl || (found && k + 1 < n))) st = sb_add(&out, "\n", 1);
    }
    c.var['i' - 'a'] = -1;
    p = nl ? nl + 1 : end;
    c.line++;
  }
  if (st) {
    free(out.s);
    return NULL;
  }
  return out.s;
}

/* ---- the template file ------------------------------------------------------------------------------------- */

typedef struct {
  int directive; /* 0: markdown text; 1: a directive */
  size_t line;   /* first line in the template */
  char *text;    /* markdown text, or the directive's name and arguments */
} block;

static void blocks_free(block *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(b[i].text);
  free(b);
}

/* "<!-- ... -->" alone on a line (spaces around allowed): the text inside, trimmed, in buf; 1, else 0. */
static int directive_line(const char *p, const char *end, char *buf, size_t n)
{
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  if (end - p < 7 || strncmp(p, "<!--", 4) != 0 || strncmp(end - 3, "-->", 3) != 0) return 0;
  p += 4;
  end -= 3;
  while (p < end && *p == ' ')
    p++;
  while (end > p && end[-1] == ' ')
    end--;
  if ((size_t)(end - p) >= n) return 0;
  memcpy(buf, p, (size_t)(end - p));
  buf[end - p] = '\0';
  return 1;
}

/* Split the template into markdown blocks and directives. */
static int split_blocks(const char *path, const char *text, block **out, size_t *nout)
{
  block *b = NULL;
  size_t n = 0, cap = 0, line = 1, md_line = 1;
  sbuf md = {0};
  char dir[4096];
  int st = sb_add(&md, "", 0);
  for (const char *p = text; !st;) {
    const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
    int is_dir = directive_line(p, end, dir, sizeof dir);
    int last = !nl;
    if (is_dir || last) {
      if (!is_dir && end > p) st = sb_add(&md, p, (size_t)(end - p));
      for (int k = 0; k < 1 + is_dir && !st; k++) {
        if (n + 2 > cap) {
          cap = 2 * cap + 16;
          block *nb = realloc(b, cap * sizeof *b);
          if (!nb) {
            st = DPM_RAISE(GSL_ENOMEM, "template: out of memory");
            break;
          }
          b = nb;
        }
        if (k == 0) {
          b[n] = (block){0, md_line, md.s};
          md = (sbuf){0};
          st = sb_add(&md, "", 0);
        } else {
          b[n] = (block){1, line, strdup(dir)};
          if (!b[n].text) st = DPM_RAISE(GSL_ENOMEM, "template: out of memory");
        }
        n++;
      }
      md_line = line + 1;
    } else {
      st = sb_add(&md, p, (size_t)(end - p) + 1);
    }
    if (last) break;
    p = nl + 1;
    line++;
  }
  free(md.s);
  (void)path;
  if (st) {
    blocks_free(b, n);
    return st;
  }
  *out = b;
  *nout = n;
  return DPM_SUCCESS;
}

/* Read a whole text file. */
static char *read_text(const char *path)
{
  FILE *fp = fopen(path, "r");
  if (!fp) DPM_ERROR_NULL(GSL_EFAILED, "cannot open template '%s': %s", path, strerror(errno));
  sbuf b = {0};
  char buf[4096];
  size_t k;
  int st = sb_add(&b, "", 0);
  while (!st && (k = fread(buf, 1, sizeof buf, fp)) > 0)
    st = sb_add(&b, buf, k);
  if (!st && ferror(fp)) st = DPM_RAISE(GSL_EFAILED, "read error on '%s'", path);
  fclose(fp);
  if (!st && strlen(b.s) != b.len) st = DPM_RAISE(GSL_EINVAL, "%s: NUL byte in the template", path);
  if (st) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

/* text with its leading and trailing blank lines removed (in place); NULL when nothing else is left */
static char *trim_blank(char *s)
{
  char *p = s;
  for (char *q = s; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'; q++)
    if (*q == '\n') p = q + 1;
  size_t n = strlen(p);
  while (n && (p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
    n--;
  p[n] = '\0';
  return n ? p : NULL;
}

int dpm_notebook_template(dpm_notebook *nb, const char *path, const dpm_notebook_values *v,
                          dpm_notebook_directive_fn *fn, void *arg)
{
  if (!nb || !path || !v) DPM_ERROR(GSL_EINVAL, "template: NULL notebook, path or values");
  char *text = read_text(path);
  if (!text) return GSL_EFAILED;
  block *b = NULL;
  size_t n = 0;
  int st = split_blocks(path, text, &b, &n);
  free(text);
  if (st) return st;
  /* fill every block first: every placeholder is checked before a cell is written */
  char **filled = calloc(n ? n : 1, sizeof *filled);
  if (!filled) st = DPM_RAISE(GSL_ENOMEM, "template: out of memory");
  for (size_t i = 0; i < n && !st; i++)
    if (!(filled[i] = dpm_notebook_fill(b[i].text, v, path, b[i].line))) st = GSL_EINVAL;
  for (size_t i = 0; i < n && !st; i++) {
    if (!b[i].directive) {
      char *md = trim_blank(filled[i]);
      if (md) st = dpm_notebook_markdown(nb, "%s", md);
      continue;
    }
    char *name = filled[i], *args = name + strcspn(name, " ");
    if (*args) *args++ = '\0';
    if (name[0] == '#' || strcmp(name, "cell") == 0) continue; /* a comment; a cell break */
    char *next = i + 1 < n && !b[i + 1].directive ? trim_blank(filled[i + 1]) : NULL;
    int used = 0;
    if (!fn) {
      st = DPM_RAISE(GSL_EINVAL, "%s:%zu: directive '%s' but no handler", path, b[i].line, name);
      break;
    }
    st = fn(arg, nb, name, args, next, &used);
    if (st) {
      dpm_error_context("%s:%zu: <!-- %s -->", path, b[i].line, name);
    } else if (used && i + 1 < n && !b[i + 1].directive) {
      i++;
    }
  }
  for (size_t i = 0; i < n; i++)
    free(filled ? filled[i] : NULL);
  free(filled);
  blocks_free(b, n);
  return st;
}
