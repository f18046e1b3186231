/* dpm_notebook.h — Jupyter notebooks (nbformat 4.4) narrating a demo: markdown cells with the theorem in LaTeX,
 * code cells with the exact command, tables, and figures embedded as PNG. Written through jansson. */
#ifndef DPM_NOTEBOOK_H
#define DPM_NOTEBOOK_H

#include <stddef.h>

typedef struct dpm_notebook dpm_notebook;

dpm_notebook *dpm_notebook_alloc(void);   /* NULL on ENOMEM */
void dpm_notebook_free(dpm_notebook *nb); /* NULL is a no-op */

/* A markdown cell (printf-style). */
int dpm_notebook_markdown(dpm_notebook *nb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A code cell holding a shell command (shown as `!command`), with its text output when output != NULL. */
int dpm_notebook_command(dpm_notebook *nb, const char *command, const char *output);
/* A markdown table: ncols column names, nrows rows of numbers printed with %.*g at `digits` significant digits. */
int dpm_notebook_table(dpm_notebook *nb, size_t ncols, const char *const *names, size_t nrows, const double *v,
                       int digits);
/* A code cell whose output is the PNG file at png_path (base64-embedded), with a caption as a markdown cell
 * after it. Error when the file cannot be read or is not a PNG (no PNG signature); the notebook is unchanged
 * then. The cell's source shows the figure again from the notebook's directory (path fixed at write time). */
int dpm_notebook_figure(dpm_notebook *nb, const char *png_path, const char *caption);
/* A Python code cell with the given source and no output (the cell is run by Jupyter, not at write time). */
int dpm_notebook_code(dpm_notebook *nb, const char *source);
/* Like dpm_notebook_figure, but the cell's source is the given Python (the code that shows the figure again
 * when the notebook is run, e.g. from a folder only known at run time) instead of a path fixed at write time. */
int dpm_notebook_figure_code(dpm_notebook *nb, const char *png_path, const char *source, const char *caption);
/* Write the notebook (atomically: a temporary file renamed into place, nothing left on error) to path. */
int dpm_notebook_write(const dpm_notebook *nb, const char *path);

/* ---- notebooks from a prose template and a values file ------------------------------------------------------
 *
 * A values file holds the numbers a program computed, one entry a line: KEY<TAB>VALUE[<TAB>VALUE...], KEY a name
 * [A-Za-z_][A-Za-z0-9_]* optionally followed by indices [N] (the rows of a table: "x[0]", "x[1]", ...); lines
 * starting with '#' and blank lines are skipped. A template is markdown in which
 *   {{key}}                  is the value as written (a key with one value),
 *   {{key:FMT}}              the value as a number printed with FMT, a printf format with one conversion of a
 * double
 *                            (%.4f, %.3g, %.1f×, ...); ±inf prints as ∞ / −∞, NaN as —, unless
 *   {{key:FMT|INF|NAN}}      gives the texts for ±inf and for NaN (they may hold placeholders themselves),
 *   {{x[3]}}, {{x[2][3]}}    index a list (value 3 of "x"; value 3 of "x[2]"),
 *   [i]                      as an index repeats the whole line for every row (i = 0, 1, ... over the common
 *                            length of the lists it indexes),
 *   {{each j}}...{{end}}     repeats the text between, within one line, for j over the lists it indexes ([j]; any
 *                            letter but i);
 * and a line that is only <!-- NAME ARGS --> is a directive: "cell" ends the markdown cell, "# ..." is a comment,
 * and any other name is passed to the program's handler (after its placeholders are filled). Markdown between
 * directives is one cell; blank lines around it are dropped. An unknown key or index, a missing value, a bad
 * format: GSL_EINVAL with the one-line reason "TEMPLATE:LINE: unknown placeholder {{KEY}}: ..." (or "missing
 * value", "is not a number", ...). */
typedef struct dpm_notebook_values dpm_notebook_values;

/* Read a values file (path). NULL with the reason "PATH:LINE: ..." on a malformed line (no tab, bad or repeated
 * key) or when the file cannot be read. */
dpm_notebook_values *dpm_notebook_values_read(const char *path);
void dpm_notebook_values_free(dpm_notebook_values *v); /* NULL is a no-op */
/* Value k of key (the entry named exactly key, e.g. "x[2]"), or NULL when there is none. */
const char *dpm_notebook_values_get(const dpm_notebook_values *v, const char *key, size_t k);

/* Fill the placeholders of text (lines numbered from `line` in `file` for the messages): a new string the caller
 * frees, or NULL with the reason set (GSL_EINVAL: unknown placeholder, missing value, bad format; GSL_ENOMEM). */
char *dpm_notebook_fill(const char *text, const dpm_notebook_values *v, const char *file, size_t line);

/* The handler of a directive <!-- name args --> (args filled, "" when none). `next` is the filled markdown of the
 * block right after the directive (NULL when there is none): a handler that uses it (a figure's caption) sets
 * *used_next = 1 and the block is not written again. Returns a status. */
typedef int dpm_notebook_directive_fn(void *arg, dpm_notebook *nb, const char *name, const char *args,
                                      const char *next, int *used_next);

/* Append the cells of the template file at path, filled from v, to nb; directives go to fn(arg, ...). Every
 * placeholder is filled before the first cell is appended, so a bad template leaves nb unchanged. Status; the
 * reason names the template file and line. */
int dpm_notebook_template(dpm_notebook *nb, const char *path, const dpm_notebook_values *v,
                          dpm_notebook_directive_fn *fn, void *arg);

/* RFC 4648 base64 (standard alphabet, '=' padding, no line breaks) of n bytes: a new NUL-terminated string the
 * caller frees, or NULL on ENOMEM. */
char *dpm_notebook_base64_encode(const unsigned char *data, size_t n);

#endif
