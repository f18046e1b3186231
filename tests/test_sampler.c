/* test_sampler.c — the sampler table (docs/samplers.md): one conformance loop over every entry — the exact output
 * law on Gaussian data (every DDIM-family step with the exact denoiser is a linear-Gaussian recursion, run here on
 * (mean, variance) from the definitions of docs/MATH.md §3), the law on a bimodal mixture against its exact CDF
 * (Kolmogorov–Smirnov with the DKW bound), the NFE count, the same bits for 1 and 2 threads — then the timeline,
 * the driver's errors and the context added to a denoiser's error. */
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
  for (size_t i = 0; dpm_sampler_types[i]; i++) {
    predict(dpm_sampler_types[i], tl, 1.5, 0.6, &m, &v[cnt]);
    exact += fabs(v[cnt] - v0) < 1e-3 * v0;
    cnt++;
  }
  assert_true(exact >= 2 && exact < cnt); /* the analytic entries are exact here, the DDPM/DDIM ones are not */
  for (size_t a = 0; a < cnt; a++)
    for (size_t b = a + 1; b < cnt; b++) {
      if (fabs(v[a] - v0) < 1e-3 * v0 && fabs(v[b] - v0) < 1e-3 * v0) continue;
      if (!(fabs(v[a] - v[b]) > 2.0 * tol * fmax(v[a], v[b])))
        fail_msg("%s and %s: predicted variances %.6g and %.6g are too close to tell apart",
                 dpm_sampler_types[a]->name, dpm_sampler_types[b]->name, v[a], v[b]);
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
      cmocka_unit_test(test_large_N),
      cmocka_unit_test(test_timeline),
      cmocka_unit_test(test_driver_errors),
  };
  return cmocka_run_group_tests_name("sampler", tests, NULL, NULL);
}
