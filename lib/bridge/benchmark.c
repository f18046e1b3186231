/* benchmark.c — non-Gaussian ground truth for entropic OT and the Schrödinger bridge (Gushchin et al., NeurIPS
 * 2023, §3 and Theorem 3.2): a Gaussian-mixture potential whose conditional plan pi(y | x) is a Gaussian mixture
 * in closed form, pair sampling from it, the Bures–Wasserstein metric BW2-UVP used to score solvers, and the
 * solvers scored: Sinkhorn, grid IPF and mean-matching IPF (docs/MATH.md §5.5-5.7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "bridge_internal.h"
#include "dpm_bridge.h"
#include "dpm_internal.h"
#include "dpm_oracle.h"
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

/* ---- scoring solvers against the closed-form plan ------------------------------------------------------------
 */

/* M draws of pi(. | x) (M x d) from the stream r; wk, mk, work as cond_at, z d. */
static void cond_draw(const potcache *c, const double *x, size_t M, gsl_rng *r, double *y, double *wk, double *mk,
                      double *work, double *z)
{
  const size_t K = c->K, d = c->d, dd = d * d;
  cond_at(c, x, wk, mk, work);
  for (size_t i = 0; i < M; i++) {
    const double u = gsl_rng_uniform(r);
    size_t k = 0;
    double acc = wk[0];
    while (k + 1 < K && u >= acc)
      acc += wk[++k];
    for (size_t j = 0; j < d; j++)
      z[j] = gsl_ran_gaussian_ziggurat(r, 1.0);
    const double *L = c->Lt + k * dd;
    for (size_t a = 0; a < d; a++) {
      double v = mk[k * d + a];
      for (size_t b = 0; b <= a; b++)
        v += L[a * d + b] * z[b];
      y[i * d + a] = v;
    }
  }
}

/* Mean (d) and covariance (d x d) of the atoms y (M x d) with weights w (M, summing to 1; NULL: 1/M). */
static void atoms_moments(size_t M, size_t d, const double *y, const double *w, double *mean, double *cov)
{
  memset(mean, 0, d * sizeof *mean);
  memset(cov, 0, d * d * sizeof *cov);
  const double u = 1.0 / (double)M;
  for (size_t i = 0; i < M; i++) {
    const double wi = w ? w[i] : u;
    for (size_t a = 0; a < d; a++)
      mean[a] += wi * y[i * d + a];
  }
  for (size_t i = 0; i < M; i++) {
    const double wi = w ? w[i] : u;
    if (wi == 0.0) continue;
    const double *yi = y + i * d;
    for (size_t a = 0; a < d; a++) {
      const double da = wi * (yi[a] - mean[a]);
      for (size_t b = 0; b <= a; b++)
        cov[a * d + b] += da * (yi[b] - mean[b]);
    }
  }
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < a; b++)
      cov[b * d + a] = cov[a * d + b];
}

int dpm_bridge_bench_score_moments(const dpm_mixture *pot, double eps, size_t nt, const double *xt,
                                   const double *mean, const double *cov, dpm_bridge_bench_score *sc)
{
  if (!pot || !xt || !mean || !cov || !sc || nt < 2) DPM_ERROR(GSL_EINVAL, "benchmark score: NULL or nt < 2");
  const size_t d = pot->d, dd = d * d;
  double *tm = dpm_malloc((nt * (d + dd) + 4 * d + 4 * dd) * sizeof *tm);
  if (!tm) return GSL_ENOMEM;
  double *tc = tm + nt * d, *gm = tc + nt * dd, *gc = gm + d, *hm = gc + dd, *hc = hm + d;
  int st = dpm_bridge_gmmpot_cond(pot, eps, nt, xt, NULL, NULL, NULL, tm, tc);
  if (st) {
    free(tm);
    dpm_error_context("benchmark score: the closed-form plan");
    return st;
  }
  dpm_welford wu = {0}, wb = {0};
  for (size_t i = 0; i < nt && !st; i++) {
    double b2, u;
    st = dpm_bridge_bw2(d, mean + i * d, cov + i * dd, tm + i * d, tc + i * dd, &b2, &u);
    if (!st) {
      dpm_welford_add(&wu, u);
      dpm_welford_add(&wb, b2);
    }
  }
  /* the target marginal pushed from the test points: law of total covariance, truth and estimate alike */
  for (int pass = 0; pass < 2 && !st; pass++) {
    const double *me = pass ? tm : mean, *co = pass ? tc : cov;
    double *om = pass ? hm : gm, *oc = pass ? hc : gc;
    atoms_moments(nt, d, me, NULL, om, oc);
    for (size_t i = 0; i < nt; i++)
      for (size_t j = 0; j < dd; j++)
        oc[j] += co[i * dd + j] / (double)nt;
  }
  if (!st) st = dpm_bridge_bw2(d, gm, gc, hm, hc, &sc->bw2_marg, &sc->uvp_marg);
  if (!st) {
    sc->nt = nt;
    sc->uvp_cond = wu.mean;
    sc->uvp_cond_se = dpm_welford_se(&wu);
    sc->bw2_cond = wb.mean;
  }
  free(tm);
  if (st) dpm_error_context("benchmark score: BW2");
  return st;
}

int dpm_bridge_bench_exact(const dpm_mixture *pot, double eps, size_t nt, const double *xt, size_t M,
                           uint64_t seed, dpm_bridge_bench_score *sc)
{
  if (!pot || !xt || !sc) DPM_ERROR(GSL_EINVAL, "benchmark: NULL argument");
  if (M < 2) DPM_ERROR(GSL_EDOM, "benchmark: the exact plan needs M >= 2 draws per test point");
  potcache c;
  int st = potcache_init(&c, pot, eps);
  if (st) return st;
  const size_t K = c.K, d = c.d, dd = d * d;
  double *mean = dpm_malloc(nt * (d + dd) * sizeof *mean);
  if (!mean) {
    potcache_free(&c);
    return GSL_ENOMEM;
  }
  double *cov = mean + nt * d;
  int nomem = 0;
#pragma omp parallel num_threads(nt *M *d *K > DPM_PAR_MIN_WORK ? dpm_omp_max_threads() : 1)
  {
    double *buf = dpm_malloc((M * d + K + K * d + 2 * d) * sizeof *buf);
    gsl_rng *r = buf ? dpm_rng_stream_alloc(seed, 0) : NULL;
    if (!r) {
#pragma omp atomic write
      nomem = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (size_t i = 0; i < nt; i++) {
      if (!r) continue;
      double *y = buf, *wk = y + M * d, *mk = wk + K, *work = mk + K * d, *z = work + d;
      dpm_rng_stream_set(r, seed, i);
      cond_draw(&c, xt + i * d, M, r, y, wk, mk, work, z);
      atoms_moments(M, d, y, NULL, mean + i * d, cov + i * dd);
    }
    if (r) gsl_rng_free(r);
    free(buf);
  }
  st = nomem ? GSL_ENOMEM : dpm_bridge_bench_score_moments(pot, eps, nt, xt, mean, cov, sc);
  free(mean);
  potcache_free(&c);
  return st;
}

int dpm_bridge_sinkhorn_cond(const dpm_bridge_sinkhorn *s, size_t nt, const double *xt, double *mean, double *cov)
{
  if (!s || !xt || !mean || !cov) DPM_ERROR(GSL_EINVAL, "sinkhorn conditional: NULL argument");
  if (!s->iters || !s->g) DPM_ERROR(GSL_EINVAL, "sinkhorn conditional: no solve yet");
  const size_t m = s->m, d = s->d, dd = d * d;
  int nomem = 0;
#pragma omp parallel num_threads(nt *m *(d + 8) > DPM_PAR_MIN_WORK ? dpm_omp_max_threads() : 1)
  {
    double *w = dpm_malloc(m * sizeof *w);
    if (!w) {
#pragma omp atomic write
      nomem = 1;
    }
#pragma omp for schedule(static)
    for (size_t i = 0; i < nt; i++) {
      if (!w) continue;
      const double *x = xt + i * d;
      double mx = -HUGE_VAL;
      for (size_t j = 0; j < m; j++) {
        double c = 0.0;
        for (size_t a = 0; a < d; a++) {
          const double t = x[a] - s->y[j * d + a];
          c += t * t;
        }
        w[j] = log(s->b[j]) + (s->g[j] - c) / s->reg;
        mx = fmax(mx, w[j]);
      }
      double sum = 0.0;
      for (size_t j = 0; j < m; j++)
        sum += (w[j] = exp(w[j] - mx));
      for (size_t j = 0; j < m; j++)
        w[j] /= sum;
      atoms_moments(m, d, s->y, w, mean + i * d, cov + i * dd);
    }
    free(w);
  }
  return nomem ? GSL_ENOMEM : DPM_SUCCESS;
}

int dpm_bridge_bench_sinkhorn(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t n, size_t nt,
                              uint64_t seed, const dpm_bridge_sinkhorn_params *p, dpm_bridge_bench_score *sc,
                              size_t *iters)
{
  if (!mu0 || !pot || !sc) DPM_ERROR(GSL_EINVAL, "benchmark: NULL argument");
  if (n < 2 || nt < 2) DPM_ERROR(GSL_EDOM, "benchmark: need n >= 2 pairs and nt >= 2 test points");
  const size_t d = pot->d, dd = d * d;
  double *x = dpm_malloc(((n + nt) * 2 * d + nt * (d + dd)) * sizeof *x);
  if (!x) return GSL_ENOMEM;
  double *y = x + (n + nt) * d, *mean = y + (n + nt) * d, *cov = mean + nt * d;
  dpm_bridge_sinkhorn *s = NULL;
  int st = dpm_bridge_gmmpot_sample(mu0, pot, eps, n + nt, seed, x, y);
  if (!st && !(s = dpm_bridge_sinkhorn_alloc(n, n, d, x, y, NULL, NULL))) st = GSL_ENOMEM;
  if (!st) {
    dpm_bridge_sinkhorn_params q = p ? *p : dpm_bridge_sinkhorn_default();
    q.reg = 2.0 * eps;
    st = dpm_bridge_sinkhorn_solve(s, &q);
    if (iters) *iters = s->iters;
  }
  if (!st) st = dpm_bridge_sinkhorn_cond(s, nt, x + n * d, mean, cov);
  if (!st) st = dpm_bridge_bench_score_moments(pot, eps, nt, x + n * d, mean, cov, sc);
  dpm_bridge_sinkhorn_free(s);
  free(x);
  if (st) dpm_error_context("benchmark: sinkhorn on %zu pairs", n);
  return st;
}

dpm_mixture *dpm_bridge_gmmpot_default(size_t d)
{
  if (d == 0 || d > 4096) DPM_ERROR_NULL(GSL_EDOM, "mixture potential: dimension %zu not in 1..4096", d);
  const size_t K = d == 1 ? 2 : 4;
  dpm_mixture *pot = dpm_mixture_alloc(K, d);
  double *mu = pot ? calloc(d, sizeof *mu) : NULL;
  if (!mu) {
    dpm_mixture_free(pot);
    DPM_ERROR_NULL(GSL_ENOMEM, "mixture potential: out of memory");
  }
  int st = 0;
  for (size_t k = 0; k < K && !st; k++) {
    memset(mu, 0, d * sizeof *mu);
    mu[(k / 2) % d] = k % 2 ? -2.0 : 2.0;
    st = dpm_mixture_set_mean(pot, k, mu);
    if (!st) st = dpm_mixture_set_iso(pot, k, 0.5);
  }
  free(mu);
  if (st) {
    dpm_mixture_free(pot);
    return NULL;
  }
  return pot;
}

/* The benchmark target's cell masses on the grid (unnormalised, max 1): p_1(y_b) proportional to psi(y_b) sum_a
 * mu0_a N(y_b; x_a, eps I) / Z(x_a), Z(x) = sum_k p_k N(x; mu_k, Sigma_k + eps I) (docs/MATH.md §5.7), the sum
 * over the grid's own mu_0 cell masses; the Gaussian factor applied one axis at a time. */
static int target_masses(const potcache *c, const dpm_mixture *pot, const dpm_bridge_grid *s, double *out)
{
  const size_t M = s->M, dim = s->dim, G = s->G, K = c->K, dd = dim * dim;
  double *lr = dpm_malloc((3 * M + G * G + dim * M) * sizeof *lr);
  dpm_oracle *o = lr ? dpm_oracle_alloc(pot) : NULL;
  if (!o) {
    free(lr);
    return GSL_ENOMEM;
  }
  double *q = lr + M, *tmp = q + M, *E = tmp + M, *pts = E + G * G;
  for (size_t a = 0; a < M; a++) {
    pts[a * dim] = s->x[dim == 1 ? a : a / G];
    if (dim == 2) pts[a * 2 + 1] = s->x[a % G];
  }
  /* log r_a = log mu0_a - log Z(x_a) (constants dropped); q holds the K terms of log Z at one cell */
  double mr = -HUGE_VAL;
  double *lk = dpm_malloc((K ? K : 1) * sizeof *lk);
  if (!lk) {
    dpm_oracle_free(o);
    free(lr);
    return GSL_ENOMEM;
  }
  for (size_t a = 0; a < M; a++) {
    const double *x = pts + a * dim;
    double mz = -HUGE_VAL;
    for (size_t k = 0; k < K; k++) {
      const double *Pi = c->Pinv + k * dd, *mu = c->mu + k * dim;
      double qf = 0.0;
      for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j < dim; j++)
          qf += (x[i] - mu[i]) * Pi[i * dim + j] * (x[j] - mu[j]);
      lk[k] = c->logp[k] - 0.5 * qf - 0.5 * c->logdetP[k];
      mz = fmax(mz, lk[k]);
    }
    double sz = 0.0;
    for (size_t k = 0; k < K; k++)
      if (isfinite(lk[k])) sz += exp(lk[k] - mz);
    lr[a] = s->mu0[a] > 0.0 ? log(s->mu0[a]) - (mz + log(sz)) : -HUGE_VAL;
    mr = fmax(mr, lr[a]);
  }
  free(lk);
  for (size_t a = 0; a < M; a++)
    lr[a] = exp(lr[a] - mr);
  /* q = E r, E_ij = exp(-(x_i - x_j)^2 / 2 eps) along each axis */
  for (size_t i = 0; i < G; i++)
    for (size_t j = 0; j < G; j++) {
      const double t = s->x[i] - s->x[j];
      E[i * G + j] = exp(-0.5 * t * t / c->eps);
    }
  if (dim == 1) {
    for (size_t b = 0; b < G; b++) {
      double acc = 0.0;
      for (size_t a = 0; a < G; a++)
        acc += E[b * G + a] * lr[a];
      q[b] = acc;
    }
  } else {
    for (size_t i = 0; i < G; i++) /* along the first axis */
      for (size_t j = 0; j < G; j++) {
        double acc = 0.0;
        for (size_t a = 0; a < G; a++)
          acc += E[i * G + a] * lr[a * G + j];
        tmp[i * G + j] = acc;
      }
    for (size_t i = 0; i < G; i++) /* along the second */
      for (size_t j = 0; j < G; j++) {
        double acc = 0.0;
        for (size_t b = 0; b < G; b++)
          acc += E[j * G + b] * tmp[i * G + b];
        q[i * G + j] = acc;
      }
  }
  dpm_oracle_result res = {.logq = tmp};
  int st = dpm_oracle_eval(o, 1.0, 1e-8, M, pts, &res);
  if (!st) {
    double mx = -HUGE_VAL, mo = 0.0;
    for (size_t b = 0; b < M; b++)
      mx = fmax(mx, tmp[b]);
    for (size_t b = 0; b < M; b++) {
      out[b] = exp(tmp[b] - mx) * q[b];
      mo = fmax(mo, out[b]);
    }
    for (size_t b = 0; b < M && mo > 0.0; b++)
      out[b] /= mo;
  }
  dpm_oracle_free(o);
  free(lr);
  return st;
}

int dpm_bridge_bench_grid(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t G, size_t N,
                          size_t iters, size_t n, size_t nt, uint64_t seed, dpm_bridge_bench_score *sc,
                          double *marginal_err)
{
  if (!mu0 || !pot || !sc) DPM_ERROR(GSL_EINVAL, "benchmark: NULL argument");
  const size_t d = pot->d, dd = d * d;
  if (mu0->d != d || (d != 1 && d != 2))
    DPM_ERROR(GSL_EBADLEN, "benchmark: grid IPF works in dimension 1 or 2 (got %zu)", mu0->d);
  if (n < 2 || nt < 2) DPM_ERROR(GSL_EDOM, "benchmark: need n >= 2 pairs and nt >= 2 test points");
  if (iters == 0) DPM_ERROR(GSL_EDOM, "benchmark: grid IPF needs at least one iteration");
  potcache c;
  int st = potcache_init(&c, pot, eps);
  if (st) return st;
  double lo = HUGE_VAL, hi = -HUGE_VAL, bl[2], bh[2];
  const dpm_mixture *both[2] = {mu0, pot};
  for (int e = 0; e < 2; e++) {
    dpm_mixture_box(both[e], 1e-14, bl, bh);
    for (size_t j = 0; j < d; j++) {
      lo = fmin(lo, bl[j]);
      hi = fmax(hi, bh[j]);
    }
  }
  double *x = dpm_malloc(((n + nt) * 2 * d + nt * (d + dd)) * sizeof *x);
  dpm_bridge_grid *s = x ? dpm_bridge_grid_alloc(mu0, mu0, G, lo, hi, N, eps) : NULL;
  double *t = s ? dpm_malloc(s->M * sizeof *t) : NULL;
  if (!t) {
    st = x && s ? GSL_ENOMEM : GSL_EFAILED;
    goto done;
  }
  double *y = x + (n + nt) * d, *mean = y + (n + nt) * d, *cov = mean + nt * d;
  if ((st = target_masses(&c, pot, s, t)) || (st = dpm_bridge_grid_set_masses(s, s->mu0, t))) goto done;
  double e = 0.0;
  for (size_t it = 0; it < iters && !st; it++)
    st = dpm_bridge_grid_iterate(s, &e);
  if (!st && marginal_err) *marginal_err = e;
  if (!st) st = dpm_bridge_gmmpot_sample(mu0, pot, eps, n + nt, seed, x, y);
  if (!st) st = dpm_bridge_grid_cond(s, nt, x + n * d, mean, cov);
  if (!st) st = dpm_bridge_bench_score_moments(pot, eps, nt, x + n * d, mean, cov, sc);
done:
  free(t);
  dpm_bridge_grid_free(s);
  free(x);
  potcache_free(&c);
  if (st) dpm_error_context("benchmark: grid IPF on %zu^%zu points", G, d);
  return st;
}

dpm_bridge_bench_mm_params dpm_bridge_bench_mm_default(void)
{
  return (dpm_bridge_bench_mm_params){.N = 20, .M = 20000, .S = 0, .iters = 10, .draws = 1000, .ridge = 0.0};
}

int dpm_bridge_bench_mm(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t n, size_t nt,
                        uint64_t seed, const dpm_bridge_bench_mm_params *p, dpm_bridge_bench_score *sc)
{
  if (!mu0 || !pot || !sc) DPM_ERROR(GSL_EINVAL, "benchmark: NULL argument");
  if (n < 2 || nt < 2) DPM_ERROR(GSL_EDOM, "benchmark: need n >= 2 pairs and nt >= 2 test points");
  const dpm_bridge_bench_mm_params q = p ? *p : dpm_bridge_bench_mm_default();
  if (q.draws < 2) DPM_ERROR(GSL_EDOM, "benchmark: mean-matching needs >= 2 draws per test point");
  const size_t d = pot->d, dd = d * d;
  double *x = dpm_malloc(((n + nt) * 2 * d + nt * (d + dd)) * sizeof *x);
  if (!x) return GSL_ENOMEM;
  double *y = x + (n + nt) * d, *mean = y + (n + nt) * d, *cov = mean + nt * d;
  dpm_mixture *pts = NULL;
  dpm_bridge_mm *mm = NULL;
  int st = dpm_bridge_gmmpot_sample(mu0, pot, eps, n + nt, seed, x, y);
  if (!st && !(pts = dpm_mixture_alloc(n, d))) st = GSL_ENOMEM;
  for (size_t i = 0; i < n && !st; i++)
    st = dpm_mixture_set_mean(pts, i, y + i * d);
  if (!st && !(mm = dpm_bridge_mm_alloc_bumps(mu0, pts, q.N, q.M, eps, seed + 2, q.S, q.ridge))) st = GSL_EFAILED;
  for (size_t it = 0; it < q.iters && !st; it++)
    st = dpm_bridge_mm_iterate(mm, NULL);
  if (!st) st = dpm_bridge_mm_cond(mm, nt, x + n * d, q.draws, seed + 3, mean, cov);
  if (!st) st = dpm_bridge_bench_score_moments(pot, eps, nt, x + n * d, mean, cov, sc);
  dpm_bridge_mm_free(mm);
  dpm_mixture_free(pts);
  free(x);
  if (st) dpm_error_context("benchmark: mean-matching IPF on %zu pairs", n);
  return st;
}
