/* metrics.c — sample quality against the exact q_0 of a mixture (docs/MATH.md §2): exact 1-D Wasserstein-1 and
 * Kolmogorov–Smirnov distances from the closed-form mixture CDF and its antiderivative, MMD with a Gaussian kernel
 * in closed form (Gaussian integrals), and the two-sample energy distance, MMD and sliced W1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_metrics.h"
#include "dpm_oracle.h"

/* ---- checks ---------------------------------------------------------------------------------------------- */

static int check_points(const char *what, size_t d, size_t n, const double *x)
{
  if (!x) DPM_ERROR(GSL_EINVAL, "%s: NULL sample", what);
  if (n == 0) DPM_ERROR(GSL_EINVAL, "%s: empty sample (n = 0)", what);
  for (size_t i = 0; i < n * d; i++)
    if (!isfinite(x[i]))
      DPM_ERROR(GSL_EBADFUNC, "%s: sample point %zu has a non-finite coordinate (%g)", what, i / d, x[i]);
  return DPM_SUCCESS;
}

static int check_mix1(const char *what, const dpm_mixture *mix)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "%s: NULL mixture", what);
  if (mix->d != 1) DPM_ERROR(GSL_EBADLEN, "%s: needs 1-D data (the mixture is %zu-dimensional)", what, mix->d);
  return DPM_SUCCESS;
}

/* ---- the 1-D mixture CDF and its antiderivatives ----------------------------------------------------------- */

/* psi(t) = int_{-inf}^t Phi = E (t - Z)_+ = phi(t) + t Phi(t) >= 0. */
static double psi(double t)
{
  if (t < -40.0) return 0.0; /* phi(t) + t Phi(t) ~ phi(t)/t^2 < 1e-300 */
  return gsl_ran_ugaussian_pdf(t) + t * gsl_cdf_ugaussian_P(t);
}

/* Standard deviation of component k of a 1-D mixture (0 for a point mass). */
static double sd1(const dpm_mixture *mix, size_t k)
{
  return mix->kind[k] == DPM_COV_ZERO ? 0.0 : sqrt(mix->lambda[k]);
}

/* F(x) (left = 0, right-continuous) or the left limit F(x-) (left = 1). */
static double cdf1(const dpm_mixture *mix, double x, int left)
{
  double F = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    double sd = sd1(mix, k), mu = mix->mu[k];
    if (sd > 0)
      F += mix->w[k] * gsl_cdf_ugaussian_P((x - mu) / sd);
    else if (left ? x > mu : x >= mu)
      F += mix->w[k];
  }
  return F > 1.0 ? 1.0 : F;
}

/* G(x) = int_{-inf}^x F = sum_k w_k sd_k psi((x - mu_k)/sd_k) (point mass: (x - mu_k)_+). */
static double cdf1_int_left(const dpm_mixture *mix, double x)
{
  double G = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    double sd = sd1(mix, k), mu = mix->mu[k];
    G += mix->w[k] * (sd > 0 ? sd * psi((x - mu) / sd) : fmax(x - mu, 0.0));
  }
  return G;
}

/* H(x) = int_x^inf (1 - F) = sum_k w_k sd_k psi((mu_k - x)/sd_k) (point mass: (mu_k - x)_+). */
static double cdf1_int_right(const dpm_mixture *mix, double x)
{
  double H = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    double sd = sd1(mix, k), mu = mix->mu[k];
    H += mix->w[k] * (sd > 0 ? sd * psi((mu - x) / sd) : fmax(mu - x, 0.0));
  }
  return H;
}

double dpm_metrics_cdf1(const dpm_mixture *mix, double x)
{
  if (check_mix1("cdf1", mix)) return NAN;
  if (isnan(x)) return NAN;
  return cdf1(mix, x, 0);
}

/* int_a^b |c - F(x)| dx for a < b, given Ga = G(a), Gb = G(b). F is nondecreasing, so {F < c} meets [a, b] in an
 * interval [a, x*): x* = inf{x in [a, b] : F(x) >= c} is found by bisection to adjacent doubles (the integral's
 * error from the last bracket is at most its width times |F - c| there, far below rounding), then
 *   int = c (x* - a) - (G(x*) - G(a)) + (G(b) - G(x*)) - c (b - x*),
 * each of the two parts clipped at 0 (each is an integral of a non-negative function). */
static double abs_int(const dpm_mixture *mix, double a, double b, double Ga, double Gb, double c)
{
  double xs, Gs;
  if (cdf1(mix, a, 0) >= c) {
    xs = a;
    Gs = Ga;
  } else if (cdf1(mix, b, 1) < c) {
    xs = b;
    Gs = Gb;
  } else {
    double lo = a, hi = b; /* F(lo) < c <= F(hi) */
    for (int it = 0; it < 2200; it++) {
      double mid = lo + 0.5 * (hi - lo);
      if (mid <= lo || mid >= hi) break;
      if (cdf1(mix, mid, 0) >= c)
        hi = mid;
      else
        lo = mid;
    }
    xs = hi;
    Gs = cdf1_int_left(mix, xs);
  }
  double below = c * (xs - a) - (Gs - Ga); /* int_a^x* (c - F) */
  double above = (Gb - Gs) - c * (b - xs); /* int_x*^b (F - c) */
  return fmax(below, 0.0) + fmax(above, 0.0);
}

static int sorted_copy(size_t n, const double *x, double **out)
{
  double *s = dpm_malloc(n * sizeof *s);
  if (!s) DPM_ERROR(GSL_ENOMEM, "metrics: out of memory sorting %zu points", n);
  memcpy(s, x, n * sizeof *s);
  gsl_sort(s, 1, n);
  *out = s;
  return DPM_SUCCESS;
}

int dpm_metrics_w1_exact(const dpm_mixture *mix, size_t n, const double *x, double *w1)
{
  int st;
  if ((st = check_mix1("w1_exact", mix)) || (st = check_points("w1_exact", 1, n, x))) return st;
  if (!w1) DPM_ERROR(GSL_EINVAL, "w1_exact: NULL output");
  double *s;
  if ((st = sorted_copy(n, x, &s))) return st;
  /* F_n = 0 on (-inf, s_0), i/n on [s_{i-1}, s_i), 1 on [s_{n-1}, inf). */
  double total = cdf1_int_left(mix, s[0]) + cdf1_int_right(mix, s[n - 1]);
  double Ga = cdf1_int_left(mix, s[0]);
  for (size_t i = 1; i < n; i++) {
    double Gb = cdf1_int_left(mix, s[i]);
    if (s[i] > s[i - 1]) total += abs_int(mix, s[i - 1], s[i], Ga, Gb, (double)i / (double)n);
    Ga = Gb;
  }
  free(s);
  *w1 = total;
  return DPM_SUCCESS;
}

int dpm_metrics_ks_exact(const dpm_mixture *mix, size_t n, const double *x, double *ks)
{
  int st;
  if ((st = check_mix1("ks_exact", mix)) || (st = check_points("ks_exact", 1, n, x))) return st;
  if (!ks) DPM_ERROR(GSL_EINVAL, "ks_exact: NULL output");
  double *s;
  if ((st = sorted_copy(n, x, &s))) return st;
  /* Between sample points F_n is constant and F monotone, so the supremum is reached at a sample value v, on one
   * side or the other: |F(v) - #{x <= v}/n| and |F(v-) - #{x < v}/n|. */
  double D = 0.0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] == s[i])
      j++;
    double lo = (double)i / (double)n, hi = (double)j / (double)n;
    D = fmax(D, fabs(hi - cdf1(mix, s[i], 0)));
    D = fmax(D, fabs(cdf1(mix, s[i], 1) - lo));
    i = j;
  }
  free(s);
  *ks = D;
  return DPM_SUCCESS;
}

/* ---- MMD with a Gaussian kernel ------------------------------------------------------------------------------
 */

/* log E k(X, Y), X ~ N(a, A), Y ~ N(b, B), k(x, y) = exp(-|x - y|^2/(2 h^2)):
 *   E k = (h^2)^{d/2} det(M)^{-1/2} exp(-1/2 (a-b)^T M^{-1} (a-b)),  M = A + B + h^2 I. */

/* Mixture component k against a point x (A = 0): M = U_k (lambda_k + h^2) U_k^T, O(d^2) for FULL, else O(d). */
static double log_ek_point(const dpm_mixture *mix, size_t k, double h2, double logdet_rel, const double *x)
{
  size_t d = mix->d;
  const double *mu = mix->mu + k * d, *lam = mix->lambda + k * d;
  double q = 0.0;
  if (mix->kind[k] == DPM_COV_FULL) {
    const double *U = mix->U + k * d * d;
    for (size_t j = 0; j < d; j++) {
      double u = 0.0;
      for (size_t i = 0; i < d; i++)
        u += U[i * d + j] * (x[i] - mu[i]);
      q += u * u / (lam[j] + h2);
    }
  } else {
    for (size_t j = 0; j < d; j++) {
      double e = x[j] - mu[j];
      q += e * e / (lam[j] + h2);
    }
  }
  return -0.5 * logdet_rel - 0.5 * q;
}

/* Component k against component l: diagonal M when neither is FULL, else a dense Cholesky factorisation of M
 * (scratch: M d x d, v d). logdet_rel = log det(M / h^2). */
static int log_ek_pair(const dpm_mixture *mix, size_t k, size_t l, double h2, double *M, double *v, double *out)
{
  size_t d = mix->d;
  const double *mk = mix->mu + k * d, *ml = mix->mu + l * d;
  if (mix->kind[k] != DPM_COV_FULL && mix->kind[l] != DPM_COV_FULL) {
    const double *lk = mix->lambda + k * d, *ll = mix->lambda + l * d;
    double ld = 0.0, q = 0.0;
    for (size_t j = 0; j < d; j++) {
      double e = mk[j] - ml[j], m = lk[j] + ll[j] + h2;
      ld += log1p((lk[j] + ll[j]) / h2);
      q += e * e / m;
    }
    *out = -0.5 * ld - 0.5 * q;
    return DPM_SUCCESS;
  }
  dpm_mixture_cov(mix, k, M);
  for (size_t i = 0; i < d; i++) {
    for (size_t j = 0; j < d; j++) {
      double bij;
      if (mix->kind[l] == DPM_COV_FULL)
        bij = mix->Sigma[(l * d + i) * d + j];
      else
        bij = i == j ? mix->lambda[l * d + i] : 0.0;
      M[i * d + j] += bij;
    }
    M[i * d + i] += h2;
  }
  /* M = L L^T without GSL's error handler (a global, not thread-safe to swap): the test is the factorisation */
  if (!dpm_cholesky_lower(M, d))
    DPM_ERROR(GSL_EDOM, "mmd2_exact: components %zu and %zu: A + B + h^2 I is not positive definite", k, l);
  double ld = 0.0;
  for (size_t i = 0; i < d; i++)
    ld += 2.0 * log(M[i * d + i] / sqrt(h2));
  /* v = L^{-1} (a - b) by forward substitution (L's diagonal is positive: no zero pivot) */
  for (size_t i = 0; i < d; i++) {
    double t = mk[i] - ml[i];
    for (size_t j = 0; j < i; j++)
      t -= M[i * d + j] * v[j];
    v[i] = t / M[i * d + i];
  }
  double q = 0.0;
  for (size_t i = 0; i < d; i++)
    q += v[i] * v[i];
  *out = -0.5 * ld - 0.5 * q;
  return DPM_SUCCESS;
}

static int check_h(const char *what, double h)
{
  if (!isfinite(h) || !(h > 0))
    DPM_ERROR(GSL_EDOM, "%s: kernel bandwidth h = %g must be positive and finite", what, h);
  return DPM_SUCCESS;
}

/* sum_{i<n} sum_{j<m} f(|x_i - y_j|^2), f = Gaussian kernel (h2 > 0) or Euclidean distance (h2 = 0), skipping
 * j == i when skip_diag (x == y). Rows are summed in parallel into row[] and then added in order, so the result
 * does not depend on the thread count. */
static double pair_sum(size_t d, size_t n, const double *x, size_t m, const double *y, double h2, int skip_diag,
                       double *row)
{
  long nn = (long)n;
#pragma omp parallel for schedule(dynamic, 16)
  for (long ii = 0; ii < nn; ii++) {
    size_t i = (size_t)ii;
    const double *xi = x + i * d;
    double acc = 0.0;
    for (size_t j = 0; j < m; j++) {
      if (skip_diag && j == i) continue;
      const double *yj = y + j * d;
      double r2 = 0.0;
      for (size_t c = 0; c < d; c++) {
        double e = xi[c] - yj[c];
        r2 += e * e;
      }
      acc += h2 > 0 ? exp(-0.5 * r2 / h2) : sqrt(r2);
    }
    row[i] = acc;
  }
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += row[i];
  return s;
}

int dpm_metrics_mmd2_exact(const dpm_mixture *mix, double h, size_t n, const double *x, int unbiased, double *mmd2)
{
  int st;
  if (!mix) DPM_ERROR(GSL_EINVAL, "mmd2_exact: NULL mixture");
  if ((st = check_h("mmd2_exact", h)) || (st = check_points("mmd2_exact", mix->d, n, x))) return st;
  if (unbiased != 0 && unbiased != 1)
    DPM_ERROR(GSL_EINVAL, "mmd2_exact: unbiased must be 0 or 1 (got %d)", unbiased);
  if (unbiased && n < 2) DPM_ERROR(GSL_EINVAL, "mmd2_exact: the unbiased statistic needs n >= 2 (got %zu)", n);
  if (!mmd2) DPM_ERROR(GSL_EINVAL, "mmd2_exact: NULL output");
  size_t d = mix->d, K = mix->K;
  double h2 = h * h;
  double *buf = dpm_malloc((n + K + d * d + d) * sizeof *buf);
  if (!buf) DPM_ERROR(GSL_ENOMEM, "mmd2_exact: out of memory (n = %zu, K = %zu, d = %zu)", n, K, d);
  double *row = buf, *ldk = buf + n, *M = ldk + K, *v = M + d * d;
  for (size_t k = 0; k < K; k++) {
    double ld = 0.0;
    for (size_t j = 0; j < d; j++)
      ld += log1p(mix->lambda[k * d + j] / h2);
    ldk[k] = ld;
  }
  /* E k(Y, Y'), Y, Y' ~ q_0 independent */
  double tyy = 0.0;
  for (size_t k = 0; k < K && !st; k++) {
    if (!(mix->w[k] > 0)) continue;
    for (size_t l = 0; l < K; l++) {
      if (!(mix->w[l] > 0)) continue;
      double le = 0.0;
      if ((st = log_ek_pair(mix, k, l, h2, M, v, &le))) break;
      tyy += mix->w[k] * mix->w[l] * exp(le);
    }
  }
  if (st) {
    free(buf);
    return st;
  }
  /* (1/n) sum_i E k(x_i, Y) */
  long nn = (long)n;
#pragma omp parallel for schedule(static)
  for (long ii = 0; ii < nn; ii++) {
    size_t i = (size_t)ii;
    double acc = 0.0;
    for (size_t k = 0; k < K; k++)
      if (mix->w[k] > 0) acc += mix->w[k] * exp(log_ek_point(mix, k, h2, ldk[k], x + i * d));
    row[i] = acc;
  }
  double txy = 0.0;
  for (size_t i = 0; i < n; i++)
    txy += row[i];
  txy /= (double)n;
  /* sample-sample term: off-diagonal sum, plus the diagonal k(x, x) = 1 for the V-statistic */
  double off = pair_sum(d, n, x, n, x, h2, 1, row), dn = (double)n;
  double txx = unbiased ? off / (dn * (dn - 1.0)) : (off + dn) / (dn * dn);
  free(buf);
  *mmd2 = txx - 2.0 * txy + tyy;
  return DPM_SUCCESS;
}

/* ---- two-sample statistics ---------------------------------------------------------------------------------- */

int dpm_metrics_energy(size_t d, size_t n, const double *x, size_t m, const double *y, double *energy)
{
  int st;
  if (d == 0) DPM_ERROR(GSL_EBADLEN, "energy: dimension d = 0");
  if ((st = check_points("energy (x)", d, n, x)) || (st = check_points("energy (y)", d, m, y))) return st;
  if (!energy) DPM_ERROR(GSL_EINVAL, "energy: NULL output");
  double *row = dpm_malloc((n > m ? n : m) * sizeof *row);
  if (!row) DPM_ERROR(GSL_ENOMEM, "energy: out of memory (n = %zu, m = %zu)", n, m);
  double sxy = pair_sum(d, n, x, m, y, 0.0, 0, row) / ((double)n * (double)m);
  double sxx = pair_sum(d, n, x, n, x, 0.0, 0, row) / ((double)n * (double)n);
  double syy = pair_sum(d, m, y, m, y, 0.0, 0, row) / ((double)m * (double)m);
  free(row);
  *energy = 2.0 * sxy - sxx - syy;
  return DPM_SUCCESS;
}

int dpm_metrics_mmd2(size_t d, double h, size_t n, const double *x, size_t m, const double *y, double *mmd2)
{
  int st;
  if (d == 0) DPM_ERROR(GSL_EBADLEN, "mmd2: dimension d = 0");
  if ((st = check_h("mmd2", h)) || (st = check_points("mmd2 (x)", d, n, x)) ||
      (st = check_points("mmd2 (y)", d, m, y)))
    return st;
  if (!mmd2) DPM_ERROR(GSL_EINVAL, "mmd2: NULL output");
  double *row = dpm_malloc((n > m ? n : m) * sizeof *row);
  if (!row) DPM_ERROR(GSL_ENOMEM, "mmd2: out of memory (n = %zu, m = %zu)", n, m);
  double h2 = h * h;
  double sxy = pair_sum(d, n, x, m, y, h2, 0, row) / ((double)n * (double)m);
  double sxx = pair_sum(d, n, x, n, x, h2, 0, row) / ((double)n * (double)n);
  double syy = pair_sum(d, m, y, m, y, h2, 0, row) / ((double)m * (double)m);
  free(row);
  *mmd2 = sxx + syy - 2.0 * sxy;
  return DPM_SUCCESS;
}

int dpm_metrics_sliced_w1(size_t d, size_t n, const double *x, const double *y, size_t nproj, gsl_rng *r,
                          double *sw1)
{
  int st;
  if (d == 0) DPM_ERROR(GSL_EBADLEN, "sliced_w1: dimension d = 0");
  if ((st = check_points("sliced_w1 (x)", d, n, x)) || (st = check_points("sliced_w1 (y)", d, n, y))) return st;
  if (nproj == 0) DPM_ERROR(GSL_EINVAL, "sliced_w1: needs at least one projection (nproj = 0)");
  if (!r || !sw1) DPM_ERROR(GSL_EINVAL, "sliced_w1: NULL generator or output");
  double *buf = dpm_malloc((2 * n + d) * sizeof *buf);
  if (!buf) DPM_ERROR(GSL_ENOMEM, "sliced_w1: out of memory (n = %zu, d = %zu)", n, d);
  double *px = buf, *py = buf + n, *u = buf + 2 * n;
  double total = 0.0;
  for (size_t p = 0; p < nproj; p++) {
    double nrm;
    do { /* a uniform direction: a normalised Gaussian vector */
      nrm = 0.0;
      for (size_t j = 0; j < d; j++) {
        u[j] = gsl_ran_gaussian(r, 1.0);
        nrm += u[j] * u[j];
      }
    } while (!(nrm > 0));
    nrm = sqrt(nrm);
    for (size_t j = 0; j < d; j++)
      u[j] /= nrm;
    for (size_t i = 0; i < n; i++) {
      double a = 0.0, b = 0.0;
      for (size_t j = 0; j < d; j++) {
        a += u[j] * x[i * d + j];
        b += u[j] * y[i * d + j];
      }
      px[i] = a;
      py[i] = b;
    }
    gsl_sort(px, 1, n);
    gsl_sort(py, 1, n);
    double w = 0.0;
    for (size_t i = 0; i < n; i++)
      w += fabs(px[i] - py[i]);
    total += w / (double)n;
  }
  free(buf);
  *sw1 = total / (double)nproj;
  return DPM_SUCCESS;
}

/* ---- mode weights ---------------------------------------------------------------------------------------- */

#define MODE_S     1e-6 /* the oracle's s: C_k = Sigma_k + s^2 I, so point masses are separable by distance */
#define MODE_BLOCK 4096

int dpm_metrics_mode_weights(const dpm_mixture *mix, size_t n, const double *x, double *weights)
{
  int st;
  if (!mix) DPM_ERROR(GSL_EINVAL, "mode_weights: NULL mixture");
  if ((st = check_points("mode_weights", mix->d, n, x))) return st;
  if (!weights) DPM_ERROR(GSL_EINVAL, "mode_weights: NULL output");
  size_t K = mix->K, blk = n < MODE_BLOCK ? n : MODE_BLOCK;
  dpm_oracle *o = dpm_oracle_alloc(mix);
  double *lr = dpm_malloc(blk * K * sizeof *lr);
  size_t *count = dpm_calloc(K, sizeof *count);
  if (!o || !lr || !count) {
    dpm_oracle_free(o);
    free(lr);
    free(count);
    DPM_ERROR(GSL_ENOMEM, "mode_weights: out of memory (K = %zu)", K);
  }
  for (size_t i0 = 0; i0 < n && !st; i0 += blk) {
    size_t b = n - i0 < blk ? n - i0 : blk;
    dpm_oracle_result res = {0};
    res.logresp = lr;
    if ((st = dpm_oracle_eval(o, 1.0, MODE_S, b, x + i0 * mix->d, &res))) break;
    for (size_t i = 0; i < b; i++) {
      size_t best = 0;
      for (size_t k = 1; k < K; k++)
        if (lr[i * K + k] > lr[i * K + best]) best = k;
      count[best]++;
    }
  }
  if (!st)
    for (size_t k = 0; k < K; k++)
      weights[k] = (double)count[k] / (double)n;
  dpm_oracle_free(o);
  free(lr);
  free(count);
  return st;
}
