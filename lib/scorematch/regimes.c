/* regimes.c — the dynamical regimes of the ideal denoiser of n training points (Biroli, Bonnaire, de Bortoli &
 * Mézard 2024, "Dynamical regimes of diffusion models", arXiv:2402.18491; docs/MATH.md §4.4): along reverse
 * trajectories of the OU process, the speciation time (the endpoint's class is decided) and the collapse time (the
 * trajectory commits to one training point), measured from the exact posterior over the training points, beside
 * the paper's predictions t_S = log(Lambda)/2 and the excess-entropy criterion for t_C. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"
#include "sm_internal.h"

dpm_mixture *dpm_sm_two_class_alloc(size_t d, double mu, double sigma)
{
  if (d == 0 || d > 4096) DPM_ERROR_NULL(GSL_EINVAL, "two-class mixture: dimension %zu must be in [1, 4096]", d);
  if (!(isfinite(mu) && mu > 0.0 && isfinite(sigma) && sigma > 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "two-class mixture: mu = %g and sigma = %g must be finite and > 0", mu, sigma);
  dpm_mixture *mix = dpm_mixture_alloc(2, d);
  double *m = dpm_malloc(d * sizeof *m);
  const int labels[2] = {0, 1};
  int st = (mix && m) ? DPM_SUCCESS : GSL_ENOMEM;
  for (size_t k = 0; k < 2 && !st; k++) {
    for (size_t j = 0; j < d; j++)
      m[j] = k == 0 ? -mu : mu;
    st = dpm_mixture_set_mean(mix, k, m);
    if (!st) st = dpm_mixture_set_iso(mix, k, sigma * sigma);
  }
  if (!st) st = dpm_mixture_set_labels(mix, labels);
  free(m);
  if (st) {
    dpm_mixture_free(mix);
    return NULL;
  }
  return mix;
}

/* The largest eigenvalue of the data's covariance. */
static int top_eigenvalue(const dpm_mixture *mix, double *lambda)
{
  const size_t d = mix->d;
  double *mean = dpm_malloc(d * (d + 1) * sizeof *mean);
  gsl_matrix *A = gsl_matrix_alloc(d, d);
  gsl_vector *ev = gsl_vector_alloc(d);
  gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc(d);
  int st = (mean && A && ev && ws) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) {
    dpm_mixture_moments(mix, mean, mean + d, NULL);
    memcpy(A->data, mean + d, d * d * sizeof(double));
    st = gsl_eigen_symm(A, ev, ws);
    if (!st) *lambda = gsl_vector_max(ev);
  }
  free(mean);
  gsl_matrix_free(A);
  gsl_vector_free(ev);
  gsl_eigen_symm_free(ws);
  return st;
}

/* The excess entropy per the criterion: f(t) = H(P_t) - (d/2) log(2 pi e Delta_t) - log n with P_t the data
 * diffused to t (Monte Carlo entropy on a fixed stream, so f is a smooth function of t). */
static int excess(const dpm_mixture *mix, double t, size_t n, size_t Mh, double *f)
{
  const double m = exp(-t), s2 = -expm1(-2.0 * t);
  dpm_mixture *q = dpm_sm_mixture_at(mix, m, sqrt(s2));
  if (!q) return GSL_ENOMEM;
  double H, se;
  const int st = dpm_mixture_entropy_mc(q, Mh, 12345, &H, &se);
  dpm_mixture_free(q);
  if (st) return st;
  *f = H - 0.5 * (double)mix->d * (DPM_LOG_2PI + 1.0 + log(s2)) - log((double)n);
  return DPM_SUCCESS;
}

int dpm_sm_regimes_predict(const dpm_mixture *mix, size_t n, double *t_s, double *t_c)
{
  if (!mix || !t_s || !t_c) DPM_ERROR(GSL_EINVAL, "regimes prediction: NULL argument");
  if (n < 2) DPM_ERROR(GSL_EINVAL, "regimes prediction: need n >= 2 training points (got %zu)", n);
  double lam;
  int st = top_eigenvalue(mix, &lam);
  if (st) return st;
  *t_s = lam > 1.0 ? 0.5 * log(lam) : 0.0;
  /* f decreases from +inf (t -> 0) to -log n (t -> inf): bisection in log t on [1e-6, 20] */
  const size_t Mh = 20000;
  double lo = log(1e-6), hi = log(20.0), flo, fhi;
  if ((st = excess(mix, exp(lo), n, Mh, &flo)) || (st = excess(mix, exp(hi), n, Mh, &fhi))) return st;
  if (!(flo > 0.0 && fhi < 0.0)) {
    *t_c = NAN;
    return DPM_SUCCESS;
  }
  for (int it = 0; it < 40; it++) {
    const double mid = 0.5 * (lo + hi);
    double fm;
    if ((st = excess(mix, exp(mid), n, Mh, &fm))) return st;
    if (fm > 0.0)
      lo = mid;
    else
      hi = mid;
  }
  *t_c = exp(0.5 * (lo + hi));
  return DPM_SUCCESS;
}

int dpm_sm_regimes_run(const dpm_mixture *mix, const dpm_sm_regimes_params *par, dpm_sm_regimes_result *out)
{
  if (!mix || !par || !out) DPM_ERROR(GSL_EINVAL, "regimes: NULL argument");
  if (mix->nlabels < 2) DPM_ERROR(GSL_EINVAL, "regimes: the data need class labels (at least 2 classes)");
  const size_t n = par->n, M = par->trajectories, N = par->steps, d = mix->d;
  if (n < 2 || n > 100000) DPM_ERROR(GSL_EINVAL, "regimes: n = %zu training points must be in [2, 100000]", n);
  if (M < 2) DPM_ERROR(GSL_EINVAL, "regimes: need at least 2 trajectories (got %zu)", M);
  if (N < 2) DPM_ERROR(GSL_EINVAL, "regimes: need at least 2 steps (got %zu)", N);
  if (!(isfinite(par->T) && par->T > 0.0 && par->T <= 30.0))
    DPM_ERROR(GSL_EDOM, "regimes: T = %g must be in (0, 30]", par->T);
  if (!(isfinite(par->t_min) && par->t_min > 0.0 && par->t_min < par->T))
    DPM_ERROR(GSL_EDOM, "regimes: t_min = %g must be in (0, T)", par->t_min);
  if (!(isfinite(par->margin) && par->margin >= 0.0 && par->margin < 0.5))
    DPM_ERROR(GSL_EDOM, "regimes: margin = %g must be in [0, 1/2)", par->margin);
  if ((double)M * (double)n > 5e7)
    DPM_ERROR(GSL_EINVAL, "regimes: trajectories x n = %zu x %zu is too large", M, n);
  /* the training set: n exact draws (stream (seed, 0)), a mixture of point masses carrying their class labels */
  dpm_mixture *train = dpm_mixture_alloc(n, d);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(par->seed, 0);
  double *pts = dpm_malloc(n * d * sizeof *pts);
  size_t *comp = dpm_malloc(n * sizeof *comp);
  int *lab = dpm_malloc(n * sizeof *lab);
  int st = (train && sw && r && pts && comp && lab) ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) st = dpm_mixture_sample(mix, sw, r, n, pts, comp);
  for (size_t i = 0; i < n && !st; i++) {
    st = dpm_mixture_set_mean(train, i, pts + i * d);
    lab[i] = mix->labels ? mix->labels[comp[i]] : 0;
  }
  if (!st) st = dpm_mixture_set_labels(train, lab);
  double pi0 = 0.0;
  for (size_t i = 0; i < n && !st; i++)
    pi0 += lab[i] == 0 ? 1.0 / (double)n : 0.0;
  if (!st && !(pi0 > 0.0 && pi0 < 1.0)) {
    dpm_mixture_free(train);
    dpm_mixture_sample_free(sw);
    gsl_rng_free(r);
    free(pts);
    free(comp);
    free(lab);
    DPM_ERROR(GSL_EINVAL, "regimes: the %zu training points fall in one class (take more points)", n);
  }
  dpm_oracle *o = st ? NULL : dpm_oracle_alloc(train);
  if (!st && !o) st = GSL_ENOMEM;
  double *x = dpm_malloc(M * d * sizeof *x), *x0 = dpm_malloc(M * d * sizeof *x0),
         *resp = dpm_malloc(M * n * sizeof *resp), *grid = dpm_malloc((N + 1) * sizeof *grid);
  /* per trajectory and step: the largest class posterior and its class, the largest point weight and its point */
  double *pc = dpm_malloc(M * (N + 1) * sizeof *pc), *pp = dpm_malloc(M * (N + 1) * sizeof *pp);
  int *cc = dpm_malloc(M * (N + 1) * sizeof *cc);
  size_t *ip = dpm_malloc(M * (N + 1) * sizeof *ip);
  if (!st && !(x && x0 && resp && grid && pc && pp && cc && ip)) st = GSL_ENOMEM;
  if (!st) {
    /* the time grid: geometric from T down to t_min; the start N(0, I) from stream (seed, 1), the step noises
     * after it in order (serial, so the same bits for any thread count) */
    for (size_t k = 0; k <= N; k++)
      grid[k] = par->T * pow(par->t_min / par->T, (double)k / (double)N);
    dpm_rng_stream_set(r, par->seed, 1);
    for (size_t i = 0; i < M * d; i++)
      x[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  for (size_t k = 0; k <= N && !st; k++) {
    const double t = grid[k], m = exp(-t), s = sqrt(-expm1(-2.0 * t));
    dpm_oracle_result res = {.x0 = x0, .resp = resp};
    if ((st = dpm_oracle_eval(o, m, s, M, x, &res))) break;
    for (size_t j = 0; j < M; j++) {
      const double *rj = resp + j * n;
      double c0 = 0.0, best = -1.0;
      size_t ib = 0;
      for (size_t i = 0; i < n; i++) {
        if (lab[i] == 0) c0 += rj[i];
        if (rj[i] > best) best = rj[i], ib = i;
      }
      /* two classes (more: class 0 against the rest), the posterior balanced by the training set's class shares
       * pi_0, 1 - pi_0 (Bayes with equal priors), so that it starts at 1/2 at large t whatever the draw's split */
      const double b0 = (c0 / pi0) / (c0 / pi0 + (1.0 - c0) / (1.0 - pi0));
      pc[j * (N + 1) + k] = b0 >= 0.5 ? b0 : 1.0 - b0;
      cc[j * (N + 1) + k] = b0 >= 0.5 ? 0 : 1;
      pp[j * (N + 1) + k] = best;
      ip[j * (N + 1) + k] = ib;
    }
    if (k == N) break;
    /* the ancestral step t -> t' of the reverse SDE with the ideal denoiser: x' ~ q(x_t' | x_t, x_0 = E[x_0|x_t]),
     * a Gaussian with a = m_t/m_t', v = s_t^2 - a^2 s_t'^2, mean (a s_t'^2 x + m_t' v x0)/s_t^2, variance v
     * s_t'^2/s_t^2 (exact for one training point, a consistent discretisation of the reverse SDE) */
    const double tp = grid[k + 1], mp = exp(-tp), sp2 = -expm1(-2.0 * tp), s2 = s * s, a = m / mp,
                 v = s2 - a * a * sp2, sd = sqrt(fmax(v * sp2 / s2, 0.0));
    for (size_t i = 0; i < M * d; i++)
      x[i] = (a * sp2 * x[i] + mp * v * x0[i]) / s2 + sd * gsl_ran_gaussian_ziggurat(r, 1.0);
  }
  if (!st) {
    /* the final class and point at t_min; speciation (collapse) time: the largest grid time from which on the
     * posterior of the final class (point) stays >= 1/2 + margin (> 1/2) down to t_min */
    double ss = 0.0, ss2 = 0.0, sc = 0.0, sc2 = 0.0;
    size_t ncol = 0;
    for (size_t j = 0; j < M; j++) {
      const size_t base = j * (N + 1);
      const int cf = cc[base + N];
      const size_t pf = ip[base + N];
      if (pp[base + N] > 0.5) ncol++;
      size_t ks = N + 1, kc = N + 1;
      for (size_t k = N + 1; k-- > 0;) {
        const double pcf = cc[base + k] == cf ? pc[base + k] : 1.0 - pc[base + k];
        if (pcf >= 0.5 + par->margin && ks == k + 1) ks = k;
        const double ppf = ip[base + k] == pf ? pp[base + k] : 0.0;
        if (ppf > 0.5 && kc == k + 1) kc = k;
      }
      /* the point weight of pf when it is not the largest is below 1/2 anyway (weights sum to 1) */
      const double ts = ks <= N ? grid[ks] : 0.0, tc = kc <= N ? grid[kc] : 0.0;
      ss += ts;
      ss2 += ts * ts;
      sc += tc;
      sc2 += tc * tc;
    }
    const double Md = (double)M;
    out->t_s = ss / Md;
    out->t_s_se = sqrt(fmax(ss2 / Md - out->t_s * out->t_s, 0.0) / (Md - 1.0));
    out->t_c = sc / Md;
    out->t_c_se = sqrt(fmax(sc2 / Md - out->t_c * out->t_c, 0.0) / (Md - 1.0));
    out->collapsed = (double)ncol / Md;
    out->n = n;
    out->d = d;
    out->trajectories = M;
  } else
    dpm_error_context("regimes (n = %zu, d = %zu)", n, d);
  free(x);
  free(x0);
  free(resp);
  free(grid);
  free(pc);
  free(pp);
  free(cc);
  free(ip);
  free(pts);
  free(comp);
  free(lab);
  dpm_oracle_free(o);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  dpm_mixture_free(train);
  return st;
}

void dpm_sm_regimes_params_default(dpm_sm_regimes_params *par)
{
  *par = (dpm_sm_regimes_params){
      .n = 100, .trajectories = 200, .steps = 200, .T = 10.0, .t_min = 1e-4, .margin = 0.1, .seed = 1};
}
