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

/* RFC 4648 base64 (standard alphabet, '=' padding, no line breaks) of n bytes: a new NUL-terminated string the
 * caller frees, or NULL on ENOMEM. */
char *dpm_notebook_base64_encode(const unsigned char *data, size_t n);

#endif
