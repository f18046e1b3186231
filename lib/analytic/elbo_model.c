/* elbo_model.c — the negative ELBO of a DDIM-family model whose mean comes from an imperfect x0-hat, the variance
 * that is optimal for such a mean (lambda^2 + c0^2 e_t, the idea behind NPR-DPM, Bao et al. ICML 2022), and the
 * excess of a step term over its minimum (Analytic-DPM, Bao, Li, Zhu, Zhang, ICLR 2022, Theorem 1; docs/MATH.md
 * §3). */
#include <math.h>

#include "dpm_analytic.h"
#include "dpm_common.h"

double dpm_analytic_sigma2_mse(const dpm_analytic_step *st, double x0mse)
{
  if (!st || isnan(x0mse) || x0mse < 0.0) return NAN;
  /* the decoder has lambda^2 = 0 and c0 = 1 (mu~ = x_0), so the same formula gives x0mse there */
  return st->lambda2 + st->c0 * st->c0 * x0mse;
}

double dpm_analytic_term_excess(double sigma2_min, double sigma2)
{
  if (isnan(sigma2_min) || isnan(sigma2) || sigma2_min < 0.0 || sigma2 < 0.0) return NAN;
  if (sigma2 == 0.0) return sigma2_min == 0.0 ? 0.0 : HUGE_VAL;
  if (sigma2_min == 0.0) return HUGE_VAL; /* log(sigma2/0) */
  /* (1/2)[log(sigma2/sigma2_min) + sigma2_min/sigma2 - 1] = (1/2)(u - log1p(u)), u = sigma2_min/sigma2 - 1,
   * without the cancellation of a difference of two nearly equal terms */
  const double u = (sigma2_min - sigma2) / sigma2;
  return 0.5 * (u - log1p(u));
}

int dpm_analytic_elbo_mse(const dpm_schedule *sch, size_t d, double eta, double e_norm2, size_t K,
                          const size_t *tau, const double *x0mse, const double *sigma2, double *nelbo,
                          double *rest)
{
  if (!x0mse || !sigma2 || !nelbo)
    DPM_ERROR(GSL_EINVAL, "ELBO with an imperfect mean: NULL x0mse, sigma2 or result");
  if (d < 1) DPM_ERROR(GSL_EINVAL, "ELBO with an imperfect mean: dimension d = 0");
  if (!(eta > 0.0 && eta <= 1.0)) DPM_ERROR(GSL_EDOM, "ELBO with an imperfect mean: eta = %g outside (0, 1]", eta);
  int st = dpm_analytic_check_traj(sch, K, tau);
  if (st != DPM_SUCCESS) {
    dpm_error_context("ELBO with an imperfect mean");
    return st;
  }
  double total = dpm_analytic_prior_kl(sch, tau[K - 1], d, e_norm2), decoder = 0.0;
  for (size_t k = 0; k < K; k++) {
    dpm_analytic_step a;
    st = dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], eta, &a);
    if (st != DPM_SUCCESS) {
      dpm_error_context("ELBO with an imperfect mean");
      return st;
    }
    const double e = x0mse[tau[k]];
    if (isnan(e) || e < 0.0)
      DPM_ERROR(GSL_EDOM, "ELBO with an imperfect mean: x0mse at n = %zu is %g (must be >= 0)", tau[k], e);
    if (isnan(sigma2[k]))
      DPM_ERROR(GSL_EBADFUNC, "ELBO with an imperfect mean: variance of trajectory step %zu is NaN", k);
    /* a variance that is not positive defines no model: its term is +infinity */
    const double L = sigma2[k] > 0.0 ? dpm_analytic_step_term_mse(&a, d, e, sigma2[k]) : (double)HUGE_VAL;
    if (k == 0)
      decoder = L;
    else
      total += L;
  }
  if (rest) *rest = total;
  *nelbo = total + decoder;
  return DPM_SUCCESS;
}
