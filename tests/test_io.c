/* test_io.c — CSV input with line-accurate errors and no size limit, the parser's correct rounding, shortest
 * round-trip printing, NumPy .npy input and output with one-line errors, and all-or-nothing output files. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpmlab.h"
#include "testutil.h"

static int read_text(const char *text, double **v, size_t *r, size_t *c, char **hdr)
{
  const char *path = dpm_test_tmpfile(".csv", text);
  int st = dpm_csv_read(path, v, r, c, hdr);
  unlink(path);
  return st;
}

static void test_csv_good(void **state)
{
  (void)state;
  double *v;
  size_t r, c;
  char *hdr;
  assert_int_equal(read_text("# comment\nx_1, x_2\n\n1, 2\n  -3.5e-1 ,4\n# more\n5,6e300\n", &v, &r, &c, &hdr), 0);
  assert_int_equal(r, 3);
  assert_int_equal(c, 2);
  assert_string_equal(hdr, "x_1, x_2");
  double want[] = {1, 2, -0.35, 4, 5, 6e300};
  for (int i = 0; i < 6; i++)
    assert_true(v[i] == want[i]);
  free(v);
  free(hdr);
  assert_int_equal(read_text("1.5\r\n2.5\r\n", &v, &r, &c, NULL), 0); /* CRLF line ends */
  assert_int_equal(r, 2);
  assert_true(v[1] == 2.5);
  free(v);
}

/* Reading text fails now with status and a reason containing needle; failures name the caller's line. */
#define expect_error(text, status, needle) expect_error_at((text), (status), (needle), __FILE__, __LINE__)
static void expect_error_at(const char *text, int status, const char *needle, const char *file, int line)
{
  double *v = (double *)1;
  size_t r, c;
  dpm_error_clear();
  const int st = read_text(text, &v, &r, &c, NULL);
  dpm_test_assert_raised(st, status, needle, "dpm_csv_read", file, line);
  assert_null(v);
}

static void test_csv_errors(void **state)
{
  (void)state;
  expect_error("1,2\n3,4\n5\n", GSL_EBADLEN, ":3: 1 columns, expected 2");
  expect_error("1,2\n3,nan\n", GSL_EBADFUNC, ":2: field 2 is not finite");
  expect_error("1,2\n3,inf\n", GSL_EBADFUNC, ":2: field 2");
  expect_error("a,b\n1,2\n3,x\n", GSL_EINVAL, ":3: field 2 is not a number");
  expect_error("1,2\n3,4abc\n", GSL_EINVAL, ":2: field 2 is not a number");
  expect_error("", GSL_EINVAL, "no data rows");
  expect_error("# only comments\nx,y\n", GSL_EINVAL, "no data rows");
  expect_error("1,2,3\n1,,2\n", GSL_EINVAL, ":2: field 2");
  expect_error("1,2\n3,1e400\n", GSL_EBADFUNC, ":2: field 2 is out of the range of a double");
  expect_error("1,2\n-inf,1\n", GSL_EBADFUNC, ":2: field 1 is not finite");
  double *v;
  size_t r, c;
  assert_raises(dpm_csv_read("/nonexistent/file.csv", &v, &r, &c, NULL), GSL_EFAILED, "/nonexistent/file.csv");
}

static int count_tmp(const char *dir, const char *prefix)
{
  DIR *dp = opendir(dir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(dp)))
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
  closedir(dp);
  return n;
}

/* No line or column limit: d = 3072 columns of 17-digit numbers (a line of ~70 000 characters, more than the
 * old 65 536 limit) read back bit for bit, written by dpm_csv_write_row. */
static void test_csv_wide(void **state)
{
  (void)state;
  const size_t rows = 3, d = 3072;
  double *v = malloc(rows * d * sizeof *v);
  gsl_rng *r = dpm_rng_stream_alloc(11, 0);
  for (size_t i = 0; i < rows * d; i++)
    v[i] = (gsl_rng_uniform(r) - 0.5) * 1e-150 * exp(20.0 * gsl_rng_uniform(r)); /* ~24 characters each */
  gsl_rng_free(r);
  char path[] = "/tmp/dpmwide-XXXXXX";
  int fd = mkstemp(path);
  FILE *fp = fdopen(fd, "w");
  for (size_t i = 0; i < rows; i++)
    dpm_csv_write_row(fp, v + i * d, d);
  const long size = ftell(fp);
  fclose(fp);
  assert_true(size / (long)rows > 65536);
  double *w;
  size_t rr, cc;
  assert_int_equal(dpm_csv_read(path, &w, &rr, &cc, NULL), 0);
  assert_int_equal(rr, rows);
  assert_int_equal(cc, d);
  assert_memory_equal(v, w, rows * d * sizeof *v);
  free(w);
  unlink(path);
  free(v);
}

/* The parser returns strtod's correctly rounded double on both of its paths: short decimals (the exact fast
 * path, m < 2^53 and |e| <= 22), 17-digit ones and those with exponents beyond 10^22 (strtod), hex and
 * subnormals. */
static void test_csv_parse_rounding(void **state)
{
  (void)state;
  static const char *fixed[] = {"0.1",
                                "-0.3",
                                "1e22",
                                "1e23",
                                "9007199254740993",
                                "123456789012345678",
                                "5e-324",
                                "2.2250738585072014e-308",
                                "0x1.8p1",
                                "4.35",
                                "1.7976931348623157e308",
                                "-0",
                                "+7.5e-5",
                                "0.000001234",
                                "3."};
  const size_t nf = sizeof fixed / sizeof *fixed;
  gsl_rng *r = dpm_rng_stream_alloc(12, 0);
  const size_t nr = 4000;
  char *text = malloc((nf + nr) * 40), *p = text;
  double *want = malloc((nf + nr) * sizeof *want);
  for (size_t i = 0; i < nf + nr; i++) {
    char tok[40];
    if (i < nf) {
      snprintf(tok, sizeof tok, "%s", fixed[i]);
    } else { /* random mantissas of 1..19 digits with exponents in [-30, 30] */
      const int digits = 1 + (int)gsl_rng_uniform_int(r, 19), e = (int)gsl_rng_uniform_int(r, 61) - 30;
      int n = 0;
      for (int k = 0; k < digits; k++)
        n += snprintf(tok + n, sizeof tok - (size_t)n, "%d",
                      k == 0 ? 1 + (int)gsl_rng_uniform_int(r, 9) : (int)gsl_rng_uniform_int(r, 10));
      snprintf(tok + n, sizeof tok - (size_t)n, "e%d", e);
    }
    want[i] = strtod(tok, NULL);
    p += sprintf(p, "%s\n", tok);
  }
  gsl_rng_free(r);
  double *v;
  size_t rr, cc;
  assert_int_equal(read_text(text, &v, &rr, &cc, NULL), 0);
  assert_int_equal(rr, nf + nr);
  for (size_t i = 0; i < nf + nr; i++)
    if (memcmp(&v[i], &want[i], sizeof(double)) != 0)
      fail_msg("row %zu: parsed %.17g, strtod gives %.17g", i + 1, v[i], want[i]);
  free(v);
  free(text);
  free(want);
}

/* dpm_format_double prints the shortest decimal that reads back exactly: checked against an exhaustive search
 * over every precision 1..17 (the first that round-trips is the shortest), on random doubles over the whole
 * exponent range, subnormals and known cases. */
static void test_format_shortest(void **state)
{
  (void)state;
  char buf[40];
  dpm_format_double(buf, sizeof buf, 0.1);
  assert_string_equal(buf, "0.1");
  dpm_format_double(buf, sizeof buf, 1.0 / 3.0);
  assert_string_equal(buf, "0.3333333333333333");
  dpm_format_double(buf, sizeof buf, 5e-324);
  assert_string_equal(buf, "5e-324"); /* %.17g would print 4.9406564584124654e-324 */
  dpm_format_double(buf, sizeof buf, -0.0);
  assert_string_equal(buf, "-0");
  dpm_format_double(buf, sizeof buf, 2.0);
  assert_string_equal(buf, "2");
  gsl_rng *r = dpm_rng_stream_alloc(13, 0);
  for (int i = 0; i < 20000; i++) {
    uint64_t bits = (uint64_t)gsl_rng_get(r) << 32 ^ (uint64_t)gsl_rng_get(r);
    if (i % 4 == 3) bits &= UINT64_C(0x800fffffffffffff); /* subnormals */
    double x;
    memcpy(&x, &bits, sizeof x);
    if (!isfinite(x)) continue;
    const int len = dpm_format_double(buf, sizeof buf, x);
    assert_int_equal(len, (int)strlen(buf));
    const double back = strtod(buf, NULL);
    if (memcmp(&back, &x, sizeof x) != 0) fail_msg("%s does not read back as %.17g", buf, x);
    int shortest = 17;
    for (int prec = 1; prec <= 17; prec++) {
      char t[40];
      snprintf(t, sizeof t, "%.*e", prec - 1, x);
      if (strtod(t, NULL) == x) {
        shortest = prec;
        break;
      }
    }
    char mant[40]; /* the printed digits without sign, point, exponent, leading and trailing zeros */
    int nm = 0;
    for (const char *q = buf; *q && *q != 'e'; q++)
      if (*q >= '0' && *q <= '9' && (nm || *q != '0')) mant[nm++] = *q;
    while (nm > 0 && mant[nm - 1] == '0')
      nm--;
    const int digits = nm > 0 ? nm : 1;
    if (digits != shortest) fail_msg("%.17g printed %s (%d digits), shortest has %d", x, buf, digits, shortest);
  }
  gsl_rng_free(r);
}

static const char *write_bytes(const void *bytes, size_t n, const char *suffix)
{
  static char path[64];
  snprintf(path, sizeof path, "/tmp/dpmnpy-XXXXXX%s", suffix);
  int fd = mkstemps(path, (int)strlen(suffix));
  assert_true(fd >= 0);
  assert_int_equal(write(fd, bytes, n), (ssize_t)n);
  close(fd);
  return path;
}

/* A .npy file as NumPy writes it: magic, version, header length, the dict padded to 64 bytes, the data. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const double *v, size_t n)
{
  size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
  size_t hlen = len + 1 + (64 - (pre + len + 1) % 64) % 64;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  if (major == 1) {
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
  } else {
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    buf[10] = buf[11] = 0;
  }
  memcpy(buf + pre, dict, len);
  memset(buf + pre + len, ' ', hlen - len - 1);
  buf[pre + hlen - 1] = '\n';
  memcpy(buf + pre + hlen, v, n * sizeof *v);
  return pre + hlen + n * sizeof *v;
}

static void test_npy_read(void **state)
{
  (void)state;
  const double v[6] = {1.5, -2, 3e-300, 4, 0.1, 6};
  unsigned char buf[512];
  double *w;
  size_t r, c;
  /* version 1 and 2, (3, 2) and 1-D (6,) */
  size_t n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", v, 6);
  const char *p = write_bytes(buf, n, ".npy");
  assert_int_equal(dpm_csv_read(p, &w, &r, &c, NULL), 0);
  assert_int_equal(r, 3);
  assert_int_equal(c, 2);
  assert_memory_equal(w, v, sizeof v);
  free(w);
  unlink(p);
  n = make_npy(buf, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", v, 6);
  p = write_bytes(buf, n, ".dat"); /* recognised by its magic, whatever the name */
  char *hdr = (char *)1;
  assert_int_equal(dpm_csv_read(p, &w, &r, &c, &hdr), 0);
  assert_null(hdr);
  assert_int_equal(r, 6);
  assert_int_equal(c, 1);
  assert_memory_equal(w, v, sizeof v);
  free(w);
  unlink(p);
  /* a point set from .npy through the data loader */
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", v, 6);
  p = write_bytes(buf, n, ".npy");
  dpm_mixture *mix = dpm_data_load_csv(p);
  assert_non_null(mix);
  assert_int_equal(mix->K, 3);
  assert_int_equal(mix->d, 2);
  assert_memory_equal(mix->mu, v, sizeof v);
  dpm_mixture_free(mix);
  unlink(p);
}

#define expect_npy_error(bytes, n, status, needle)                                                                \
  do {                                                                                                            \
    const char *path_ = write_bytes((bytes), (n), ".npy");                                                        \
    double *w_ = (double *)1;                                                                                     \
    size_t r_, c_;                                                                                                \
    dpm_error_clear();                                                                                            \
    dpm_test_assert_raised(dpm_csv_read(path_, &w_, &r_, &c_, NULL), (status), (needle), "dpm_csv_read",          \
                           __FILE__, __LINE__);                                                                   \
    assert_null(w_);                                                                                              \
    unlink(path_);                                                                                                \
  } while (0)

static void test_npy_errors(void **state)
{
  (void)state;
  const double v[6] = {1, 2, 3, 4, 5, 6}, bad[2] = {1, NAN};
  unsigned char buf[512];
  size_t n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", v, 6);
  expect_npy_error(buf, n - 8, GSL_EINVAL, "truncated .npy data (5 of 6 values)");
  expect_npy_error(buf, 40, GSL_EINVAL, "truncated .npy header");
  expect_npy_error("1,2\n3,4\n", 8, GSL_EINVAL, "not a .npy file");
  unsigned char more[600];
  memcpy(more, buf, n);
  more[n] = 0;
  expect_npy_error(more, n + 1, GSL_EINVAL, "bytes after the (3, 2) array");
  n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", v, 3);
  expect_npy_error(buf, n, GSL_EINVAL, "dtype '<f4' is not float64");
  n = make_npy(buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }", v, 6);
  expect_npy_error(buf, n, GSL_EINVAL, "dtype '<i8'");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }", v, 6);
  expect_npy_error(buf, n, GSL_EINVAL, "Fortran order");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 2), }", v, 6);
  expect_npy_error(buf, n, GSL_EBADLEN, "3 dimensions");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2), }", v, 0);
  expect_npy_error(buf, n, GSL_EINVAL, "no data rows");
  n = make_npy(buf, 1, "{'descr': '<f8', 'shape': (3, 2), }", v, 6);
  expect_npy_error(buf, n, GSL_EINVAL, "malformed .npy header");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2}", v, 6);
  expect_npy_error(buf, n, GSL_EINVAL, "malformed .npy header");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", bad, 2);
  expect_npy_error(buf, n, GSL_EBADFUNC, "element [1, 0] is not finite");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", v, 6);
  buf[6] = 9;
  expect_npy_error(buf, n, GSL_EINVAL, "version 9.0 is not supported");
}

/* An output path ending in .npy: the CSV text written through dpm_out_file becomes an array on commit (comment
 * and header lines dropped, values bit for bit), a non-numeric table is refused with no file left, and the
 * written file reads back (as NumPy would: the header is checked byte for byte). */
static void test_npy_output(void **state)
{
  (void)state;
  char dir[] = "/tmp/dpmnpyout-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/out.npy", dir);
  const double v[6] = {0.1, -2.5e-310, 3, 1.0 / 3.0, 5e300, -0.0};
  dpm_out *o = dpm_out_open(path);
  assert_non_null(o);
  fputs("# meta line\nx_1,x_2\n", dpm_out_file(o));
  for (int i = 0; i < 3; i++)
    dpm_csv_write_row(dpm_out_file(o), v + 2 * i, 2);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(dpm_out_close(o, 1), 0);
  FILE *fp = fopen(path, "rb");
  unsigned char head[128];
  assert_int_equal(fread(head, 1, 128, fp), 128);
  fclose(fp);
  assert_memory_equal(head, "\x93NUMPY\x01\x00\x76\x00", 10); /* 10 + 118 = 128: data 64-byte aligned */
  static const char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
  assert_memory_equal(head + 10, dict, sizeof dict - 1);
  assert_int_equal(head[127], '\n');
  double *w;
  size_t r, c;
  assert_int_equal(dpm_csv_read(path, &w, &r, &c, NULL), 0);
  assert_int_equal(r, 3);
  assert_int_equal(c, 2);
  assert_memory_equal(w, v, sizeof v);
  free(w);
  unlink(path);
  o = dpm_out_open(path);
  fputs("name,value\nddim,1\n", dpm_out_file(o));
  dpm_error_clear();
  assert_int_not_equal(dpm_out_close(o, 1), 0);
  dpm_test_assert_reason_has("cannot be written as .npy", __FILE__, __LINE__);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(count_tmp(dir, "out.npy"), 0);
  assert_int_equal(rmdir(dir), 0);
}

static void test_atomic_output(void **state)
{
  (void)state;
  char dir[] = "/tmp/dpmout-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/result.csv", dir);
  dpm_out *o = dpm_out_open(path);
  assert_non_null(o);
  fputs("a,b\n1,2\n", dpm_out_file(o));
  assert_int_equal(access(path, F_OK), -1); /* nothing visible before commit */
  assert_int_equal(dpm_out_close(o, 1), 0);
  assert_int_equal(access(path, F_OK), 0);
  /* an aborted write leaves neither the file nor a temporary behind, and keeps an older file intact */
  o = dpm_out_open(path);
  fputs("garbage", dpm_out_file(o));
  assert_int_equal(dpm_out_close(o, 0), 0);
  FILE *fp = fopen(path, "r");
  char buf[16] = {0};
  assert_true(fread(buf, 1, 15, fp) > 0);
  fclose(fp);
  assert_string_equal(buf, "a,b\n1,2\n");
  assert_int_equal(count_tmp(dir, "result.csv.tmp"), 0);
  unlink(path);
  rmdir(dir);
  assert_raises_null(dpm_out_open("/nonexistent-dir/x.csv"), "cannot create output");
}

/* A NUL byte inside a line is refused with file:line and its column (fgets used to end the line there and
 * silently drop the rest of it), also on the last line without a line end. */
static void test_csv_nul(void **state)
{
  (void)state;
  static const char a[] = "x,y\n1,2\n3,\0,4\n", b[] = "1,2\n3,4\0";
  const char *texts[2] = {a, b};
  const size_t lens[2] = {sizeof a - 1, sizeof b - 1};
  const char *want[2] = {":3: NUL byte at column 3", ":2: NUL byte at column 4"};
  for (int i = 0; i < 2; i++) {
    char path[] = "/tmp/dpmnul-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, texts[i], lens[i]), (ssize_t)lens[i]);
    close(fd);
    double *v = (double *)1;
    size_t r, c;
    assert_raises(dpm_csv_read(path, &v, &r, &c, NULL), GSL_EINVAL, want[i]);
    assert_null(v);
    unlink(path);
  }
}

static char *slurp(const char *path)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return NULL;
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static void write_all(const char *path, const char *text)
{
  dpm_out *o = dpm_out_open(path);
  assert_non_null(o);
  fputs(text, dpm_out_file(o));
  assert_int_equal(dpm_out_close(o, 1), DPM_SUCCESS);
}

/* --out onto something that is not a regular file: a FIFO and a character device are written directly and stay
 * what they are (renaming a temporary file onto them replaced the node by a regular file); a symbolic link stays
 * a link and its target receives the output, atomically (nothing visible before commit); a link to a new path
 * creates it; a link into a missing directory and a directory are refused with the path named. */
static void test_out_special_targets(void **state)
{
  (void)state;
  char dir[] = "/tmp/dpmspecial-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char p[6][300];
  const char *names[6] = {"fifo", "null", "target.csv", "link.csv", "newlink.csv", "badlink.csv"};
  for (int i = 0; i < 6; i++)
    snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
  struct stat st;

  /* FIFO: a child reads it to the end and keeps what it got */
  assert_int_equal(mkfifo(p[0], 0600), 0);
  char got[300];
  snprintf(got, sizeof got, "%s/got", dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    FILE *in = fopen(p[0], "r"), *keep = fopen(got, "w");
    int c;
    while (in && keep && (c = fgetc(in)) != EOF)
      fputc(c, keep);
    _exit(in && keep && fclose(keep) == 0 ? 0 : 1);
  }
  write_all(p[0], "a,b\n1,2\n");
  int wst;
  assert_int_equal(waitpid(pid, &wst, 0), pid);
  assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
  assert_int_equal(lstat(p[0], &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  assert_string_equal(slurp(got), "a,b\n1,2\n");
  unlink(got);

  /* a character device like /dev/null (made here when allowed, so the real one is never at stake) */
  if (mknod(p[1], S_IFCHR | 0666, makedev(1, 3)) == 0) {
    write_all(p[1], "discarded\n");
    assert_int_equal(lstat(p[1], &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    unlink(p[1]);
  }

  /* a symbolic link to a regular file */
  write_all(p[2], "old\n");
  assert_int_equal(symlink("target.csv", p[3]), 0);
  dpm_out *o = dpm_out_open(p[3]);
  assert_non_null(o);
  fputs("new\n", dpm_out_file(o));
  assert_string_equal(slurp(p[2]), "old\n"); /* still all or nothing */
  assert_int_equal(dpm_out_close(o, 1), DPM_SUCCESS);
  assert_int_equal(lstat(p[3], &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_string_equal(slurp(p[2]), "new\n");
  /* an aborted write through the link changes nothing */
  o = dpm_out_open(p[3]);
  assert_non_null(o);
  fputs("garbage", dpm_out_file(o));
  assert_int_equal(dpm_out_close(o, 0), DPM_SUCCESS);
  assert_string_equal(slurp(p[2]), "new\n");
  assert_int_equal(count_tmp(dir, "target.csv.tmp"), 0);

  /* a link to a path that does not exist yet: the path is created, the link kept */
  assert_int_equal(symlink("fresh.csv", p[4]), 0);
  write_all(p[4], "fresh\n");
  assert_int_equal(lstat(p[4], &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  char fresh[300];
  snprintf(fresh, sizeof fresh, "%s/fresh.csv", dir);
  assert_string_equal(slurp(fresh), "fresh\n");

  /* refused: a link into a missing directory, a directory */
  assert_int_equal(symlink("nodir/x.csv", p[5]), 0);
  assert_raises_null(dpm_out_open(p[5]), "symbolic link");
  assert_raises_null(dpm_out_open(dir), "is a directory");

  for (int i = 0; i < 6; i++)
    unlink(p[i]);
  unlink(fresh);
  assert_int_equal(rmdir(dir), 0);
}

/* SIGINT or SIGTERM while the output is being written: the temporary file is removed and the process dies by
 * that signal (a child writes without end until it is killed). */
static void test_out_signal_cleanup(void **state)
{
  (void)state;
  const int sigs[2] = {SIGTERM, SIGINT};
  for (int t = 0; t < 2; t++) {
    char dir[] = "/tmp/dpmsig-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/big.csv", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      signal(SIGINT, SIG_DFL); /* as in a foreground process, whatever the test runner inherited */
      signal(SIGTERM, SIG_DFL);
      alarm(30); /* never outlive a broken test */
      dpm_out *o = dpm_out_open(path);
      if (!o) _exit(3);
      FILE *fp = dpm_out_file(o);
      for (unsigned long i = 0;; i++) {
        fprintf(fp, "%lu,%.17g\n", i, (double)i * 0.1);
        if (i % 4096 == 0) fflush(fp);
      }
    }
    /* wait until the child's temporary file has data, then kill it */
    int seen = 0;
    for (int k = 0; k < 2000 && !seen; k++) {
      DIR *dp = opendir(dir);
      struct dirent *e;
      while (dp && (e = readdir(dp)))
        if (strncmp(e->d_name, "big.csv.tmp.", 12) == 0) {
          char tp[600];
          struct stat st;
          snprintf(tp, sizeof tp, "%s/%s", dir, e->d_name);
          seen = stat(tp, &st) == 0 && st.st_size > 65536;
        }
      if (dp) closedir(dp);
      if (!seen) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
      }
    }
    assert_true(seen);
    assert_int_equal(kill(pid, sigs[t]), 0);
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFSIGNALED(wst));
    assert_int_equal(WTERMSIG(wst), sigs[t]);
    assert_int_equal(count_tmp(dir, "big.csv"), 0); /* neither a temporary nor the output */
    assert_int_equal(rmdir(dir), 0);
  }
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_good),
      cmocka_unit_test(test_csv_errors),
      cmocka_unit_test(test_csv_wide),
      cmocka_unit_test(test_csv_parse_rounding),
      cmocka_unit_test(test_format_shortest),
      cmocka_unit_test(test_npy_read),
      cmocka_unit_test(test_npy_errors),
      cmocka_unit_test(test_atomic_output),
      cmocka_unit_test(test_npy_output),
      cmocka_unit_test(test_csv_nul),
      cmocka_unit_test(test_out_special_targets),
      cmocka_unit_test(test_out_signal_cleanup),
  };
  return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
