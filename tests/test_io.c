/* test_io.c — CSV input with line-accurate errors and all-or-nothing output files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  for (int i = 0; i < 6; i++) assert_true(v[i] == want[i]);
  free(v);
  free(hdr);
  assert_int_equal(read_text("1.5\r\n2.5\r\n", &v, &r, &c, NULL), 0); /* CRLF line ends */
  assert_int_equal(r, 2);
  assert_true(v[1] == 2.5);
  free(v);
}

static void expect_error(const char *text, int status, const char *needle)
{
  double *v = (double *)1;
  size_t r, c;
  int st = read_text(text, &v, &r, &c, NULL);
  assert_int_equal(st, status);
  assert_null(v);
  if (!strstr(dpm_error_last(), needle)) {
    print_error("reason '%s' lacks '%s'\n", dpm_error_last(), needle);
    fail();
  }
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
  assert_int_equal(dpm_csv_read("/nonexistent/file.csv", &v, &r, &c, NULL), GSL_EFAILED);
  assert_non_null(strstr(dpm_error_last(), "/nonexistent/file.csv"));
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
  assert_null(dpm_out_open("/nonexistent-dir/x.csv"));
  assert_non_null(strstr(dpm_error_last(), "cannot create output"));
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_good),
      cmocka_unit_test(test_csv_errors),
      cmocka_unit_test(test_atomic_output),
  };
  return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
