/* notebook.c — Jupyter notebooks in nbformat 4.4 (the JSON schema of nbformat's v4/nbformat.v4.4.schema.json)
 * written through jansson: markdown cells, code cells with stream or display_data (PNG, RFC 4648 base64) outputs,
 * markdown tables, written atomically. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "dpm_common.h"
#include "dpm_io.h"
#include "dpm_notebook.h"

struct dpm_notebook {
  json_t *root;  /* {"cells": [...], "metadata": {...}, "nbformat": 4, "nbformat_minor": 4} */
  json_t *cells; /* borrowed from root */
};

/* ---- base64 (RFC 4648 §4, with padding, no line breaks) ---------------------------------------------------- */

char *dpm_notebook_base64_encode(const unsigned char *data, size_t n)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (n > (((size_t)-1) / 4) * 3 - 3) DPM_ERROR_NULL(GSL_ENOMEM, "base64: input of %zu bytes too large", n);
  size_t len = 4 * ((n + 2) / 3);
  char *out = dpm_malloc(len + 1);
  if (!out) return NULL;
  if (n && !data) {
    free(out);
    DPM_ERROR_NULL(GSL_EINVAL, "base64: NULL data of length %zu", n);
  }
  size_t i = 0, j = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned long v = ((unsigned long)data[i] << 16) | ((unsigned long)data[i + 1] << 8) | data[i + 2];
    out[j++] = alphabet[(v >> 18) & 63];
    out[j++] = alphabet[(v >> 12) & 63];
    out[j++] = alphabet[(v >> 6) & 63];
    out[j++] = alphabet[v & 63];
  }
  if (n - i == 1) {
    unsigned long v = (unsigned long)data[i] << 16;
    out[j++] = alphabet[(v >> 18) & 63];
    out[j++] = alphabet[(v >> 12) & 63];
    out[j++] = '=';
    out[j++] = '=';
  } else if (n - i == 2) {
    unsigned long v = ((unsigned long)data[i] << 16) | ((unsigned long)data[i + 1] << 8);
    out[j++] = alphabet[(v >> 18) & 63];
    out[j++] = alphabet[(v >> 12) & 63];
    out[j++] = alphabet[(v >> 6) & 63];
    out[j++] = '=';
  }
  out[j] = '\0';
  return out;
}

/* ---- building blocks ------------------------------------------------------------------------------------- */

/* nbformat's "multiline string": a list of lines, each keeping its '\n' except possibly the last. NULL on
 * ENOMEM. */
static json_t *multiline(const char *text)
{
  json_t *list = json_array();
  if (!list) return NULL;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
    if (json_array_append_new(list, json_stringn(p, n)) != 0) {
      json_decref(list);
      return NULL;
    }
    p += n;
  }
  return list;
}

static int append_cell(dpm_notebook *nb, json_t *cell)
{
  if (!cell || json_array_append_new(nb->cells, cell) != 0) DPM_ERROR(GSL_ENOMEM, "notebook: out of memory");
  return DPM_SUCCESS;
}

static json_t *markdown_cell(const char *text)
{
  return json_pack("{s:s, s:{}, s:o}", "cell_type", "markdown", "metadata", "source", multiline(text));
}

static json_t *code_cell(const char *source, json_t *outputs)
{
  if (!outputs) return NULL;
  return json_pack("{s:s, s:n, s:{}, s:o, s:o}", "cell_type", "code", "execution_count", "metadata", "outputs",
                   outputs, "source", multiline(source));
}

/* the text of a printf-style format; NULL (ENOMEM raised) on failure */
static char *vformat(const char *fmt, va_list ap)
{
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  if (n < 0) DPM_ERROR_NULL(GSL_EINVAL, "notebook: bad format '%s'", fmt);
  char *s = dpm_malloc((size_t)n + 1);
  if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

/* ---- public ---------------------------------------------------------------------------------------------- */

dpm_notebook *dpm_notebook_alloc(void)
{
  dpm_notebook *nb = dpm_calloc(1, sizeof *nb);
  if (!nb) return NULL;
  nb->root = json_pack(
      "{s:[], s:{s:{s:s, s:s, s:s}, s:{s:{s:s, s:i}, s:s, s:s, s:s, s:s, s:s}, s:{s:s}}, s:i, s:i}", "cells",
      "metadata", "kernelspec", "display_name", "Python 3", "language", "python", "name", "python3",
      "language_info", "codemirror_mode", "name", "ipython", "version", 3, "file_extension", ".py", "mimetype",
      "text/x-python", "name", "python", "nbconvert_exporter", "python", "pygments_lexer", "ipython3", "dpmlab",
      "version", DPM_VERSION, "nbformat", 4, "nbformat_minor", 4);
  if (!nb->root) {
    free(nb);
    DPM_ERROR_NULL(GSL_ENOMEM, "notebook: out of memory");
  }
  nb->cells = json_object_get(nb->root, "cells");
  return nb;
}

void dpm_notebook_free(dpm_notebook *nb)
{
  if (!nb) return;
  json_decref(nb->root);
  free(nb);
}

int dpm_notebook_markdown(dpm_notebook *nb, const char *fmt, ...)
{
  if (!nb || !fmt) DPM_ERROR(GSL_EINVAL, "notebook: NULL notebook or text");
  va_list ap;
  va_start(ap, fmt);
  char *text = vformat(fmt, ap);
  va_end(ap);
  if (!text) return GSL_ENOMEM;
  int status = append_cell(nb, markdown_cell(text));
  free(text);
  return status;
}

int dpm_notebook_command(dpm_notebook *nb, const char *command, const char *output)
{
  if (!nb || !command) DPM_ERROR(GSL_EINVAL, "notebook: NULL notebook or command");
  size_t n = strlen(command);
  char *source = dpm_malloc(n + 2);
  if (!source) return GSL_ENOMEM;
  source[0] = '!'; /* IPython's shell escape: the cell runs the command as written */
  memcpy(source + 1, command, n + 1);
  json_t *outputs = json_array();
  if (outputs && output && *output) {
    json_t *stream =
        json_pack("{s:s, s:s, s:o}", "output_type", "stream", "name", "stdout", "text", multiline(output));
    if (!stream || json_array_append_new(outputs, stream) != 0) {
      json_decref(outputs);
      outputs = NULL;
    }
  }
  int status = append_cell(nb, code_cell(source, outputs));
  free(source);
  return status;
}

int dpm_notebook_table(dpm_notebook *nb, size_t ncols, const char *const *names, size_t nrows, const double *v,
                       int digits)
{
  if (!nb || !names || (nrows && !v)) DPM_ERROR(GSL_EINVAL, "notebook table: NULL argument");
  if (ncols == 0) DPM_ERROR(GSL_EINVAL, "notebook table: no columns");
  if (digits < 1 || digits > 17) DPM_ERROR(GSL_EINVAL, "notebook table: digits %d outside 1..17", digits);
  for (size_t j = 0; j < ncols; j++)
    if (!names[j]) DPM_ERROR(GSL_EINVAL, "notebook table: column %zu has no name", j);
  /* every cell fits in 32 bytes ("%.17g" is at most 24); names are measured */
  size_t cap = 16 + (nrows + 1) * (ncols * 40 + 4);
  for (size_t j = 0; j < ncols; j++)
    cap += strlen(names[j]) + 4;
  char *text = dpm_malloc(cap);
  if (!text) return GSL_ENOMEM;
  size_t len = 0;
#define APPEND(...) len += (size_t)snprintf(text + len, cap - len, __VA_ARGS__)
  for (size_t j = 0; j < ncols; j++)
    APPEND("| %s ", names[j]);
  APPEND("|\n");
  for (size_t j = 0; j < ncols; j++)
    APPEND("| ---: ");
  APPEND("|\n");
  for (size_t i = 0; i < nrows; i++) {
    for (size_t j = 0; j < ncols; j++)
      APPEND("| %.*g ", digits, v[i * ncols + j]);
    APPEND("|\n");
  }
#undef APPEND
  int status = append_cell(nb, markdown_cell(text));
  free(text);
  return status;
}

/* Read a whole file that must be a PNG (its 8-byte signature checked); *data malloc'd. */
static int read_png(const char *path, unsigned char **data, size_t *n)
{
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  FILE *fp = fopen(path, "rb");
  if (!fp) DPM_ERROR(GSL_EFAILED, "notebook figure: cannot open '%s': %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  unsigned char *buf = dpm_malloc(cap);
  if (!buf) {
    fclose(fp);
    return GSL_ENOMEM;
  }
  for (;;) {
    size_t k = fread(buf + len, 1, cap - len, fp);
    len += k;
    if (len < cap) break;
    unsigned char *nbuf = realloc(buf, cap *= 2);
    if (!nbuf) {
      free(buf);
      fclose(fp);
      DPM_ERROR(GSL_ENOMEM, "notebook figure: '%s' too large to hold in memory", path);
    }
    buf = nbuf;
  }
  int bad = ferror(fp);
  fclose(fp);
  if (bad) {
    free(buf);
    DPM_ERROR(GSL_EFAILED, "notebook figure: read error on '%s'", path);
  }
  if (len < sizeof signature || memcmp(buf, signature, sizeof signature) != 0) {
    free(buf);
    DPM_ERROR(GSL_EFAILED, "notebook figure: '%s' is not a PNG file (%zu bytes, no PNG signature)", path, len);
  }
  *data = buf;
  *n = len;
  return DPM_SUCCESS;
}

int dpm_notebook_code(dpm_notebook *nb, const char *source)
{
  if (!nb || !source) DPM_ERROR(GSL_EINVAL, "notebook: NULL notebook or code");
  return append_cell(nb, code_cell(source, json_array()));
}

int dpm_notebook_figure(dpm_notebook *nb, const char *png_path, const char *caption)
{
  return dpm_notebook_figure_code(nb, png_path, NULL, caption);
}

int dpm_notebook_figure_code(dpm_notebook *nb, const char *png_path, const char *source, const char *caption)
{
  if (!nb || !png_path) DPM_ERROR(GSL_EINVAL, "notebook figure: NULL notebook or path");
  unsigned char *png = NULL;
  size_t n = 0;
  int status = read_png(png_path, &png, &n);
  if (status != DPM_SUCCESS) return status;
  char *b64 = dpm_notebook_base64_encode(png, n);
  free(png);
  if (!b64) return GSL_ENOMEM;

  const char *what = caption && *caption ? caption : png_path;
  char *plain = dpm_malloc(strlen(what) + 16);
  if (!plain) {
    free(b64);
    return GSL_ENOMEM;
  }
  snprintf(plain, strlen(what) + 16, "<Figure: %s>", what);
  json_t *outputs = json_pack("[{s:s, s:{s:s, s:s}, s:{}}]", "output_type", "display_data", "data", "image/png",
                              b64, "text/plain", plain, "metadata");
  free(b64);
  free(plain);
  /* Without a given source, the source (code that shows the figure again) is written by dpm_notebook_write, which
   * knows where the notebook goes and so the figure's path relative to it; the path is kept in the metadata. */
  json_t *cell = code_cell(source ? source : "", outputs);
  if (cell && !source &&
      json_object_set_new(json_object_get(cell, "metadata"), "dpmlab", json_pack("{s:s}", "figure", png_path)) !=
          0) {
    json_decref(cell);
    cell = NULL;
  }
  status = append_cell(nb, cell);
  if (status == DPM_SUCCESS && caption && *caption) status = append_cell(nb, markdown_cell(caption));
  return status;
}

/* Split a path into components (no empty ones, no "."); returns the count, or -1 when there are more than max
 * or a ".." (which cannot be resolved without the file system). */
static int split_path(char *path, char **comp, int max)
{
  int n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
    if (strcmp(tok, ".") == 0) continue;
    if (strcmp(tok, "..") == 0 || n == max) return -1;
    comp[n++] = tok;
  }
  return n;
}

/* The path of `target` (absolute or relative to the working directory) as seen from the folder holding the file
 * `from`: the shortest "../../x/y" form. Falls back to target as given (made absolute when relative) when a ".."
 * makes the relation unknowable. NULL on ENOMEM. */
static char *path_from(const char *from, const char *target)
{
  enum { MAXC = 128 };
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
  size_t nf = strlen(cwd) + strlen(from) + 2, nt = strlen(cwd) + strlen(target) + 2;
  char *f = dpm_malloc(nf), *t = dpm_malloc(nt), *out = NULL;
  char *fc[MAXC], *tc[MAXC];
  if (!f || !t) goto done;
  /* both absolute (relative ones against the working directory) */
  snprintf(f, nf, "%s%s%s", from[0] == '/' ? "" : cwd, from[0] == '/' ? "" : "/", from);
  snprintf(t, nt, "%s%s%s", target[0] == '/' ? "" : cwd, target[0] == '/' ? "" : "/", target);
  int kf = split_path(f, fc, MAXC), kt = split_path(t, tc, MAXC);
  if (kf < 1 || kt < 1 || !cwd[0]) {
    out = dpm_malloc(strlen(target) + strlen(cwd) + 2);
    if (out)
      snprintf(out, strlen(target) + strlen(cwd) + 2, "%s%s%s", target[0] == '/' || !cwd[0] ? "" : cwd,
               target[0] == '/' || !cwd[0] ? "" : "/", target);
    goto done;
  }
  kf--; /* the folder of `from` */
  int common = 0;
  while (common < kf && common < kt - 1 && strcmp(fc[common], tc[common]) == 0)
    common++;
  size_t len = 1;
  for (int i = common; i < kf; i++)
    len += 3;
  for (int i = common; i < kt; i++)
    len += strlen(tc[i]) + 1;
  out = dpm_malloc(len);
  if (!out) goto done;
  out[0] = '\0';
  for (int i = common; i < kf; i++)
    strcat(out, "../");
  for (int i = common; i < kt; i++) {
    strcat(out, tc[i]);
    if (i + 1 < kt) strcat(out, "/");
  }
done:
  free(f);
  free(t);
  return out;
}

/* Give every figure cell its source: Python that shows the PNG again, by its path relative to the notebook. */
static int figure_sources(const dpm_notebook *nb, const char *nb_path)
{
  size_t i;
  json_t *cell;
  json_array_foreach(nb->cells, i, cell)
  {
    const char *png =
        json_string_value(json_object_get(json_object_get(json_object_get(cell, "metadata"), "dpmlab"), "figure"));
    if (!png) continue;
    char *rel = path_from(nb_path, png);
    if (!rel) DPM_ERROR(GSL_ENOMEM, "notebook: out of memory");
    size_t n = strlen(rel) + 80;
    char *source = dpm_malloc(n);
    if (!source) {
      free(rel);
      return GSL_ENOMEM;
    }
    snprintf(source, n, "from IPython.display import Image\nImage(filename=\"%s\")", rel);
    free(rel);
    json_t *lines = multiline(source);
    free(source);
    if (!lines || json_object_set_new(cell, "source", lines) != 0)
      DPM_ERROR(GSL_ENOMEM, "notebook: out of memory");
  }
  return DPM_SUCCESS;
}

int dpm_notebook_write(const dpm_notebook *nb, const char *path)
{
  if (!nb || !path || !*path || strcmp(path, "-") == 0)
    DPM_ERROR(GSL_EINVAL, "notebook: a notebook and an output file path are needed");
  int status = figure_sources(nb, path);
  if (status != DPM_SUCCESS) return status;
  dpm_out *out = dpm_out_open(path);
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  /* Jupyter's own layout: one-space indent, sorted keys, UTF-8 as is, final newline */
  int bad = json_dumpf(nb->root, fp, JSON_INDENT(1) | JSON_SORT_KEYS) != 0;
  if (!bad) bad = fputc('\n', fp) == EOF;
  status = dpm_out_close(out, !bad);
  if (bad && status == DPM_SUCCESS) DPM_ERROR(GSL_EFAILED, "notebook: cannot write '%s'", path);
  return status;
}
