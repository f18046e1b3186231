/* test_io.c — CSV input with line-accurate errors and all-or-nothing output files. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
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
  size_t n = DPM_IO_MAX_LINE + 10;
  char *big = malloc(n + 8);
  strcpy(big, "1,2\n");
  memset(big + 4, '1', n);
  strcpy(big + 4 + n, "\n");
  expect_error(big, GSL_EINVAL, ":2: line too long");
  free(big);
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
      cmocka_unit_test(test_atomic_output),
      cmocka_unit_test(test_csv_nul),
      cmocka_unit_test(test_out_special_targets),
      cmocka_unit_test(test_out_signal_cleanup),
  };
  return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
