/* benchmark.c — non-Gaussian ground truth for entropic OT and the Schrödinger bridge (Gushchin et al., NeurIPS
 * 2023, §3 and Theorem 3.2): a Gaussian-mixture potential whose conditional plan pi(y | x) is a Gaussian mixture
 * in closed form, pair sampling from it, and the Bures–Wasserstein metric BW2-UVP used to score solvers
 * (docs/MATH.md §5.7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "bridge_internal.h"
#include "dpm_bridge.h"
#include "dpm_internal.h"
#include "dpm_rng.h"

/* Per component k: P_k^{-1} (P_k = Sigma_k + eps I), log det P_k, Sigma~_k, its Cholesky factor, and the constant
 * part Sigma~_k Sigma_k^{-1} mu_k of the conditional mean (d x d, 1, d x d, d x d, d). */
typedef struct {
  size_t K, d;
  double eps;
  double *Pinv, *logdetP, *St, *Lt, *c0, *logp, *mu;
} potcache;

static void potcache_free(potcache *c)
{
  if (c) free(c->Pinv);
}

static int potcache_init(potcache *c, const dpm_mixture *pot, double eps)
{
  memset(c, 0, sizeof *c);
  if (!pot) DPM_ERROR(GSL_EINVAL, "mixture potential: NULL");
  if (!(isfinite(eps) && eps > 0.0)) DPM_ERROR(GSL_EDOM, "mixture potential: eps must be finite and > 0");
  for (size_t k = 0; k < pot->K; k++)
    if (pot->kind[k] == DPM_COV_ZERO) DPM_ERROR(GSL_EDOM, "mixture potential: component %zu is a point mass", k);
  const size_t K = pot->K, d = pot->d, dd = d * d;
  c->K = K;
  c->d = d;
  c->eps = eps;
  c->Pinv = dpm_malloc((K * (3 * dd + d + 1) + 4 * dd) * sizeof(double));
  if (!c->Pinv) return GSL_ENOMEM;
  c->logdetP = c->Pinv + K * dd;
  c->St = c->logdetP + K;
  c->Lt = c->St + K * dd;
  c->c0 = c->Lt + K * dd;
  c->logp = pot->logw;
  c->mu = pot->mu;
  double *S = c->c0 + K * d, *A = S + dd, *L = A + dd, *B = L + dd;
  for (size_t k = 0; k < K; k++) {
    dpm_mixture_cov(pot, k, S);
    /* P = S + eps I: its inverse and log-determinant */
    memcpy(A, S, dd * sizeof *A);
    for (size_t j = 0; j < d; j++)
      A[j * d + j] += eps;
    double *Pi = c->Pinv + k * dd;
    memset(Pi, 0, dd * sizeof *Pi);
    for (size_t j = 0; j < d; j++)
      Pi[j * d + j] = 1.0;
    if (!dpm_bridge_spd_solve(d, A, d, Pi, L)) {
      potcache_free(c);
      DPM_ERROR(GSL_EDOM, "mixture potential: Sigma_%zu + eps I not positive-definite", k);
    }
    double ld = 0.0;
    for (size_t j = 0; j < d; j++)
      ld += 2.0 * log(L[j * d + j]);
    c->logdetP[k] = ld;
    /* Sigma~ = (S^{-1} + I/eps)^{-1} = S (S + eps I)^{-1} eps = eps S P^{-1}; c0 = Sigma~ S^{-1} mu = eps P^{-1}
     * mu */
    double *St = c->St + k * dd;
    dpm_bridge_matmul(d, S, Pi, St);
    for (size_t i = 0; i < dd; i++)
      St[i] *= eps;
    for (size_t i = 0; i < d; i++) /* symmetrise */
      for (size_t j = 0; j < i; j++)
        St[i * d + j] = St[j * d + i] = 0.5 * (St[i * d + j] + St[j * d + i]);
    for (size_t i = 0; i < d; i++) {
      double v = 0.0;
      for (size_t j = 0; j < d; j++)
        v += Pi[i * d + j] * pot->mu[k * d + j];
      c->c0[k * d + i] = eps * v;
    }
    memcpy(B, St, dd * sizeof *B);
    if (!dpm_cholesky_lower(B, d)) {
      potcache_free(c);
      DPM_ERROR(GSL_EDOM, "mixture potential: Sigma~_%zu not positive-definite", k);
    }
    memcpy(c->Lt + k * dd, B, dd * sizeof *B);
  }
  return DPM_SUCCESS;
}

/* weights (K) and component means (K x d) at one point x; work d */
static void cond_at(const potcache *c, const double *x, double *w, double *m, double *work)
{
  const size_t K = c->K, d = c->d, dd = d * d;
  double mx = -HUGE_VAL;
  for (size_t k = 0; k < K; k++) {
    const double *Pi = c->Pinv + k * dd, *mu = c->mu + k * d;
    for (size_t j = 0; j < d; j++)
      work[j] = x[j] - mu[j];
    double q = 0.0;
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++)
        q += work[i] * Pi[i * d + j] * work[j];
    w[k] = c->logp[k] - 0.5 * q - 0.5 * c->logdetP[k];
    mx = fmax(mx, w[k]);
    /* m_k = c0_k + Sigma~_k x / eps */
    const double *St = c->St + k * dd;
    for (size_t i = 0; i < d; i++) {
      double v = c->c0[k * d + i];
      for (size_t j = 0; j < d; j++)
        v += St[i * d + j] * x[j] / c->eps;
      m[k * d + i] = v;
    }
  }
  double sum = 0.0;
  for (size_t k = 0; k < K; k++)
    sum += (w[k] = isfinite(w[k]) ? exp(w[k] - mx) : 0.0);
  for (size_t k = 0; k < K; k++)
    w[k] /= sum;
}

int dpm_bridge_gmmpot_cond(const dpm_mixture *pot, double eps, size_t n, const double *x, double *w, double *m,
                           double *Stilde, double *mean, double *cov)
{
  potcache c;
  int st = potcache_init(&c, pot, eps);
  if (st) return st;
  const size_t K = c.K, d = c.d, dd = d * d;
  double *buf = dpm_malloc((K + K * d + d) * sizeof *buf);
  if (!buf) {
    potcache_free(&c);
    return GSL_ENOMEM;
  }
  double *wk = buf, *mk = buf + K, *work = mk + K * d;
  if (Stilde) memcpy(Stilde, c.St, K * dd * sizeof *Stilde);
  for (size_t i = 0; i < n; i++) {
    cond_at(&c, x + i * d, wk, mk, work);
    if (w) memcpy(w + i * K, wk, K * sizeof *w);
    if (m) memcpy(m + i * K * d, mk, K * d * sizeof *m);
    if (mean || cov) {
      double *me = mean ? mean + i * d : work;
      for (size_t a = 0; a < d; a++) {
        double v = 0.0;
        for (size_t k = 0; k < K; k++)
          v += wk[k] * mk[k * d + a];
        me[a] = v;
      }
      if (cov)
        for (size_t a = 0; a < d; a++)
          for (size_t b = 0; b < d; b++) {
            double v = 0.0;
            for (size_t k = 0; k < K; k++)
              v += wk[k] * (c.St[k * dd + a * d + b] + (mk[k * d + a] - me[a]) * (mk[k * d + b] - me[b]));
            cov[i * dd + a * d + b] = v;
          }
    }
  }
  free(buf);
  potcache_free(&c);
  return DPM_SUCCESS;
}

int dpm_bridge_gmmpot_sample(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t n, uint64_t seed,
                             double *x, double *y)
{
  if (!mu0 || !pot || !x || !y) DPM_ERROR(GSL_EINVAL, "mixture potential: NULL argument");
  if (mu0->d != pot->d) DPM_ERROR(GSL_EBADLEN, "mixture potential: dimension %zu, source %zu", pot->d, mu0->d);
  potcache c;
  int st = potcache_init(&c, pot, eps);
  if (st) return st;
  const size_t K = c.K, d = c.d, dd = d * d;
  double *buf = dpm_malloc((K + K * d + 2 * d) * sizeof *buf);
  dpm_mixture_sample_workspace *ws = buf ? dpm_mixture_sample_alloc(mu0) : NULL;
  gsl_rng *r = ws ? dpm_rng_stream_alloc(seed, 0) : NULL;
  if (!r) st = GSL_ENOMEM;
  double *wk = buf, *mk = buf ? buf + K : NULL, *z = mk ? mk + K * d : NULL, *work = z ? z + d : NULL;
  for (size_t i = 0; i < n && !st; i++) {
    dpm_rng_stream_set(r, seed, i);
    st = dpm_mixture_sample(mu0, ws, r, 1, x + i * d, NULL);
    if (st) break;
    cond_at(&c, x + i * d, wk, mk, work);
    const double u = gsl_rng_uniform(r);
    size_t k = 0;
    double acc = wk[0];
    while (k + 1 < K && u >= acc)
      acc += wk[++k];
    for (size_t j = 0; j < d; j++)
      z[j] = gsl_ran_gaussian_ziggurat(r, 1.0);
    const double *L = c.Lt + k * dd;
    for (size_t a = 0; a < d; a++) {
      double v = mk[k * d + a];
      for (size_t b = 0; b <= a; b++)
        v += L[a * d + b] * z[b];
      y[i * d + a] = v;
    }
  }
  if (r) gsl_rng_free(r);
  dpm_mixture_sample_free(ws);
  free(buf);
  potcache_free(&c);
  return st;
}

int dpm_bridge_bw2(size_t d, const double *m1, const double *S1, const double *m2, const double *S2, double *bw2,
                   double *uvp)
{
  if (!m1 || !S1 || !m2 || !S2 || d == 0) DPM_ERROR(GSL_EINVAL, "BW2: NULL argument");
  double *w = dpm_malloc((3 * d * d + d) * sizeof *w);
  if (!w) return GSL_ENOMEM;
  double *h = w, *t = w + d * d, *M = t + d * d, *lam = M + d * d;
  int st = dpm_bridge_sym_pow(d, S1, 0.5, h, NULL);
  if (!st) {
    dpm_bridge_matmul(d, h, S2, t);
    dpm_bridge_matmul(d, t, h, M);
    st = dpm_bridge_sym_pow(d, M, 0.5, t, lam);
  }
  if (!st) {
    double v = 0.0, tr2 = 0.0;
    for (size_t j = 0; j < d; j++) {
      v += (m1[j] - m2[j]) * (m1[j] - m2[j]) + S1[j * d + j] + S2[j * d + j] - 2.0 * sqrt(fmax(lam[j], 0.0));
      tr2 += S2[j * d + j];
    }
    v = fmax(v, 0.0);
    if (bw2) *bw2 = v;
    if (uvp) *uvp = 100.0 * v / (0.5 * tr2);
  }
  free(w);
  return st;
}
