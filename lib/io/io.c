/* io.c — numeric matrices in and out: CSV input with line-accurate errors and no line or column limit, NumPy .npy
 * input (npy.c) recognised by its magic bytes, shortest round-trip printing of doubles, and output files that
 * appear only when complete (a .npy target is written from the command's CSV text when it is committed). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dpm_common.h"
#include "dpm_io.h"
#include "dpm_shortest_internal.h"
#include "parse_double.h"

/* ---- CSV input -----------------------------------------------------------------------------------------------
 *
 * Lines are read with getline into one buffer that grows to the longest line, so neither the line length nor the
 * number of columns is bounded; the buffer and the row scratch are freed before returning, and the matrix grows by
 * doubling (realloc of a large block remaps pages rather than copying them), so the peak is the matrix plus one
 * line. Numbers are parsed by dpm_parse_double (lib/data/parse_double.c): Clinger's exact fast path and the
 * Eisel–Lemire algorithm, strtod for the rest, so the result is always strtod's correctly rounded double. */

/* Parse a comma-separated row of numbers into *v (capacity *cap, grown as needed). Returns the count, or
 * -(field index + 1) of the first field that is not a number, or LONG_MIN when growing failed. *nonfinite is set
 * to the 1-based field index of the first NaN/Inf, 0 if none; *overflow to 1 when that field is a decimal beyond
 * the range of a double rather than a spelled-out inf or nan. */
static long parse_row(char *line, double **v, size_t *cap, size_t *nonfinite, int *overflow)
{
  size_t n = 0;
  char *p = line;
  *nonfinite = 0;
  *overflow = 0;
  for (;;) {
    char *end;
    while (*p == ' ' || *p == '\t')
      p++;
    double x = dpm_parse_double(p, &end);
    if (end == p) return -(long)(n + 1);
    const char *start = p;
    p = end;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p != ',' && *p != '\0') return -(long)(n + 1);
    if (!isfinite(x) && !*nonfinite) {
      const char *q = start + (*start == '-' || *start == '+');
      *nonfinite = n + 1;
      *overflow = (*q >= '0' && *q <= '9') || *q == '.';
    }
    if (n == *cap) {
      double *nv = realloc(*v, 2 * *cap * sizeof(double));
      if (!nv) return -0x7fffffffL - 1;
      *v = nv;
      *cap *= 2;
    }
    (*v)[n++] = x;
    if (*p == '\0') break;
    p++;
  }
  return (long)n;
}

static int is_blank(const char *s)
{
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return 0;
  return 1;
}

int dpm_csv_read_stream(FILE *fp, const char *what, double **data, size_t *rows, size_t *cols, char **header)
{
  const int c0 = getc(fp);
  if (c0 == 0x93) { /* NumPy's magic "\x93NUMPY": a binary array, not text */
    ungetc(c0, fp);
    if (header) *header = NULL;
    return dpm_npy_read_stream(fp, what, data, rows, cols);
  }
  if (c0 != EOF) ungetc(c0, fp);
  char *line = NULL;
  size_t linecap = 0, ncap = 64, nrow = 0, ncol = 0, lineno = 0, rowcap = 0;
  double *buf = NULL, *rowv = dpm_malloc(ncap * sizeof(double));
  char *hdr = NULL;
  int status = DPM_SUCCESS;
  char reason[512] = "";
  if (!rowv) {
    status = GSL_ENOMEM;
    snprintf(reason, sizeof reason, "%s: out of memory", what);
    goto done;
  }
  for (;;) {
    errno = 0;
    ssize_t len = getline(&line, &linecap, fp);
    if (len < 0) {
      if (errno == ENOMEM) {
        status = GSL_ENOMEM;
        snprintf(reason, sizeof reason, "%s:%zu: out of memory reading a line", what, lineno + 1);
        goto done;
      }
      break;
    }
    lineno++;
    const char *nul = memchr(line, '\0', (size_t)len);
    if (nul) { /* the string functions would stop there and silently drop the rest of the line */
      status = GSL_EINVAL;
      snprintf(reason, sizeof reason, "%s:%zu: NUL byte at column %zu (not a text file?)", what, lineno,
               (size_t)(nul - line) + 1);
      goto done;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (line[0] == '#' || is_blank(line)) continue;
    size_t nonfinite;
    int overflow;
    long k = parse_row(line, &rowv, &ncap, &nonfinite, &overflow);
    if (k == -0x7fffffffL - 1) {
      status = GSL_ENOMEM;
      snprintf(reason, sizeof reason, "%s:%zu: out of memory", what, lineno);
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
      snprintf(reason, sizeof reason, "%s:%zu: field %zu is %s", what, lineno, nonfinite,
               overflow ? "out of the range of a double" : "not finite (NaN or Inf)");
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
      double *nb =
          rowcap <= SIZE_MAX / sizeof(double) / ncol ? realloc(buf, rowcap * ncol * sizeof(double)) : NULL;
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
  if (nrow < rowcap) { /* give back the unused tail of the last doubling */
    double *nb = realloc(buf, nrow * ncol * sizeof(double));
    if (nb) buf = nb;
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
  int st;
  const size_t n = strlen(path);
  if (n >= 4 && strcmp(path + n - 4, ".npy") == 0) { /* a .npy name promises the binary format */
    st = dpm_npy_read_stream(fp, path, data, rows, cols);
    if (header) *header = NULL;
  } else {
    st = dpm_csv_read_stream(fp, path, data, rows, cols, header);
  }
  fclose(fp);
  return st;
}

/* ---- output that appears only when complete ------------------------------------------------------------------
 *
 * A regular file or a new path is written to a temporary file beside it and renamed into place on success. Any
 * other existing target (a character device such as /dev/null, a FIFO, a socket) is written directly: renaming
 * onto it would replace the node by a regular file. A symbolic link is never replaced: the output goes through it
 * to the file it points to, by the same rules (atomically when that is a regular file or a new path in an existing
 * directory); a link whose directory does not exist is refused.
 *
 * While a temporary file exists, SIGINT, SIGTERM and SIGHUP remove it before the process dies by the signal. The
 * handler is async-signal-safe: the temporary paths live in static slots (DPM_OUT_SLOTS of them; a further
 * simultaneous output is still written and renamed, only not cleaned up on a signal), it calls only unlink,
 * sigaction and raise. It is installed only over the default disposition (a program that handles or ignores
 * these signals keeps its own handling) and removed again when the last temporary file is gone. */

enum { DPM_OUT_SLOTS = 8, DPM_OUT_PATH = 4096 };

static char out_slot_path[DPM_OUT_SLOTS][DPM_OUT_PATH];
static volatile sig_atomic_t out_slot_used[DPM_OUT_SLOTS];
static const int out_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction out_old_action[3];
static int out_installed[3], out_active;

static void out_on_signal(int sig)
{
  for (int i = 0; i < DPM_OUT_SLOTS; i++)
    if (out_slot_used[i]) unlink(out_slot_path[i]);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  raise(sig); /* delivered when the handler returns: the process dies by the signal */
}

/* mkstemp(tmp), then claim a slot for the new file and install the handlers with the first one (*slot = -1 when
 * all slots are taken). Signals are blocked from before the file exists until its slot is filled, so a signal
 * never leaves it behind and the handler never sees a half-written slot. Returns mkstemp's descriptor. */
static int out_create(char *tmp, int *slot_out)
{
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  const int fd = mkstemp(tmp);
  const int e = errno;
  int slot = -1;
  for (int i = 0; fd >= 0 && strlen(tmp) < DPM_OUT_PATH && i < DPM_OUT_SLOTS && slot < 0; i++)
    if (!out_slot_used[i]) slot = i;
  if (slot >= 0) {
    memcpy(out_slot_path[slot], tmp, strlen(tmp) + 1);
    out_slot_used[slot] = 1;
    if (out_active++ == 0)
      for (int k = 0; k < 3; k++) {
        out_installed[k] = 0;
        if (sigaction(out_signals[k], NULL, &out_old_action[k]) != 0 || out_old_action[k].sa_handler != SIG_DFL ||
            (out_old_action[k].sa_flags & SA_SIGINFO))
          continue;
        struct sigaction act;
        memset(&act, 0, sizeof act);
        act.sa_handler = out_on_signal;
        sigemptyset(&act.sa_mask);
        for (int j = 0; j < 3; j++)
          sigaddset(&act.sa_mask, out_signals[j]);
        out_installed[k] = sigaction(out_signals[k], &act, NULL) == 0;
      }
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  *slot_out = slot;
  errno = e;
  return fd;
}

/* Release a slot (before its file is renamed or removed); the last one restores the previous handlers. */
static void out_unprotect(int slot)
{
  if (slot < 0) return;
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  out_slot_used[slot] = 0;
  if (--out_active == 0)
    for (int k = 0; k < 3; k++)
      if (out_installed[k]) {
        sigaction(out_signals[k], &out_old_action[k], NULL);
        out_installed[k] = 0;
      }
  sigprocmask(SIG_SETMASK, &old, NULL);
}

struct dpm_out {
  FILE *fp;
  char *path; /* the target as given, NULL for stdout */
  char *real; /* where the bytes go: the target, or what a symbolic link points to */
  char *tmp;  /* temporary path, NULL when writing directly */
  int slot;   /* signal-cleanup slot of tmp, -1 if none */
  FILE *text; /* a .npy target: the caller's CSV text, in memory until the close converts it */
  char *textbuf;
  size_t textlen;
  double *bin; /* a .npy target: rows given to dpm_csv_write_row, kept as doubles (no text) */
  size_t binrows, bincols, bincap;
  int binbad; /* rows of different widths */
};

/* The .npy targets open now: dpm_csv_write_row finds its stream here and keeps the doubles instead of text. */
static dpm_out *npy_open[DPM_OUT_SLOTS];

static void out_discard(dpm_out *out)
{
  for (int i = 0; i < DPM_OUT_SLOTS; i++)
    if (npy_open[i] == out) npy_open[i] = NULL;
  if (out->text) fclose(out->text);
  free(out->textbuf);
  free(out->bin);
  free(out->path);
  free(out->real);
  free(out->tmp);
  free(out);
}

/* The file a symbolic link leads to (following chains), for a target whose directory exists: realpath of the
 * directory part of the last link's target plus its last component. NULL with errno set otherwise. */
static char *link_target(const char *path)
{
  char *full = realpath(path, NULL);
  if (full) return full;
  if (errno != ENOENT) return NULL;
  /* a link to a path that does not exist yet: resolve the link's own chain by hand (bounded, as the kernel) */
  char cur[DPM_OUT_PATH], buf[DPM_OUT_PATH];
  snprintf(cur, sizeof cur, "%s", path);
  for (int hop = 0; hop < 40; hop++) {
    struct stat st;
    if (lstat(cur, &st) != 0) break; /* cur does not exist: it is the file to create */
    if (!S_ISLNK(st.st_mode)) return realpath(cur, NULL);
    ssize_t n = readlink(cur, buf, sizeof buf - 1);
    if (n < 0) return NULL;
    buf[n] = '\0';
    if (buf[0] == '/') {
      snprintf(cur, sizeof cur, "%s", buf);
    } else { /* relative to the link's directory */
      const char *slash = strrchr(cur, '/');
      char dir[DPM_OUT_PATH];
      snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - cur) : 1, slash ? cur : ".");
      if (slash == cur) snprintf(dir, sizeof dir, "/");
      if (snprintf(cur, sizeof cur, "%s/%s", dir, buf) >= (int)sizeof cur) {
        errno = ENAMETOOLONG;
        return NULL;
      }
    }
    if (hop == 39) {
      errno = ELOOP;
      return NULL;
    }
  }
  /* cur is missing: its directory must exist */
  const char *slash = strrchr(cur, '/');
  char dir[DPM_OUT_PATH];
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - cur) : 1, slash ? cur : ".");
  if (slash == cur) snprintf(dir, sizeof dir, "/");
  char *rd = realpath(dir, NULL);
  if (!rd) return NULL;
  const char *base = slash ? slash + 1 : cur;
  size_t len = strlen(rd) + strlen(base) + 2;
  char *res = malloc(len);
  if (res) snprintf(res, len, "%s/%s", strcmp(rd, "/") == 0 ? "" : rd, base);
  free(rd);
  return res;
}

dpm_out *dpm_out_open(const char *path)
{
  dpm_out *out = dpm_calloc(1, sizeof *out);
  if (!out) return NULL;
  out->slot = -1;
  if (!path || strcmp(path, "-") == 0) {
    out->fp = stdout;
    return out;
  }
  out->path = strdup(path);
  if (!out->path) {
    out_discard(out);
    DPM_ERROR_NULL(GSL_ENOMEM, "%s: out of memory", path);
  }
  struct stat st;
  int exists = lstat(path, &st) == 0;
  if (exists && S_ISLNK(st.st_mode)) { /* never replace the link: write to what it points to */
    out->real = link_target(path);
    if (!out->real) {
      int e = errno;
      out_discard(out);
      DPM_ERROR_NULL(GSL_EFAILED, "%s: symbolic link to a path that cannot be written (%s)", path, strerror(e));
    }
    exists = stat(out->real, &st) == 0;
  } else {
    out->real = strdup(path);
    if (!out->real) {
      out_discard(out);
      DPM_ERROR_NULL(GSL_ENOMEM, "%s: out of memory", path);
    }
  }
  if (exists && S_ISDIR(st.st_mode)) {
    out_discard(out);
    DPM_ERROR_NULL(GSL_EFAILED, "%s: is a directory", path);
  }
  if (exists && !S_ISREG(st.st_mode)) { /* a device, FIFO or socket: write it directly, never rename onto it */
    out->fp = fopen(out->real, "w");
    if (!out->fp) {
      int e = errno;
      out_discard(out);
      DPM_ERROR_NULL(GSL_EFAILED, "%s: cannot open output (%s)", path, strerror(e));
    }
    return out;
  }
  size_t n = strlen(out->real) + 16;
  out->tmp = dpm_malloc(n);
  if (!out->tmp) {
    out_discard(out);
    return NULL;
  }
  snprintf(out->tmp, n, "%s.tmp.XXXXXX", out->real);
  int fd = out_create(out->tmp, &out->slot);
  if (fd < 0 || !(out->fp = fdopen(fd, "w"))) {
    int e = errno;
    if (fd >= 0) {
      out_unprotect(out->slot);
      close(fd);
      unlink(out->tmp);
    }
    out_discard(out);
    DPM_ERROR_NULL(GSL_EFAILED, "%s: cannot create output (%s)", path, strerror(e));
  }
  const size_t len = strlen(path);
  if (len >= 4 && strcmp(path + len - 4, ".npy") == 0 &&
      !(out->text = open_memstream(&out->textbuf, &out->textlen))) {
    dpm_out_close(out, 0);
    DPM_ERROR_NULL(GSL_ENOMEM, "%s: out of memory", path);
  }
  for (int i = 0; out->text && i < DPM_OUT_SLOTS; i++)
    if (!npy_open[i]) {
      npy_open[i] = out;
      break;
    }
  return out;
}

/* dpm_csv_write_row into a .npy target: append the row as doubles; 1 when fp is such a target. */
static int npy_append(FILE *fp, const double *v, size_t n)
{
  dpm_out *out = NULL;
  for (int i = 0; i < DPM_OUT_SLOTS && !out; i++)
    if (npy_open[i] && npy_open[i]->text == fp) out = npy_open[i];
  if (!out) return 0;
  if (out->binrows == 0 && out->bincap == 0) out->bincols = n;
  if (n != out->bincols) {
    out->binbad = 1;
    return 1;
  }
  if ((out->binrows + 1) * n > out->bincap) {
    const size_t cap = out->bincap ? 2 * out->bincap : 64 * (n ? n : 1);
    double *nb = realloc(out->bin, cap * sizeof(double));
    if (!nb) {
      out->binbad = 2;
      return 1;
    }
    out->bin = nb;
    out->bincap = cap;
  }
  memcpy(out->bin + out->binrows * n, v, n * sizeof(double));
  out->binrows++;
  return 1;
}

FILE *dpm_out_file(dpm_out *out) { return out->text ? out->text : out->fp; }

/* A .npy target at commit: parse the buffered CSV text and write it to out->fp as an array. */
static int out_write_npy(dpm_out *out)
{
  const int closed = fclose(out->text);
  out->text = NULL;
  if (closed != 0) DPM_ERROR(GSL_ENOMEM, "%s: out of memory buffering the output", out->path);
  if (out->binbad)
    DPM_ERROR(out->binbad == 2 ? GSL_ENOMEM : GSL_EBADLEN, "%s: %s", out->path,
              out->binbad == 2 ? "out of memory" : "rows of different widths cannot be a .npy array");
  if (out->binrows) { /* the rows came as doubles: the text may hold only '#' lines, blanks and one header */
    int header = 0;
    for (size_t i = 0; i < out->textlen;) {
      const char *line = out->textbuf + i, *nl = memchr(line, '\n', out->textlen - i);
      const size_t len = nl ? (size_t)(nl - line) : out->textlen - i;
      const int blank = strspn(line, " \t\r") >= len;
      if (!blank && line[0] != '#' && header++)
        DPM_ERROR(GSL_EINVAL, "%s: cannot be written as .npy (rows written both as text and as numbers)",
                  out->path);
      i += len + 1;
    }
    return dpm_npy_write(out->fp, out->bin, out->binrows, out->bincols);
  }
  FILE *mem = fmemopen(out->textbuf, out->textlen ? out->textlen : 1, "r");
  if (!mem) DPM_ERROR(GSL_ENOMEM, "%s: out of memory", out->path);
  double *v = NULL;
  size_t rows = 0, cols = 0;
  char what[1100];
  snprintf(what, sizeof what, "%s (output text)", out->path);
  int st = out->textlen ? dpm_csv_read_stream(mem, what, &v, &rows, &cols, NULL)
                        : DPM_RAISE(GSL_EINVAL, "%s: no data rows", what);
  fclose(mem);
  if (st) {
    dpm_error_context("%s: cannot be written as .npy (a numeric table is needed)", out->path);
    return st;
  }
  st = dpm_npy_write(out->fp, v, rows, cols);
  free(v);
  return st;
}

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
  if (out->text && commit && (status = out_write_npy(out)) != DPM_SUCCESS) {
    commit = 0; /* the reason is raised; remove the temporary file */
  }
  int bad = ferror(out->fp), e = 0;
  if (fclose(out->fp) != 0) {
    bad = 1;
    e = errno;
  }
  if (out->tmp) {
    if (commit && !bad) {
      mode_t um = umask(0); /* mkstemp made the file 0600; give it the usual mode */
      umask(um);
      if (chmod(out->tmp, 0666 & ~um) != 0 || rename(out->tmp, out->real) != 0) {
        bad = 1;
        e = errno;
      }
    }
    out_unprotect(out->slot);
    if (!commit || bad) unlink(out->tmp);
  }
  char path[1024];
  snprintf(path, sizeof path, "%s", out->path);
  out_discard(out);
  if (commit && bad)
    DPM_ERROR(GSL_EFAILED, "%s: write failed%s%s%s", path, e ? " (" : "", e ? strerror(e) : "", e ? ")" : "");
  return status;
}

/* ---- shortest round-trip printing ----------------------------------------------------------------------------
 *
 * The digits come from the Schubfach algorithm (shortest.c): the fewest significant digits that read back as x,
 * the closest to x among those. They are laid out as "%.{P}g" prints them with P = max(15, n) for n digits, the
 * layout of the files written before (which printed the first of %.15g, %.16g, %.17g that read back). */
int dpm_format_double(char *buf, size_t cap, double x)
{
  if (cap >= DPM_SHORTEST_MAX + 1) {
    const size_t len = dpm_shortest_format(buf, x);
    buf[len] = '\0';
    return (int)len;
  }
  char tmp[DPM_SHORTEST_MAX];
  const size_t len = dpm_shortest_format(tmp, x);
  if (cap > 0) {
    const size_t m = len < cap - 1 ? len : cap - 1;
    memcpy(buf, tmp, m);
    buf[m] = '\0';
  }
  return (int)len;
}

/* The row is formatted into a block on the stack and handed to the stream in pieces of about 4 kB. */
void dpm_csv_write_row(FILE *fp, const double *v, size_t n)
{
  if (npy_append(fp, v, n)) return;
  char block[4096];
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    if (used > sizeof block - DPM_SHORTEST_MAX - 2) {
      fwrite(block, 1, used, fp);
      used = 0;
    }
    if (i) block[used++] = ',';
    used += dpm_shortest_format(block + used, v[i]);
  }
  block[used++] = '\n';
  fwrite(block, 1, used, fp);
}
