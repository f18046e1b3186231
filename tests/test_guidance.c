/* test_guidance.c — exact guidance as denoiser wrappers (dpm_guidance.h, docs/samplers.md "Guidance"): classifier
 * guidance at w = 1 is the exact class-conditional score and a sampler with it draws q_0(x | y)
 * (Kolmogorov–Smirnov with the DKW bound, mode weights within binomial standard errors), w > 1 sharpens; CFG with
 * exact scores equals classifier guidance with weight 1 + w and misses CFG's tilted law by more than sampling
 * noise; autoguidance's weak model is q_0 convolved with N(0, v I); energy guidance subtracts w grad_x E(E[x_0|x])
 * from the score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "testutil.h"

/* 1-D, three components, classes {0, 0, 1}: class 0 is itself a bimodal mixture overlapping class 1 */
static const char *MIX3 = "{\"weights\": [0.2, 0.3, 0.5], \"means\": [[-2], [0.5], [1.5]], "
                          "\"covariances\": [0.25, 0.36, 0.49], \"labels\": [0, 0, 1]}";

static dpm_mixture *mix3(void)
{
  dpm_mixture *m = dpm_data_load_json_string(MIX3, "mix3");
  assert_non_null(m);
  return m;
}

static const double XS[] = {-3.0, -1.2, 0.0, 0.7, 1.9, 4.0};
enum { NXS = 6 };

/* w = 1 over the exact denoiser: eps is the class-conditional mixture's, to rounding, at several (m, s) */
static void test_classifier_w1_is_conditional(void **state)
{
  (void)state;
  dpm_mixture *mix = mix3(), *cond = dpm_guidance_class_mixture(mix, 0);
  assert_non_null(cond);
  assert_int_equal(cond->K, 2);
  assert_close(cond->w[0], 0.4, 1e-15, 0);
  dpm_denoiser *base = dpm_denoiser_oracle_alloc(mix), *dc = dpm_denoiser_oracle_alloc(cond);
  dpm_denoiser *g = dpm_guidance_classifier_alloc(base, mix, 0, 1.0);
  assert_non_null(g);
  const double ms[][2] = {{1.0, 0.05}, {0.8, 0.6}, {0.1, 0.99}};
  for (size_t k = 0; k < 3; k++) {
    double e1[NXS], e2[NXS], x0[NXS], sc[NXS];
    assert_int_equal(dpm_denoiser_eval(g, ms[k][0], ms[k][1], NXS, XS, e1, x0, sc), 0);
    assert_int_equal(dpm_denoiser_eval(dc, ms[k][0], ms[k][1], NXS, XS, e2, NULL, NULL), 0);
    for (size_t i = 0; i < NXS; i++) {
      assert_close(e1[i], e2[i], 1e-10, 1e-12);
      assert_close(sc[i], -e1[i] / ms[k][1], 1e-14, 0);
      assert_close(x0[i], (XS[i] - ms[k][1] * e1[i]) / ms[k][0], 1e-12, 1e-12);
    }
  }
  /* CFG with exact scores = classifier guidance with weight 1 + w (grad log q(x|y) = score + grad log p(y|x)) */
  dpm_denoiser *cfg = dpm_guidance_combine_alloc(dc, base, 2.0),
               *cl3 = dpm_guidance_classifier_alloc(base, mix, 0, 3.0);
  double a[NXS], b[NXS];
  assert_int_equal(dpm_denoiser_eval(cfg, 0.7, 0.7, NXS, XS, a, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(cl3, 0.7, 0.7, NXS, XS, b, NULL, NULL), 0);
  for (size_t i = 0; i < NXS; i++)
    assert_close(a[i], b[i], 1e-9, 1e-12);
  dpm_denoiser_free(cfg);
  dpm_denoiser_free(cl3);
  dpm_denoiser_free(g);
  dpm_denoiser_free(dc);
  dpm_denoiser_free(base);
  dpm_mixture_free(cond);
  dpm_mixture_free(mix);
}

/* DDPM's ancestral sampler on the linear schedule, N = 1000, K = 250 even steps: n samples of the guided model
 * into x (NFE checked: K) */
static void run_ddpm(dpm_denoiser *dn, size_t n, uint64_t seed, double *x)
{
  dpm_process p;
  assert_int_equal(dpm_process_parse(&p, "ddpm:schedule=linear,N=1000"), 0);
  dpm_timeline *tl = dpm_timeline_alloc(250);
  assert_int_equal(dpm_timeline_set_trajectory(tl, &p, "even", 250, NULL), 0);
  dpm_sampler *smp = dpm_sampler_alloc(dpm_sampler_type_find("ddpm"), n, dn->d, 250);
  dpm_sampler_problem pb = {.dn = dn, .tl = tl};
  dpm_sampler_params_default(&pb.par);
  unsigned long nfe = 0;
  if (dpm_sampler_run(smp, &pb, seed, n, x, 0, &nfe)) fail_msg("%s", dpm_error_last());
  assert_int_equal(nfe, 250);
  dpm_sampler_free(smp);
  dpm_timeline_free(tl);
  dpm_process_clear(&p);
}

/* w = 1 draws q_0(x | y): KS against the conditional CDF below the DKW bound at alpha = 1e-4 (the 250-step
 * sampler's own error is far below it: measured KS 0.011 at n = 2000), mode weights within 4 binomial
 * SE; w = 4 sharpens: the mean class posterior p(y | x) of the samples rises by more than 4 SE. */
static void test_classifier_draws_conditional(void **state)
{
  (void)state;
  const size_t n = 2000;
  dpm_mixture *mix = mix3(), *cond = dpm_guidance_class_mixture(mix, 0);
  dpm_denoiser *base = dpm_denoiser_oracle_alloc(mix);
  double *x = malloc(n * sizeof *x), ks, wts[3], se[3], post[2][2];
  for (int r = 0; r < 2; r++) {
    dpm_denoiser *g = dpm_guidance_classifier_alloc(base, mix, 0, r ? 4.0 : 1.0);
    run_ddpm(g, n, 11, x);
    if (!r) {
      assert_int_equal(dpm_metrics_ks_exact(cond, n, x, &ks), 0);
      const double bound = sqrt(log(2.0 / 1e-4) / (2.0 * (double)n));
      if (!(ks < bound)) fail_msg("classifier w = 1: KS %.4g >= DKW bound %.4g", ks, bound);
      print_message("classifier w = 1 vs q_0(x|y): KS %.4f (DKW bound %.4f)\n", ks, bound);
      assert_int_equal(dpm_metrics_mode_tv(mix, n, x, wts, se, NULL, NULL), 0);
      assert_within_se(wts[0], sqrt(0.4 * 0.6 / (double)n), 0.4, 4.0);
      assert_within_se(wts[1] + wts[2], sqrt(0.4 * 0.6 / (double)n), 0.6, 4.0);
    }
    /* mean p_0(y = 0 | x) over the samples (the oracle's class posterior at a tiny s) */
    dpm_oracle *o = dpm_oracle_alloc(mix);
    double *cp = malloc(2 * n * sizeof *cp), *v = malloc(n * sizeof *v);
    dpm_oracle_result res = {.class_post = cp};
    assert_int_equal(dpm_oracle_eval(o, 1.0, 1e-6, n, x, &res), 0);
    for (size_t i = 0; i < n; i++)
      v[i] = cp[2 * i];
    dpm_test_mean_se(v, n, &post[r][0], &post[r][1]);
    free(cp);
    free(v);
    dpm_oracle_free(o);
    dpm_denoiser_free(g);
  }
  if (!(post[1][0] - post[0][0] > 4.0 * hypot(post[0][1], post[1][1])))
    fail_msg("w = 4 does not sharpen: mean p(y|x) %.4f vs %.4f at w = 1", post[1][0], post[0][0]);
  free(x);
  dpm_denoiser_free(base);
  dpm_mixture_free(cond);
  dpm_mixture_free(mix);
}

/* The tilted-law distance: at w = 0 the tilted law is q_0(x|y), so its W1 and KS match the exact ones of
 * dpm_metrics_* to the grid's accuracy; CFG at w = 2 (exact scores) misses the tilted law p(x|y)^3 p(x)^(-2) / Z
 * by far more than sampling noise: KS above the DKW bound at alpha = 1e-4 (measured: KS ~ 0.2). */
static void test_cfg_tilt(void **state)
{
  (void)state;
  const size_t n = 2000;
  dpm_mixture *mix = mix3(), *cond = dpm_guidance_class_mixture(mix, 0);
  dpm_mixture_sample_workspace *ws = dpm_mixture_sample_alloc(cond);
  gsl_rng *r = dpm_rng_stream_alloc(5, 0);
  double *x = malloc(n * sizeof *x), w1, ks, w1e, kse;
  assert_int_equal(dpm_mixture_sample(cond, ws, r, n, x, NULL), 0);
  assert_int_equal(dpm_guidance_tilt_distance(mix, 0, 0.0, 20001, n, x, &w1, &ks), 0);
  assert_int_equal(dpm_metrics_w1_exact(cond, n, x, &w1e), 0);
  assert_int_equal(dpm_metrics_ks_exact(cond, n, x, &kse), 0);
  assert_close(w1, w1e, 0, 1e-4); /* trapezoid on a spacing of ~1e-3 */
  assert_close(ks, kse, 0, 1e-3);
  /* CFG w = 2 */
  dpm_denoiser *base = dpm_denoiser_oracle_alloc(mix), *dc = dpm_denoiser_oracle_alloc(cond);
  dpm_denoiser *cfg = dpm_guidance_combine_alloc(dc, base, 2.0);
  run_ddpm(cfg, n, 3, x);
  assert_int_equal(dpm_guidance_tilt_distance(mix, 0, 2.0, 20001, n, x, &w1, &ks), 0);
  const double bound = sqrt(log(2.0 / 1e-4) / (2.0 * (double)n));
  if (!(ks > bound)) fail_msg("CFG w = 2: KS %.4g to the tilted law within sampling noise %.4g", ks, bound);
  print_message("CFG w = 2 vs its tilted law: W1 %.4f, KS %.4f (DKW bound %.4f)\n", w1, ks, bound);
  assert_raises(dpm_guidance_tilt_distance(dpm_test_mixture("ring8"), 0, 1.0, 20001, n, x, &w1, &ks), GSL_EBADLEN,
                "1-D");
  dpm_denoiser_free(cfg);
  dpm_denoiser_free(dc);
  dpm_denoiser_free(base);
  gsl_rng_free(r);
  dpm_mixture_sample_free(ws);
  free(x);
  dpm_mixture_free(cond);
  dpm_mixture_free(mix);
}

/* Autoguidance: the weak model q_0 * N(0, v I) has at (m, s) the score of q_0 at (m, sqrt(s^2 + m^2 v)); keep
 * drops the lightest components; the combination is (1 + w) main - w guide. */
static void test_autoguidance(void **state)
{
  (void)state;
  dpm_mixture *mix = mix3(), *weak = dpm_guidance_weak_mixture(mix, 0.3, 0),
              *top = dpm_guidance_weak_mixture(mix, 0, 2);
  assert_non_null(weak);
  assert_int_equal(top->K, 2);
  assert_close(top->mu[0], 1.5, 0, 0); /* weights 0.5, 0.3 kept, renormalised */
  assert_close(top->w[1], 0.375, 1e-15, 0);
  dpm_oracle *ow = dpm_oracle_alloc(weak), *o = dpm_oracle_alloc(mix);
  const double m = 0.8, s = 0.5, s2 = sqrt(s * s + m * m * 0.3);
  double a[NXS], b[NXS];
  dpm_oracle_result ra = {.score = a}, rb = {.score = b};
  assert_int_equal(dpm_oracle_eval(ow, m, s, NXS, XS, &ra), 0);
  assert_int_equal(dpm_oracle_eval(o, m, s2, NXS, XS, &rb), 0);
  for (size_t i = 0; i < NXS; i++)
    assert_close(a[i], b[i], 1e-12, 1e-14);
  dpm_denoiser *dm = dpm_denoiser_oracle_alloc(mix), *dw = dpm_denoiser_oracle_alloc(weak);
  dpm_denoiser *g = dpm_guidance_combine_alloc(dm, dw, 1.5);
  double e[NXS], em[NXS], ew[NXS];
  assert_int_equal(dpm_denoiser_eval(g, m, s, NXS, XS, e, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(dm, m, s, NXS, XS, em, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(dw, m, s, NXS, XS, ew, NULL, NULL), 0);
  for (size_t i = 0; i < NXS; i++)
    assert_close(e[i], 2.5 * em[i] - 1.5 * ew[i], 1e-14, 1e-14);
  assert_raises_null(dpm_guidance_weak_mixture(mix, -1.0, 0), "extra variance");
  dpm_denoiser_free(g);
  dpm_denoiser_free(dm);
  dpm_denoiser_free(dw);
  dpm_oracle_free(ow);
  dpm_oracle_free(o);
  dpm_mixture_free(top);
  dpm_mixture_free(weak);
  dpm_mixture_free(mix);
}

/* Energies: gradients against central differences (error O(h^2) ~ 1e-10 relative); energy guidance at the
 * posterior mean (DPS form). */
static void test_energy(void **state)
{
  (void)state;
  dpm_mixture *mix = mix3();
  const double c = 0.3;
  dpm_energy_quadratic q = {&c, 0.7};
  dpm_energy_mixture *em = dpm_energy_mixture_alloc(mix);
  assert_non_null(em);
  for (size_t i = 0; i < NXS; i++) {
    double v, g, vp, vm, h = 1e-5, xp = XS[i] + h, xm = XS[i] - h;
    assert_int_equal(dpm_energy_quadratic_fn(&q, 1, XS + i, &v, &g), 0);
    assert_close(v, 0.5 * (XS[i] - c) * (XS[i] - c) / 0.49, 1e-15, 0);
    assert_close(g, (XS[i] - c) / 0.49, 1e-15, 0);
    assert_int_equal(dpm_energy_mixture_fn(em, 1, XS + i, &v, &g), 0);
    assert_int_equal(dpm_energy_mixture_fn(em, 1, &xp, &vp, NULL), 0);
    assert_int_equal(dpm_energy_mixture_fn(em, 1, &xm, &vm, NULL), 0);
    assert_close(g, (vp - vm) / (2 * h), 1e-7, 1e-8);
  }
  /* the guided eps: eps + w (m/s) Cov[x0|x] grad E(x0-hat), with (m/s^2) Cov = d x0-hat/dx checked by central
   * differences, and at s -> 0 the score of p e^{-wE}: score - w grad E(x) up to O(s^2) */
  dpm_denoiser *base = dpm_denoiser_oracle_alloc(mix),
               *g = dpm_guidance_energy_alloc(base, mix, dpm_energy_quadratic_fn, &q, 2.0);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  const double ms[][2] = {{0.9, 0.4}, {1.0, 1e-3}};
  for (size_t k = 0; k < 2; k++) {
    const double m = ms[k][0], s = ms[k][1];
    double e[NXS], eb[NXS], sc[NXS], sb[NXS], x0[NXS], cv[NXS];
    assert_int_equal(dpm_denoiser_eval(g, m, s, NXS, XS, e, NULL, sc), 0);
    assert_int_equal(dpm_denoiser_eval(base, m, s, NXS, XS, eb, NULL, sb), 0);
    dpm_oracle_result res = {.x0 = x0, .cov = cv};
    assert_int_equal(dpm_oracle_eval(o, m, s, NXS, XS, &res), 0);
    for (size_t i = 0; i < NXS; i++) {
      assert_close(e[i], eb[i] + 2.0 * (m / s) * cv[i] * (x0[i] - c) / 0.49, 1e-13, 1e-13);
      if (k == 1) { /* near data: the tilted law's score; components' sd >= 0.5, so O((s/0.5)^2) ~ 4e-6 */
        assert_close(sc[i], sb[i] - 2.0 * (XS[i] - c) / 0.49, 1e-5, 1e-5);
        continue;
      }
      double xp = XS[i] + 1e-5, xm = XS[i] - 1e-5, ap, am;
      dpm_oracle_result rp = {.x0 = &ap}, rm = {.x0 = &am};
      assert_int_equal(dpm_oracle_eval(o, m, s, 1, &xp, &rp), 0);
      assert_int_equal(dpm_oracle_eval(o, m, s, 1, &xm, &rm), 0);
      assert_close((ap - am) / 2e-5, m / (s * s) * cv[i], 1e-6, 1e-8);
    }
  }
  dpm_oracle_free(o);
  assert_raises_null(dpm_energy_mixture_alloc(dpm_test_mixture("sample:of=gmm1d,n=5")), "point mass");
  dpm_denoiser_free(g);
  dpm_denoiser_free(base);
  dpm_energy_mixture_free(em);
  dpm_mixture_free(mix);
}

/* The tilted mixture is p e^{-wE} / Z: log p_w(x) - log p(x) + w E(x) is one constant at every point (a full
 * covariance in 2-D, an isotropic and a diagonal one, and the 1-D mixture), to rounding. */
static void test_tilt_quadratic(void **state)
{
  (void)state;
  dpm_mixture *m2 = dpm_data_load_json_string(
                  "{\"weights\": [0.4, 0.35, 0.25], \"means\": [[0, 0], [2, 1], [-1, 2]], "
                  "\"covariances\": [[[1, 0.5], [0.5, 2]], 0.3, [0.2, 0.6]]}",
                  "m2"),
              *m1 = mix3();
  const double c2[2] = {0.5, -0.5}, c1 = 1.0, P2[][2] = {{0, 0}, {1.5, 0.3}, {-2, 2}, {3, -1}};
  dpm_mixture *t2 = dpm_guidance_tilt_quadratic(m2, c2, 0.8, 1.7),
              *t1 = dpm_guidance_tilt_quadratic(m1, &c1, 0.5, 2.0);
  assert_non_null(t2);
  assert_non_null(t1);
  dpm_energy_mixture *e2 = dpm_energy_mixture_alloc(m2), *f2 = dpm_energy_mixture_alloc(t2),
                     *e1 = dpm_energy_mixture_alloc(m1), *f1 = dpm_energy_mixture_alloc(t1);
  dpm_energy_quadratic q2 = {c2, 0.8}, q1 = {&c1, 0.5};
  double k2 = NAN, k1 = NAN;
  for (size_t i = 0; i < 4; i++) {
    double a, b, e;
    assert_int_equal(dpm_energy_mixture_fn(e2, 2, P2[i], &a, NULL), 0);
    assert_int_equal(dpm_energy_mixture_fn(f2, 2, P2[i], &b, NULL), 0);
    assert_int_equal(dpm_energy_quadratic_fn(&q2, 2, P2[i], &e, NULL), 0);
    const double v2 = -b + a + 1.7 * e; /* log p_w - log p + w E */
    if (i) assert_close(v2, k2, 1e-12, 1e-12);
    k2 = v2;
    assert_int_equal(dpm_energy_mixture_fn(e1, 1, XS + i, &a, NULL), 0);
    assert_int_equal(dpm_energy_mixture_fn(f1, 1, XS + i, &b, NULL), 0);
    assert_int_equal(dpm_energy_quadratic_fn(&q1, 1, XS + i, &e, NULL), 0);
    const double v1 = -b + a + 2.0 * e;
    if (i) assert_close(v1, k1, 1e-12, 1e-12);
    k1 = v1;
  }
  assert_raises_null(dpm_guidance_tilt_quadratic(m1, &c1, 0.0, 1.0), "tau");
  dpm_energy_mixture_free(e2);
  dpm_energy_mixture_free(f2);
  dpm_energy_mixture_free(e1);
  dpm_energy_mixture_free(f1);
  dpm_mixture_free(t2);
  dpm_mixture_free(t1);
  dpm_mixture_free(m2);
  dpm_mixture_free(m1);
}

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = mix3(), *unl = dpm_test_mixture("gauss:d=1");
  dpm_denoiser *base = dpm_denoiser_oracle_alloc(mix);
  assert_raises_null(dpm_guidance_classifier_alloc(base, mix, 2, 1.0), "class 2");
  assert_raises_null(dpm_guidance_classifier_alloc(base, mix, 0, NAN), "not finite");
  assert_raises_null(dpm_guidance_classifier_alloc(base, unl, 0, 1.0), "no class labels");
  assert_raises_null(dpm_guidance_class_mixture(unl, 0), "no class labels");
  assert_raises_null(dpm_guidance_combine_alloc(base, NULL, 1.0), "NULL");
  dpm_denoiser_free(base);
  dpm_mixture_free(unl);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classifier_w1_is_conditional),
      cmocka_unit_test(test_classifier_draws_conditional),
      cmocka_unit_test(test_cfg_tilt),
      cmocka_unit_test(test_autoguidance),
      cmocka_unit_test(test_energy),
      cmocka_unit_test(test_tilt_quadratic),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests_name("guidance", tests, NULL, NULL);
}
