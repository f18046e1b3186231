/* forward.c — Euler–Maruyama simulation of the forward SDE dx = a(t) x dt + g(t) dB of every process of the table
 * (Song et al. 2021, eq. (5); Kloeden & Platen 1992, Ch. 9), one random stream per path (docs/MATH.md §1,
 * §4). */
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_randist.h>

#include "dpm_common.h"
#include "dpm_forward.h"
#include "dpm_internal.h"
#include "dpm_rng.h"

struct dpm_forward {
  size_t nmax, d, Kmax;
  double *ca, *cg; /* per step: 1 + a(t_k) h_k and g(t_k) sqrt(h_k) */
  gsl_rng **rng;   /* nmax */
};

void dpm_forward_free(dpm_forward *w)
{
  if (!w) return;
  if (w->rng)
    for (size_t j = 0; j < w->nmax; j++)
      gsl_rng_free(w->rng[j]);
  free(w->rng);
  free(w->ca);
  free(w->cg);
  free(w);
}

dpm_forward *dpm_forward_alloc(size_t nmax, size_t d, size_t Kmax)
{
  if (nmax == 0 || d == 0 || Kmax == 0 || Kmax > 100000000)
    DPM_ERROR_NULL(GSL_EINVAL, "forward: need nmax, d >= 1 and Kmax in [1, 1e8] (got %zu, %zu, %zu)", nmax, d,
                   Kmax);
  dpm_forward *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->nmax = nmax;
  w->d = d;
  w->Kmax = Kmax;
  if (!(w->ca = dpm_malloc(Kmax * sizeof(double))) || !(w->cg = dpm_malloc(Kmax * sizeof(double))) ||
      !(w->rng = dpm_calloc(nmax, sizeof(gsl_rng *))))
    goto fail;
  for (size_t j = 0; j < nmax; j++)
    if (!(w->rng[j] = gsl_rng_alloc(gsl_rng_taus2))) {
      DPM_RAISE(GSL_ENOMEM, "forward: no memory for %zu generators", nmax);
      goto fail;
    }
  return w;
fail:
  dpm_forward_free(w);
  return NULL;
}

int dpm_forward_em(dpm_forward *w, const dpm_process *p, size_t K, const double *t, uint64_t seed, size_t n,
                   double *x)
{
  if (!w || !p || !t || (!x && n > 0)) DPM_ERROR(GSL_EINVAL, "forward: NULL workspace, process, times or x");
  if (n > w->nmax) DPM_ERROR(GSL_EBADLEN, "forward: %zu paths exceed the workspace's %zu", n, w->nmax);
  if (K < 1 || K > w->Kmax) DPM_ERROR(GSL_EBADLEN, "forward: K = %zu steps outside [1, %zu]", K, w->Kmax);
  for (size_t k = 0; k < K; k++) {
    if (!(t[k + 1] > t[k]))
      DPM_ERROR(GSL_EDOM, "forward: times must increase strictly (t[%zu] = %g, t[%zu] = %g)", k, t[k], k + 1,
                t[k + 1]);
    const double h = t[k + 1] - t[k], a = dpm_process_a(p, t[k]), g = dpm_process_g(p, t[k]);
    if (!isfinite(a) || !isfinite(g)) {
      dpm_error_context("forward: step %zu", k);
      return GSL_EDOM;
    }
    w->ca[k] = 1.0 + a * h;
    w->cg[k] = g * sqrt(h);
  }
  double m, s;
  if (dpm_process_ms(p, t[K], &m, &s)) { /* the last time's domain (the steps checked the others) */
    dpm_error_context("forward: end time");
    return GSL_EDOM;
  }
  const size_t d = w->d;
  const double *ca = w->ca, *cg = w->cg;
  gsl_rng **rng = w->rng;
#pragma omp parallel for schedule(static) if ((double)n * (double)d * (double)K >= DPM_PAR_MIN_WORK)
  for (size_t j = 0; j < n; j++) {
    gsl_rng *r = rng[j];
    dpm_rng_stream_set(r, seed, j);
    double *xj = x + j * d;
    for (size_t k = 0; k < K; k++)
      for (size_t c = 0; c < d; c++)
        xj[c] = ca[k] * xj[c] + cg[k] * gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  return DPM_SUCCESS;
}
