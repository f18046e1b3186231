/* test_sampler_sde.c — forward Euler–Maruyama against the exact marginals q_t of every continuous process
 * (docs/MATH.md §1), the Langevin corrector of score_sde's pc sampler leaving q_t invariant, the weak order 1 of
 * the reverse Euler–Maruyama sampler (Song et al. 2021, eq. (6)), Restart sampling's exact NFE and the entries'
 * refusals (docs/samplers.md). Each entry's output law is checked by the conformance loop of test_sampler.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpmlab.h"
#include "testutil.h"

static const char *gauss_json(size_t d)
{
  return d == 1   ? "{\"weights\": [1], \"means\": [[1.5]], \"covariances\": [0.36]}"
         : d == 2 ? "{\"weights\": [1], \"means\": [[1.5, 1.5]], \"covariances\": [0.36]}"
                  : "{\"weights\": [1], \"means\": [[1.5, 1.5, 1.5]], \"covariances\": [0.36]}";
}

/* sample mean, variance and the standard error of the variance from the sample's fourth central moment */
static void moments(const double *x, size_t n, size_t d, size_t c, double *mean, double *var, double *se_var)
{
  double s = 0.0, s2 = 0.0, s4 = 0.0;
  for (size_t j = 0; j < n; j++)
    s += x[j * d + c];
  *mean = s / (double)n;
  for (size_t j = 0; j < n; j++) {
    const double u = (x[j * d + c] - *mean) * (x[j * d + c] - *mean);
    s2 += u;
    s4 += u * u;
  }
  *var = s2 / (double)(n - 1);
  const double mu4 = s4 / (double)n;
  *se_var = sqrt(fmax(mu4 - *var * *var, 0.0) / (double)n);
}

/* ---- forward Euler–Maruyama
 * ------------------------------------------------------------------------------------- EM on the linear SDE moves
 * every law's mean and per-coordinate variance by the same recursion, M <- (1 + a h) M,  P <- (1 + a h)^2 P + g^2
 * h, so its bias against the exact m mu, m^2 v + s^2 is computed here without noise and must stay below a quarter
 * of a standard error (then the 5 SE check of the samples is a check of the marginal law, not of the step size).
 */

typedef struct {
  double M, P; /* per coordinate: the EM law's mean factor (times the data mean) and variance */
} em_law;

static void em_law_steps(const dpm_process *p, size_t K, const double *t, em_law *L)
{
  for (size_t k = 0; k < K; k++) {
    const double h = t[k + 1] - t[k], c = 1.0 + dpm_process_a(p, t[k]) * h, g = dpm_process_g(p, t[k]);
    L->M *= c;
    L->P = c * c * L->P + g * g * h;
  }
}

/* x (n x d) at t = 0 from mix, then EM through three segments of 2000 uniform steps each, checked at each end */
static void check_forward(const char *spec, const char *data, const double *times, size_t n)
{
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, spec), 0);
  dpm_mixture *mix = dpm_data_from_spec(data);
  assert_non_null(mix);
  const size_t d = mix->d, Kseg = 2000;
  double *x = malloc(n * d * sizeof *x), t[2001], mean0[3], cov0[9];
  assert_true(d <= 3);
  dpm_mixture_moments(mix, mean0, cov0, NULL);
  dpm_mixture_sample_workspace *ws = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(21, 0);
  assert_int_equal(dpm_mixture_sample(mix, ws, r, n, x, NULL), 0);
  dpm_forward *w = dpm_forward_alloc(n, d, Kseg);
  assert_non_null(w);
  em_law L[3];
  for (size_t c = 0; c < d; c++)
    L[c] = (em_law){1.0, cov0[c * d + c]};
  double t0 = 0.0;
  for (size_t seg = 0; seg < 3; seg++) {
    assert_int_equal(dpm_grid_uniform(t0, times[seg], Kseg + 1, t), 0);
    assert_int_equal(dpm_forward_em(w, &p, Kseg, t, 100 + seg, n, x), 0);
    double m, s;
    assert_int_equal(dpm_process_ms(&p, times[seg], &m, &s), 0);
    for (size_t c = 0; c < d; c++) {
      em_law_steps(&p, Kseg, t, &L[c]);
      const double mean = m * mean0[c], var = m * m * cov0[c * d + c] + s * s;
      double mh, vh, se_v;
      moments(x, n, d, c, &mh, &vh, &se_v);
      const double se_m = sqrt(var / (double)n);
      /* the EM law's own bias, computed: below SE/4 */
      if (fabs(L[c].M * mean0[c] - mean) > 0.25 * se_m || fabs(L[c].P - var) > 0.25 * se_v)
        fail_msg("%s t = %g: EM bias %.3g (mean), %.3g (variance) not below a quarter SE (%.3g, %.3g)", spec,
                 times[seg], L[c].M * mean0[c] - mean, L[c].P - var, se_m, se_v);
      if (fabs(mh - mean) > 5.0 * se_m || fabs(vh - var) > 5.0 * se_v)
        fail_msg("%s on %s, t = %g, coordinate %zu: mean %.6g (exact %.6g, SE %.3g), variance %.6g (exact %.6g, "
                 "SE %.3g)",
                 spec, data, times[seg], c, mh, mean, se_m, vh, var, se_v);
    }
    t0 = times[seg];
  }
  dpm_forward_free(w);
  gsl_rng_free(r);
  dpm_mixture_sample_free(ws);
  free(x);
  dpm_mixture_free(mix);
  dpm_process_clear(&p);
}

static void test_forward_gaussian(void **state)
{
  (void)state;
  const char *g = dpm_test_tmpfile(".json", gauss_json(2));
  const double tv[3] = {0.05, 0.3, 1.0}, te[3] = {0.5, 5.0, 80.0};
  check_forward("vp", g, tv, 6000);
  check_forward("subvp", g, tv, 6000);
  check_forward("ve", g, tv, 6000);
  check_forward("edm", g, te, 6000);
}

/* a mixture's moments from dpm_mixture_moments carried by m and s */
static void test_forward_mixture(void **state)
{
  (void)state;
  const double tv[3] = {0.02, 0.1, 0.5}, te[3] = {0.2, 1.0, 4.0};
  check_forward("vp", "ring8", tv, 6000);
  check_forward("edm", "gmm1d", te, 6000);
}

/* The same bits for 1 and 2 threads, and the errors. */
static void test_forward_threads_errors(void **state)
{
  (void)state;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  const size_t n = 3000, d = 2, K = 50;
  double *x = calloc(n * d, sizeof *x), *y = calloc(n * d, sizeof *y), t[51];
  assert_int_equal(dpm_grid_uniform(0.0, 1.0, K + 1, t), 0);
  dpm_forward *w = dpm_forward_alloc(n, d, K);
#ifdef _OPENMP
  omp_set_num_threads(1);
  assert_int_equal(dpm_forward_em(w, &p, K, t, 9, n, x), 0);
  omp_set_num_threads(2);
#else
  assert_int_equal(dpm_forward_em(w, &p, K, t, 9, n, x), 0);
#endif
  assert_int_equal(dpm_forward_em(w, &p, K, t, 9, n, y), 0);
  assert_memory_equal(x, y, n * d * sizeof *x);
  double down[3] = {1.0, 0.5, 0.0}, beyond[3] = {0.0, 0.5, 2.0};
  assert_raises(dpm_forward_em(w, &p, 2, down, 0, n, x), GSL_EDOM, "increase");
  assert_raises(dpm_forward_em(w, &p, 2, beyond, 0, n, x), GSL_EDOM, NULL);
  assert_raises(dpm_forward_em(w, &p, K + 1, t, 0, n, x), GSL_EBADLEN, NULL);
  assert_raises(dpm_forward_em(w, &p, K, t, 0, n + 1, x), GSL_EBADLEN, NULL);
  assert_raises_null(dpm_forward_alloc(0, 1, 1), "nmax");
  dpm_forward_free(NULL);
  dpm_forward_free(w);
  free(x);
  free(y);
}

/* ---- the Langevin corrector leaves q_t invariant
 * ---------------------------------------------------------------- Exact draws of q_t (Gaussian data, d = 1 and 3,
 * VP at t = 0.3), C = 3 corrector steps at the default snr: the moments stay within 5 SE of q_t's. The corrector
 * is the unadjusted Langevin algorithm with step eps = 2 r^2 alpha (E|z| / E|score|)^2 = 2 r^2 var (alpha = 1; the
 * ratio of the two chi means is 1 for a Gaussian q_t), whose own invariant law has a variance larger by eps/(2 var
 * - eps) = 2.6%; after C = 3 steps from q_t it has moved (1 - (1 - eps/var)^6) 2.6% = 0.7% of the way, a third of
 * a standard error at n = 20000. A corrector that drew sqrt(eps) z instead of sqrt(2 eps) z would move the
 * variance by eps = 5% per step and fail. */
static void test_corrector_invariant(void **state)
{
  (void)state;
  const size_t n = 20000, dims[2] = {1, 3};
  const unsigned C = 3;
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_timeline *tl = dpm_timeline_alloc(1);
  double tt[2] = {0.3, 0.2};
  assert_int_equal(dpm_timeline_set_times(tl, &p, 1, tt), 0);
  for (size_t dd = 0; dd < 2; dd++) {
    const size_t d = dims[dd];
    dpm_mixture *mix = dpm_data_from_spec(dpm_test_tmpfile(".json", gauss_json(d)));
    dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
    double *x = malloc(n * d * sizeof *x), *eval = malloc(n * d * sizeof *x), *z = malloc(n * d * sizeof *x);
    gsl_rng **rng = malloc(n * sizeof *rng);
    for (size_t j = 0; j < n; j++)
      rng[j] = dpm_rng_stream_alloc(77, j);
    dpm_mixture_sample_workspace *ws = dpm_mixture_sample_alloc(mix);
    gsl_rng *r = dpm_rng_stream_alloc(78, 0);
    assert_int_equal(dpm_mixture_sample_t(mix, ws, r, tl->m[0], tl->s[0], n, x, NULL, NULL), 0);
    dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = mix};
    dpm_sampler_params_default(&pb.par);
    dpm_sampler_step st = {
        .pb = &pb, .type = &dpm_sampler_pc, .i = 0, .n = n, .d = d, .x = x, .eval = eval, .z = z, .rng = rng};
    const unsigned long nfe0 = dn->nfe;
    assert_int_equal(dpm_sampler_langevin_correct(&st, 0, 1.0, C), 0);
    assert_int_equal(dn->nfe - nfe0, C);
    const double m = tl->m[0], s = tl->s[0], mean = 1.5 * m, var = m * m * 0.36 + s * s;
    for (size_t c = 0; c < d; c++) {
      double mh, vh, se_v;
      moments(x, n, d, c, &mh, &vh, &se_v);
      assert_within_se(mh, sqrt(var / (double)n), mean, 5.0);
      assert_within_se(vh, var * sqrt(2.0 / (double)(n - 1)), var, 5.0);
    }
    /* errors: s = 0 is not a level, alpha must be positive, snr must be positive */
    assert_raises(dpm_sampler_langevin_correct(&st, 0, 0.0, 1), GSL_EDOM, "alpha");
    pb.par.snr = -1.0;
    assert_raises(dpm_sampler_langevin_correct(&st, 0, 1.0, 1), GSL_EDOM, "snr");
    assert_raises(dpm_sampler_langevin_correct(&st, 5, 1.0, 1), GSL_EINVAL, NULL);
    for (size_t j = 0; j < n; j++)
      gsl_rng_free(rng[j]);
    free(rng);
    gsl_rng_free(r);
    dpm_mixture_sample_free(ws);
    free(x);
    free(eval);
    free(z);
    dpm_denoiser_free(dn);
    dpm_mixture_free(mix);
  }
  dpm_timeline_free(tl);
}

/* ---- reverse Euler–Maruyama: its law and its weak order
 * ---------------------------------------------------------- With the exact denoiser on data N(mu, v), E[eps|x] =
 * s (x - m mu)/V, V = m^2 v + s^2, so a step of euler-maruyama is linear-Gaussian: x_b = c x_a + h g^2 m mu / V_a
 * + g sqrt(h) z, c = 1 - h a - h g^2 / V_a (a, g at t_a), and its law is N(M_K, P_K) by the recursion M <- c M + h
 * g^2 m mu / V, P <- c^2 P + g^2 h from the exact start N(m_0 mu, V_0). The samples must follow that law (K = 8,
 * 32: within 5 SE), which at K = 8 is far from q_{t_K} (so the check has power); the recursion's variance error
 * against q_{t_K} must then fall with slope -1 in K (weak order 1): the local slopes between K and 2K approach -1
 * as O(1/K) — all within [-1.5, -0.5] and the last (K = 512 -> 1024) within 0.05 of -1. */
static void em_predict(const dpm_timeline *tl, double mu, double v, double *M, double *P)
{
  const dpm_process *p = tl->proc;
  *M = tl->m[0] * mu;
  *P = tl->m[0] * tl->m[0] * v + tl->s[0] * tl->s[0];
  for (size_t i = 0; i < tl->K; i++) {
    const double ta = tl->t[i], h = ta - tl->t[i + 1], a = dpm_process_a(p, ta), g = dpm_process_g(p, ta);
    const double V = tl->m[i] * tl->m[i] * v + tl->s[i] * tl->s[i], c = 1.0 - h * a - h * g * g / V;
    *M = c * *M + h * g * g * tl->m[i] * mu / V;
    *P = c * c * *P + g * g * h;
  }
}

static void test_em_law_and_order(void **state)
{
  (void)state;
  const size_t n = 20000;
  const double mu = 1.5, v = 0.36;
  dpm_mixture *mix = dpm_data_from_spec(dpm_test_tmpfile(".json", gauss_json(1)));
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_timeline *tl = dpm_timeline_alloc(1024);
  double *x = malloc(n * sizeof *x);
  const size_t Ks[2] = {8, 32};
  for (size_t q = 0; q < 2; q++) {
    const size_t K = Ks[q];
    assert_int_equal(dpm_timeline_set_grid(tl, &p, "edm", K, 0), 0);
    dpm_mixture_sample_workspace *ws = dpm_mixture_sample_alloc(mix);
    gsl_rng *r = dpm_rng_stream_alloc(31, K);
    assert_int_equal(dpm_mixture_sample_t(mix, ws, r, tl->m[0], tl->s[0], n, x, NULL, NULL), 0);
    gsl_rng_free(r);
    dpm_mixture_sample_free(ws);
    dpm_sampler *smp = dpm_sampler_alloc(&dpm_sampler_euler_maruyama, n, 1, K);
    dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = mix};
    dpm_sampler_params_default(&pb.par);
    assert_int_equal(dpm_sampler_run(smp, &pb, 32, n, x, 1, NULL), 0);
    dpm_sampler_free(smp);
    double M, P, mh, vh, se_v;
    em_predict(tl, mu, v, &M, &P);
    moments(x, n, 1, 0, &mh, &vh, &se_v);
    const double se_m = sqrt(P / (double)n), se_p = P * sqrt(2.0 / (double)(n - 1));
    if (fabs(mh - M) > 5.0 * se_m || fabs(vh - P) > 5.0 * se_p)
      fail_msg("euler-maruyama K = %zu: mean %.6g (EM law %.6g, SE %.3g), variance %.6g (EM law %.6g, SE %.3g)", K,
               mh, M, se_m, vh, P, se_p);
    if (K == 8) { /* the EM law at K = 8 is far from q_{t_K}: the check above tells the schemes apart */
      const double Vt = tl->m[K] * tl->m[K] * v + tl->s[K] * tl->s[K];
      assert_true(fabs(P - Vt) > 10.0 * se_p);
    }
  }
  double err[8], slope_prev = NAN;
  size_t cnt = 0;
  for (size_t K = 8; K <= 1024; K *= 2, cnt++) {
    assert_int_equal(dpm_timeline_set_grid(tl, &p, "edm", K, 0), 0);
    double M, P;
    em_predict(tl, mu, v, &M, &P);
    err[cnt] = fabs(P - (tl->m[K] * tl->m[K] * v + tl->s[K] * tl->s[K]));
    if (cnt > 0) {
      const double slope = log(err[cnt] / err[cnt - 1]) / log(2.0);
      if (K >= 64 && !(slope > -1.5 && slope < -0.5))
        fail_msg("EM weak order: slope %.3f between K = %zu and %zu", slope, K / 2, K);
      slope_prev = slope;
    }
  }
  if (!(fabs(slope_prev + 1.0) < 0.05)) fail_msg("EM weak order: last slope %.4f, expected -1", slope_prev);
  free(x);
  dpm_timeline_free(tl);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* On VP, where s_ab^2 = 1 - m_ab^2, score_sde's ancestral VP form is DDPM's step with sigma^2 = beta (Ho et al.
 * 2020, Algorithm 2): mean (x_a - (beta/s_a) eps)/sqrt(alpha), noise sqrt(beta) z. The two entries, written
 * independently, draw the same noise from the same streams and must agree to rounding (a few ulps per step, 1e-12
 * over 30 steps). */
static void test_ancestral_is_ddpm_on_vp(void **state)
{
  (void)state;
  const size_t n = 500, K = 30;
  dpm_mixture *mix = dpm_data_from_spec("ring8");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process p;
  dpm_process_init(&p, DPM_PROCESS_VP);
  dpm_timeline *tl = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tl, &p, "edm", K, 0), 0);
  double *x = malloc(2 * n * sizeof *x), *y = malloc(2 * n * sizeof *y);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl, .sigma2 = NULL, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  dpm_sampler *sa = dpm_sampler_alloc(&dpm_sampler_ancestral, n, 2, K),
              *sd = dpm_sampler_alloc(&dpm_sampler_ddpm, n, 2, K);
  assert_int_equal(dpm_sampler_run(sa, &pb, 4, n, x, 0, NULL), 0);
  assert_int_equal(dpm_sampler_run(sd, &pb, 4, n, y, 0, NULL), 0);
  for (size_t k = 0; k < 2 * n; k++)
    assert_close(x[k], y[k], 1e-12, 1e-12);
  dpm_sampler_free(sa);
  dpm_sampler_free(sd);
  free(x);
  free(y);
  dpm_timeline_free(tl);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* ---- NFE and refusals ------------------------------------------------------------------------------------------
 */

/* Restart: 2 NFE per Heun step of the grid, plus K = 2 restarts of N = 3 Heun steps (12) once the grid crosses
 * sigma = 0.06; pc: 1 + C per step; langevin: T per step. */
static void test_nfe_and_refusals(void **state)
{
  (void)state;
  const size_t n = 50, K = 20;
  dpm_mixture *mix = dpm_data_from_spec("gmm1d");
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_process pv, pe;
  dpm_process_init(&pv, DPM_PROCESS_VP);
  dpm_process_init(&pe, DPM_PROCESS_VE);
  dpm_timeline *tv = dpm_timeline_alloc(K), *te = dpm_timeline_alloc(K);
  assert_int_equal(dpm_timeline_set_grid(tv, &pv, "edm", K, 0), 0);
  assert_int_equal(dpm_timeline_set_grid(te, &pe, "loglinear", K, 0), 0);
  double x[50];
  unsigned long nfe;
  dpm_sampler_problem pb = {.dn = dn, .tl = tv, .sigma2 = NULL, .mix = mix};
  dpm_sampler_params_default(&pb.par);
  dpm_sampler *sr = dpm_sampler_alloc(&dpm_sampler_restart, n, 1, K);
  assert_int_equal(dpm_sampler_run(sr, &pb, 1, n, x, 0, &nfe), 0);
  assert_int_equal(nfe, 2 * K + 12);
  pb.par.corrector_steps = 3;
  dpm_sampler *sp = dpm_sampler_alloc(&dpm_sampler_pc, n, 1, K);
  assert_int_equal(dpm_sampler_run(sp, &pb, 1, n, x, 0, &nfe), 0);
  assert_int_equal(nfe, 4 * K);
  pb.par.snr = 0.0;
  assert_raises(dpm_sampler_run(sp, &pb, 1, n, x, 0, &nfe), GSL_EDOM, "--snr");
  dpm_sampler_params_default(&pb.par);
  /* langevin runs on VE and EDM only: the driver refuses VP, naming both */
  dpm_sampler *sl = dpm_sampler_alloc(&dpm_sampler_langevin, n, 1, K);
  assert_raises(dpm_sampler_run(sl, &pb, 1, n, x, 0, &nfe), GSL_EINVAL, "does not run on the vp process");
  assert_false(dpm_sampler_type_supports(&dpm_sampler_langevin, &pv));
  assert_true(dpm_sampler_type_supports(&dpm_sampler_langevin, &pe));
  assert_true(dpm_sampler_type_supports(&dpm_sampler_euler_maruyama, &pv));
  pb.tl = te;
  pb.par.langevin_steps = 5;
  assert_int_equal(dpm_sampler_run(sl, &pb, 1, n, x, 0, &nfe), 0);
  assert_int_equal(nfe, 5 * K);
  pb.par.langevin_eps = -1.0;
  assert_raises(dpm_sampler_run(sl, &pb, 1, n, x, 0, &nfe), GSL_EDOM, "epsilon");
  dpm_sampler_free(sr);
  dpm_sampler_free(sp);
  dpm_sampler_free(sl);
  dpm_timeline_free(tv);
  dpm_timeline_free(te);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_gaussian),       cmocka_unit_test(test_forward_mixture),
      cmocka_unit_test(test_forward_threads_errors), cmocka_unit_test(test_corrector_invariant),
      cmocka_unit_test(test_em_law_and_order),       cmocka_unit_test(test_ancestral_is_ddpm_on_vp),
      cmocka_unit_test(test_nfe_and_refusals),
  };
  return cmocka_run_group_tests_name("sampler_sde", tests, NULL, NULL);
}
