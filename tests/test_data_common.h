/* test_data_common.h — fixtures shared by the data module's test programs (test_data_mixture.c,
 * test_data_loaders.c): a mixture in R^3 with one component of every covariance kind (docs/MATH.md §2), the
 * width of the Monte Carlo checks, the error expectations in the form these tests use, and reading a file whole.
 */
#ifndef DPM_TEST_DATA_COMMON_H
#define DPM_TEST_DATA_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "dpm_common.h"
#include "dpm_data.h"
#include "testutil.h"

/* Monte Carlo assertions are K_SE standard errors wide: with fixed seeds the tests are deterministic, and a
 * correct implementation fails one of the ~100 assertions of these programs with probability about
 * 100 * 5.7e-7. */
#define K_SE 5.0

/* The call fails now (NULL, or a non-success status) with a reason containing substr (testutil.h). */
#define expect_null(expr, substr)   assert_raises_null((expr), (substr))
#define expect_status(expr, substr) assert_raises((expr), DPM_TEST_ANY_ERROR, (substr))

/* A mixture in R^3 with one component of every kind and unequal weights. */
static const double MU4[4][3] = {{1, -1, 0.5}, {-2, 0, 1}, {0, 2, -1}, {3, 3, 3}};
static const double W4[4] = {0.1, 0.3, 0.4, 0.2};
static const double DIAG1[3] = {0.5, 1.5, 0.2};
static const double FULL2[9] = {2, 0.6, 0.3, 0.6, 1, -0.2, 0.3, -0.2, 0.5};
static const double ISO0 = 0.3;

static inline dpm_mixture *mixed4(void)
{
  dpm_mixture *m = dpm_test_points(4, 3, &MU4[0][0], W4);
  assert_int_equal(dpm_mixture_set_iso(m, 0, ISO0), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_diag(m, 1, DIAG1), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_full(m, 2, FULL2), DPM_SUCCESS);
  assert_int_equal(dpm_mixture_set_zero(m, 3), DPM_SUCCESS);
  return m;
}

/* The whole file at path, NUL-terminated (caller frees). */
static inline char *slurp_file(const char *path)
{
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
  s[n] = '\0';
  fclose(fp);
  return s;
}

#endif
