/* imf.c — iterative Markovian fitting in the Gaussian family (Shi, De Bortoli, Campbell & Doucet, NeurIPS 2023,
 * §3 and Proposition 5): the reciprocal projection of a Gaussian coupling and its Markovian projection, whose
 * linear drift is the closed form's with the coupling's cross-covariance, integrated for the new coupling
 * (docs/MATH.md §5.8). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_odeiv2.h>

#include "bridge_internal.h"
#include "dpm_bridge.h"
#include "dpm_internal.h"

typedef struct {
  const dpm_bridge_gauss *g;
  const double *C;
  double *A, *Sig, *L; /* d x d each */
  int bad;
} imf_sys;

/* A_t = S_t^T Sigma_t^{-1} for the coupling C (Sigma_t and S_t as in §5.2 with C in place of C_sigma) */
static int imf_drift(imf_sys *p, double t)
{
  const dpm_bridge_gauss *g = p->g;
  const size_t d = g->d;
  const double u = 1.0 - t;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      const double c = p->C[i * d + j], ct = p->C[j * d + i], e = i == j ? 1.0 : 0.0;
      p->Sig[i * d + j] = u * u * g->S0[i * d + j] + t * t * g->S1[i * d + j] + t * u * (c + ct + g->sigma2 * e);
      /* S_t (the transpose of S_t^T = t S1 - u S0 + u C^T - t C - sigma^2 t I) */
      p->A[i * d + j] = t * g->S1[i * d + j] - u * g->S0[i * d + j] + u * c - t * ct - g->sigma2 * t * e;
    }
  if (!dpm_bridge_spd_solve(d, p->Sig, d, p->A, p->L)) return 0; /* A := Sigma_t^{-1} S_t = A_t^T */
  return 1;
}

static int imf_rhs(double t, const double *y, double *f, void *params)
{
  imf_sys *p = params;
  const size_t d = p->g->d;
  if (!imf_drift(p, t)) {
    p->bad = 1;
    return GSL_EBADFUNC;
  }
  /* dK/dt = K A_t^T, and p->A holds A_t^T */
  dpm_bridge_matmul(d, y, p->A, f);
  return GSL_SUCCESS;
}

int dpm_bridge_imf_gauss_step(const dpm_bridge_gauss *g, const double *C, double *Cnext, double rtol)
{
  if (!g || !C || !Cnext) DPM_ERROR(GSL_EINVAL, "IMF: NULL argument");
  if (!(rtol > 0.0 && rtol <= 0.1)) DPM_ERROR(GSL_EDOM, "IMF: rtol must be in (0, 0.1] (got %g)", rtol);
  const size_t d = g->d, dd = d * d;
  double *w = dpm_malloc((4 * dd) * sizeof *w);
  if (!w) return GSL_ENOMEM;
  double *Cc = w + 3 * dd;
  memcpy(Cc, C, dd * sizeof *Cc);
  imf_sys p = {g, Cc, w, w + dd, w + 2 * dd, 0};
  gsl_odeiv2_system sys = {imf_rhs, NULL, dd, &p};
  gsl_odeiv2_driver *drv = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-3, 0.0, rtol);
  if (!drv) {
    free(w);
    DPM_ERROR(GSL_ENOMEM, "IMF: out of memory for the integrator");
  }
  double t = 0.0;
  memcpy(Cnext, g->S0, dd * sizeof *Cnext); /* K(0) = Cov(X_0, X_0) */
  int st = gsl_odeiv2_driver_apply(drv, &t, 1.0, Cnext);
  gsl_odeiv2_driver_free(drv);
  free(w);
  if (p.bad) DPM_ERROR(GSL_EDOM, "IMF: Sigma_t of the coupling is not positive-definite");
  if (st) DPM_ERROR(st, "IMF: the integrator failed (status %d)", st);
  return DPM_SUCCESS;
}
