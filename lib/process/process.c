/* process.c — forward processes x_t = m_t x_0 + s_t eps: DDPM schedules (Ho et al. 2020; Nichol & Dhariwal 2021),
 * VP / sub-VP / VE SDEs (Song et al. 2021) and EDM (Karras et al. 2022); docs/MATH.md §1, with closed-form
 * inverses of lambda(t) = log(m_t/s_t) for the time grids. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_process.h"

/* ---- discrete schedules ------------------------------------------------------------------------------- */

static dpm_schedule *schedule_new(size_t N)
{
  if (N < 1 || N > 100000000) DPM_ERROR_NULL(GSL_EINVAL, "schedule: N must be in [1, 1e8] (got %zu)", N);
  dpm_schedule *sch = dpm_calloc(1, sizeof *sch);
  if (!sch) return NULL;
  sch->N = N;
  double **arrs[] = {&sch->beta, &sch->alpha, &sch->alpha_bar, &sch->log_alpha_bar, &sch->beta_bar,
                     &sch->beta_tilde};
  for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
    *arrs[i] = dpm_calloc(N + 1, sizeof(double));
    if (!*arrs[i]) {
      dpm_schedule_free(sch);
      return NULL;
    }
  }
  return sch;
}

void dpm_schedule_free(dpm_schedule *sch)
{
  if (!sch) return;
  free(sch->beta);
  free(sch->alpha);
  free(sch->alpha_bar);
  free(sch->log_alpha_bar);
  free(sch->beta_bar);
  free(sch->beta_tilde);
  free(sch);
}

/* Fill every derived array from beta[1..N]: log abar_n = sum log1p(-beta_i), bbar_n = -expm1(log abar_n). */
static int schedule_finish(dpm_schedule *sch)
{
  sch->beta[0] = 0.0;
  sch->alpha[0] = 1.0;
  sch->alpha_bar[0] = 1.0;
  sch->log_alpha_bar[0] = 0.0;
  sch->beta_bar[0] = 0.0;
  sch->beta_tilde[0] = 0.0;
  for (size_t n = 1; n <= sch->N; n++) {
    double b = sch->beta[n];
    if (!(b > 0.0 && b < 1.0)) DPM_ERROR(GSL_EDOM, "schedule: beta_%zu = %g is not in (0, 1)", n, b);
    sch->alpha[n] = 1.0 - b;
    sch->log_alpha_bar[n] = sch->log_alpha_bar[n - 1] + log1p(-b);
    sch->alpha_bar[n] = exp(sch->log_alpha_bar[n]);
    sch->beta_bar[n] = -expm1(sch->log_alpha_bar[n]);
    sch->beta_tilde[n] = sch->beta_bar[n - 1] * b / sch->beta_bar[n];
  }
  return DPM_SUCCESS;
}

dpm_schedule *dpm_schedule_linear_alloc(size_t N, double beta_1, double beta_N)
{
  if (!(beta_1 > 0.0 && beta_1 < 1.0 && beta_N > 0.0 && beta_N < 1.0)) DPM_ERROR_NULL(GSL_EDOM, "schedule: linear betas must lie in (0, 1) (got %g, %g)", beta_1,
               beta_N);
  dpm_schedule *sch = schedule_new(N);
  if (!sch) return NULL;
  for (size_t n = 1; n <= N; n++)
    sch->beta[n] = N == 1 ? beta_1 : beta_1 + (beta_N - beta_1) * (double)(n - 1) / (double)(N - 1);
  if (schedule_finish(sch)) {
    dpm_schedule_free(sch);
    return NULL;
  }
  return sch;
}

dpm_schedule *dpm_schedule_cosine_alloc(size_t N)
{
  dpm_schedule *sch = schedule_new(N);
  if (!sch) return NULL;
  const double s = 0.008;
  double f0 = cos(s / (1.0 + s) * M_PI / 2), logf0 = 2 * log(f0), prev = 0.0;
  for (size_t n = 1; n <= N; n++) {
    double c = cos(((double)n / (double)N + s) / (1.0 + s) * M_PI / 2);
    double cur = c > 0 ? 2 * log(c) - logf0 : -HUGE_VAL; /* log abar_n before clipping */
    double b = -expm1(cur - prev);                         /* 1 - abar_n / abar_{n-1} */
    sch->beta[n] = b > 0.999 ? 0.999 : b;
    prev = cur;
  }
  if (schedule_finish(sch)) {
    dpm_schedule_free(sch);
    return NULL;
  }
  return sch;
}

dpm_schedule *dpm_schedule_array_alloc(size_t N, const double *beta)
{
  dpm_schedule *sch = schedule_new(N);
  if (!sch) return NULL;
  for (size_t n = 1; n <= N; n++) sch->beta[n] = beta[n - 1];
  if (schedule_finish(sch)) {
    dpm_schedule_free(sch);
    return NULL;
  }
  return sch;
}

dpm_schedule *dpm_schedule_alloc_by_name(const char *name, size_t N)
{
  if (name && strcmp(name, "linear") == 0) return dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  if (name && strcmp(name, "cosine") == 0) return dpm_schedule_cosine_alloc(N);
  DPM_ERROR_NULL(GSL_EINVAL, "unknown schedule '%s' (known: linear, cosine)", name ? name : "");
}

void dpm_schedule_ms(const dpm_schedule *sch, size_t n, double *m, double *s)
{
  *m = sqrt(sch->alpha_bar[n]);
  *s = sqrt(sch->beta_bar[n]);
}

double dpm_schedule_beta_ts(const dpm_schedule *sch, size_t s, size_t t)
{
  return -expm1(sch->log_alpha_bar[t] - sch->log_alpha_bar[s]);
}

int dpm_schedule_subsequence(const dpm_schedule *sch, const char *kind, size_t K, size_t *tau)
{
  size_t N = sch->N;
  int quad;
  if (kind && strcmp(kind, "even") == 0)
    quad = 0;
  else if (kind && strcmp(kind, "quadratic") == 0)
    quad = 1;
  else
    DPM_ERROR(GSL_EINVAL, "unknown trajectory '%s' (known: even, quadratic)", kind ? kind : "");
  if (K > N) DPM_ERROR(GSL_EINVAL, "trajectory: K = %zu exceeds N = %zu", K, N);
  if (K < 2 && N > 1) DPM_ERROR(GSL_EINVAL, "trajectory: K must be at least 2 (got %zu)", K);
  if (K == 1) {
    tau[0] = 1;
    return DPM_SUCCESS;
  }
  for (size_t k = 0; k < K; k++) {
    double u = (double)k / (double)(K - 1);
    if (quad) u *= u;
    size_t t = (size_t)llround(1.0 + u * (double)(N - 1));
    if (k > 0 && t <= tau[k - 1]) t = tau[k - 1] + 1; /* strictly increasing */
    tau[k] = t;
  }
  for (size_t k = K; k-- > 0;) { /* leave room for the steps after k; keeps tau_K = N */
    if (tau[k] > N - (K - 1 - k)) tau[k] = N - (K - 1 - k);
  }
  return DPM_SUCCESS;
}

/* ---- continuous processes ----------------------------------------------------------------------------- */

void dpm_process_init(dpm_process *p, dpm_process_kind kind)
{
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->beta_min = 0.1;
  p->beta_max = 20.0;
  p->sigma_min = 0.01;
  p->sigma_max = 50.0;
  p->sigma_data = 0.5;
  p->ve_exact = 1;
  p->t_min = 1e-3;
  p->t_max = 1.0;
  if (kind == DPM_PROCESS_EDM) {
    p->sigma_min = 0.002;
    p->sigma_max = 80.0;
    p->t_min = p->sigma_min;
    p->t_max = p->sigma_max;
  }
}

const char *dpm_process_name(const dpm_process *p)
{
  switch (p->kind) {
  case DPM_PROCESS_VP: return "vp";
  case DPM_PROCESS_SUBVP: return "subvp";
  case DPM_PROCESS_VE: return p->ve_exact ? "ve" : "ve-sde";
  case DPM_PROCESS_EDM: return "edm";
  }
  return "?";
}

int dpm_process_parse(dpm_process *p, const char *spec)
{
  char buf[256];
  if (!spec || strlen(spec) >= sizeof buf) DPM_ERROR(GSL_EINVAL, "process: bad spec");
  strcpy(buf, spec);
  char *opts = strchr(buf, ':');
  if (opts) *opts++ = '\0';
  if (strcmp(buf, "vp") == 0)
    dpm_process_init(p, DPM_PROCESS_VP);
  else if (strcmp(buf, "subvp") == 0 || strcmp(buf, "sub-vp") == 0)
    dpm_process_init(p, DPM_PROCESS_SUBVP);
  else if (strcmp(buf, "ve") == 0)
    dpm_process_init(p, DPM_PROCESS_VE);
  else if (strcmp(buf, "ve-sde") == 0) {
    dpm_process_init(p, DPM_PROCESS_VE);
    p->ve_exact = 0;
  } else if (strcmp(buf, "edm") == 0)
    dpm_process_init(p, DPM_PROCESS_EDM);
  else
    DPM_ERROR(GSL_EINVAL, "unknown process '%s' (known: vp, subvp, ve, ve-sde, edm)", buf);
  int t_given = 0;
  for (char *tok = opts ? strtok(opts, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '=');
    if (!eq) DPM_ERROR(GSL_EINVAL, "process option '%s': expected key=value", tok);
    *eq = '\0';
    char *end;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !isfinite(v) || v <= 0)
      DPM_ERROR(GSL_EINVAL, "process option %s: '%s' is not a positive number", tok, eq + 1);
    if (strcmp(tok, "beta_min") == 0) p->beta_min = v;
    else if (strcmp(tok, "beta_max") == 0) p->beta_max = v;
    else if (strcmp(tok, "sigma_min") == 0) p->sigma_min = v;
    else if (strcmp(tok, "sigma_max") == 0) p->sigma_max = v;
    else if (strcmp(tok, "sigma_data") == 0) p->sigma_data = v;
    else if (strcmp(tok, "t_min") == 0) p->t_min = v, t_given |= 1;
    else if (strcmp(tok, "t_max") == 0) p->t_max = v, t_given |= 2;
    else DPM_ERROR(GSL_EINVAL, "unknown process option '%s'", tok);
  }
  if (p->kind == DPM_PROCESS_EDM) {
    if (!(t_given & 1)) p->t_min = p->sigma_min;
    if (!(t_given & 2)) p->t_max = p->sigma_max;
  }
  if (p->beta_max < p->beta_min) DPM_ERROR(GSL_EDOM, "process: beta_max < beta_min");
  if (p->sigma_max <= p->sigma_min) DPM_ERROR(GSL_EDOM, "process: sigma_max must exceed sigma_min");
  if (p->t_max <= p->t_min) DPM_ERROR(GSL_EDOM, "process: t_max must exceed t_min");
  return DPM_SUCCESS;
}

/* B(t) = int_0^t beta = beta_min t + (beta_max - beta_min) t^2 / 2, so log m_t = -B/2 (VP and sub-VP). */
static double vp_B(const dpm_process *p, double t)
{
  return p->beta_min * t + 0.5 * (p->beta_max - p->beta_min) * t * t;
}

void dpm_process_ms(const dpm_process *p, double t, double *m, double *s)
{
  double B, lr;
  switch (p->kind) {
  case DPM_PROCESS_VP:
    B = vp_B(p, t);
    *m = exp(-0.5 * B);
    *s = sqrt(-expm1(-B)); /* sqrt(1 - m^2) */
    return;
  case DPM_PROCESS_SUBVP:
    B = vp_B(p, t);
    *m = exp(-0.5 * B);
    *s = -expm1(-B); /* 1 - m^2 */
    return;
  case DPM_PROCESS_VE:
    lr = log(p->sigma_max / p->sigma_min);
    *m = 1.0;
    *s = p->ve_exact ? p->sigma_min * sqrt(expm1(2.0 * t * lr)) : p->sigma_min * exp(t * lr);
    return;
  case DPM_PROCESS_EDM:
    *m = 1.0;
    *s = t;
    return;
  }
}

double dpm_process_a(const dpm_process *p, double t)
{
  if (p->kind == DPM_PROCESS_VP || p->kind == DPM_PROCESS_SUBVP)
    return -0.5 * (p->beta_min + t * (p->beta_max - p->beta_min));
  return 0.0;
}

double dpm_process_g(const dpm_process *p, double t)
{
  double beta = p->beta_min + t * (p->beta_max - p->beta_min), lr;
  switch (p->kind) {
  case DPM_PROCESS_VP: return sqrt(beta);
  case DPM_PROCESS_SUBVP: return sqrt(beta * -expm1(-2.0 * vp_B(p, t)));
  case DPM_PROCESS_VE:
    lr = log(p->sigma_max / p->sigma_min);
    return p->sigma_min * exp(t * lr) * sqrt(2.0 * lr);
  case DPM_PROCESS_EDM: return sqrt(2.0 * t);
  }
  return 0.0;
}

double dpm_process_lambda(const dpm_process *p, double t)
{
  double B, lr;
  switch (p->kind) {
  case DPM_PROCESS_VP:
    B = vp_B(p, t);
    return -0.5 * B - 0.5 * log(-expm1(-B));
  case DPM_PROCESS_SUBVP:
    B = vp_B(p, t);
    return -0.5 * B - log(-expm1(-B));
  case DPM_PROCESS_VE:
    lr = log(p->sigma_max / p->sigma_min);
    return p->ve_exact ? -log(p->sigma_min) - 0.5 * log(expm1(2.0 * t * lr)) : -log(p->sigma_min) - t * lr;
  case DPM_PROCESS_EDM: return -log(t);
  }
  return 0.0;
}

/* Solve B(t) = B for t >= 0 in the cancellation-free form t = 2B / (beta_min + sqrt(beta_min^2 + 2 dB B)). */
static double vp_t_of_B(const dpm_process *p, double B)
{
  double dB = p->beta_max - p->beta_min;
  return 2.0 * B / (p->beta_min + sqrt(p->beta_min * p->beta_min + 2.0 * dB * B));
}

double dpm_process_t_of_lambda(const dpm_process *p, double lambda)
{
  double e, m, lr;
  switch (p->kind) {
  case DPM_PROCESS_VP: /* e^{2 lambda} = m^2/(1-m^2) = 1/(e^B - 1)  =>  B = log1p(e^{-2 lambda}) */
    return vp_t_of_B(p, log1p(exp(-2.0 * lambda)));
  case DPM_PROCESS_SUBVP: /* m/(1-m^2) = e^lambda  =>  m = 2 e^lambda / (1 + sqrt(1 + 4 e^{2 lambda})) */
    e = exp(lambda);
    m = isinf(e) ? 1.0 / (1.0 + 1.0 / e) : 2.0 * e / (1.0 + sqrt(1.0 + 4.0 * e * e));
    if (lambda > 30) return vp_t_of_B(p, 2.0 * exp(-lambda)); /* m -> 1: B ~ -2 log m ~ 2 e^{-lambda} */
    return vp_t_of_B(p, -2.0 * log(m));
  case DPM_PROCESS_VE:
    lr = log(p->sigma_max / p->sigma_min);
    if (p->ve_exact) return log1p(exp(-2.0 * lambda) / (p->sigma_min * p->sigma_min)) / (2.0 * lr);
    return (-lambda - log(p->sigma_min)) / lr;
  case DPM_PROCESS_EDM: return exp(-lambda);
  }
  return 0.0;
}

double dpm_process_sigma(const dpm_process *p, double t)
{
  double m, s;
  dpm_process_ms(p, t, &m, &s);
  return s / m;
}

double dpm_process_t_of_sigma(const dpm_process *p, double sigma) { return dpm_process_t_of_lambda(p, -log(sigma)); }

/* ---- grids -------------------------------------------------------------------------------------------- */

int dpm_grid_uniform(double t0, double t1, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  for (size_t i = 0; i < n; i++) out[i] = t0 + (t1 - t0) * (double)i / (double)(n - 1);
  out[n - 1] = t1;
  return DPM_SUCCESS;
}

int dpm_grid_edm_sigma(double sigma_min, double sigma_max, double rho, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  if (!(sigma_min > 0 && sigma_max > sigma_min && rho > 0))
    DPM_ERROR(GSL_EDOM, "grid: need 0 < sigma_min < sigma_max and rho > 0");
  double a = pow(sigma_max, 1.0 / rho), b = pow(sigma_min, 1.0 / rho);
  for (size_t i = 0; i < n; i++) out[i] = pow(a + (double)i / (double)(n - 1) * (b - a), rho);
  out[0] = sigma_max;
  out[n - 1] = sigma_min;
  return DPM_SUCCESS;
}

int dpm_grid_loglinear_sigma(double sigma_min, double sigma_max, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  if (!(sigma_min > 0 && sigma_max > sigma_min)) DPM_ERROR(GSL_EDOM, "grid: need 0 < sigma_min < sigma_max");
  double la = log(sigma_max), lb = log(sigma_min);
  for (size_t i = 0; i < n; i++) out[i] = exp(la + (double)i / (double)(n - 1) * (lb - la));
  out[0] = sigma_max;
  out[n - 1] = sigma_min;
  return DPM_SUCCESS;
}

int dpm_grid_lambda(const dpm_process *p, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  double l0 = dpm_process_lambda(p, p->t_max), l1 = dpm_process_lambda(p, p->t_min);
  for (size_t i = 0; i < n; i++)
    out[i] = dpm_process_t_of_lambda(p, l0 + (l1 - l0) * (double)i / (double)(n - 1));
  out[0] = p->t_max;
  out[n - 1] = p->t_min;
  return DPM_SUCCESS;
}
