/* dpm_process.h — forward processes x_t = m_t x_0 + s_t eps (docs/MATH.md §1): discrete DDPM schedules, VP,
 * sub-VP, VE and EDM SDEs, their coefficients m, s, a, g, lambda, and the time grids the samplers walk. */
#ifndef DPM_PROCESS_H
#define DPM_PROCESS_H

#include <stddef.h>

/* ---- discrete DDPM schedules (Ho et al. 2020; Nichol & Dhariwal 2021) ---------------------------------- */

/* Index n = 0..N. beta[0] = 0, alpha_bar[0] = 1, beta_bar[0] = 0. beta_bar[n] = 1 - alpha_bar[n] is computed as
 * -expm1(log_alpha_bar[n]) so it keeps full relative precision near n = 0. */
typedef struct {
  size_t N;
  double *beta;          /* beta_n,            length N+1 */
  double *alpha;         /* alpha_n = 1-beta_n, length N+1 */
  double *alpha_bar;     /* prod_{i<=n} alpha_i */
  double *log_alpha_bar; /* sum_{i<=n} log1p(-beta_i) */
  double *beta_bar;      /* 1 - alpha_bar_n */
  double *beta_tilde;    /* beta_bar_{n-1} beta_n / beta_bar_n, beta_tilde[0] = 0 */
} dpm_schedule;

/* Linear beta from beta_1 to beta_N (defaults 1e-4, 0.02, N = 1000). NULL on error (N < 1, betas outside
 * (0,1), non-finite). */
dpm_schedule *dpm_schedule_linear_alloc(size_t N, double beta_1, double beta_N);
/* Cosine: alpha_bar_n = f(n)/f(0), f(n) = cos^2(((n/N)+s)/(1+s) * pi/2), s = 0.008, beta_n clipped to <= 0.999. */
dpm_schedule *dpm_schedule_cosine_alloc(size_t N);
/* Any beta array beta[0..N-1] = beta_1..beta_N, each in (0,1). */
dpm_schedule *dpm_schedule_array_alloc(size_t N, const double *beta);
/* By name: "linear" or "cosine" with N steps; NULL (and an error naming the name) otherwise. */
dpm_schedule *dpm_schedule_alloc_by_name(const char *name, size_t N);
void dpm_schedule_free(dpm_schedule *sch); /* NULL is a no-op */

/* (m, s) of step n: m = sqrt(alpha_bar_n), s = sqrt(beta_bar_n). */
void dpm_schedule_ms(const dpm_schedule *sch, size_t n, double *m, double *s);

/* Sub-sequence quantities for s < t (docs/MATH.md §3): log alpha_{t|s} = log alpha_bar_t - log alpha_bar_s,
 * beta_{t|s} = -expm1(log alpha_{t|s}). */
double dpm_schedule_beta_ts(const dpm_schedule *sch, size_t s, size_t t);

/* DDPM sub-sequences 1 = tau_1 < ... < tau_K = N (the Analytic-DPM / DDIM conventions, deduplicated and forced
 * to start at 1 and end at N). kind: "even" (linear) or "quadratic". tau must hold K entries. Error when K < 1,
 * K > N or the kind is unknown. */
int dpm_schedule_subsequence(const dpm_schedule *sch, const char *kind, size_t K, size_t *tau);

/* ---- the process table (Song et al. 2021; Karras et al. 2022; Ho et al. 2020) --------------------------
 *
 * Every process is x_t = m_t x_0 + s_t eps, the marginal of the affine SDE dx = a(t) x dt + g(t) dB started at
 * x_0 (docs/MATH.md §1): m_t = exp(int_0^t a), s_t^2 = m_t^2 int_0^t g^2/m^2. A process is a type from the table
 * (its name, defaults and functions) plus its parameters in a plain struct.
 *
 * Domains, enforced by every function below (outside: GSL_EDOM raised, NAN returned, never a silent NaN):
 *   m, s, log m, a, g, the transition      0 <= t <= t_max   (s_0 = 0 except for ve-sde, where s_0 = sigma_min)
 *   lambda = log(m/s), sigma = s/m          the same with s_t > 0, i.e. 0 < t <= t_max (0 <= t for ve-sde)
 *   t_of_lambda, t_of_sigma                 lambda >= lambda(t_max) (sigma <= sigma(t_max)), giving t in
 *                                           (0, t_max]
 * [t_min, t_max] is the range samplers walk by default; t_min is not a domain bound (likelihoods integrate from
 * below it).
 *
 * "ddpm" is the discrete schedule (Ho et al. 2020) as one type on the table: t is the step index in units of
 * steps, t in [0, N], and log abar(t) is linear between integers, so at t = n the process has exactly the
 * schedule's m = sqrt(abar_n), s = sqrt(bbar_n), and between integers it is the VP SDE with the piecewise-constant
 * beta(t) = -log(alpha_n) on (n-1, n]. Everything is computed from log abar (m = exp(log abar / 2),
 * s = sqrt(-expm1(log abar))), so N >= 250000 steps work where abar itself underflows to 0. t_min = 1, t_max = N.
 */

typedef enum {
  DPM_PROCESS_VP,    /* variance preserving, linear beta(t) */
  DPM_PROCESS_SUBVP, /* sub-VP */
  DPM_PROCESS_VE,    /* variance exploding; see ve_exact */
  DPM_PROCESS_EDM,   /* m = 1, s = t */
  DPM_PROCESS_DDPM   /* a discrete DDPM schedule, t = step index */
} dpm_process_kind;

typedef struct dpm_process dpm_process;

/* A process type: one row of the table. The functions get t inside the domain (checked by the public
 * wrappers). log_m_s: log m_t and s_t. a, g2: the SDE coefficients a(t), g(t)^2. lambda: log(m/s) at s > 0.
 * t_of_lambda: its inverse for lambda >= lambda(t_max). trans_s2: s_{t|s}^2 = s_t^2 - (m_t/m_s)^2 s_s^2 for
 * 0 <= s <= t, in a form without cancellation. */
typedef struct {
  const char *name; /* spec name, e.g. "vp" */
  dpm_process_kind kind;
  const char *reference; /* paper and equation */
  int discrete;          /* 1 for schedules whose grid points are integers */
  void (*log_m_s)(const dpm_process *p, double t, double *log_m, double *s);
  double (*a)(const dpm_process *p, double t);
  double (*g2)(const dpm_process *p, double t);
  double (*lambda)(const dpm_process *p, double t);
  double (*t_of_lambda)(const dpm_process *p, double lambda);
  double (*trans_s2)(const dpm_process *p, double s, double t);
} dpm_process_type;

/* The table, NULL-terminated: vp, subvp, ve, ve-sde, edm, ddpm (ve and ve-sde share a type; ve_exact tells them
 * apart). */
extern const dpm_process_type *const dpm_process_types[];

struct dpm_process {
  dpm_process_kind kind;
  const dpm_process_type *type;
  double beta_min, beta_max;   /* VP, sub-VP: 0.1, 20 */
  double sigma_min, sigma_max; /* VE: 0.01, 50; EDM: 0.002, 80 */
  double sigma_data;           /* EDM: 0.5 */
  int ve_exact;            /* VE: 1 => s^2 = sigma(t)^2 - sigma(0)^2 (default); 0 => s = sigma(t) (score_sde) */
  double t_min, t_max;     /* time range: VP/sub-VP/VE [1e-3, 1]; EDM [sigma_min, sigma_max]; DDPM [1, N] */
  const dpm_schedule *sch; /* DDPM: the schedule (owned when parsed from a spec, see dpm_process_clear) */
  dpm_schedule *sch_owned;
};

/* Fill p with the defaults of a kind (docs/MATH.md §1 table). For DPM_PROCESS_DDPM this leaves no schedule: use
 * dpm_process_init_schedule or dpm_process_parse. Can't fail. */
void dpm_process_init(dpm_process *p, dpm_process_kind kind);
/* The DDPM process of a schedule (borrowed; must outlive p). Error on a NULL schedule. */
int dpm_process_init_schedule(dpm_process *p, const dpm_schedule *sch);
/* Parse "vp", "subvp", "ve", "ve-sde" (s = sigma(t)), "edm" with options after ':' (beta_min=, beta_max=,
 * sigma_min=, sigma_max=, sigma_data=, t_min=, t_max=), or "ddpm[:schedule=linear|cosine,N=1000]" (allocates
 * its schedule: release it with dpm_process_clear). Error naming the bad token otherwise; p then owns nothing. */
int dpm_process_parse(dpm_process *p, const char *spec);
/* Release what a parsed process owns (the DDPM schedule); p must be re-initialised before reuse. NULL-safe. */
void dpm_process_clear(dpm_process *p);
const char *dpm_process_name(const dpm_process *p);
/* The process type of a spec name ("vp", ..., "ddpm"), or NULL. Can't fail. */
const dpm_process_type *dpm_process_type_find(const char *name);

/* Marginal coefficients at time t: x_t = m x_0 + s eps. Status (GSL_EDOM outside [0, t_max]; m = s = NAN then). */
int dpm_process_ms(const dpm_process *p, double t, double *m, double *s);
/* log m_t (finite where m_t underflows, e.g. DDPM with large N); NAN and GSL_EDOM outside the domain. */
double dpm_process_log_m(const dpm_process *p, double t);
/* Exact transition q(x_t | x_s) = N(m_{t|s} x_s, s_{t|s}^2 I) for 0 <= s <= t <= t_max:
 * m_{t|s} = m_t/m_s, s_{t|s}^2 = s_t^2 - m_{t|s}^2 s_s^2. Status. */
int dpm_process_transition(const dpm_process *p, double s, double t, double *m_ts, double *s_ts);
/* SDE coefficients: dx = a(t) x dt + g(t) dB. */
double dpm_process_a(const dpm_process *p, double t);
double dpm_process_g(const dpm_process *p, double t);
/* Half log-SNR lambda = log(m/s), and its inverse (closed form; DDPM: by bisection on log abar). */
double dpm_process_lambda(const dpm_process *p, double t);
double dpm_process_t_of_lambda(const dpm_process *p, double lambda);
/* Noise-to-signal sigma = s/m and its inverse. */
double dpm_process_sigma(const dpm_process *p, double t);
double dpm_process_t_of_sigma(const dpm_process *p, double sigma);

/* ---- time grids (n points, decreasing from t_max to t_min unless stated) ------------------------------ */

/* uniform in t from t0 to t1 (either order); n >= 2 */
int dpm_grid_uniform(double t0, double t1, size_t n, double *out);
/* EDM rho-schedule sigma_i = (smax^(1/rho) + i/(n-1) (smin^(1/rho) - smax^(1/rho)))^rho, i < n (the final
 * sigma = 0 is the caller's to append). */
int dpm_grid_edm_sigma(double sigma_min, double sigma_max, double rho, size_t n, double *out);
/* geometric sigma from sigma_max down to sigma_min (Permenter & Yuan's log-linear schedule) */
int dpm_grid_loglinear_sigma(double sigma_min, double sigma_max, size_t n, double *out);
/* times uniform in lambda between lambda(t_max) and lambda(t_min) (DPM-Solver) */
int dpm_grid_lambda(const dpm_process *p, size_t n, double *out);

#endif
