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

/* Output that appears only on success. dpm_out_open(path): stdout when path is NULL or "-"; for a regular file
 * or a new path, a temporary file beside it (PATH.tmp.XXXXXX), renamed into place by dpm_out_close(out, 1) after
 * flushing and checking for write errors, removed by dpm_out_close(out, 0); a SIGINT, SIGTERM or SIGHUP while it
 * exists removes it before the process dies by the signal (when that signal has its default disposition). Any
 * other existing target (a device such as /dev/null, a FIFO) is opened and written directly, never replaced, so
 * "all or nothing" does not hold for it. A symbolic link is never replaced: the output goes to the file it points
 * to by the same rules. NULL (with the reason) for a directory, an unwritable place or a link into a missing
 * directory. dpm_out_close returns GSL_EFAILED naming the path when writing, flushing or renaming failed. */
typedef struct dpm_out dpm_out;
dpm_out *dpm_out_open(const char *path);
FILE *dpm_out_file(dpm_out *out);
int dpm_out_close(dpm_out *out, int commit);

/* Write one CSV row of doubles as %.17g (comma separated, newline). */
void dpm_csv_write_row(FILE *fp, const double *v, size_t n);

#endif
