/* test_sampler.c — the sampler table (docs/samplers.md): one conformance loop over every entry. The DDIM family
 * (every step with the exact denoiser a linear-Gaussian recursion) is checked against its exact output law on
 * Gaussian data, run here on (mean, variance) from the definitions of docs/MATH.md §3; every other entry (SDE,
 * ODE, exponential-integrator and multistep samplers, docs/MATH.md §4) against the true law q_t of the data at the
 * end of the grid, at a step count generous enough that the discretisation bias is measured to be below the Monte
 * Carlo error. Also: the law on a bimodal mixture against its exact CDF (Kolmogorov–Smirnov with the DKW bound),
 * the NFE count, the same bits for 1 and 2 threads — then the timeline, the driver's errors and the context added
 * to a denoiser's error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpmlab.h"
#include "testutil.h"

static void set_threads(int k)
{
#ifdef _OPENMP
  omp_set_num_threads(k);
#else
  (void)k;
#endif
}

/* 1 for the entries whose exact law predict() below knows: the DDIM family of ddim_family.c. */
static int ddim_family(const dpm_sampler_type *T)
{
  static const char *const names[] = {"ddpm",          "ddpm-betatilde", "ddim",
                                      "analytic-ddpm", "analytic-ddim",  "diag-cov"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(T->name, names[i]) == 0) return 1;
  return 0;
}

/* The predicted law of one coordinate after the walk, for data N(mu, sd0^2) per coordinate and the exact
 * denoiser: E[x0|x] = mu + m sd0^2 (x - m mu)/v, Var[x0|x] = sd0^2 s^2/v, v = m^2 sd0^2 + s^2, Gamma = s^2/v.
 * A step a -> b: x_b = m_b x0-hat + sqrt(s_b^2 - lambda^2)(x_a - m_a x0-hat)/s_a + sigma z. */
static void predict(const dpm_sampler_type *T, const dpm_timeline *tl, double mu, double sd0, double *mean,
                    double *var)
{
  double M = 0.0, V = tl->s[0] * tl->s[0], q0 = sd0 * sd0;
  const double eta = isnan(T->eta_default) ? 1.0 : T->eta_default;
  for (size_t i = 0; i < tl->K; i++) {
    const double ma = tl->m[i], sa = tl->s[i], mb = tl->m[i + 1], sb = tl->s[i + 1];
    const double v = ma * ma * q0 + sa * sa, al = ma * q0 / v, be = mu * sa * sa / v, P = q0 * sa * sa / v;
    const double sab2 = sa * sa - (ma / mb) * (ma / mb) * sb * sb; /* Var of x_a given x_b */
    const double bt = sb * sb * sab2 / (sa * sa), lam2 = eta * eta * bt, c = sqrt(sb * sb - lam2) / sa;
    const double A = mb * al + c * (1.0 - ma * al), B = mb * be - c * ma * be, c0 = mb - c * ma;
    double s2 = 0.0;
    if (strcmp(T->name, "ddpm") == 0)
      s2 = sab2;
    else if (strcmp(T->name, "ddpm-betatilde") == 0)
      s2 = bt;
    else if (strcmp(T->name, "ddim") == 0)
      s2 = lam2;
    else if (strncmp(T->name, "analytic-", 9) == 0) {
      const double k = sa * mb / ma - sqrt(sb * sb - lam2);
      s2 = lam2 + k * k * (1.0 - sa * sa / v);
    } else if (strcmp(T->name, "diag-cov") == 0)
      s2 = lam2 + c0 * c0 * P;
    else
      fail_msg("no prediction for sampler %s", T->name);
    if (!(sb > 0.0)) s2 = 0.0; /* the step into s = 0 returns the mean */
    M = A * M + B;
    V = A * A * V + s2;
  }
  *mean = M;
  *var = V;
}

/* x (n x d): per coordinate, sample mean within k SE sqrt(V/n) and sample variance within k SE V sqrt(2/(n-1)) */
static void check_gauss(const double *x, size_t n, size_t d, double mean, double var, double k, const char *what)
{
  for (size_t c = 0; c < d; c++) {
    double s = 0.0, ss = 0.0;
    for (size_t j = 0; j < n; j++)
      s += x[j * d + c];
    const double mh = s / (double)n;
    for (size_t j = 0; j < n; j++)
      ss += (x[j * d + c] - mh) * (x[j * d + c] - mh);
    const double vh = ss / (double)(n - 1);
    if (fabs(mh - mean) > k * sqrt(var / (double)n) || fabs(vh - var) > k * var * sqrt(2.0 / (double)(n - 1)))
      fail_msg("%s coordinate %zu: mean %.6g (predicted %.6g, SE %.3g), variance %.6g (predicted %.6g, SE %.3g)",
               what, c, mh, mean, sqrt(var / (double)n), vh, var, var * sqrt(2.0 / (double)(n - 1)));
  }
}

static void run_entry(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl, const dpm_mixture *mix,
                      size_t n, size_t d, uint64_t seed, double *x, size_t gamma_mc)
{
  dpm_sampler *smp = dpm_sampler_alloc(T, n, d, tl->K);
  assert_non_null(smp);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  pb.par.gamma_mc = gamma_mc;
  unsigned long nfe = 0;
  if (dpm_sampler_run(smp, &pb, seed, n, x, 0, &nfe)) fail_msg("%s: %s", T->name, dpm_error_last());
  if (T->nfe_per_step > 0 && nfe != tl->K * T->nfe_per_step)
    fail_msg("%s: NFE %lu, expected %zu x %u", T->name, nfe, tl->K, T->nfe_per_step);
  dpm_sampler_free(smp);
}

/* The conformance loop. Data N(mu, 0.6^2 I) in d = 1 (Gamma by cubature) and d = 3 (Monte Carlo, with enough
 * samples that its error is far below the test's resolution), on a DDPM trajectory (K = 10, ending with the
 * decoder) and on a VP grid uniform in lambda (K = 8, ending at t_min with noise): n = 20000 draws, k = 5 SE. */
static void test_conformance_gaussian(void **state)
{
  (void)state;
  const size_t n = 20000;
  const char *data[] = {"{\"weights\": [1], \"means\": [[1.5]], \"covariances\": [0.36]}",
                        "{\"weights\": [1], \"means\": [[1.5, 1.5, 1.5]], \"covariances\": [0.36]}"};
  const size_t dims[] = {1, 3};
  for (size_t dd = 0; dd < 2; dd++) {
    const size_t d = dims[dd];
    dpm_mixture *mix = dpm_data_from_spec(dpm_test_tmpfile(".json", data[dd]));
    assert_non_null(mix);
    dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
    double *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y);
    dpm_process pd, pv;
    assert_int_equal(dpm_process_parse(&pd, "ddpm:schedule=linear,N=1000"), 0);
    assert_int_equal(dpm_process_parse(&pv, "vp"), 0);
    dpm_timeline *tld = dpm_timeline_alloc(10), *tlv = dpm_timeline_alloc(8);
    assert_int_equal(dpm_timeline_set_trajectory(tld, &pd, "even", 10, NULL), 0);
    assert_int_equal(dpm_timeline_set_grid(tlv, &pv, "lambda", 8, 0), 0);
    const dpm_timeline *tls[] = {tld, tlv};
    for (size_t i = 0; dpm_sampler_types[i]; i++) {
      const dpm_sampler_type *T = dpm_sampler_types[i];
      if (!ddim_family(T)) continue; /* test_conformance_generic */
      for (size_t g = 0; g < 2; g++) {
        char what[96];
        snprintf(what, sizeof what, "%s on %s, d = %zu", T->name, g ? "vp/lambda" : "ddpm/even", d);
        set_threads(2);
        run_entry(T, dn, tls[g], mix, n, d, 7, x, 100000);
        double mean, var;
        predict(T, tls[g], 1.5, 0.6, &mean, &var);
        check_gauss(x, n, d, mean, var, 5.0, what);
        if (g == 0 && d == 1) { /* the same bits with one thread */
          set_threads(1);
          run_entry(T, dn, tls[g], mix, n, d, 7, y, 100000);
          if (memcmp(x, y, n * d * sizeof *x) != 0) fail_msg("%s: 1 and 2 threads differ", what);
        }
      }
    }
    set_threads(2);
    dpm_timeline_free(tld);
    dpm_timeline_free(tlv);
    dpm_process_clear(&pd);
    free(x);
    free(y);
    dpm_denoiser_free(dn);
    dpm_mixture_free(mix);
  }
}

/* The predictions above must be able to tell the entries apart: on the DDPM trajectory every pair of entries whose
 * predicted laws are not both the data's own (the optimal variance recovers a Gaussian exactly: Analytic-DPM's
 * moment matching) differs in predicted variance by more than twice the 5 SE the conformance test allows. */
static void test_conformance_resolution(void **state)
{
  (void)state;
  dpm_process pd;
  assert_int_equal(dpm_process_parse(&pd, "ddpm:schedule=linear,N=1000"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(10);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &pd, "even", 10, NULL), 0);
  double v[16], m;
  size_t cnt = 0, exact = 0;
  const double tol = 5.0 * sqrt(2.0 / 19999.0), v0 = 0.36;
  const dpm_sampler_type *T[16];
  for (size_t i = 0; dpm_sampler_types[i]; i++) {
    if (!ddim_family(dpm_sampler_types[i])) continue;
    assert_true(cnt < 16);
    T[cnt] = dpm_sampler_types[i];
    predict(T[cnt], tl, 1.5, 0.6, &m, &v[cnt]);
    exact += fabs(v[cnt] - v0) < 1e-3 * v0;
    cnt++;
  }
  assert_true(exact >= 2 && exact < cnt); /* the analytic entries are exact here, the DDPM/DDIM ones are not */
  for (size_t a = 0; a < cnt; a++)
    for (size_t b = a + 1; b < cnt; b++) {
      if (fabs(v[a] - v0) < 1e-3 * v0 && fabs(v[b] - v0) < 1e-3 * v0) continue;
      if (!(fabs(v[a] - v[b]) > 2.0 * tol * fmax(v[a], v[b])))
        fail_msg("%s and %s: predicted variances %.6g and %.6g are too close to tell apart", T[a]->name,
                 T[b]->name, v[a], v[b]);
    }
  dpm_timeline_free(tl);
  dpm_process_clear(&pd);
}

/* A bimodal mixture with every step of a cosine schedule (K = N = 200): the samples' exact KS distance to q_0 is
 * below the DKW bound sqrt(log(2/alpha)/(2n)) at alpha = 1e-4. */
static void test_conformance_mixture(void **state)
{
  (void)state;
  const size_t n = 4000, K = 200;
  dpm_mixture *mix = dpm_data_from_spec("gmm1d");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process pd;
  assert_int_equal(dpm_process_parse(&pd, "ddpm:schedule=cosine,N=200"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &pd, "even", K, NULL), 0);
  double *x = malloc(n * sizeof *x), ks;
  const double bound = sqrt(log(2.0 / 1e-4) / (2.0 * (double)n));
  for (size_t i = 0; dpm_sampler_types[i]; i++) {
    if (!ddim_family(dpm_sampler_types[i])) continue; /* the others: test_conformance_generic, on their process */
    run_entry(dpm_sampler_types[i], dn, tl, mix, n, 1, 11, x, 1000);
    assert_int_equal(dpm_metrics_ks_exact(mix, n, x, &ks), 0);
    if (!(ks < bound)) fail_msg("%s: KS %.4g >= DKW bound %.4g", dpm_sampler_types[i]->name, ks, bound);
  }
  free(x);
  dpm_timeline_free(tl);
  dpm_process_clear(&pd);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* ---- the generic conformance loop: every entry against the true law ------------------------------------------
 *
 * Each entry runs on the first process it supports of vp, ve, edm, subvp, ddpm (DPM_SAMPLER_ON), on a grid every
 * method of the table handles well (vp, subvp, edm: Karras et al.'s rho = 7 schedule in sigma; ve: log-linear
 * sigma, NCSN's levels; ddpm: the even trajectory), from exact draws of q_{t_0} (so the prior's mismatch at T
 * plays no part), and must end with the law of q_{t_K}, the data's law at the grid's end time t_K = t_min. */

typedef struct {
  const char *spec, *grid;
  dpm_process_kind kind;
} generic_proc;

static const generic_proc generic_procs[] = {{"vp", "edm", DPM_PROCESS_VP},
                                             {"ve", "loglinear", DPM_PROCESS_VE},
                                             {"edm", "edm", DPM_PROCESS_EDM},
                                             {"subvp", "edm", DPM_PROCESS_SUBVP},
                                             {"ddpm:schedule=linear,N=1000", "even", DPM_PROCESS_DDPM}};

/* The process an entry is checked on (parsed into p; clear it after), or fails the test when it supports none. */
static const generic_proc *generic_process(const dpm_sampler_type *T, dpm_process *p)
{
  for (size_t k = 0; k < sizeof generic_procs / sizeof *generic_procs; k++) {
    assert_int_equal(dpm_process_parse(p, generic_procs[k].spec), 0);
    if (dpm_sampler_type_supports(T, p)) return &generic_procs[k];
    dpm_process_clear(p);
  }
  fail_msg("%s supports no process of the table", T->name);
  return NULL;
}

/* The generous step count K of an entry (the test also runs 2K). A method of order p has a weak (law) error
 * C / K^p. Measured on these grids with n = 200000 draws, the order-1 reverse-SDE entries have a relative variance
 * error of about 14% at K = 32, 7% at 64, 2.5% at 128 and below 1% at 256, the order-2 ones (dpmpp-2m) 13% at 16,
 * 3% at 32, 0.7% at 64, and dpmpp-3m 2.8% at 24, 0.3% at 48 (its multistep warm-up and the wide sigma range make
 * these constants large); so 2K = 256 (order 1), 128 (order 2) and 96 (higher) put the bias well below the 2%
 * (variance) Monte Carlo resolution of n = 5000 — and
 * test_conformance_generic measures it rather than trusting this: the K and 2K runs must agree (see there). A
 * deterministic entry of order 1 gets 2K = 512: its K-to-2K difference is held to 1 SE rather than 7. */
static size_t generic_steps(const dpm_sampler_type *T)
{
  if (T->order <= 1) return (T->flags & DPM_SAMPLER_STOCHASTIC) ? 128 : 256;
  return T->order == 2 ? 64 : 48;
}

static void generic_timeline(dpm_timeline *tl, const dpm_process *p, const generic_proc *gp, size_t K)
{
  if (gp->kind == DPM_PROCESS_DDPM)
    assert_int_equal(dpm_timeline_set_trajectory(tl, p, gp->grid, K, NULL), 0);
  else
    assert_int_equal(dpm_timeline_set_grid(tl, p, gp->grid, K, 0), 0);
}

/* Run T over tl from exact draws of q_{t_0} (seed, one stream per sample as in the driver) into x; checks the NFE:
 * K x nfe_per_step, and for adaptive entries (nfe_per_step 0) that the reported count is the denoiser's own. */
static void generic_run(const dpm_sampler_type *T, dpm_denoiser *dn, const dpm_timeline *tl,
                        const dpm_mixture *mix, size_t n, uint64_t seed, double *x)
{
  const size_t d = mix->d;
  dpm_mixture_sample_workspace *w = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 1000003);
  assert_non_null(w);
  assert_non_null(r);
  const double m0 = tl->m[0] >= 1e-300 ? tl->m[0] : 0.0;
  assert_int_equal(dpm_mixture_sample_t(mix, w, r, m0, tl->s[0], n, x, NULL, NULL), 0);
  gsl_rng_free(r);
  dpm_mixture_sample_free(w);
  dpm_sampler *smp = dpm_sampler_alloc(T, n, d, tl->K);
  assert_non_null(smp);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  pb.par.gamma_mc = 20000;
  unsigned long nfe = 0;
  const unsigned long before = dn->nfe;
  if (dpm_sampler_run(smp, &pb, seed, n, x, 1, &nfe)) fail_msg("%s: %s", T->name, dpm_error_last());
  if (T->nfe_per_step > 0 && nfe != tl->K * T->nfe_per_step)
    fail_msg("%s: NFE %lu, expected %zu x %u", T->name, nfe, tl->K, T->nfe_per_step);
  if (nfe != dn->nfe - before || nfe == 0)
    fail_msg("%s: reported NFE %lu, the denoiser counted %lu", T->name, nfe, dn->nfe - before);
  dpm_sampler_free(smp);
}

/* Per-coordinate sample mean and variance of x (n x d) */
static void moments(const double *x, size_t n, size_t d, size_t c, double *mean, double *var)
{
  double s = 0.0, ss = 0.0;
  for (size_t j = 0; j < n; j++)
    s += x[j * d + c];
  *mean = s / (double)n;
  for (size_t j = 0; j < n; j++)
    ss += (x[j * d + c] - *mean) * (x[j * d + c] - *mean);
  *var = ss / (double)(n - 1);
}

/* Every entry outside the DDIM family, on data N(mu, 0.6^2 I) in d = 1 and d = 3: n = 5000 draws, k = 5 standard
 * errors against the true law N(m mu, m^2 0.36 + s^2) of q_{t_K}. The discretisation bias is measured in d = 1:
 * the runs at K and 2K start from the same exact draws of q_{t_0}. For a method of order p >= 1 the bias at 2K is
 * b(2K) = (b(K) - b(2K)) / (2^p - 1) <= |moment(K) - moment(2K)| up to Monte Carlo noise. A deterministic entry
 * maps the same starts to both results, so their difference has no noise of its own: it must stay within 1 SE,
 * which bounds b(2K) by 1 SE (then the 5 SE check is a check of the law, not of the step count). A stochastic
 * entry draws different noise at K and 2K, so the difference carries up to sqrt(2) SE of noise: it must stay
 * within 5 sqrt(2) SE (a bias above ~5 SE is still caught). The 2K run is the one checked against the law, in
 * d = 1 and d = 3; in d = 1 the K run is repeated with 1 thread for the same bits. Two entries carry a bias that
 * does not vanish with K alone, visible but within the test's resolution: pc's Langevin corrector is the
 * unadjusted Langevin algorithm, whose invariant law has a variance about r^2 = 2.6% too large at the default snr,
 * and annealed Langevin lags its moving target by about 2 log(s_0/s_K)/(K T delta) (3% at 2K = 256 levels, T = 4
 * steps of relative size delta = 1) — both about 1.5 SE here; see docs/samplers.md. */
static void test_conformance_generic(void **state)
{
  (void)state;
  const size_t n = 5000;
  const double mu = 1.5, v0 = 0.36, k = 5.0;
  const char *data[] = {"{\"weights\": [1], \"means\": [[1.5]], \"covariances\": [0.36]}",
                        "{\"weights\": [1], \"means\": [[1.5, 1.5, 1.5]], \"covariances\": [0.36]}"};
  const size_t dims[] = {1, 3};
  double *x = malloc(n * 3 * sizeof *x), *y = malloc(n * 3 * sizeof *y);
  for (size_t dd = 0; dd < 2; dd++) {
    const size_t d = dims[dd];
    dpm_mixture *mix = dpm_data_from_spec(dpm_test_tmpfile(".json", data[dd]));
    assert_non_null(mix);
    dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
    for (size_t i = 0; dpm_sampler_types[i]; i++) {
      const dpm_sampler_type *T = dpm_sampler_types[i];
      if (ddim_family(T)) continue; /* test_conformance_gaussian: the exact law of the walk */
      dpm_process p;
      const generic_proc *gp = generic_process(T, &p);
      const size_t K = generic_steps(T);
      dpm_timeline *tl = dpm_timeline_alloc(2 * K);
      char what[128];
      set_threads(2);
      if (d == 1) {
        generic_timeline(tl, &p, gp, K);
        generic_run(T, dn, tl, mix, n, 5, y);
      }
      generic_timeline(tl, &p, gp, 2 * K);
      generic_run(T, dn, tl, mix, n, 5, x);
      const double mK = tl->m[2 * K], sK = tl->s[2 * K];
      const double mean = mK * mu, var = mK * mK * v0 + sK * sK;
      const double se_m = sqrt(var / (double)n), se_v = var * sqrt(2.0 / (double)(n - 1));
      snprintf(what, sizeof what, "%s on %s/%s, d = %zu, K = %zu", T->name, gp->spec, gp->grid, d, 2 * K);
      if (d == 1) { /* the bias at 2K, from the K run */
        double a_m, a_v, b_m, b_v;
        moments(y, n, 1, 0, &a_m, &a_v);
        moments(x, n, 1, 0, &b_m, &b_v);
        const double kd = (T->flags & DPM_SAMPLER_STOCHASTIC) ? k * sqrt(2.0) : 1.0;
        if (fabs(a_m - b_m) > kd * se_m || fabs(a_v - b_v) > kd * se_v)
          fail_msg("%s: K = %zu and 2K differ by %.3g in mean, %.3g in variance (allowed %.3g, %.3g): more steps "
                   "needed for the bias to be below the Monte Carlo error",
                   what, K, a_m - b_m, a_v - b_v, kd * se_m, kd * se_v);
      }
      check_gauss(x, n, d, mean, var, k, what);
      if (d == 1) { /* the same bits with one thread, on the K run (y) */
        set_threads(1);
        generic_timeline(tl, &p, gp, K);
        generic_run(T, dn, tl, mix, n, 5, x);
        if (memcmp(x, y, n * sizeof *x) != 0) fail_msg("%s: 1 and 2 threads differ", what);
        set_threads(2);
      }
      dpm_timeline_free(tl);
      dpm_process_clear(&p);
    }
    dpm_denoiser_free(dn);
    dpm_mixture_free(mix);
  }
  free(x);
  free(y);
}

/* Every entry outside the DDIM family on the bimodal gmm1d at its 2K steps: the KS distance of n = 4000 samples
 * to q_{t_K} (within 1e-4 of q_0's CDF at these end times: s_K <= 0.011 against component sd 0.5) is below the DKW
 * bound sqrt(log(2/alpha)/(2n)) at alpha = 1e-4 — the law beyond its first two moments. */
static void test_conformance_generic_mixture(void **state)
{
  (void)state;
  const size_t n = 4000;
  dpm_mixture *mix = dpm_data_from_spec("gmm1d");
  assert_non_null(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  double *x = malloc(n * sizeof *x), ks;
  const double bound = sqrt(log(2.0 / 1e-4) / (2.0 * (double)n));
  for (size_t i = 0; dpm_sampler_types[i]; i++) {
    const dpm_sampler_type *T = dpm_sampler_types[i];
    if (ddim_family(T)) continue;
    dpm_process p;
    const generic_proc *gp = generic_process(T, &p);
    const size_t K = 2 * generic_steps(T);
    dpm_timeline *tl = dpm_timeline_alloc(K);
    generic_timeline(tl, &p, gp, K);
    assert_true(tl->s[K] / tl->m[K] < 0.011);
    generic_run(T, dn, tl, mix, n, 13, x);
    assert_int_equal(dpm_metrics_ks_exact(mix, n, x, &ks), 0);
    if (!(ks < bound)) fail_msg("%s on %s: KS %.4g >= DKW bound %.4g", T->name, gp->spec, ks, bound);
    dpm_timeline_free(tl);
    dpm_process_clear(&p);
  }
  free(x);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* A DDPM schedule with N = 250000 steps, where abar_N underflows: the walk computes in log m and still draws the
 * exact Gaussian law. */
static void test_large_N(void **state)
{
  (void)state;
  const size_t n = 20000;
  dpm_mixture *mix = dpm_data_from_spec(dpm_test_tmpfile(".json", "{\"weights\": [1], \"means\": [[1.5]], "
                                                                  "\"covariances\": [0.36]}"));
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process pd;
  assert_int_equal(dpm_process_parse(&pd, "ddpm:N=250000"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(20);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &pd, "quadratic", 20, NULL), 0);
  assert_true(tl->m[0] == 0.0 && isfinite(tl->log_m[0]));
  double *x = malloc(n * sizeof *x), mean, var;
  run_entry(&dpm_sampler_ddpm, dn, tl, mix, n, 1, 3, x, 1000);
  predict(&dpm_sampler_ddpm, tl, 1.5, 0.6, &mean, &var);
  check_gauss(x, n, 1, mean, var, 5.0, "ddpm, N = 250000");
  free(x);
  dpm_timeline_free(tl);
  dpm_process_clear(&pd);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

static void test_timeline(void **state)
{
  (void)state;
  dpm_process pd, pe;
  assert_int_equal(dpm_process_parse(&pd, "ddpm:N=100"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(12);
  size_t tau[3] = {1, 40, 100};
  assert_int_equal(dpm_timeline_set_tau(tl, &pd, 3, tau), 0);
  assert_int_equal(tl->K, 3);
  assert_true(tl->n[0] == 100 && tl->n[1] == 40 && tl->n[2] == 1 && tl->n[3] == 0);
  assert_true(tl->s[3] == 0.0 && tl->m[3] == 1.0 && isinf(tl->lambda[3]));
  double m, s;
  dpm_schedule_ms(pd.sch, 40, &m, &s);
  assert_close(tl->m[1], m, 1e-15, 0);
  assert_close(tl->lambda[1], log(m / s), 1e-13, 0);
  /* continuous grids: the EDM rho-schedule in sigma, end points exact */
  assert_int_equal(dpm_process_parse(&pe, "edm"), 0);
  assert_int_equal(dpm_timeline_set_grid(tl, &pe, "edm", 12, 7), 0);
  assert_close(tl->t[0], 80, 0, 0);
  assert_close(tl->t[12], 0.002, 0, 0);
  for (size_t i = 1; i < 11; i++)
    assert_close(pow(tl->s[i + 1], 1 / 7.0) - pow(tl->s[i], 1 / 7.0),
                 pow(tl->s[i], 1 / 7.0) - pow(tl->s[i - 1], 1 / 7.0), 1e-10, 1e-13);
  assert_int_equal(dpm_timeline_set_grid(tl, &pe, "loglinear", 12, 0), 0);
  assert_close(tl->s[6] * tl->s[6], tl->s[5] * tl->s[7], 1e-12, 0);
  /* errors: unknown grid, too many steps, increasing times, a non-integer time on a schedule, s = 0 mid-walk */
  assert_int_equal(dpm_timeline_set_grid(tl, &pe, "cubic", 5, 0), GSL_EINVAL);
  assert_int_equal(dpm_timeline_set_grid(tl, &pe, "uniform", 13, 0), GSL_EINVAL);
  double up[3] = {1.0, 2.0, 3.0}, frac[2] = {10.5, 3.0}, zero[3] = {5.0, 0.0, 0.0};
  assert_int_equal(dpm_timeline_set_times(tl, &pe, 2, up), GSL_EDOM);
  assert_int_equal(dpm_timeline_set_times(tl, &pd, 1, frac), GSL_EDOM);
  assert_int_equal(dpm_timeline_set_times(tl, &pe, 2, zero), GSL_EDOM);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &pe, "even", 5, NULL), GSL_EINVAL); /* not a schedule */
  assert_int_equal(dpm_timeline_set_trajectory(tl, &pd, "even", 101, NULL), GSL_EINVAL);
  size_t bad[2] = {50, 20};
  assert_int_equal(dpm_timeline_set_tau(tl, &pd, 2, bad), GSL_EINVAL);
  assert_null(dpm_timeline_alloc(0));
  dpm_timeline_free(NULL);
  dpm_timeline_free(tl);
  dpm_process_clear(&pd);
}

/* A denoiser that fails at small s with its own reason: the driver passes it up with the step as context. */
static int failing_eval(dpm_denoiser *dn, double m, double s, size_t n, const double *x, double *eps, double *x0,
                        double *score)
{
  (void)dn, (void)m, (void)n, (void)x, (void)x0, (void)score;
  if (s < 0.5) DPM_ERROR(GSL_EBADFUNC, "model: NaN in layer 3 at point 7");
  if (eps) memset(eps, 0, n * sizeof *eps);
  return DPM_SUCCESS;
}
static const dpm_denoiser_type failing_type = {"failing", failing_eval, NULL, NULL, NULL};

static void test_driver_errors(void **state)
{
  (void)state;
  dpm_process pd;
  assert_int_equal(dpm_process_parse(&pd, "ddpm:N=100"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(10);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &pd, "even", 10, NULL), 0);
  dpm_denoiser *bad = dpm_denoiser_alloc(&failing_type, NULL, 1);
  double x[4];
  dpm_sampler *smp = dpm_sampler_alloc(&dpm_sampler_ddim, 4, 1, 10);
  dpm_sampler_problem pb = {.dn = bad, .tl = tl, .sigma2 = NULL, .mix = NULL};
  dpm_sampler_params_default(&pb.par);
  dpm_error_clear();
  assert_int_equal(dpm_sampler_run(smp, &pb, 0, 4, x, 0, NULL), GSL_EBADFUNC);
  assert_non_null(strstr(dpm_error_last(), "NaN in layer 3 at point 7")); /* the origin's reason survives */
  assert_non_null(strstr(dpm_error_last(), "sampler ddim, step"));
  /* requirements: a posterior variance, Gamma (data), sizes, eta */
  dpm_sampler *sd = dpm_sampler_alloc(&dpm_sampler_diag_cov, 4, 1, 10);
  assert_int_equal(dpm_sampler_run(sd, &pb, 0, 4, x, 0, NULL), GSL_EINVAL);
  assert_non_null(strstr(dpm_error_last(), "posterior variance"));
  dpm_sampler *sa = dpm_sampler_alloc(&dpm_sampler_analytic_ddpm, 4, 1, 10);
  assert_int_equal(dpm_sampler_run(sa, &pb, 0, 4, x, 0, NULL), GSL_EINVAL);
  assert_int_equal(dpm_sampler_run(smp, &pb, 0, 5, x, 0, NULL), GSL_EBADLEN);
  pb.par.eta = 1.5;
  assert_int_equal(dpm_sampler_run(smp, &pb, 0, 4, x, 0, NULL), GSL_EDOM);
  assert_null(dpm_sampler_alloc(&dpm_sampler_ddim, 0, 1, 10));
  assert_null(dpm_sampler_type_find("ddim2"));
  char names[256];
  dpm_sampler_type_names(names, sizeof names);
  assert_non_null(strstr(names, "ddpm-betatilde"));
  dpm_sampler_free(NULL);
  dpm_sampler_free(smp);
  dpm_sampler_free(sd);
  dpm_sampler_free(sa);
  dpm_denoiser_free(bad);
  dpm_timeline_free(tl);
  dpm_process_clear(&pd);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conformance_gaussian),
      cmocka_unit_test(test_conformance_resolution),
      cmocka_unit_test(test_conformance_mixture),
      cmocka_unit_test(test_conformance_generic),
      cmocka_unit_test(test_conformance_generic_mixture),
      cmocka_unit_test(test_large_N),
      cmocka_unit_test(test_timeline),
      cmocka_unit_test(test_driver_errors),
  };
  return cmocka_run_group_tests_name("sampler", tests, NULL, NULL);
}
