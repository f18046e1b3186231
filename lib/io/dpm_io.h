/* dpm_io.h — the file formats dpmlab reads and writes: numeric CSV matrices (with line-accurate errors) and
 * output files that appear only when complete (temporary file + rename). */
#ifndef DPM_IO_H
#define DPM_IO_H

#include <stddef.h>
#include <stdio.h>

/* Longest line accepted in any input file; longer lines are an error ("line too long"). */
#define DPM_IO_MAX_LINE 65536

/* Read a numeric CSV matrix: comma-separated (spaces around fields allowed), '#' lines and blank lines skipped,
 * an optional header line (the first data line, if any field is not a number), every row the same width, every
 * number finite. path "-" reads standard input. On success *data (caller frees with free()) holds rows x cols
 * row-major and *header (may be NULL; caller frees) the header line or NULL. On error: status, with a reason
 * naming file:line. An empty file is an error. */
int dpm_csv_read(const char *path, double **data, size_t *rows, size_t *cols, char **header);
int dpm_csv_read_stream(FILE *fp, const char *what, double **data, size_t *rows, size_t *cols, char **header);

/* Output that appears only on success: dpm_out_open makes a temporary file beside path (or uses stdout when
 * path is NULL or "-"); dpm_out_close(out, 1) flushes, checks for write errors and renames into place;
 * dpm_out_close(out, 0) removes the temporary file. */
typedef struct dpm_out dpm_out;
dpm_out *dpm_out_open(const char *path);
FILE *dpm_out_file(dpm_out *out);
int dpm_out_close(dpm_out *out, int commit);

/* Write one CSV row of doubles as %.17g (comma separated, newline). */
void dpm_csv_write_row(FILE *fp, const double *v, size_t n);

#endif
