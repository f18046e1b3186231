/* io.c — numeric CSV input with line-accurate errors, and output files that appear only when complete. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpm_common.h"
#include "dpm_io.h"

/* Read one line into buf (size DPM_IO_MAX_LINE + 2). Returns 1 on a line, 0 at EOF, -1 when too long. */
static int read_line(FILE *fp, char *buf, size_t cap)
{
  if (!fgets(buf, (int)cap, fp)) return 0;
  size_t n = strlen(buf);
  if (n == cap - 1 && buf[n - 1] != '\n') {
    int c;
    while ((c = fgetc(fp)) != EOF && c != '\n') {
    }
    return -1;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
  return 1;
}

static int is_blank(const char *s)
{
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return 0;
  return 1;
}

/* Parse a comma-separated row of numbers into v (capacity cap). Returns the count, or -(field index + 1) of the
 * first field that is not a number, or -(INT_MAX) when the row is wider than cap. *nonfinite is set to the
 * 1-based field index of the first NaN/Inf, 0 if none. */
static long parse_row(char *line, double *v, size_t cap, size_t *nonfinite)
{
  size_t n = 0;
  char *p = line;
  *nonfinite = 0;
  for (;;) {
    char *end;
    while (*p == ' ' || *p == '\t') p++;
    errno = 0;
    double x = strtod(p, &end);
    if (end == p) return -(long)(n + 1);
    p = end;
    while (*p == ' ' || *p == '\t') p++;
    if (*p != ',' && *p != '\0') return -(long)(n + 1);
    if (!isfinite(x) && !*nonfinite) *nonfinite = n + 1;
    if (n >= cap) return -(long)0x7fffffff;
    v[n++] = x;
    if (*p == '\0') break;
    p++;
  }
  return (long)n;
}

int dpm_csv_read_stream(FILE *fp, const char *what, double **data, size_t *rows, size_t *cols, char **header)
{
  const size_t cap = DPM_IO_MAX_LINE + 2;
  char *line = dpm_malloc(cap);
  size_t ncap = 1024, nrow = 0, ncol = 0, lineno = 0, rowcap = 0;
  double *buf = NULL, *rowv = dpm_malloc(ncap * sizeof(double));
  char *hdr = NULL;
  int status = DPM_SUCCESS;
  char reason[512] = "";
  if (!line || !rowv) {
    status = GSL_ENOMEM;
    snprintf(reason, sizeof reason, "%s: out of memory", what);
    goto done;
  }
  for (;;) {
    int rc = read_line(fp, line, cap);
    if (rc == 0) break;
    lineno++;
    if (rc < 0) {
      status = GSL_EINVAL;
      snprintf(reason, sizeof reason, "%s:%zu: line too long (more than %d characters)", what, lineno,
               DPM_IO_MAX_LINE);
      goto done;
    }
    if (line[0] == '#' || is_blank(line)) continue;
    size_t nonfinite;
    long k = parse_row(line, rowv, ncap, &nonfinite);
    if (k == -(long)0x7fffffff) {
      status = GSL_EBADLEN;
      snprintf(reason, sizeof reason, "%s:%zu: more than %zu columns", what, lineno, ncap);
      goto done;
    }
    if (k < 0) {
      if (nrow == 0 && !hdr) { /* the first data line may be a header */
        hdr = strdup(line);
        if (!hdr) {
          status = GSL_ENOMEM;
          snprintf(reason, sizeof reason, "%s: out of memory", what);
          goto done;
        }
        continue;
      }
      status = GSL_EINVAL;
      snprintf(reason, sizeof reason, "%s:%zu: field %ld is not a number", what, lineno, -k);
      goto done;
    }
    if (nonfinite) {
      status = GSL_EBADFUNC;
      snprintf(reason, sizeof reason, "%s:%zu: field %zu is not finite (NaN or Inf)", what, lineno, nonfinite);
      goto done;
    }
    if (nrow == 0) {
      ncol = (size_t)k;
    } else if ((size_t)k != ncol) {
      status = GSL_EBADLEN;
      snprintf(reason, sizeof reason, "%s:%zu: %ld columns, expected %zu", what, lineno, k, ncol);
      goto done;
    }
    if (nrow == rowcap) {
      rowcap = rowcap ? 2 * rowcap : 256;
      double *nb = realloc(buf, rowcap * ncol * sizeof(double));
      if (!nb) {
        status = GSL_ENOMEM;
        snprintf(reason, sizeof reason, "%s: out of memory at line %zu", what, lineno);
        goto done;
      }
      buf = nb;
    }
    memcpy(buf + nrow * ncol, rowv, ncol * sizeof(double));
    nrow++;
  }
  if (ferror(fp)) {
    status = GSL_EFAILED;
    snprintf(reason, sizeof reason, "%s: read error", what);
  } else if (nrow == 0) {
    status = GSL_EINVAL;
    snprintf(reason, sizeof reason, "%s: no data rows", what);
  }
done:
  free(line);
  free(rowv);
  if (status != DPM_SUCCESS) {
    free(buf);
    free(hdr);
    *data = NULL;
    *rows = *cols = 0;
    if (header) *header = NULL;
    DPM_ERROR(status, "%s", reason);
  }
  *data = buf;
  *rows = nrow;
  *cols = ncol;
  if (header)
    *header = hdr;
  else
    free(hdr);
  return DPM_SUCCESS;
}

int dpm_csv_read(const char *path, double **data, size_t *rows, size_t *cols, char **header)
{
  if (!path) DPM_ERROR(GSL_EINVAL, "no input file given");
  if (strcmp(path, "-") == 0) return dpm_csv_read_stream(stdin, "<stdin>", data, rows, cols, header);
  FILE *fp = fopen(path, "r");
  if (!fp) DPM_ERROR(GSL_EFAILED, "%s: cannot open (%s)", path, strerror(errno));
  int st = dpm_csv_read_stream(fp, path, data, rows, cols, header);
  fclose(fp);
  return st;
}

struct dpm_out {
  FILE *fp;
  char *path; /* final path, NULL for stdout */
  char *tmp;  /* temporary path */
};

dpm_out *dpm_out_open(const char *path)
{
  dpm_out *out = dpm_calloc(1, sizeof *out);
  if (!out) return NULL;
  if (!path || strcmp(path, "-") == 0) {
    out->fp = stdout;
    return out;
  }
  size_t n = strlen(path);
  out->path = strdup(path);
  out->tmp = dpm_malloc(n + 16);
  if (!out->path || !out->tmp) {
    free(out->path);
    free(out->tmp);
    free(out);
    return NULL;
  }
  snprintf(out->tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(out->tmp);
  if (fd < 0 || !(out->fp = fdopen(fd, "w"))) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlink(out->tmp);
    }
    DPM_RAISE(GSL_EFAILED, "%s: cannot create output (%s)", path, strerror(e));
    free(out->path);
    free(out->tmp);
    free(out);
    return NULL;
  }
  return out;
}

FILE *dpm_out_file(dpm_out *out) { return out->fp; }

int dpm_out_close(dpm_out *out, int commit)
{
  if (!out) return DPM_SUCCESS;
  int status = DPM_SUCCESS;
  if (!out->path) { /* stdout */
    if (fflush(stdout) != 0 || ferror(stdout)) status = GSL_EFAILED;
    free(out);
    if (status) DPM_ERROR(status, "error writing to standard output");
    return status;
  }
  int bad = ferror(out->fp);
  if (fclose(out->fp) != 0) bad = 1;
  if (commit && !bad) {
    mode_t um = umask(0); /* mkstemp made the file 0600; give it the usual mode */
    umask(um);
    if (chmod(out->tmp, 0666 & ~um) != 0) bad = 1;
    if (rename(out->tmp, out->path) != 0) bad = 1;
  }
  if (!commit || bad) unlink(out->tmp);
  char path[1024];
  snprintf(path, sizeof path, "%s", out->path);
  free(out->path);
  free(out->tmp);
  free(out);
  if (commit && bad) DPM_ERROR(GSL_EFAILED, "%s: write failed", path);
  return status;
}

void dpm_csv_write_row(FILE *fp, const double *v, size_t n)
{
  for (size_t i = 0; i < n; i++) fprintf(fp, i ? ",%.17g" : "%.17g", v[i]);
  fputc('\n', fp);
}
