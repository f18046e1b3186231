/* dpm_io.h — the file formats dpmlab reads and writes: numeric CSV matrices (with line-accurate errors), NumPy
 * .npy arrays (float64), shortest round-trip printing of doubles, and output files that appear only when complete
 * (temporary file + rename). */
#ifndef DPM_IO_H
#define DPM_IO_H

#include <stddef.h>
#include <stdio.h>

/* Longest line of a line-oriented text input that is not a CSV matrix (the demos' prose templates); CSV input has
 * no line or column limit. */
#define DPM_IO_MAX_LINE 65536

/* Read a numeric CSV matrix: comma-separated (spaces around fields allowed), '#' lines and blank lines skipped,
 * an optional header line (the first data line, if any field is not a number), every row the same width, every
 * number finite; any line length and any number of columns; numbers parse to the correctly rounded double (as
 * strtod). path "-" reads standard input. A path ending in ".npy", or a stream starting with NumPy's magic bytes,
 * is read as a .npy array instead (dpm_npy_read_stream; *header = NULL). On success *data (caller frees with
 * free()) holds rows x cols row-major and *header (may be NULL; caller frees) the header line or NULL. On error:
 * status, with a reason naming file:line. An empty file is an error. */
int dpm_csv_read(const char *path, double **data, size_t *rows, size_t *cols, char **header);
int dpm_csv_read_stream(FILE *fp, const char *what, double **data, size_t *rows, size_t *cols, char **header);

/* Read a NumPy .npy array (format 1.0, 2.0 or 3.0; dtype float64 '<f8' or '>f8', C order; shape (n,) read as n
 * rows of 1 column, or (n, d)) from fp; what names the source in errors. On success *data (caller frees) holds
 * rows x cols row-major. Errors, one reason each naming what: not a .npy file (magic), unsupported version,
 * truncated or malformed header, another dtype, Fortran order, another number of dimensions, a zero in the shape
 * (GSL_EINVAL or GSL_EBADLEN), truncated data or bytes after it (GSL_EINVAL), a NaN or Inf (GSL_EBADFUNC, naming
 * [row, column]). */
int dpm_npy_read_stream(FILE *fp, const char *what, double **data, size_t *rows, size_t *cols);
/* Write rows x cols row-major doubles as a .npy array (version 1.0, '<f8', C order, shape (rows, cols)).
 * GSL_EFAILED when the stream reports a write error. */
int dpm_npy_write(FILE *fp, const double *data, size_t rows, size_t cols);

/* Output that appears only on success. dpm_out_open(path): stdout when path is NULL or "-"; for a regular file
 * or a new path, a temporary file beside it (PATH.tmp.XXXXXX), renamed into place by dpm_out_close(out, 1) after
 * flushing and checking for write errors, removed by dpm_out_close(out, 0); a SIGINT, SIGTERM or SIGHUP while it
 * exists removes it before the process dies by the signal (when that signal has its default disposition). Any
 * other existing target (a device such as /dev/null, a FIFO) is opened and written directly, never replaced, so
 * "all or nothing" does not hold for it. A symbolic link is never replaced: the output goes to the file it points
 * to by the same rules. NULL (with the reason) for a directory, an unwritable place or a link into a missing
 * directory. dpm_out_close returns GSL_EFAILED naming the path when writing, flushing or renaming failed.
 * A path ending in ".npy" (not a device) is a binary target: the caller writes CSV text as for any output (through
 * dpm_out_file, buffered in memory), and dpm_out_close(out, 1) parses it as dpm_csv_read does ('#' lines and the
 * header row skipped) and writes the matrix as a .npy array; text that is not a numeric table (a column of names)
 * is an error naming the path, and no file appears. Rows given to dpm_csv_write_row on that stream skip the text:
 * they are kept as doubles and written as they are (then the text may hold only '#' lines and one header). */
typedef struct dpm_out dpm_out;
dpm_out *dpm_out_open(const char *path);
FILE *dpm_out_file(dpm_out *out);
int dpm_out_close(dpm_out *out, int commit);

/* Format x into buf (cap bytes, NUL-terminated) as the shortest decimal that reads back (strtod) as exactly x,
 * the closest to x among those (Schubfach): at most 17 significant digits, "%g" style (n digits laid out as
 * "%.{max(15, n)}g" prints them); "inf", "-inf", "nan" for non-finite values. Returns the length (as snprintf). */
int dpm_format_double(char *buf, size_t cap, double x);

/* Write one CSV row of doubles (comma separated, newline), each in its shortest round-trip form
 * (dpm_format_double). */
void dpm_csv_write_row(FILE *fp, const double *v, size_t n);

#endif
