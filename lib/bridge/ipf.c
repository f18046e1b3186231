/* ipf.c — exact iterative proportional fitting in the Gaussian family (Kullback 1968; De Bortoli et al. 2021, §3):
 * each half-step is a Gaussian conditioning that keeps X_0 | X_1 (or X_1 | X_0) and replaces one marginal, the
 * Riccati recursion of docs/MATH.md §5.3, for the Brownian reference and the DSB discretised Ornstein–Uhlenbeck
 * chain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"
#include "dpm_bridge.h"
#include "dpm_internal.h"

dpm_bridge_kernel dpm_bridge_kernel_brownian(double sigma2)
{
  dpm_bridge_kernel k = {1.0, sigma2};
  return k;
}

int dpm_bridge_kernel_dsb(size_t n, const double *gamma, dpm_bridge_kernel *k)
{
  if (!gamma || !k || n == 0) DPM_ERROR(GSL_EINVAL, "bridge: NULL step list or no steps");
  double a = 1.0, q = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double gi = gamma[i];
    if (!(gi > 0.0 && gi < 1.0)) DPM_ERROR(GSL_EDOM, "bridge: DSB step %zu must be in (0, 1) (got %g)", i, gi);
    /* x' = (1 - g) x + sqrt(2 g) z: a <- (1 - g) a, q <- (1 - g)^2 q + 2 g */
    a *= 1.0 - gi;
    q = (1.0 - gi) * (1.0 - gi) * q + 2.0 * gi;
  }
  k->a = a;
  k->q = q;
  return DPM_SUCCESS;
}

void dpm_bridge_ipf_gauss_free(dpm_bridge_ipf_gauss *s)
{
  if (!s) return;
  free(s->mx);
  free(s->work);
  free(s);
}

dpm_bridge_ipf_gauss *dpm_bridge_ipf_gauss_alloc(size_t d, const double *m0, const double *S0, dpm_bridge_kernel k)
{
  if (!m0 || !S0 || d == 0) DPM_ERROR_NULL(GSL_EINVAL, "bridge: NULL argument or d = 0");
  if (!(isfinite(k.a) && k.a > 0.0 && isfinite(k.q) && k.q > 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "bridge: reference kernel needs finite a > 0, q > 0 (got %g, %g)", k.a, k.q);
  const size_t dd = d * d;
  dpm_bridge_ipf_gauss *s = dpm_calloc(1, sizeof *s);
  double *mem = s ? dpm_malloc((2 * d + 3 * dd) * sizeof *mem) : NULL;
  double *w = mem ? dpm_malloc((4 * dd + d) * sizeof *w) : NULL;
  if (!w) {
    free(mem);
    free(s);
    return NULL;
  }
  s->d = d;
  s->mx = mem;
  s->my = mem + d;
  s->Sxx = mem + 2 * d;
  s->Sxy = s->Sxx + dd;
  s->Syy = s->Sxy + dd;
  s->work = w;
  if (!dpm_bridge_all_finite(m0, d) || !dpm_bridge_all_finite(S0, dd) || !dpm_bridge_is_spd(d, S0, w)) {
    dpm_bridge_ipf_gauss_free(s);
    DPM_ERROR_NULL(GSL_EDOM, "bridge: Sigma_0 is not a finite symmetric positive-definite matrix");
  }
  for (size_t j = 0; j < d; j++) {
    s->mx[j] = m0[j];
    s->my[j] = k.a * m0[j];
  }
  for (size_t i = 0; i < dd; i++) {
    s->Sxx[i] = S0[i];
    s->Sxy[i] = k.a * S0[i];
    s->Syy[i] = k.a * k.a * S0[i];
  }
  for (size_t j = 0; j < d; j++)
    s->Syy[j * d + j] += k.q;
  return s;
}

/* Condition-and-replace on the "y" side: keep x | y, set y ~ N(m, S). Pxy is Cov(x, y) (d x d) as stored for side
 * 1; for side 0 the roles are exchanged and the stored Sxy is Cov(y, x)^T, handled by `trans`. */
static int half_step(size_t d, double *mx, double *Sxx, double *Sxy, int trans, double *my, double *Syy,
                     const double *m, const double *S, double *w)
{
  const size_t dd = d * d;
  double *G = w, *L = w + dd, *GS = w + 2 * dd, *T = w + 3 * dd, *dm = w + 4 * dd;
  /* P = Cov(x, y): Sxy (side 1) or Sxy^T (side 0). G^T = Syy^{-1} P^T: solve with P^T's columns */
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      G[i * d + j] = trans ? Sxy[i * d + j] : Sxy[j * d + i]; /* G := P^T */
  if (!dpm_bridge_spd_solve(d, Syy, d, G, L)) return 0;
  for (size_t i = 0; i < d; i++) /* G := (Syy^{-1} P^T)^T = P Syy^{-1} */
    for (size_t j = 0; j < i; j++) {
      const double t = G[i * d + j];
      G[i * d + j] = G[j * d + i];
      G[j * d + i] = t;
    }
  /* Sxx <- Sxx - G P^T + G S G^T, with T = G P^T (P^T = Cov(y, x)) */
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t l = 0; l < d; l++)
        s += G[i * d + l] * (trans ? Sxy[l * d + j] : Sxy[j * d + l]);
      T[i * d + j] = s;
    }
  dpm_bridge_matmul(d, G, S, GS);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t l = 0; l < d; l++)
        s += GS[i * d + l] * G[j * d + l];
      Sxx[i * d + j] += s - T[i * d + j];
    }
  for (size_t i = 0; i < d; i++) /* symmetrise against rounding drift */
    for (size_t j = 0; j < i; j++)
      Sxx[i * d + j] = Sxx[j * d + i] = 0.5 * (Sxx[i * d + j] + Sxx[j * d + i]);
  /* mx <- mx + G (m - my) */
  for (size_t j = 0; j < d; j++)
    dm[j] = m[j] - my[j];
  for (size_t i = 0; i < d; i++) {
    double s = 0.0;
    for (size_t l = 0; l < d; l++)
      s += G[i * d + l] * dm[l];
    mx[i] += s;
  }
  /* Cov(x, y) <- G S */
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      if (trans)
        Sxy[j * d + i] = GS[i * d + j];
      else
        Sxy[i * d + j] = GS[i * d + j];
    }
  memcpy(my, m, d * sizeof *my);
  memcpy(Syy, S, dd * sizeof *Syy);
  return 1;
}

int dpm_bridge_ipf_gauss_step(dpm_bridge_ipf_gauss *s, int side, const double *m, const double *S)
{
  if (!s || !m || !S || (side != 0 && side != 1)) DPM_ERROR(GSL_EINVAL, "bridge: bad IPF half-step arguments");
  int ok = side == 1 ? half_step(s->d, s->mx, s->Sxx, s->Sxy, 0, s->my, s->Syy, m, S, s->work)
                     : half_step(s->d, s->my, s->Syy, s->Sxy, 1, s->mx, s->Sxx, m, S, s->work);
  if (!ok) DPM_ERROR(GSL_EDOM, "bridge: IPF marginal of X_%d not positive-definite", side);
  return DPM_SUCCESS;
}

double dpm_bridge_ipf_gauss_err(const dpm_bridge_ipf_gauss *s, const double *C)
{
  double e = 0.0;
  for (size_t i = 0; i < s->d * s->d; i++)
    e += (s->Sxy[i] - C[i]) * (s->Sxy[i] - C[i]);
  return sqrt(e);
}
