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

/* ---- continuous processes (Song et al. 2021; Karras et al. 2022) -------------------------------------- */

typedef enum {
  DPM_PROCESS_VP,    /* variance preserving, linear beta(t) */
  DPM_PROCESS_SUBVP, /* sub-VP */
  DPM_PROCESS_VE,    /* variance exploding; see ve_exact */
  DPM_PROCESS_EDM    /* m = 1, s = t */
} dpm_process_kind;

typedef struct {
  dpm_process_kind kind;
  double beta_min, beta_max;   /* VP, sub-VP: 0.1, 20 */
  double sigma_min, sigma_max; /* VE: 0.01, 50; EDM: 0.002, 80 */
  double sigma_data;           /* EDM: 0.5 */
  int ve_exact;                /* VE: 1 => s^2 = sigma(t)^2 - sigma(0)^2 (default); 0 => s = sigma(t) (score_sde) */
  double t_min, t_max;         /* time range: VP/sub-VP/VE [1e-3, 1]; EDM [sigma_min, sigma_max] */
} dpm_process;

/* Fill p with the defaults of a kind (docs/MATH.md §1 table). */
void dpm_process_init(dpm_process *p, dpm_process_kind kind);
/* Parse "vp", "subvp", "ve", "ve-sde" (s = sigma(t)), "edm"; options after ':' (beta_min=, beta_max=,
 * sigma_min=, sigma_max=, sigma_data=, t_min=, t_max=). Error naming the bad token otherwise. */
int dpm_process_parse(dpm_process *p, const char *spec);
const char *dpm_process_name(const dpm_process *p);

/* Marginal coefficients at time t: x_t = m x_0 + s eps. */
void dpm_process_ms(const dpm_process *p, double t, double *m, double *s);
/* SDE coefficients: dx = a(t) x dt + g(t) dB. */
double dpm_process_a(const dpm_process *p, double t);
double dpm_process_g(const dpm_process *p, double t);
/* Half log-SNR lambda = log(m/s), and its inverse on [t_min, t_max] (bisection; lambda is decreasing). */
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
