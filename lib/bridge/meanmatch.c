/* meanmatch.c — mean-matching IPF, the DSB algorithm without networks (De Bortoli et al. 2021, Algorithm 1 and
 * Proposition 3): forward and backward particle chains of the Brownian reference whose means are refitted each
 * half-iteration by affine least squares, or by ridge least squares on affine features plus Gaussian bumps on a
 * grid, on simulated pairs (docs/MATH.md §5.6). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "bridge_internal.h"
#include "dpm_bridge.h"
#include "dpm_internal.h"
#include "dpm_rng.h"

#define MM_BLOCK 256

void dpm_bridge_mm_free(dpm_bridge_mm *s)
{
  if (!s) return;
  free(s->FA);
  free(s->X);
  free(s->FK);
  free(s);
}

/* The bump features phi (nb) at x for the grid (lo, h) (d each); ax (d S) is scratch. */
static void bumps_eval(size_t d, size_t S, size_t nb, const double *lo, const double *h, const double *x,
                       double *ax, double *phi)
{
  for (size_t j = 0; j < d; j++)
    for (size_t q = 0; q < S; q++) {
      const double z = (x[j] - lo[j]) / h[j] - (double)q;
      ax[j * S + q] = exp(-0.5 * z * z);
    }
  for (size_t b = 0; b < nb; b++) {
    double v = 1.0;
    size_t r = b;
    for (size_t j = 0; j < d; j++) {
      v *= ax[j * S + r % S];
      r /= S;
    }
    phi[b] = v;
  }
}

/* y = A x + c + K^T phi(x) for one map (A d x d, c d, K nk x d on the bump grid lo, hw); phi scratch d S + nk. */
static void map_eval(size_t d, size_t S, size_t nk, const double *A, const double *c, const double *Kc,
                     const double *lo, const double *hw, const double *x, double *phi, double *y)
{
  for (size_t j = 0; j < d; j++) {
    double v = c[j];
    for (size_t l = 0; l < d; l++)
      v += A[j * d + l] * x[l];
    y[j] = v;
  }
  if (nk) {
    bumps_eval(d, S, nk, lo, hw, x, phi, phi + d * S);
    for (size_t q = 0; q < nk; q++)
      for (size_t j = 0; j < d; j++)
        y[j] += Kc[q * d + j] * phi[d * S + q];
  }
}

/* Simulate the chain: dir 0 forward from mu_0 with F, dir 1 backward from mu_1 with B. */
static int simulate(dpm_bridge_mm *s, int dir)
{
  const size_t d = s->d, N = s->N, M = s->M, dd = d * d;
  const double sh = sqrt(s->sigma2 / (double)N);
  const dpm_mixture *start = dir == 0 ? s->mu0 : s->mu1;
  dpm_mixture_sample_workspace *ws = dpm_mixture_sample_alloc(start);
  gsl_rng *r = dpm_rng_stream_alloc(s->seed, 0);
  int st = ws && r ? DPM_SUCCESS : GSL_ENOMEM;
  const uint64_t task = (uint64_t)(2 * s->iters + (size_t)dir) << 32;
  for (size_t b0 = 0; b0 < M && !st; b0 += MM_BLOCK) {
    const size_t nb = b0 + MM_BLOCK <= M ? MM_BLOCK : M - b0;
    dpm_rng_stream_set(r, s->seed, task + b0 / MM_BLOCK);
    const size_t k0 = dir == 0 ? 0 : N;
    st = dpm_mixture_sample(start, ws, r, nb, s->X + (k0 * M + b0) * d, NULL);
    for (size_t step = 0; step < N && !st; step++) {
      /* forward: from k = step to step + 1 with F_k; backward: from k = N - step to k - 1 with B_k (index k - 1)
       */
      const size_t kf = dir == 0 ? step : N - step, kt = dir == 0 ? step + 1 : N - step - 1;
      const size_t m = dir == 0 ? step : kf - 1;
      const double *A = dir == 0 ? s->FA + m * dd : s->BA + m * dd, *c = dir == 0 ? s->Fc + m * d : s->Bc + m * d;
      const size_t nk = s->nb;
      const double *Kc = dir == 0 ? s->FK + m * nk * d : s->BK + m * nk * d,
                   *lo = dir == 0 ? s->Flo + m * d : s->Blo + m * d,
                   *hw = dir == 0 ? s->Fh + m * d : s->Bh + m * d;
      for (size_t i = b0; i < b0 + nb; i++) {
        const double *x = s->X + (kf * M + i) * d;
        double *y = s->X + (kt * M + i) * d;
        map_eval(d, s->S, nk, A, c, Kc, lo, hw, x, s->phi, y);
        for (size_t j = 0; j < d; j++) {
          y[j] += sh * gsl_ran_gaussian_ziggurat(r, 1.0);
        }
      }
    }
  }
  if (r) gsl_rng_free(r);
  dpm_mixture_sample_free(ws);
  if (!st && !dpm_bridge_all_finite(s->X, (N + 1) * M * d))
    DPM_ERROR(GSL_EBADFUNC, "mean-matching IPF: a particle is not finite (iteration %zu)", s->iters);
  return st;
}

/* Fit the maps of one direction by affine least squares. which 0: B_{k+1} from the forward particles, regressing
 * x_{k+1} + F_k(x_k) - F_k(x_{k+1}) on x_{k+1}; which 1: F_k from the backward particles, regressing x_k +
 * B_{k+1}(x_{k+1}) - B_{k+1}(x_k) on x_k. */
static int fit(dpm_bridge_mm *s, int which)
{
  const size_t d = s->d, N = s->N, M = s->M, dd = d * d, nb = s->nb, S = s->S, p = d + 1 + nb;
  double *ax = s->phi, *po = ax + d * S, *pn = po + nb;
  double *Gm = s->work, *R = Gm + p * p, *L = R + p * d, *u = L + p * p, *T = u + p;
  for (size_t k = 0; k < N; k++) {
    /* the map used in the target (old) and the one fitted (new) */
    const double *oA = which == 0 ? s->FA + k * dd : s->BA + k * dd,
                 *oc = which == 0 ? s->Fc + k * d : s->Bc + k * d;
    double *nA = which == 0 ? s->BA + k * dd : s->FA + k * dd, *nc = which == 0 ? s->Bc + k * d : s->Fc + k * d;
    const double *oK = which == 0 ? s->FK + k * nb * d : s->BK + k * nb * d,
                 *olo = which == 0 ? s->Flo + k * d : s->Blo + k * d,
                 *oh = which == 0 ? s->Fh + k * d : s->Bh + k * d;
    double *nK = which == 0 ? s->BK + k * nb * d : s->FK + k * nb * d,
           *nlo = which == 0 ? s->Blo + k * d : s->Flo + k * d, *nh = which == 0 ? s->Bh + k * d : s->Fh + k * d;
    if (nb) { /* the new map's bump grid spans the range of its feature particles */
      const size_t kf = which == 0 ? k + 1 : k;
      for (size_t j = 0; j < d; j++) {
        double a = HUGE_VAL, b = -HUGE_VAL;
        for (size_t i = 0; i < M; i++) {
          const double v = s->X[(kf * M + i) * d + j];
          a = v < a ? v : a;
          b = v > b ? v : b;
        }
        nlo[j] = a;
        nh[j] = (b - a) / (double)(S - 1);
        if (!(nh[j] > 0.0))
          DPM_ERROR(GSL_EDOM, "mean-matching IPF: the particles of step %zu have no spread on axis %zu", kf, j);
      }
    }
    memset(Gm, 0, p * p * sizeof *Gm);
    memset(R, 0, p * d * sizeof *R);
    for (size_t i = 0; i < M; i++) {
      const double *xk = s->X + (k * M + i) * d, *xn = s->X + ((k + 1) * M + i) * d;
      const double *feat = which == 0 ? xn : xk, *other = which == 0 ? xk : xn;
      for (size_t j = 0; j < d; j++) { /* T = feat + old(other) - old(feat) */
        double v = feat[j];
        for (size_t l = 0; l < d; l++)
          v += oA[j * d + l] * (other[l] - feat[l]);
        T[j] = v;
      }
      memcpy(u, feat, d * sizeof *u);
      u[d] = 1.0;
      if (nb) {
        bumps_eval(d, S, nb, olo, oh, other, ax, po);
        bumps_eval(d, S, nb, olo, oh, feat, ax, pn);
        for (size_t q = 0; q < nb; q++)
          for (size_t j = 0; j < d; j++)
            T[j] += oK[q * d + j] * (po[q] - pn[q]);
        bumps_eval(d, S, nb, nlo, nh, feat, ax, u + d + 1);
      }
      for (size_t a = 0; a < p; a++) {
        for (size_t b = 0; b <= a; b++)
          Gm[a * p + b] += u[a] * u[b];
        for (size_t j = 0; j < d; j++)
          R[a * d + j] += u[a] * T[j];
      }
    }
    for (size_t a = 0; a < p; a++)
      for (size_t b = 0; b < a; b++)
        Gm[b * p + a] = Gm[a * p + b];
    for (size_t q = d + 1; q < p; q++) /* the ridge on the bump coefficients only */
      Gm[q * p + q] += (double)M * s->ridge;
    if (!dpm_bridge_spd_solve(p, Gm, d, R, L))
      DPM_ERROR(GSL_EDOM, "mean-matching IPF: singular least-squares system at step %zu", k);
    /* R (p x d) holds W with T ~ W^T [x; 1]: the map's matrix is W[0..d-1]^T, its offset W[d] */
    for (size_t j = 0; j < d; j++) {
      for (size_t l = 0; l < d; l++)
        nA[j * d + l] = R[l * d + j];
      nc[j] = R[d * d + j];
    }
    for (size_t q = 0; q < nb; q++)
      for (size_t j = 0; j < d; j++)
        nK[q * d + j] = R[(d + 1 + q) * d + j];
    (void)oc;
  }
  return DPM_SUCCESS;
}

dpm_bridge_mm *dpm_bridge_mm_alloc(const dpm_mixture *mu0, const dpm_mixture *mu1, size_t N, size_t M,
                                   double sigma2, uint64_t seed)
{
  return dpm_bridge_mm_alloc_bumps(mu0, mu1, N, M, sigma2, seed, 0, 0.0);
}

dpm_bridge_mm *dpm_bridge_mm_alloc_bumps(const dpm_mixture *mu0, const dpm_mixture *mu1, size_t N, size_t M,
                                         double sigma2, uint64_t seed, size_t S, double ridge)
{
  if (!mu0 || !mu1 || mu0->d != mu1->d) DPM_ERROR_NULL(GSL_EBADLEN, "mean-matching IPF: NULL or mismatched laws");
  const size_t d = mu0->d;
  if (N == 0 || M < 4 * (d + 1)) DPM_ERROR_NULL(GSL_EDOM, "mean-matching IPF: needs N >= 1 and M >= 4 (d + 1)");
  if (!(isfinite(sigma2) && sigma2 > 0.0)) DPM_ERROR_NULL(GSL_EDOM, "mean-matching IPF: sigma^2 must be > 0");
  if (S == 1) DPM_ERROR_NULL(GSL_EDOM, "mean-matching IPF: a bump grid needs size >= 2 (0: affine only)");
  size_t nb = S ? 1 : 0;
  for (size_t j = 0; S && j < d && nb <= 256; j++)
    nb *= S;
  if (nb > 256) DPM_ERROR_NULL(GSL_EDOM, "mean-matching IPF: size^d = %zu^%zu bumps exceed 256", S, d);
  if (!(isfinite(ridge) && ridge >= 0.0)) DPM_ERROR_NULL(GSL_EDOM, "mean-matching IPF: ridge must be >= 0");
  dpm_bridge_mm *s = dpm_calloc(1, sizeof *s);
  if (!s) return NULL;
  const size_t dd = d * d, p = d + 1 + nb;
  s->FA = dpm_malloc((2 * N * (dd + d) + 2 * p * p + p * d + p + d) * sizeof(double));
  s->X = s->FA ? dpm_malloc((N + 1) * M * d * sizeof(double)) : NULL;
  s->FK = s->X ? dpm_calloc(2 * N * (nb * d + 2 * d) + d * S + 2 * nb + 1, sizeof(double)) : NULL;
  if (!s->FK) {
    dpm_bridge_mm_free(s);
    return NULL;
  }
  s->d = d;
  s->N = N;
  s->M = M;
  s->sigma2 = sigma2;
  s->seed = seed;
  s->mu0 = mu0;
  s->mu1 = mu1;
  s->Fc = s->FA + N * dd;
  s->BA = s->Fc + N * d;
  s->Bc = s->BA + N * dd;
  s->work = s->Bc + N * d;
  s->S = S;
  s->nb = nb;
  s->ridge = ridge;
  s->BK = s->FK + N * nb * d;
  s->Flo = s->BK + N * nb * d;
  s->Fh = s->Flo + N * d;
  s->Blo = s->Fh + N * d;
  s->Bh = s->Blo + N * d;
  s->phi = s->Bh + N * d;
  for (size_t i = 0; i < N * d; i++)
    s->Fh[i] = s->Bh[i] = 1.0; /* the reference's bump coefficients are 0 */
  memset(s->FA, 0, N * (dd + d) * sizeof(double));
  for (size_t k = 0; k < N; k++)
    for (size_t j = 0; j < d; j++)
      s->FA[k * dd + j * d + j] = 1.0; /* the reference: F_k(x) = x */
  if (simulate(s, 0) || fit(s, 0)) {
    dpm_error_context("mean-matching IPF: the reference");
    dpm_bridge_mm_free(s);
    return NULL;
  }
  return s;
}

int dpm_bridge_mm_iterate(dpm_bridge_mm *s, double *C)
{
  if (!s) DPM_ERROR(GSL_EINVAL, "mean-matching IPF: NULL workspace");
  int st = simulate(s, 1);
  if (!st) st = fit(s, 1);
  if (!st) {
    s->iters++;
    st = simulate(s, 0);
  }
  if (!st) st = fit(s, 0);
  if (st) return st;
  if (C) {
    const size_t d = s->d, M = s->M, N = s->N;
    double *m0 = s->work, *m1 = s->work + d; /* the work area holds 2 (d + 1)^2 >= 2 d */
    memset(m0, 0, 2 * d * sizeof *m0);
    const double *x0 = s->X, *x1 = s->X + N * M * d;
    for (size_t i = 0; i < M; i++)
      for (size_t j = 0; j < d; j++) {
        m0[j] += x0[i * d + j] / (double)M;
        m1[j] += x1[i * d + j] / (double)M;
      }
    for (size_t a = 0; a < d; a++)
      for (size_t b = 0; b < d; b++) {
        double c = 0.0;
        for (size_t i = 0; i < M; i++)
          c += (x0[i * d + a] - m0[a]) * (x1[i * d + b] - m1[b]);
        C[a * d + b] = c / (double)(M - 1);
      }
  }
  return DPM_SUCCESS;
}

int dpm_bridge_mm_cond(const dpm_bridge_mm *s, size_t nt, const double *xt, size_t R, uint64_t seed, double *mean,
                       double *cov)
{
  if (!s || !xt || !mean || !cov || R < 2) DPM_ERROR(GSL_EINVAL, "mean-matching conditional: NULL or R < 2");
  const size_t d = s->d, N = s->N, dd = d * d, nk = s->nb, S = s->S;
  const double sh = sqrt(s->sigma2 / (double)N);
  int nomem = 0, bad = 0;
  const double work = (double)nt * (double)R * (double)N * (double)(dd + nk * d + 8);
#pragma omp parallel num_threads(work > DPM_PAR_MIN_WORK ? dpm_omp_max_threads() : 1)
  {
    double *buf = dpm_malloc((R * d + 2 * d + d * S + nk + 1) * sizeof *buf);
    gsl_rng *r = buf ? dpm_rng_stream_alloc(seed, 0) : NULL;
    if (!r) {
#pragma omp atomic write
      nomem = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (size_t i = 0; i < nt; i++) {
      if (!r) continue;
      double *y = buf, *a = y + R * d, *b = a + d, *phi = b + d;
      dpm_rng_stream_set(r, seed, i);
      for (size_t q = 0; q < R; q++) {
        memcpy(a, xt + i * d, d * sizeof *a);
        for (size_t k = 0; k < N; k++) {
          map_eval(d, S, nk, s->FA + k * dd, s->Fc + k * d, s->FK + k * nk * d, s->Flo + k * d, s->Fh + k * d, a,
                   phi, b);
          for (size_t j = 0; j < d; j++)
            a[j] = b[j] + sh * gsl_ran_gaussian_ziggurat(r, 1.0);
        }
        memcpy(y + q * d, a, d * sizeof *a);
      }
      if (!dpm_bridge_all_finite(y, R * d)) {
#pragma omp atomic write
        bad = 1;
        continue;
      }
      double *me = mean + i * d, *co = cov + i * dd;
      memset(me, 0, d * sizeof *me);
      memset(co, 0, dd * sizeof *co);
      for (size_t q = 0; q < R; q++)
        for (size_t j = 0; j < d; j++)
          me[j] += y[q * d + j] / (double)R;
      for (size_t q = 0; q < R; q++) {
        const double *yq = y + q * d;
        for (size_t u = 0; u < d; u++)
          for (size_t v = 0; v <= u; v++)
            co[u * d + v] += (yq[u] - me[u]) * (yq[v] - me[v]) / (double)R;
      }
      for (size_t u = 0; u < d; u++)
        for (size_t v = 0; v < u; v++)
          co[v * d + u] = co[u * d + v];
    }
    if (r) gsl_rng_free(r);
    free(buf);
  }
  if (nomem) return GSL_ENOMEM;
  if (bad) DPM_ERROR(GSL_EBADFUNC, "mean-matching conditional: a chain's end point is not finite");
  return DPM_SUCCESS;
}
