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
  double **arrs[] = {&sch->beta,          &sch->alpha,    &sch->alpha_bar,
                     &sch->log_alpha_bar, &sch->beta_bar, &sch->beta_tilde};
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
  if (!(beta_1 > 0.0 && beta_1 < 1.0 && beta_N > 0.0 && beta_N < 1.0))
    DPM_ERROR_NULL(GSL_EDOM, "schedule: linear betas must lie in (0, 1) (got %g, %g)", beta_1, beta_N);
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
    double b = -expm1(cur - prev);                       /* 1 - abar_n / abar_{n-1} */
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
  for (size_t n = 1; n <= N; n++)
    sch->beta[n] = beta[n - 1];
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
  *m = exp(0.5 * sch->log_alpha_bar[n]); /* from log abar: no underflow of abar before the square root */
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

/* ---- the process table -------------------------------------------------------------------------------- */

/* B(t) = int_0^t beta = beta_min t + (beta_max - beta_min) t^2 / 2, so log m_t = -B/2 (VP and sub-VP). */
static double vp_B(const dpm_process *p, double t)
{
  return p->beta_min * t + 0.5 * (p->beta_max - p->beta_min) * t * t;
}

/* Solve B(t) = B for t >= 0 in the cancellation-free form t = 2B / (beta_min + sqrt(beta_min^2 + 2 dB B)). */
static double vp_t_of_B(const dpm_process *p, double B)
{
  double dB = p->beta_max - p->beta_min;
  return 2.0 * B / (p->beta_min + sqrt(p->beta_min * p->beta_min + 2.0 * dB * B));
}

static double vp_a(const dpm_process *p, double t)
{
  return -0.5 * (p->beta_min + t * (p->beta_max - p->beta_min));
}

/* VP: s = sqrt(1 - m^2); transition variance 1 - m_{t|s}^2 */
static void vp_log_m_s(const dpm_process *p, double t, double *log_m, double *s)
{
  double B = vp_B(p, t);
  *log_m = -0.5 * B;
  *s = sqrt(-expm1(-B));
}
static double vp_g2(const dpm_process *p, double t) { return p->beta_min + t * (p->beta_max - p->beta_min); }
static double vp_lambda(const dpm_process *p, double t)
{
  double B = vp_B(p, t);
  return -0.5 * B - 0.5 * log(-expm1(-B));
}
/* e^{2 lambda} = m^2/(1-m^2) = 1/(e^B - 1)  =>  B = log1p(e^{-2 lambda}) */
static double vp_t_of_lambda(const dpm_process *p, double lambda)
{
  return vp_t_of_B(p, lambda > 0.0 ? log1p(exp(-2.0 * lambda)) : -2.0 * lambda + log1p(exp(2.0 * lambda)));
}
static double vp_trans_s2(const dpm_process *p, double s, double t) { return -expm1(vp_B(p, s) - vp_B(p, t)); }

/* sub-VP: s = 1 - m^2; s_{t|s}^2 = (1 - r^2)(1 - m_t^2 m_s^2) with r = m_t/m_s */
static void subvp_log_m_s(const dpm_process *p, double t, double *log_m, double *s)
{
  double B = vp_B(p, t);
  *log_m = -0.5 * B;
  *s = -expm1(-B);
}
static double subvp_g2(const dpm_process *p, double t) { return vp_g2(p, t) * -expm1(-2.0 * vp_B(p, t)); }
static double subvp_lambda(const dpm_process *p, double t)
{
  double B = vp_B(p, t);
  return -0.5 * B - log(-expm1(-B));
}
/* m/(1-m^2) = e^lambda  =>  m = 2 e^lambda / (1 + sqrt(1 + 4 e^{2 lambda})) */
static double subvp_t_of_lambda(const dpm_process *p, double lambda)
{
  if (lambda > 30) return vp_t_of_B(p, 2.0 * exp(-lambda)); /* m -> 1: B ~ -2 log m ~ 2 e^{-lambda} */
  double e = exp(lambda), m = 2.0 * e / (1.0 + sqrt(1.0 + 4.0 * e * e));
  return vp_t_of_B(p, -2.0 * log(m));
}
static double subvp_trans_s2(const dpm_process *p, double s, double t)
{
  double Bs = vp_B(p, s), Bt = vp_B(p, t);
  return -expm1(Bs - Bt) * -expm1(-Bs - Bt);
}

/* VE: sigma(t) = sigma_min (sigma_max/sigma_min)^t; s^2 = sigma(t)^2 - sigma(0)^2 (exact) or s = sigma(t). */
static double ve_lr(const dpm_process *p) { return log(p->sigma_max / p->sigma_min); }
static void ve_log_m_s(const dpm_process *p, double t, double *log_m, double *s)
{
  double lr = ve_lr(p);
  *log_m = 0.0;
  *s = p->ve_exact ? p->sigma_min * sqrt(expm1(2.0 * t * lr)) : p->sigma_min * exp(t * lr);
}
static double ve_a(const dpm_process *p, double t) { return (void)p, (void)t, 0.0; }
static double ve_g2(const dpm_process *p, double t)
{
  double lr = ve_lr(p), sg = p->sigma_min * exp(t * lr);
  return sg * sg * 2.0 * lr;
}
static double ve_lambda(const dpm_process *p, double t)
{
  double lr = ve_lr(p);
  return p->ve_exact ? -log(p->sigma_min) - 0.5 * log(expm1(2.0 * t * lr)) : -log(p->sigma_min) - t * lr;
}
static double ve_t_of_lambda(const dpm_process *p, double lambda)
{
  double lr = ve_lr(p);
  if (p->ve_exact) return log1p(exp(-2.0 * lambda) / (p->sigma_min * p->sigma_min)) / (2.0 * lr);
  return (-lambda - log(p->sigma_min)) / lr;
}
/* sigma(t)^2 - sigma(s)^2 = sigma(s)^2 expm1(2 (t - s) lr) (both VE forms) */
static double ve_trans_s2(const dpm_process *p, double s, double t)
{
  double lr = ve_lr(p), ss = p->sigma_min * exp(s * lr);
  return ss * ss * expm1(2.0 * (t - s) * lr);
}

/* EDM: m = 1, s = t, g^2 = 2t */
static void edm_log_m_s(const dpm_process *p, double t, double *log_m, double *s)
{
  (void)p;
  *log_m = 0.0;
  *s = t;
}
static double edm_g2(const dpm_process *p, double t) { return (void)p, 2.0 * t; }
static double edm_lambda(const dpm_process *p, double t) { return (void)p, -log(t); }
static double edm_t_of_lambda(const dpm_process *p, double lambda) { return (void)p, exp(-lambda); }
static double edm_trans_s2(const dpm_process *p, double s, double t) { return (void)p, (t - s) * (t + s); }

/* DDPM: log abar(t) linear between the integers n - 1 < t <= n; step n = ceil(t) (n = 1 at t = 0). */
static size_t ddpm_step(const dpm_process *p, double t)
{
  double c = ceil(t);
  size_t n = c < 1.0 ? 1 : (size_t)c;
  return n > p->sch->N ? p->sch->N : n;
}
static double ddpm_log_abar(const dpm_process *p, double t)
{
  size_t n = ddpm_step(p, t);
  const double *la = p->sch->log_alpha_bar;
  return la[n - 1] + (t - (double)(n - 1)) * (la[n] - la[n - 1]);
}
static void ddpm_log_m_s(const dpm_process *p, double t, double *log_m, double *s)
{
  double la = ddpm_log_abar(p, t);
  *log_m = 0.5 * la;
  *s = sqrt(-expm1(la));
}
/* a = (1/2) d log abar / dt = (1/2) log(alpha_n); g^2 = -2a (variance preserving) */
static double ddpm_a(const dpm_process *p, double t)
{
  size_t n = ddpm_step(p, t);
  return 0.5 * (p->sch->log_alpha_bar[n] - p->sch->log_alpha_bar[n - 1]);
}
static double ddpm_g2(const dpm_process *p, double t) { return -2.0 * ddpm_a(p, t); }
static double ddpm_lambda(const dpm_process *p, double t)
{
  double la = ddpm_log_abar(p, t);
  return 0.5 * la - 0.5 * log(-expm1(la));
}
/* abar = 1/(1 + e^{-2 lambda}): find the step whose log abar brackets it, then invert the linear piece */
static double ddpm_t_of_lambda(const dpm_process *p, double lambda)
{
  const double L = lambda > 0.0 ? -log1p(exp(-2.0 * lambda)) : 2.0 * lambda - log1p(exp(2.0 * lambda));
  const double *la = p->sch->log_alpha_bar;
  size_t lo = 0, hi = p->sch->N; /* la[lo] >= L >= la[hi] */
  if (L >= la[0]) return 0.0;
  if (L <= la[hi]) return (double)hi;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (la[mid] >= L)
      lo = mid;
    else
      hi = mid;
  }
  return (double)lo + (la[lo] - L) / (la[lo] - la[hi]);
}
static double ddpm_trans_s2(const dpm_process *p, double s, double t)
{
  return -expm1(ddpm_log_abar(p, t) - ddpm_log_abar(p, s));
}

static const dpm_process_type type_vp = {
    "vp",           DPM_PROCESS_VP, "Song et al. 2021, eq. (11) and (29)", 0, vp_log_m_s, vp_a, vp_g2, vp_lambda,
    vp_t_of_lambda, vp_trans_s2};
static const dpm_process_type type_subvp = {"subvp",
                                            DPM_PROCESS_SUBVP,
                                            "Song et al. 2021, eq. (12) and (30)",
                                            0,
                                            subvp_log_m_s,
                                            vp_a,
                                            subvp_g2,
                                            subvp_lambda,
                                            subvp_t_of_lambda,
                                            subvp_trans_s2};
static const dpm_process_type type_ve = {
    "ve",           DPM_PROCESS_VE, "Song et al. 2021, eq. (9) and (30)", 0, ve_log_m_s, ve_a, ve_g2, ve_lambda,
    ve_t_of_lambda, ve_trans_s2};
static const dpm_process_type type_edm = {
    "edm",       DPM_PROCESS_EDM, "Karras et al. 2022, Table 1 (sigma(t) = t)",
    0,           edm_log_m_s,     ve_a,
    edm_g2,      edm_lambda,      edm_t_of_lambda,
    edm_trans_s2};
static const dpm_process_type type_ddpm = {"ddpm",
                                           DPM_PROCESS_DDPM,
                                           "Ho et al. 2020, eq. (4); Nichol & Dhariwal 2021, eq. (17)",
                                           1,
                                           ddpm_log_m_s,
                                           ddpm_a,
                                           ddpm_g2,
                                           ddpm_lambda,
                                           ddpm_t_of_lambda,
                                           ddpm_trans_s2};

const dpm_process_type *const dpm_process_types[] = {&type_vp, &type_subvp, &type_ve, &type_edm, &type_ddpm, NULL};

const dpm_process_type *dpm_process_type_find(const char *name)
{
  if (!name) return NULL;
  if (strcmp(name, "sub-vp") == 0 || strcmp(name, "ve-sde") == 0) name = name[0] == 's' ? "subvp" : "ve";
  for (size_t i = 0; dpm_process_types[i]; i++)
    if (strcmp(dpm_process_types[i]->name, name) == 0) return dpm_process_types[i];
  return NULL;
}

void dpm_process_init(dpm_process *p, dpm_process_kind kind)
{
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->type = kind == DPM_PROCESS_VP      ? &type_vp
            : kind == DPM_PROCESS_SUBVP ? &type_subvp
            : kind == DPM_PROCESS_VE    ? &type_ve
            : kind == DPM_PROCESS_EDM   ? &type_edm
                                        : &type_ddpm;
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

int dpm_process_init_schedule(dpm_process *p, const dpm_schedule *sch)
{
  if (!p || !sch) DPM_ERROR(GSL_EINVAL, "process ddpm: NULL process or schedule");
  dpm_process_init(p, DPM_PROCESS_DDPM);
  p->sch = sch;
  p->t_min = 1.0;
  p->t_max = (double)sch->N;
  return DPM_SUCCESS;
}

void dpm_process_clear(dpm_process *p)
{
  if (!p) return;
  dpm_schedule_free(p->sch_owned);
  p->sch_owned = NULL;
  p->sch = NULL;
}

const char *dpm_process_name(const dpm_process *p)
{
  if (p->kind == DPM_PROCESS_VE && !p->ve_exact) return "ve-sde";
  return p->type ? p->type->name : "?";
}

/* "ddpm[:schedule=linear|cosine,N=1000]" */
static int parse_ddpm(dpm_process *p, char *opts)
{
  const char *sched = "linear";
  size_t N = 1000;
  for (char *tok = opts ? strtok(opts, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '=');
    if (!eq) DPM_ERROR(GSL_EINVAL, "process option '%s': expected key=value", tok);
    *eq = '\0';
    if (strcmp(tok, "schedule") == 0)
      sched = eq + 1;
    else if (strcmp(tok, "N") == 0) {
      char *end;
      double v = strtod(eq + 1, &end);
      if (end == eq + 1 || *end || !(v >= 1 && v <= 1e8) || v != floor(v))
        DPM_ERROR(GSL_EINVAL, "process option N: '%s' is not an integer in [1, 1e8]", eq + 1);
      N = (size_t)v;
    } else
      DPM_ERROR(GSL_EINVAL, "unknown process option '%s' (ddpm: schedule, N)", tok);
  }
  dpm_schedule *sch = dpm_schedule_alloc_by_name(sched, N);
  if (!sch) {
    dpm_error_context("process ddpm");
    return GSL_EINVAL;
  }
  dpm_process_init_schedule(p, sch);
  p->sch_owned = sch;
  return DPM_SUCCESS;
}

int dpm_process_parse(dpm_process *p, const char *spec)
{
  char buf[256];
  if (!spec || strlen(spec) >= sizeof buf) DPM_ERROR(GSL_EINVAL, "process: bad spec");
  strcpy(buf, spec);
  char *opts = strchr(buf, ':');
  if (opts) *opts++ = '\0';
  const dpm_process_type *type = dpm_process_type_find(buf);
  if (!type) DPM_ERROR(GSL_EINVAL, "unknown process '%s' (known: vp, subvp, ve, ve-sde, edm, ddpm)", buf);
  if (type->kind == DPM_PROCESS_DDPM) {
    memset(p, 0, sizeof *p);
    return parse_ddpm(p, opts);
  }
  dpm_process_init(p, type->kind);
  if (strcmp(buf, "ve-sde") == 0) p->ve_exact = 0;
  int t_given = 0;
  for (char *tok = opts ? strtok(opts, ",") : NULL; tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '=');
    if (!eq) DPM_ERROR(GSL_EINVAL, "process option '%s': expected key=value", tok);
    *eq = '\0';
    char *end;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !isfinite(v) || v <= 0)
      DPM_ERROR(GSL_EINVAL, "process option %s: '%s' is not a positive number", tok, eq + 1);
    if (strcmp(tok, "beta_min") == 0)
      p->beta_min = v;
    else if (strcmp(tok, "beta_max") == 0)
      p->beta_max = v;
    else if (strcmp(tok, "sigma_min") == 0)
      p->sigma_min = v;
    else if (strcmp(tok, "sigma_max") == 0)
      p->sigma_max = v;
    else if (strcmp(tok, "sigma_data") == 0)
      p->sigma_data = v;
    else if (strcmp(tok, "t_min") == 0)
      p->t_min = v, t_given |= 1;
    else if (strcmp(tok, "t_max") == 0)
      p->t_max = v, t_given |= 2;
    else
      DPM_ERROR(GSL_EINVAL, "unknown process option '%s'", tok);
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

/* ---- the public functions: domain checks, then the type ---------------------------------------------- */

/* 0 when t is in [0, t_max] (and s_t > 0 when need_pos); else raise GSL_EDOM naming the function. */
static int check_t(const dpm_process *p, double t, int need_pos, const char *fn)
{
  if (!p || !p->type) DPM_ERROR(GSL_EINVAL, "process %s: NULL or uninitialised process", fn);
  if (p->type->kind == DPM_PROCESS_DDPM && !p->sch) DPM_ERROR(GSL_EINVAL, "process ddpm %s: no schedule", fn);
  const int s0_pos = p->kind == DPM_PROCESS_VE && !p->ve_exact;
  if (!(t >= 0.0 && t <= p->t_max) || (need_pos && t == 0.0 && !s0_pos))
    DPM_ERROR(GSL_EDOM, "process %s: %s at t = %g is outside its domain %s0, %g]", dpm_process_name(p), fn, t,
              need_pos && !s0_pos ? "(" : "[", p->t_max);
  return DPM_SUCCESS;
}

int dpm_process_ms(const dpm_process *p, double t, double *m, double *s)
{
  int st = check_t(p, t, 0, "m, s");
  if (st) {
    *m = *s = NAN;
    return st;
  }
  double lm;
  p->type->log_m_s(p, t, &lm, s);
  *m = exp(lm);
  return DPM_SUCCESS;
}

double dpm_process_log_m(const dpm_process *p, double t)
{
  if (check_t(p, t, 0, "log m")) return NAN;
  double lm, s;
  p->type->log_m_s(p, t, &lm, &s);
  return lm;
}

int dpm_process_transition(const dpm_process *p, double s, double t, double *m_ts, double *s_ts)
{
  int st;
  *m_ts = *s_ts = NAN;
  if ((st = check_t(p, s, 0, "transition")) || (st = check_t(p, t, 0, "transition"))) return st;
  if (!(s <= t))
    DPM_ERROR(GSL_EDOM, "process %s: transition from s = %g to t = %g needs s <= t", dpm_process_name(p), s, t);
  double lms, lmt, ss, stt;
  p->type->log_m_s(p, s, &lms, &ss);
  p->type->log_m_s(p, t, &lmt, &stt);
  *m_ts = exp(lmt - lms);
  double v = p->type->trans_s2(p, s, t);
  *s_ts = sqrt(v > 0.0 ? v : 0.0);
  return DPM_SUCCESS;
}

double dpm_process_a(const dpm_process *p, double t)
{
  return check_t(p, t, 0, "a") ? (double)NAN : p->type->a(p, t);
}

double dpm_process_g(const dpm_process *p, double t)
{
  return check_t(p, t, 0, "g") ? (double)NAN : sqrt(p->type->g2(p, t));
}

double dpm_process_lambda(const dpm_process *p, double t)
{
  return check_t(p, t, 1, "lambda") ? (double)NAN : p->type->lambda(p, t);
}

double dpm_process_t_of_lambda(const dpm_process *p, double lambda)
{
  if (check_t(p, p->t_max, 1, "t_of_lambda")) return NAN;
  const double lmin = p->type->lambda(p, p->t_max);
  /* a lambda computed at t_max may round below lambda(t_max): accept 64 ulps */
  if (!(lambda >= lmin - 64 * 2.2e-16 * (1.0 + fabs(lmin))) || isnan(lambda))
    return DPM_RAISE(GSL_EDOM, "process %s: t_of_lambda(%g) is outside its domain [%g, inf)", dpm_process_name(p),
                     lambda, lmin),
           NAN;
  double t = p->type->t_of_lambda(p, lambda);
  return t > p->t_max ? p->t_max : t;
}

double dpm_process_sigma(const dpm_process *p, double t)
{
  if (check_t(p, t, 1, "sigma")) return NAN;
  double lm, s;
  p->type->log_m_s(p, t, &lm, &s);
  return s * exp(-lm);
}

double dpm_process_t_of_sigma(const dpm_process *p, double sigma)
{
  if (!(sigma > 0.0))
    return DPM_RAISE(GSL_EDOM, "process %s: t_of_sigma(%g) needs sigma > 0", p ? dpm_process_name(p) : "?", sigma),
           NAN;
  return dpm_process_t_of_lambda(p, -log(sigma));
}

/* ---- grids -------------------------------------------------------------------------------------------- */

int dpm_grid_uniform(double t0, double t1, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  for (size_t i = 0; i < n; i++)
    out[i] = t0 + (t1 - t0) * (double)i / (double)(n - 1);
  out[n - 1] = t1;
  return DPM_SUCCESS;
}

int dpm_grid_edm_sigma(double sigma_min, double sigma_max, double rho, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  if (!(sigma_min > 0 && sigma_max > sigma_min && rho > 0))
    DPM_ERROR(GSL_EDOM, "grid: need 0 < sigma_min < sigma_max and rho > 0");
  double a = pow(sigma_max, 1.0 / rho), b = pow(sigma_min, 1.0 / rho);
  for (size_t i = 0; i < n; i++)
    out[i] = pow(a + (double)i / (double)(n - 1) * (b - a), rho);
  out[0] = sigma_max;
  out[n - 1] = sigma_min;
  return DPM_SUCCESS;
}

int dpm_grid_loglinear_sigma(double sigma_min, double sigma_max, size_t n, double *out)
{
  if (n < 2) DPM_ERROR(GSL_EINVAL, "grid: need at least 2 points (got %zu)", n);
  if (!(sigma_min > 0 && sigma_max > sigma_min)) DPM_ERROR(GSL_EDOM, "grid: need 0 < sigma_min < sigma_max");
  double la = log(sigma_max), lb = log(sigma_min);
  for (size_t i = 0; i < n; i++)
    out[i] = exp(la + (double)i / (double)(n - 1) * (lb - la));
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
