/* gamma_quad.c — Gamma_n = E|E[eps|x_n]|^2/d and its complement 1 - Gamma_n = E tr Cov[eps|x_n]/d by adaptive
 * cubature per mixture component with control variates, warm-started along a schedule, d <= 2 (Bao et al. ICLR
 * 2022, eq. 8; docs/MATH.md §3). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_rng.h"
#include "dpm_quad.h"
#include "dpm_internal.h"
/* ---- Gamma by quadrature ---------------------------------------------------------------------------------------
 */

typedef struct {
  const dpm_mixture *mix;
  dpm_oracle *oracle;
  size_t k;
  int comp;                        /* 0: Gamma's integrand; 1: the complement's */
  double cconst[DPM_QUAD_NCV_MAX]; /* the complement's control variates (constants) */
  double m, s, c[2], scale[2];
  double cva[DPM_QUAD_NCV_MAX][2], cvM[DPM_QUAD_NCV_MAX][4]; /* control variate v: (s^2/d) |cva_v + cvM_v u|^2 */
  double *x, *eps;                                           /* DPM_QUAD_NPOINTS_MAX x d */
} gamma_ctx;

/* g(u) = |E[eps|x]|^2 / d at x = m mu_k + U_k diag(scale) u, scale_j = sqrt(m^2 lambda_kj + s^2), and its two
 * control variates (see gamma_cv_setup). */
static int gamma_fn(void *vctx, size_t np, const double *u, double *out, double *cv)
{
  gamma_ctx *g = vctx;
  const size_t d = g->mix->d;
  const double cs = g->s * g->s / (double)d;
  for (size_t p = 0; p < np; p++)
    dpm_mixture_component_point(g->mix, g->k, g->c, g->scale, u + p * d, g->x + p * d);
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  if (g->comp)
    res.trcov = g->eps; /* np values */
  else
    res.eps = g->eps;
  const int st = dpm_oracle_eval(g->oracle, g->m, g->s, np, g->x, &res);
  if (st != DPM_SUCCESS) return st;
  if (g->comp) { /* tr Cov[eps|x]/d = (m/s)^2 tr Cov[x_0|x]/d */
    const double r = g->m / g->s, f = r * r / (double)d;
    for (size_t p = 0; p < np; p++) {
      out[p] = f * g->eps[p];
      for (size_t v = 0; v < DPM_QUAD_NCV_MAX; v++)
        cv[v * np + p] = g->cconst[v];
    }
    return DPM_SUCCESS;
  }
  for (size_t p = 0; p < np; p++) {
    out[p] = dpm_norm2(g->eps + p * d, d) / (double)d;
    for (size_t v = 0; v < DPM_QUAD_NCV_MAX; v++) {
      double c = 0.0;
      for (size_t i = 0; i < d; i++) {
        double t = g->cva[v][i];
        for (size_t j = 0; j < d; j++)
          t += g->cvM[v][i * d + j] * u[p * d + j];
        c += t * t;
      }
      cv[v * np + p] = cs * c;
    }
  }
  return DPM_SUCCESS;
}

struct dpm_analytic_gamma_quad {
  const dpm_mixture *mix;
  double rel_tol;
  int nthreads;
  dpm_oracle **oracle;
  dpm_quad_workspace **cub;
  dpm_quad_mesh **mesh;     /* 2 x nthreads x K: each component's last boxes for Gamma (first half) and for the
                             complement, for warm starts along a schedule */
  double mubar[2], cov0[4]; /* the data's mean and covariance */
  double *x, *eps;          /* nthreads x DPM_QUAD_NPOINTS_MAX x d */
};

void dpm_analytic_gamma_quad_free(dpm_analytic_gamma_quad *w)
{
  if (!w) return;
  for (int t = 0; t < w->nthreads; t++) {
    if (w->oracle) dpm_oracle_free(w->oracle[t]);
    if (w->cub) dpm_quad_workspace_free(w->cub[t]);
  }
  if (w->mesh)
    for (size_t i = 0; i < 2 * (size_t)w->nthreads * w->mix->K; i++)
      dpm_quad_mesh_free(w->mesh[i]);
  free(w->mesh);
  free(w->oracle);
  free(w->cub);
  free(w->x);
  free(w->eps);
  free(w);
}

dpm_analytic_gamma_quad *dpm_analytic_gamma_quad_alloc(const dpm_mixture *mix, double rel_tol)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "gamma quadrature: mixture is NULL");
  if (dpm_quad_check(mix->d, rel_tol, "gamma quadrature") != DPM_SUCCESS) return NULL;
  dpm_analytic_gamma_quad *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->mix = mix;
  w->rel_tol = rel_tol;
  w->nthreads = dpm_omp_max_threads();
  dpm_mixture_moments(mix, w->mubar, w->cov0, NULL);
  const size_t T = (size_t)w->nthreads, npd = DPM_QUAD_NPOINTS_MAX * mix->d;
  w->oracle = dpm_calloc(T, sizeof *w->oracle);
  w->cub = dpm_calloc(T, sizeof *w->cub);
  w->mesh = dpm_calloc(2 * T * mix->K, sizeof *w->mesh);
  w->x = dpm_malloc(T * npd * sizeof(double));
  w->eps = dpm_malloc(T * npd * sizeof(double));
  if (!w->oracle || !w->cub || !w->mesh || !w->x || !w->eps) {
    dpm_analytic_gamma_quad_free(w);
    return NULL;
  }
  for (size_t t = 0; t < T; t++)
    if (!(w->oracle[t] = dpm_oracle_alloc(mix)) ||
        !(w->cub[t] = dpm_quad_workspace_alloc(mix->d, DPM_QUAD_NCV_MAX))) {
      dpm_analytic_gamma_quad_free(w);
      return NULL;
    }
  for (size_t i = 0; i < 2 * T * mix->K; i++)
    if (!(w->mesh[i] = dpm_quad_mesh_alloc())) {
      dpm_analytic_gamma_quad_free(w);
      return NULL;
    }
  return w;
}

/* The control variates of component g->k at (g->m, g->s), g->c and g->scale set, as (s^2/d) |a + M u|^2 with
 * x = m mu_k + U_k diag(scale) u, and their integrals over the box, cint[v] = (s^2/d) (|a|^2 A0^d + |M|_F^2 A2
 * A0^(d-1)):
 *   v = 0: component k alone, E[eps|x] = s C_k^{-1}(x - m mu_k) = s U_k diag(1/scale) u: a = 0, M = diag(1/scale)
 *          (exact where k owns the posterior: separated components, small t);
 *   v = 1: the Gaussian with the data's mean and covariance, E[eps|x] = s B (x - m mubar), B = (m^2 Cov_0 +
 *          s^2 I)^{-1}: a = m B (mu_k - mubar), M = B U_k diag(scale) (exact for Gaussian data; close when q_t is
 *          nearly Gaussian, large t). */
static void gamma_cv_setup(const dpm_analytic_gamma_quad *w, gamma_ctx *g, double *cint)
{
  const dpm_mixture *mix = w->mix;
  const size_t d = mix->d, k = g->k;
  const double m = g->m, s = g->s;
  memset(g->cva, 0, sizeof g->cva);
  memset(g->cvM, 0, sizeof g->cvM);
  for (size_t j = 0; j < d; j++)
    g->cvM[0][j * d + j] = 1.0 / g->scale[j];
  double S[4], B[4], U[4] = {1.0, 0.0, 0.0, 1.0};
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      S[i * d + j] = m * m * w->cov0[i * d + j] + (i == j ? s * s : 0.0);
  if (d == 1)
    B[0] = 1.0 / S[0];
  else {
    const double det = S[0] * S[3] - S[1] * S[2];
    B[0] = S[3] / det;
    B[1] = -S[1] / det;
    B[2] = -S[2] / det;
    B[3] = S[0] / det;
  }
  if (mix->kind[k] == DPM_COV_FULL && mix->U) memcpy(U, mix->U + k * d * d, d * d * sizeof(double));
  for (size_t i = 0; i < d; i++) {
    for (size_t j = 0; j < d; j++) {
      g->cva[1][i] += B[i * d + j] * m * (mix->mu[k * d + j] - w->mubar[j]);
      double acc = 0.0;
      for (size_t l = 0; l < d; l++)
        acc += B[i * d + l] * U[l * d + j];
      g->cvM[1][i * d + j] = acc * g->scale[j];
    }
  }
  double A0, A2;
  dpm_quad_box_moments(&A0, &A2);
  for (size_t v = 0; v < DPM_QUAD_NCV_MAX; v++) {
    double a2 = 0.0, m2 = 0.0;
    for (size_t i = 0; i < d; i++) {
      a2 += g->cva[v][i] * g->cva[v][i];
      for (size_t j = 0; j < d; j++)
        m2 += g->cvM[v][i * d + j] * g->cvM[v][i * d + j];
    }
    cint[v] = s * s / (double)d * (a2 * (d == 2 ? A0 * A0 : A0) + m2 * A2 * (d == 2 ? A0 : 1.0));
  }
  if (!g->comp) return;
  /* The complement's integrand tr Cov[eps|x]/d is constant under each of the two Gaussian models above:
   *   v = 0: component k alone, Cov[eps|x] = (m^2/s^2) S_k with eigenvalues m^2 lambda_kj/scale_j^2;
   *   v = 1: the data's Gaussian, Cov[eps|x] = m^2 Cov_0 B (= I - s^2 B, formed without that cancellation).
   * A constant's integral over the box is itself times A0^d. */
  double c0 = 0.0, c1 = 0.0;
  for (size_t j = 0; j < d; j++) {
    c0 += m * m * mix->lambda[k * d + j] / (g->scale[j] * g->scale[j]);
    for (size_t l = 0; l < d; l++)
      c1 += m * m * w->cov0[j * d + l] * B[l * d + j];
  }
  g->cconst[0] = c0 / (double)d;
  g->cconst[1] = c1 / (double)d;
  for (size_t v = 0; v < DPM_QUAD_NCV_MAX; v++)
    cint[v] = g->cconst[v] * (d == 2 ? A0 * A0 : A0);
}

/* Gamma (comp = 0) or its complement (comp = 1) at (m, s) with thread tid's scratch. mesh: 0 start each component
 * from the coarse grid, 1 the same and keep the final boxes, 2 start from the kept boxes (a warm start) and keep
 * the new ones. When the box budget stops a component short of the tolerance (GSL_EMAXITER) the others are still
 * integrated and the sum and its error are returned with that status; any other failure stops at once. Either
 * way the reason names the component in front of the origin's. */
static int gamma_quad_one(dpm_analytic_gamma_quad *w, int tid, double m, double s, int comp, int mesh,
                          double *gamma, double *err)
{
  const dpm_mixture *mix = w->mix;
  const size_t d = mix->d, npd = DPM_QUAD_NPOINTS_MAX * d;
  gamma_ctx g;
  memset(&g, 0, sizeof g);
  g.mix = mix;
  g.oracle = w->oracle[tid];
  g.comp = comp;
  g.m = m;
  g.s = s;
  g.x = w->x + (size_t)tid * npd;
  g.eps = w->eps + (size_t)tid * npd;
  double total = 0.0, terr = 0.0;
  int status = DPM_SUCCESS;
  for (size_t k = 0; k < mix->K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    g.k = k;
    for (size_t j = 0; j < d; j++) {
      g.c[j] = m * mix->mu[k * d + j];
      g.scale[j] = sqrt(m * m * mix->lambda[k * d + j] + s * s);
    }
    double cint[DPM_QUAD_NCV_MAX];
    gamma_cv_setup(w, &g, cint);
    dpm_quad_mesh *mk = mesh ? w->mesh[((size_t)comp * (size_t)w->nthreads + (size_t)tid) * mix->K + k] : NULL;
    if (mesh == 1) dpm_quad_mesh_reset(mk);
    double v = NAN, e = NAN;
    const int st = dpm_quad_integrate(w->cub[tid], gamma_fn, &g, cint, w->rel_tol, 1e-15, mk, &v, &e);
    if (st != DPM_SUCCESS) {
      dpm_error_context("%s at (m, s) = (%.17g, %.17g), component %zu", comp ? "1 - Gamma" : "Gamma", m, s, k);
      if (st != GSL_EMAXITER) return st;
      if (status == DPM_SUCCESS) status = st;
    }
    total += mix->w[k] * v;
    terr += mix->w[k] * e;
  }
  *gamma = total;
  if (err) *err = terr;
  return status;
}

/* At one (m, s) (comp as above), passing a failure up with the workspace's name in front. */
static int gamma_quad_at(dpm_analytic_gamma_quad *w, double m, double s, int comp, double *value, double *err)
{
  if (!w || !value) DPM_ERROR(GSL_EINVAL, "gamma quadrature: NULL workspace or output");
  if (!dpm_ms_ok(m, s)) DPM_ERROR(GSL_EDOM, "gamma quadrature: need m > 0, s > 0 finite (got %g, %g)", m, s);
  const int st = gamma_quad_one(w, 0, m, s, comp, 0, value, err);
  if (st != DPM_SUCCESS) dpm_error_context("gamma quadrature");
  return st;
}

int dpm_analytic_gamma_quad_eval(dpm_analytic_gamma_quad *w, double m, double s, double *gamma, double *err)
{
  return gamma_quad_at(w, m, s, 0, gamma, err);
}

int dpm_analytic_gamma_quad_eval_cgamma(dpm_analytic_gamma_quad *w, double m, double s, double *cgamma,
                                        double *err)
{
  return gamma_quad_at(w, m, s, 1, cgamma, err);
}

/* Steps per chain of warm starts in dpm_analytic_gamma_quad_fill. */
enum { GAMMA_CHAIN = 16 };

int dpm_analytic_gamma_quad_fill(dpm_analytic_gamma_quad *w, const dpm_schedule *sch,
                                 const dpm_analytic_gamma_result *res)
{
  if (!w || !sch || !res) DPM_ERROR(GSL_EINVAL, "gamma quadrature: NULL workspace, schedule or result");
  double *out[2] = {res->gamma, res->cgamma}, *oerr[2] = {res->gamma_err, res->cgamma_err};
  for (int c = 0; c < 2; c++) {
    if (out[c]) out[c][0] = NAN;
    if (oerr[c]) oerr[c][0] = NAN;
  }
  for (size_t n = 1; n <= sch->N; n++)
    if (!dpm_ms_ok(sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n])))
      DPM_ERROR(GSL_EDOM, "gamma quadrature: step %zu has abar = %g, bbar = %g", n, sch->alpha_bar[n],
                sch->beta_bar[n]);
  /* Chains of GAMMA_CHAIN consecutive steps, each chain on one thread: its first step starts from the coarse grid,
   * the others from the previous step's boxes (the integrand moves little from one step to the next). The chains
   * do not depend on the thread count, so neither do the results. A step the box budget cuts short (GSL_EMAXITER)
   * keeps its value and error estimate and the chain goes on; the first such step is reported. Any other failure
   * ends its chain (the rest is NaN) and is reported in preference. The reason is recorded per thread, so the
   * failing thread's is copied out and passed up here with the step in front. */
  int fail = DPM_SUCCESS;
  size_t fail_at = 0;
  char reason[512] = "";
  const size_t nchain = (sch->N + GAMMA_CHAIN - 1) / GAMMA_CHAIN;
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->nthreads)
  for (size_t ci = 0; ci < nchain; ci++) {
    const int tid = dpm_omp_thread_num();
    const size_t n0 = 1 + ci * GAMMA_CHAIN, n1 = n0 + GAMMA_CHAIN - 1 < sch->N ? n0 + GAMMA_CHAIN - 1 : sch->N;
    int stop = 0;
    for (size_t n = n0; n <= n1 && !stop; n++) {
      for (int c = 0; c < 2 && !stop; c++) {
        if (!out[c]) continue;
        double g = NAN, e = NAN;
        const int st =
            gamma_quad_one(w, tid, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), c, n > n0 ? 2 : 1, &g, &e);
        out[c][n] = g;
        if (oerr[c]) oerr[c][n] = e;
        if (st == DPM_SUCCESS) continue;
#pragma omp critical(dpm_analytic_fail)
        {
          const int worse = fail == DPM_SUCCESS || (fail == GSL_EMAXITER && st != GSL_EMAXITER) ||
                            ((fail == GSL_EMAXITER) == (st == GSL_EMAXITER) && n < fail_at);
          if (worse) {
            fail = st;
            fail_at = n;
            snprintf(reason, sizeof reason, "%s", dpm_error_last());
          }
        }
        if (st != GSL_EMAXITER) {
          stop = 1;
          for (size_t r = n; r <= n1; r++) /* the rest of the chain is not computed */
            for (int q = 0; q < 2; q++) {
              if (out[q] && (r > n || q > c)) out[q][r] = NAN;
              if (oerr[q] && (r > n || q > c)) oerr[q][r] = NAN;
            }
        }
      }
    }
  }
  if (fail != DPM_SUCCESS) {
    dpm_error_clear();
    dpm_error_context("%s", reason);
    dpm_error_context("gamma quadrature: step %zu", fail_at);
  }
  return fail;
}

int dpm_analytic_gamma_quad_schedule(dpm_analytic_gamma_quad *w, const dpm_schedule *sch, double *gamma,
                                     double *err)
{
  if (!gamma) DPM_ERROR(GSL_EINVAL, "gamma quadrature: NULL output");
  const dpm_analytic_gamma_result res = {gamma, err, NULL, NULL};
  return dpm_analytic_gamma_quad_fill(w, sch, &res);
}
