/* metrics_se.c — sample metrics against ground truth with standard errors (docs/MATH.md §2, §4): mean exact
 * log-density, unbiased MMD and energy distance as U-statistics with their variance (Gretton et al. 2012, Lemma 6;
 * Hoeffding's decomposition), sliced W2, exact 1-D W1/KS with batch means, mode weights and their total
 * variation, distance to a point set and the memorisation rate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>

#include "dpm_common.h"
#include "dpm_metrics.h"
#include "dpm_oracle.h"

enum { NBATCH = 10, BW_MAX = 500 };

static int check_sample(const char *what, size_t d, size_t n, const double *x)
{
  if (!x || n == 0) DPM_ERROR(GSL_EINVAL, "%s: NULL or empty sample", what);
  if (d == 0) DPM_ERROR(GSL_EBADLEN, "%s: dimension 0", what);
  for (size_t i = 0; i < n * d; i++)
    if (!isfinite(x[i])) DPM_ERROR(GSL_EBADFUNC, "%s: sample point %zu is not finite (%g)", what, i / d, x[i]);
  return DPM_SUCCESS;
}

/* mean and sd/sqrt(n) of v (n) */
static void mean_se(const double *v, size_t n, double *mean, double *se)
{
  double m = 0.0, q = 0.0;
  for (size_t i = 0; i < n; i++) { /* Welford */
    const double dlt = v[i] - m;
    m += dlt / (double)(i + 1);
    q += dlt * (v[i] - m);
  }
  if (mean) *mean = m;
  if (se) *se = n >= 2 ? sqrt(q / (double)(n - 1) / (double)n) : (double)NAN;
}

int dpm_metrics_logq_mean(const dpm_mixture *mix, size_t n, const double *x, double *mean, double *se)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "mean log-density: NULL mixture");
  int st = check_sample("mean log-density", mix->d, n, x);
  if (st) return st;
  for (size_t k = 0; k < mix->K; k++)
    if (mix->kind[k] == DPM_COV_ZERO && mix->w[k] > 0.0)
      DPM_ERROR(GSL_EDOM, "mean log-density: component %zu is a point mass (the data has no density)", k);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  double *lq = malloc(n * sizeof *lq);
  if (!o || !lq) {
    dpm_oracle_free(o);
    free(lq);
    DPM_ERROR(GSL_ENOMEM, "mean log-density: out of memory");
  }
  dpm_oracle_result res = {.logq = lq};
  st = dpm_oracle_eval(o, 1.0, 1e-100, n, x, &res);
  if (!st) mean_se(lq, n, mean, se);
  dpm_oracle_free(o);
  free(lq);
  return st;
}

static double dist(size_t d, const double *a, const double *b)
{
  double s = 0.0;
  for (size_t k = 0; k < d; k++)
    s += (a[k] - b[k]) * (a[k] - b[k]);
  return sqrt(s);
}

int dpm_metrics_median_bandwidth(size_t d, size_t n, const double *x, size_t m, const double *y, double *h)
{
  int st = check_sample("median bandwidth", d, n, x);
  if (!st) st = check_sample("median bandwidth", d, m, y);
  if (st) return st;
  const size_t a = n < BW_MAX ? n : BW_MAX, b = m < BW_MAX ? m : BW_MAX, N = a + b, P = N * (N - 1) / 2;
  double *v = malloc(P * sizeof *v);
  if (!v) DPM_ERROR(GSL_ENOMEM, "median bandwidth: out of memory");
  size_t p = 0;
  for (size_t i = 0; i < N; i++)
    for (size_t j = i + 1; j < N; j++)
      v[p++] = dist(d, i < a ? x + i * d : y + (i - a) * d, j < a ? x + j * d : y + (j - a) * d);
  gsl_sort(v, 1, P);
  const double med = P % 2 ? v[P / 2] : 0.5 * (v[P / 2 - 1] + v[P / 2]);
  free(v);
  if (!(med > 0.0)) DPM_ERROR(GSL_EDOM, "median bandwidth: the median pairwise distance is 0");
  *h = med;
  return DPM_SUCCESS;
}

/* the kernel of u_stat: exp(-c |u - v|^2) for c > 0, -|u - v| for c = 0 */
static double ker(double c, size_t d, const double *u, const double *v)
{
  double s2 = 0.0;
  for (size_t k = 0; k < d; k++)
    s2 += (u[k] - v[k]) * (u[k] - v[k]);
  return c > 0.0 ? exp(-c * s2) : -sqrt(s2);
}

/* The paired U-statistic of h(z_i, z_j) built from a kernel k (gaussian with 1/(2h^2) = c, or -distance when
 * c = 0) and its second-order standard error. */
static int u_stat(const char *what, size_t d, size_t n, const double *x, const double *y, double c, double *val,
                  double *se)
{
  int st = check_sample(what, d, n, x);
  if (!st) st = check_sample(what, d, n, y);
  if (st) return st;
  if (n < 2) DPM_ERROR(GSL_EINVAL, "%s: needs n >= 2 points per sample", what);
  double *row = calloc(n, sizeof *row);
  if (!row) DPM_ERROR(GSL_ENOMEM, "%s: out of memory", what);
  double sum = 0.0, sum2 = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      const double *xi = x + i * d, *xj = x + j * d, *yi = y + i * d, *yj = y + j * d;
      const double hv = ker(c, d, xi, xj) + ker(c, d, yi, yj) - ker(c, d, xi, yj) - ker(c, d, xj, yi);
      row[i] += hv;
      row[j] += hv;
      sum += hv;
      sum2 += hv * hv;
    }
  const double P = 0.5 * (double)n * (double)(n - 1), U = sum / P;
  double z1 = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double r = row[i] / (double)(n - 1) - U;
    z1 += r * r;
  }
  z1 /= (double)(n - 1);
  double z2 = sum2 / P - U * U;
  if (z2 < 0.0) z2 = 0.0;
  free(row);
  *val = U;
  if (se) *se = sqrt(4.0 * z1 / (double)n + 2.0 * z2 / ((double)n * (double)(n - 1)));
  return DPM_SUCCESS;
}

int dpm_metrics_mmd2_u(size_t d, double h, size_t n, const double *x, const double *y, double *mmd2, double *se)
{
  if (!(h > 0.0 && isfinite(h))) DPM_ERROR(GSL_EDOM, "unbiased MMD: bandwidth h = %g must be > 0 and finite", h);
  return u_stat("unbiased MMD", d, n, x, y, 0.5 / (h * h), mmd2, se);
}

int dpm_metrics_energy_u(size_t d, size_t n, const double *x, const double *y, double *energy, double *se)
{
  return u_stat("energy distance", d, n, x, y, 0.0, energy, se);
}

/* sd over batch values / sqrt(B) */
static double batch_se(const double *v, size_t B)
{
  double m, se;
  mean_se(v, B, &m, &se);
  return se; /* = sd / sqrt(B) */
}

/* sum over directions of the 1-D W2^2 between the points lo..lo+len of x and y; pu, pv scratch (len each) */
static double sw2_sq(size_t d, const double *x, const double *y, size_t lo, size_t len, size_t nproj,
                     const double *dirs, double *pu, double *pv)
{
  double acc = 0.0;
  for (size_t p = 0; p < nproj; p++) {
    const double *u = dirs + p * d;
    for (size_t i = 0; i < len; i++) {
      double a = 0.0, b = 0.0;
      for (size_t k = 0; k < d; k++) {
        a += u[k] * x[(lo + i) * d + k];
        b += u[k] * y[(lo + i) * d + k];
      }
      pu[i] = a;
      pv[i] = b;
    }
    gsl_sort(pu, 1, len);
    gsl_sort(pv, 1, len);
    double s = 0.0;
    for (size_t i = 0; i < len; i++)
      s += (pu[i] - pv[i]) * (pu[i] - pv[i]);
    acc += s / (double)len;
  }
  return acc / (double)nproj;
}

int dpm_metrics_sliced_w2(size_t d, size_t n, const double *x, const double *y, size_t nproj, gsl_rng *r,
                          double *sw2, double *se)
{
  int st = check_sample("sliced W2", d, n, x);
  if (!st) st = check_sample("sliced W2", d, n, y);
  if (st) return st;
  if (nproj == 0 || !r) DPM_ERROR(GSL_EINVAL, "sliced W2: nproj = 0 or NULL generator");
  double *dirs = malloc(nproj * d * sizeof *dirs), *pu = malloc(n * sizeof *pu), *pv = malloc(n * sizeof *pv);
  if (!dirs || !pu || !pv) {
    free(dirs);
    free(pu);
    free(pv);
    DPM_ERROR(GSL_ENOMEM, "sliced W2: out of memory");
  }
  for (size_t p = 0; p < nproj; p++) {
    double nrm = 0.0;
    do {
      nrm = 0.0;
      for (size_t k = 0; k < d; k++) {
        dirs[p * d + k] = gsl_ran_ugaussian(r);
        nrm += dirs[p * d + k] * dirs[p * d + k];
      }
    } while (!(nrm > 0.0));
    for (size_t k = 0; k < d; k++)
      dirs[p * d + k] /= sqrt(nrm);
  }
  *sw2 = sqrt(sw2_sq(d, x, y, 0, n, nproj, dirs, pu, pv));
  if (se) {
    *se = NAN;
    if (n >= 2 * NBATCH) {
      double v[NBATCH];
      const size_t len = n / NBATCH;
      for (size_t b = 0; b < NBATCH; b++)
        v[b] = sqrt(sw2_sq(d, x, y, b * len, len, nproj, dirs, pu, pv));
      *se = batch_se(v, NBATCH);
    }
  }
  free(dirs);
  free(pu);
  free(pv);
  return DPM_SUCCESS;
}

int dpm_metrics_w1_ks_se(const dpm_mixture *mix, size_t n, const double *x, double *w1, double *w1_se, double *ks,
                         double *ks_se)
{
  double a, b, va[NBATCH], vb[NBATCH];
  int st = dpm_metrics_w1_exact(mix, n, x, &a);
  if (!st) st = dpm_metrics_ks_exact(mix, n, x, &b);
  if (st) return st;
  const size_t len = n / NBATCH;
  for (size_t k = 0; n >= 2 * NBATCH && k < NBATCH; k++)
    if ((st = dpm_metrics_w1_exact(mix, len, x + k * len, va + k)) ||
        (st = dpm_metrics_ks_exact(mix, len, x + k * len, vb + k)))
      return st;
  if (w1) *w1 = a;
  if (ks) *ks = b;
  if (w1_se) *w1_se = n >= 2 * NBATCH ? batch_se(va, NBATCH) : (double)NAN;
  if (ks_se) *ks_se = n >= 2 * NBATCH ? batch_se(vb, NBATCH) : (double)NAN;
  return DPM_SUCCESS;
}

static double tv_of(const dpm_mixture *mix, const double *wts)
{
  double tv = 0.0;
  for (size_t k = 0; k < mix->K; k++)
    tv += fabs(wts[k] - mix->w[k]);
  return 0.5 * tv;
}

int dpm_metrics_mode_tv(const dpm_mixture *mix, size_t n, const double *x, double *weights, double *se, double *tv,
                        double *tv_se)
{
  if (!mix || !weights) DPM_ERROR(GSL_EINVAL, "mode weights: NULL mixture or output");
  int st = dpm_metrics_mode_weights(mix, n, x, weights);
  if (st) return st;
  for (size_t k = 0; se && k < mix->K; k++)
    se[k] = sqrt(weights[k] * (1.0 - weights[k]) / (double)n);
  if (tv) *tv = tv_of(mix, weights);
  if (tv_se) {
    *tv_se = NAN;
    if (n >= 2 * NBATCH) {
      double *wb = malloc(mix->K * sizeof *wb), v[NBATCH];
      if (!wb) DPM_ERROR(GSL_ENOMEM, "mode weights: out of memory");
      const size_t len = n / NBATCH;
      for (size_t b = 0; !st && b < NBATCH; b++)
        if (!(st = dpm_metrics_mode_weights(mix, len, x + b * len * mix->d, wb))) v[b] = tv_of(mix, wb);
      free(wb);
      if (st) return st;
      *tv_se = batch_se(v, NBATCH);
    }
  }
  return DPM_SUCCESS;
}

int dpm_metrics_nearest(size_t d, size_t n, const double *x, size_t m, const double *pts, double radius,
                        double *mean_dist, double *dist_se, double *rate, double *rate_se)
{
  int st = check_sample("distance to a point set", d, n, x);
  if (!st) st = check_sample("distance to a point set", d, m, pts);
  if (st) return st;
  if (!(radius > 0.0 && isfinite(radius)))
    DPM_ERROR(GSL_EDOM, "memorisation rate: radius %g must be > 0 and finite", radius);
  double *v = malloc(n * sizeof *v);
  if (!v) DPM_ERROR(GSL_ENOMEM, "distance to a point set: out of memory");
  size_t hits = 0;
  for (size_t i = 0; i < n; i++) {
    double best = INFINITY;
    for (size_t j = 0; j < m; j++) {
      const double dd = dist(d, x + i * d, pts + j * d);
      if (dd < best) best = dd;
    }
    v[i] = best;
    hits += best <= radius;
  }
  mean_se(v, n, mean_dist, dist_se);
  const double p = (double)hits / (double)n;
  if (rate) *rate = p;
  if (rate_se) *rate_se = sqrt(p * (1.0 - p) / (double)n);
  free(v);
  return DPM_SUCCESS;
}
