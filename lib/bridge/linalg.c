/* linalg.c — the bridge module's small dense linear algebra: products, checks, symmetric matrix powers by GSL's
 * symmetric eigensolver and Cholesky solves (used by the closed form of Janati et al. 2020 and the Riccati
 * recursion of docs/MATH.md §5.3). */
#include <math.h>
#include <string.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "bridge_internal.h"
#include "dpm_internal.h"

void dpm_bridge_matmul(size_t d, const double *a, const double *b, double *c)
{
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t l = 0; l < d; l++)
        s += a[i * d + l] * b[l * d + j];
      c[i * d + j] = s;
    }
}

void dpm_bridge_matmul_nt(size_t d, const double *a, const double *b, double *c)
{
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t l = 0; l < d; l++)
        s += a[i * d + l] * b[j * d + l];
      c[i * d + j] = s;
    }
}

int dpm_bridge_all_finite(const double *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

int dpm_bridge_is_spd(size_t d, const double *a, double *work)
{
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < i; j++)
      if (fabs(a[i * d + j] - a[j * d + i]) > 1e-12 * (fabs(a[i * d + j]) + fabs(a[j * d + i])) + 1e-300) return 0;
  memcpy(work, a, d * d * sizeof *work);
  return dpm_cholesky_lower(work, d);
}

int dpm_bridge_sym_pow(size_t d, const double *a, double p, double *out, double *lambda)
{
  gsl_matrix *A = gsl_matrix_alloc(d, d), *U = gsl_matrix_alloc(d, d);
  gsl_vector *ev = gsl_vector_alloc(d);
  gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(d);
  int st = DPM_SUCCESS;
  if (!A || !U || !ev || !w) {
    st = DPM_RAISE(GSL_ENOMEM, "bridge: out of memory for a %zu x %zu eigen-decomposition", d, d);
    goto done;
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      gsl_matrix_set(A, i, j, 0.5 * (a[i * d + j] + a[j * d + i]));
  gsl_eigen_symmv(A, ev, U, w);
  gsl_eigen_symmv_sort(ev, U, GSL_EIGEN_SORT_VAL_ASC);
  for (size_t l = 0; l < d; l++) {
    double e = gsl_vector_get(ev, l);
    if (lambda) lambda[l] = e;
    if (p < 0 && !(e > 0)) {
      st = DPM_RAISE(GSL_EDOM, "bridge: matrix not positive-definite (eigenvalue %g)", e);
      goto done;
    }
    gsl_vector_set(ev, l, p > 0 ? sqrt(fmax(e, 0.0)) : 1.0 / sqrt(e));
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t l = 0; l < d; l++)
        s += gsl_matrix_get(U, i, l) * gsl_vector_get(ev, l) * gsl_matrix_get(U, j, l);
      out[i * d + j] = s;
    }
done:
  gsl_eigen_symmv_free(w);
  gsl_vector_free(ev);
  gsl_matrix_free(U);
  gsl_matrix_free(A);
  return st;
}

int dpm_bridge_spd_solve(size_t d, const double *a, size_t nrhs, double *b, double *L)
{
  memcpy(L, a, d * d * sizeof *L);
  if (!dpm_cholesky_lower(L, d)) return 0;
  for (size_t c = 0; c < nrhs; c++) {
    for (size_t i = 0; i < d; i++) { /* L z = b */
      double s = b[i * nrhs + c];
      for (size_t l = 0; l < i; l++)
        s -= L[i * d + l] * b[l * nrhs + c];
      b[i * nrhs + c] = s / L[i * d + i];
    }
    for (size_t i = d; i-- > 0;) { /* L^T x = z */
      double s = b[i * nrhs + c];
      for (size_t l = i + 1; l < d; l++)
        s -= L[l * d + i] * b[l * nrhs + c];
      b[i * nrhs + c] = s / L[i * d + i];
    }
  }
  return 1;
}
