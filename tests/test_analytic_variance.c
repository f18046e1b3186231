/* test_analytic_variance.c — the Analytic-DPM reverse step (Bao et al. ICLR 2022, Thms 1-2; docs/MATH.md §3):
 * sigma*^2 and its bounds against the literal formulas, sub-sequence vs per-step coefficients, the ELBO terms and
 * the negative ELBO against closed forms for Gaussian data and the entropy, the box bound, the diagonal
 * covariance, the variance choices, and every error path. Tolerances as stated in test_analytic_common.h. */
#include "test_analytic_common.h"

/* ---- one step: literal formulas, bounds, sub-sequence vs per-step
 * ----------------------------------------------- */

/* sigma*^2 against docs/MATH.md §3 literally: lambda^2 + (sqrt(bbar_n/alpha_n) - sqrt(bbar_{n-1} - lambda^2))^2
 * (1 - Gamma) and, for eta = 1, the DDPM form (beta/alpha)(1 - (beta/bbar) Gamma); then the bounds for every n,
 * linear and cosine, several eta. The literal difference of square roots a - b loses (a + b)/(a - b) digits, so
 * it is compared at 16 EPS (1 + 2 (a + b)/(a - b)) relative. Bounds: sigma*^2 in [lambda^2, lambda^2 + coef2]
 * holds iff 0 <= Gamma <= 1, allowed to fail by the quadrature error times coef2. */
static void test_sigma2_formulas_and_bounds(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const size_t N = 1000;
  dpm_schedule *schs[2] = {dpm_schedule_linear_alloc(N, 1e-4, 0.02), dpm_schedule_cosine_alloc(N)};
  const double etas[] = {0.0, 0.3, 0.7, 1.0};
  double *g = vec(N + 1), *ge = vec(N + 1);
  for (int c = 0; c < 2; c++) {
    const dpm_schedule *sch = schs[c];
    assert_non_null(sch);
    quad_gamma(mix, sch, g, ge);
    for (size_t e = 0; e < sizeof etas / sizeof etas[0]; e++) {
      const double eta = etas[e];
      for (size_t n = 1; n <= N; n++) {
        dpm_analytic_step st;
        assert_int_equal(dpm_analytic_step_n(sch, n, eta, &st), 0);
        const double lam2 = eta * eta * sch->beta_tilde[n];
        const double a = sqrt(sch->beta_bar[n] / sch->alpha[n]), b = sqrt(sch->beta_bar[n - 1] - lam2);
        const double lit = lam2 + (a - b) * (a - b) * (1.0 - g[n]);
        const double opt = dpm_analytic_sigma2_opt(&st, g[n]);
        assert_close(opt, lit, 16 * EPS * (1 + 2 * (a + b) / (a - b)), 0);
        if (eta == 1.0) {
          const double ddpm = sch->beta[n] / sch->alpha[n] * (1 - sch->beta[n] / sch->beta_bar[n] * g[n]);
          /* 1 - (beta/bbar) Gamma cancels by at most a factor 1/(1 - Gamma beta/bbar) */
          assert_close(opt, ddpm, 16 * EPS / (1 - g[n] * sch->beta[n] / sch->beta_bar[n]), 0);
        }
        const double lo = dpm_analytic_sigma2_lower(&st), hi = dpm_analytic_sigma2_upper(&st);
        assert_close(lo, lam2, 4 * EPS, 0);
        const double slack = st.coef2 * ge[n] + 4 * EPS * hi;
        assert_true(opt >= lo - slack);
        assert_true(opt <= hi + slack);
        /* clipping: an estimate outside the bounds lands on them, inside it is kept */
        assert_true(dpm_analytic_sigma2_clip(&st, -1.0, HUGE_VAL) == lo);
        assert_true(dpm_analytic_sigma2_clip(&st, 2.0 * hi + 1.0, HUGE_VAL) == hi);
        assert_true(dpm_analytic_sigma2_clip(&st, 0.5 * (lo + hi), HUGE_VAL) == 0.5 * (lo + hi));
        assert_true(isnan(dpm_analytic_sigma2_clip(&st, NAN, HUGE_VAL)));
      }
    }
  }
  free(g);
  free(ge);
  dpm_schedule_free(schs[0]);
  dpm_schedule_free(schs[1]);
  dpm_mixture_free(mix);
}

/* With K = N the sub-sequence route (beta_{t|s} = -expm1(log abar_t - log abar_s)) equals the per-step route
 * (beta_n from the schedule). log abar_t is a running sum, so log abar_t - log abar_{t-1} carries an absolute
 * rounding error <= 2 EPS (|log abar_t| + 1); through expm1 that is a relative error of
 * 2 EPS (1 + |log abar_t|)/beta_t in beta_{t|s}, inherited by every coefficient up to a small factor: compare at
 * 32 EPS (1 + |log abar_n|/beta_n), plus the per-step route's own cancellation bbar_{n-1}/(bbar_{n-1} - lambda^2)
 * (<= 1e-11 for these schedules). */
static void test_subsequence_equals_per_step(void **state)
{
  (void)state;
  const size_t N = 1000;
  dpm_schedule *schs[2] = {dpm_schedule_linear_alloc(N, 1e-4, 0.02), dpm_schedule_cosine_alloc(N)};
  const double etas[] = {0.0, 0.5, 1.0};
  for (int c = 0; c < 2; c++) {
    const dpm_schedule *sch = schs[c];
    for (size_t e = 0; e < 3; e++)
      for (size_t n = 1; n <= N; n++) {
        dpm_analytic_step a, b;
        assert_int_equal(dpm_analytic_step_n(sch, n, etas[e], &a), 0);
        assert_int_equal(dpm_analytic_step_ts(sch, n - 1, n, etas[e], &b), 0);
        /* plus the per-step route's own cancellation in rem = bbar_{n-1} - lambda^2 */
        const double rem = sch->beta_bar[n - 1] - etas[e] * etas[e] * sch->beta_tilde[n];
        const double tol =
            32 * EPS *
            (1 + fabs(sch->log_alpha_bar[n]) / sch->beta[n] + (n > 1 ? sch->beta_bar[n - 1] / rem : 0.0));
        assert_true(tol < 1e-11);
        assert_close(b.beta_ts, a.beta_ts, tol, 0);
        assert_close(b.alpha_ts, a.alpha_ts, tol, 0);
        assert_close(b.lambda2, a.lambda2, tol, 0);
        assert_close(b.c0, a.c0, tol, 0);
        assert_close(b.cx, a.cx, tol, 1e-300);
        assert_close(b.coef2, a.coef2, tol, 0);
        assert_close(dpm_analytic_sigma2_opt(&b, 0.3), dpm_analytic_sigma2_opt(&a, 0.3), tol, 0);
      }
  }
  dpm_schedule_free(schs[0]);
  dpm_schedule_free(schs[1]);
}

/* sigma*^2 minimises the step's ELBO term and the minimum is (d/2) log(sigma*^2/lambda^2) (decoder:
 * (d/2)(log(2 pi sigma*^2) + 1)). With v = sigma^2, L(v) = (d/2)[log v + (lambda^2 + A)/v] + const, so at
 * v* = lambda^2 + A: L' = 0, L'' = (d/2)/v*^2, L''' = -+4 (d/2)/v*^3, L'''' = 18 (d/2)/v*^4 (decoder the same
 * up to sign). Central differences with h = delta v*:
 *   first derivative, scaled by v* /(d/2): truncation (2/3) delta^2, rounding e_L/((d/2) delta);
 *   second derivative, scaled by v*^2/(d/2), must be 1: truncation 1.5 delta^2, rounding 4 e_L/((d/2) delta^2);
 * with e_L = 8 EPS (d/2)(2 + A/lambda^2) the rounding of one evaluation (terms of size 1 and A/lambda^2). */
static void test_opt_variance_minimises_term(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_ring(3, 2.0, 0.04);
  const size_t N = 1000, d = 2;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  assert_non_null(q);
  const size_t ns[] = {1, 2, 10, 100, 400, 1000};
  const double etas[] = {0.2, 1.0};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    const size_t n = ns[i];
    double g, ge;
    assert_int_equal(dpm_analytic_gamma_quad_eval(q, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), &g, &ge), 0);
    for (size_t e = 0; e < 2; e++) {
      dpm_analytic_step st;
      assert_int_equal(dpm_analytic_step_n(sch, n, etas[e], &st), 0);
      const double v = dpm_analytic_sigma2_opt(&st, g), hd = 0.5 * (double)d;
      const double A = v - st.lambda2, rel = n == 1 ? 0.0 : A / st.lambda2;
      const double eL = 8 * EPS * hd * (2 + rel + fabs(log(v)));
      const double d1 = 1e-4, h1 = d1 * v, d2 = 1e-3, h2 = d2 * v;
      const double D1 =
          (dpm_analytic_step_term(&st, d, g, v + h1) - dpm_analytic_step_term(&st, d, g, v - h1)) / (2 * h1);
      assert_close(D1 * v / hd, 0.0, 0, (2.0 / 3.0) * d1 * d1 + eL / (hd * d1));
      const double L0 = dpm_analytic_step_term(&st, d, g, v);
      const double D2 =
          (dpm_analytic_step_term(&st, d, g, v + h2) - 2 * L0 + dpm_analytic_step_term(&st, d, g, v - h2)) /
          (h2 * h2);
      assert_close(D2 * v * v / hd, 1.0, 0, 1.5 * d2 * d2 + 4 * eL / (hd * d2 * d2));
      assert_true(D2 > 0);
      if (n == 1) {
        assert_close(L0, hd * (log(2 * M_PI * v) + 1), 0, eL);
      } else {
        /* (d/2) log(v* /lambda^2): the computed form -log1p(-A/v*) agrees to a few EPS (1 + A/lambda^2) */
        assert_close(L0, hd * log(v / st.lambda2), 0, eL);
        assert_true(L0 >= 0);
      }
      /* and it is below the DDPM choices beta and beta~ (the minimum) */
      if (n > 1) {
        assert_true(L0 <= dpm_analytic_step_term(&st, d, g, st.beta_ts) + eL);
        assert_true(L0 <= dpm_analytic_step_term(&st, d, g, st.beta_tilde_ts) + eL);
      }
    }
  }
  dpm_analytic_gamma_quad_free(q);
  dpm_schedule_free(sch);
  dpm_mixture_free(mix);
}

/* ---- ELBO
 * ------------------------------------------------------------------------------------------------------- */

/* Gaussian data N(mu, v I), eta = 1: the forward chain is Markov (so is its restriction to any trajectory) and
 * every reverse transition q(x_s | x_t) is Gaussian with a constant isotropic covariance, so the optimal Gaussian
 * model reproduces it exactly and the ELBO gap is the prior mismatch alone: nelbo - H =
 * KL(N(sqrt(abar_T) mu, c I) || N(0, I)), c = abar_T v + bbar_T, for any trajectory, with H = (d/2) log(2 pi e v).
 * Closed-form Gamma (no quadrature). Compared to 1e-10 relative to the largest term (sums of <= 100 terms of size
 * <= 10^2, each to a few EPS). The per-step table sums to the K = N ELBO. */
static void test_elbo_gaussian_exact(void **state)
{
  (void)state;
  const size_t d = 2, N = 100;
  const double mu[2] = {0.8, -0.3}, var[2] = {0.5, 0.5};
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-3, 0.05);
  double *g = vec(N + 1);
  g[0] = NAN;
  for (size_t n = 1; n <= N; n++)
    g[n] = gauss_gamma(d, var, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]));
  const double e2 = mu[0] * mu[0] + mu[1] * mu[1] + 2 * var[0];
  const double H = 0.5 * (double)d * log(2 * M_PI * M_E * var[0]);
  const double abT = sch->alpha_bar[N], c = abT * var[0] + sch->beta_bar[N];
  const double kl_prior =
      0.5 * ((double)d * c + abT * (mu[0] * mu[0] + mu[1] * mu[1]) - (double)d - (double)d * log(c));
  assert_true(kl_prior > 1e-3); /* the test has teeth: the prior mismatch is visible */
  size_t tauN[100], tau10[10];
  for (size_t k = 0; k < N; k++)
    tauN[k] = k + 1;
  assert_int_equal(dpm_schedule_subsequence(sch, "quadratic", 10, tau10), 0);
  const double etas[] = {1.0, 0.4};
  for (int e = 0; e < 2; e++) {
    dpm_analytic_model mod = {d, etas[e], e2, g, NULL, NULL, NULL, NULL, NULL, NULL};
    dpm_elbo_result r, r10, rb;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, N, tauN, H, 0.0, &r, NULL), 0);
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 10, tau10, H, 0.0, &r10, NULL), 0);
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_BETA, 10, tau10, H, 0.0, &rb, NULL), 0);
    /* the prior term is E KL(q(x_T|x_0) || N(0, I)), at least the marginal mismatch */
    const double bT = sch->beta_bar[N];
    assert_close(r.prior, 0.5 * ((double)d * bT + abT * e2 - (double)d - (double)d * log(bT)), 1e-13, 0);
    assert_true(r.prior > kl_prior);
    const double tol = 1e-10 * (fabs(r.transitions) + fabs(r.decoder) + 1);
    if (etas[e] == 1.0) {
      assert_close(r.gap, kl_prior, 0, tol);
      assert_close(r10.gap, kl_prior, 0, tol);
    } else {
      /* eta < 1: the forward process is not Markov in reverse, the Markov model cannot match its joint, and the
       * gap KL(q_eta(x_{0:N}) || p) only exceeds the prior mismatch (data processing to x_N) */
      assert_true(r.gap > kl_prior + tol);
      assert_true(r10.gap > kl_prior + tol);
    }
    /* the fixed variances are worse */
    assert_true(rb.gap > r10.gap + tol);
  }
  /* table (eta = 1): sum_n L_x[n] + prior equals the K = N ELBO of the same choice */
  dpm_analytic_model mod = {d, 1.0, e2, g, NULL, NULL, NULL, NULL, NULL, NULL};
  double *Lb = vec(N + 1), *Lt = vec(N + 1), *Lo = vec(N + 1), *Lc = vec(N + 1);
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  tab.L_beta = Lb;
  tab.L_betatilde = Lt;
  tab.L_opt = Lo;
  tab.L_clipped = Lc;
  assert_int_equal(dpm_analytic_table_fill(sch, &mod, &tab), 0);
  const dpm_variance_kind kinds[4] = {DPM_VAR_BETA, DPM_VAR_BETA_TILDE, DPM_VAR_OPT, DPM_VAR_CLIPPED};
  double *cols[4] = {Lb, Lt, Lo, Lc};
  for (int k = 0; k < 4; k++) {
    dpm_elbo_result r;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, kinds[k], N, tauN, H, 0.0, &r, NULL), 0);
    double sum = dpm_analytic_prior_kl(sch, N, d, e2), mag = fabs(sum);
    for (size_t n = 1; n <= N; n++) {
      sum += cols[k][n];
      mag += fabs(cols[k][n]);
    }
    /* the two routes differ by per-step vs sub-sequence rounding (see test_subsequence_equals_per_step) */
    assert_close(r.nelbo, sum, 0, 1e-11 * mag);
    assert_true(isnan(cols[k][0]));
  }
  free(Lb);
  free(Lt);
  free(Lo);
  free(Lc);
  free(g);
  dpm_schedule_free(sch);
}

/* Negative ELBO >= H(q_0) (the gap is KL(q || p) >= 0) and the gap shrinks as N grows, on the 1-D bimodal
 * mixture with the cosine schedule (same continuous-time abar at any N) and the analytic variance, Gamma and H
 * by quadrature with propagated errors. The gap's decay between N = 100 and 1000 has slope ~1 in log-log (each
 * of N steps contributes O(1/N^2) of non-Gaussianity); asserted within [0.8, 1.2]. The entropy quadrature agrees
 * with Monte Carlo within K_SE se, and both with the closed form for a Gaussian. Per step, L_opt <= L_beta and
 * L_opt <= L_betatilde. */
static void test_elbo_bounds_entropy(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  double H, He, Hm, Hs, e2;
  assert_int_equal(dpm_mixture_entropy(mix, &H, &He), 0);
  assert_int_equal(dpm_mixture_entropy_mc(mix, 100000, 5, &Hm, &Hs), 0);
  assert_true(He < 1e-8);
  assert_within_se(Hm, Hs, H, K_SE);
  dpm_mixture_moments(mix, NULL, NULL, &e2);
  const size_t Ns[3] = {10, 100, 1000};
  double gap[3], gerr[3];
  for (int i = 0; i < 3; i++) {
    const size_t N = Ns[i];
    dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
    double *g = vec(N + 1), *ge = vec(N + 1);
    size_t *tau = malloc(N * sizeof(size_t));
    assert_non_null(tau);
    quad_gamma(mix, sch, g, ge);
    for (size_t k = 0; k < N; k++)
      tau[k] = k + 1;
    dpm_analytic_model mod = {1, 1.0, e2, g, ge, NULL, NULL, NULL, NULL, NULL};
    dpm_elbo_result r;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, N, tau, H, He, &r, NULL), 0);
    assert_true(r.gap >= -r.gap_err);
    gap[i] = r.gap;
    gerr[i] = r.gap_err;
    double *Lb = vec(N + 1), *Lt = vec(N + 1), *Lo = vec(N + 1);
    dpm_analytic_table tab;
    memset(&tab, 0, sizeof tab);
    tab.L_beta = Lb;
    tab.L_betatilde = Lt;
    tab.L_opt = Lo;
    assert_int_equal(dpm_analytic_table_fill(sch, &mod, &tab), 0);
    for (size_t n = 1; n <= N; n++) {
      const double tol = 1e-12 * (1 + fabs(Lo[n]));
      assert_true(Lo[n] <= Lb[n] + tol);
      assert_true(Lo[n] <= Lt[n] + tol);
    }
    free(Lb);
    free(Lt);
    free(Lo);
    free(tau);
    free(g);
    free(ge);
    dpm_schedule_free(sch);
  }
  assert_true(gap[0] - gerr[0] > gap[1] + gerr[1]);
  assert_true(gap[1] - gerr[1] > gap[2] + gerr[2]);
  assert_true(gap[2] - gerr[2] > 0);
  const double slope = log10(gap[1] / gap[2]);
  assert_true(slope > 0.8 && slope < 1.2);
  /* the entropy of a Gaussian in closed form, quadrature (d = 2) and Monte Carlo (d = 3) */
  const double mu[3] = {0.1, 0.2, -0.3}, var[3] = {0.5, 2.0, 0.3};
  dpm_mixture *g2 = mix_gauss(2, mu, var), *g3 = mix_gauss(3, mu, var);
  const double H2 = 0.5 * (log(2 * M_PI * M_E * var[0]) + log(2 * M_PI * M_E * var[1]));
  const double H3 = H2 + 0.5 * log(2 * M_PI * M_E * var[2]);
  assert_int_equal(dpm_mixture_entropy(g2, &H, &He), 0);
  assert_close(H, H2, 0, He + 1e-13);
  assert_int_equal(dpm_mixture_entropy(g3, &H, &He), 0);
  assert_within_se(H, He, H3, K_SE);
  dpm_mixture_free(g2);
  dpm_mixture_free(g3);
  dpm_mixture_free(mix);
}

/* The bounded-data bound sigma*^2 <= lambda^2 + c0^2 r^2 holds for a point set with its exact hull (a theorem
 * for data in the box), every n and several eta (allowing the quadrature error times coef2), and clipping
 * respects it; for a Gaussian mixture's tail box it is reported and finite. */
static void test_box_bound(void **state)
{
  (void)state;
  const double pts[10] = {-1.0, 0.5, 0.3, 1.0, 0.9, -0.7, -0.2, -0.4, 1.1, 0.8};
  dpm_mixture *ps = mix_points(5, 2, pts);
  double lo[2], hi[2];
  dpm_mixture_box(ps, 0.0, lo, hi);
  assert_close(lo[0], -1.0, 0, 0);
  assert_close(hi[1], 1.0, 0, 0);
  const size_t N = 100;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-3, 0.2);
  double *g = vec(N + 1), *ge = vec(N + 1);
  quad_gamma(ps, sch, g, ge);
  const double etas[] = {0.0, 0.5, 1.0};
  int tighter = 0;
  for (int e = 0; e < 3; e++)
    for (size_t n = 1; n <= N; n++) {
      dpm_analytic_step st;
      assert_int_equal(dpm_analytic_step_n(sch, n, etas[e], &st), 0);
      const double ub = dpm_analytic_sigma2_upper_box(&st, 2, lo, hi), opt = dpm_analytic_sigma2_opt(&st, g[n]);
      assert_true(opt <= ub + st.coef2 * ge[n] + 4 * EPS * ub);
      if (ub < dpm_analytic_sigma2_upper(&st)) tighter = 1;
      const double cl = dpm_analytic_sigma2_clip(&st, 1e9, ub);
      assert_true(cl == fmin(ub, dpm_analytic_sigma2_upper(&st)));
    }
  assert_true(tighter); /* the box bound is the tighter one somewhere (large n) */
  /* in the model: the clipped variance of an overestimate lands on the box bound */
  dpm_analytic_model mod = {2, 1.0, 1.0, g, NULL, NULL, lo, hi, NULL, NULL};
  double *ghat = vec(N + 1), *s2 = vec(N + 1), *ubx = vec(N + 1);
  for (size_t n = 1; n <= N; n++)
    ghat[n] = -5.0; /* sigma-hat^2 far above every bound */
  mod.gamma_hat = ghat;
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  tab.sigma2 = s2;
  tab.upper_box = ubx;
  assert_int_equal(dpm_analytic_table_fill(sch, &mod, &tab), 0);
  for (size_t n = 1; n <= N; n++) {
    dpm_analytic_step st;
    dpm_analytic_step_n(sch, n, 1.0, &st);
    assert_true(s2[n] == fmin(ubx[n], dpm_analytic_sigma2_upper(&st)));
  }
  dpm_mixture *mix = mix_bimodal();
  double blo, bhi;
  dpm_mixture_box(mix, 1e-6, &blo, &bhi);
  dpm_analytic_step st;
  dpm_analytic_step_n(sch, 100, 1.0, &st);
  assert_true(isfinite(dpm_analytic_sigma2_upper_box(&st, 1, &blo, &bhi)));
  dpm_mixture_free(mix);
  free(ghat);
  free(s2);
  free(ubx);
  free(g);
  free(ge);
  dpm_schedule_free(sch);
  dpm_mixture_free(ps);
}

/* ---- diagonal covariance ---------------------------------------------------------------------------------------
 */

/* The state-dependent diagonal variance averages (over q_t and coordinates) to the scalar sigma*^2: Monte Carlo
 * of mean_j sigma*(x)_j^2 with exact x ~ q_t, within K_SE se + coef2 times the quadrature error. The modes
 * overlap on purpose: a standard error is honest only when no rarely-visited region carries part of the mean;
 * with well separated modes Cov[x_0|x] is nearly constant except between the modes (probability < 1e-6 per
 * sample), which shifts the mean by more than the se computed from samples that never go there. For a diagonal
 * Gaussian it is constant and equals lambda^2 + c0^2 v_j s^2/(m^2 v_j + s^2) per coordinate (1e-12). */
static void test_diag_variance(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_ring(3, 1.0, 0.25);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-9);
  dpm_schedule *sch = dpm_schedule_linear_alloc(500, 1e-4, 0.03);
  gsl_rng *r = dpm_rng_stream_alloc(21, 0);
  const size_t M = 20000;
  double *x = vec(2 * M), *s2 = vec(2 * M), *v = vec(M);
  const size_t pairs[4][2] = {{0, 5}, {49, 50}, {100, 300}, {420, 500}};
  const double etas[] = {0.0, 1.0};
  for (int p = 0; p < 4; p++)
    for (int e = 0; e < 2; e++) {
      const size_t s = pairs[p][0], t = pairs[p][1];
      dpm_analytic_step st;
      assert_int_equal(dpm_analytic_step_ts(sch, s, t, etas[e], &st), 0);
      dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
      assert_int_equal(dpm_mixture_sample_t(mix, msw, r, sqrt(st.abar_t), sqrt(st.bbar_t), M, x, NULL, NULL), 0);
      dpm_mixture_sample_free(msw);
      assert_int_equal(dpm_analytic_diag_sigma2(o, sch, s, t, etas[e], M, x, s2), 0);
      for (size_t i = 0; i < M; i++)
        v[i] = 0.5 * (s2[2 * i] + s2[2 * i + 1]);
      double mean, se, g, ge;
      dpm_test_mean_se(v, M, &mean, &se);
      assert_int_equal(dpm_analytic_gamma_quad_eval(q, sqrt(st.abar_t), sqrt(st.bbar_t), &g, &ge), 0);
      assert_true(fabs(mean - dpm_analytic_sigma2_opt(&st, g)) <= K_SE * se + st.coef2 * ge);
    }
  const double mu[2] = {0.3, -0.2}, var[2] = {0.2, 1.5};
  dpm_mixture *gd = mix_gauss(2, mu, var);
  dpm_oracle *og = dpm_oracle_alloc(gd);
  dpm_analytic_step st;
  dpm_analytic_step_ts(sch, 100, 300, 0.5, &st);
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(gd);
  assert_int_equal(dpm_mixture_sample_t(gd, msw, r, sqrt(st.abar_t), sqrt(st.bbar_t), 10, x, NULL, NULL), 0);
  dpm_mixture_sample_free(msw);
  assert_int_equal(dpm_analytic_diag_sigma2(og, sch, 100, 300, 0.5, 10, x, s2), 0);
  for (size_t i = 0; i < 10; i++)
    for (size_t j = 0; j < 2; j++) {
      const double c = st.abar_t * var[j] + st.bbar_t;
      assert_close(s2[2 * i + j], st.lambda2 + st.c0 * st.c0 * var[j] * st.bbar_t / c, 1e-12, 0);
    }
  dpm_oracle_free(og);
  dpm_mixture_free(gd);
  free(x);
  free(s2);
  free(v);
  gsl_rng_free(r);
  dpm_schedule_free(sch);
  dpm_analytic_gamma_quad_free(q);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

/* Variance choices along a trajectory, against the step's own fields and the documented decoder conventions. */
static void test_variance_choices(void **state)
{
  (void)state;
  const size_t N = 50, K = 6;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-3, 0.05);
  double *g = vec(N + 1), s2[6];
  for (size_t n = 1; n <= N; n++)
    g[n] = 0.01 * (double)n / (double)N + 0.3;
  size_t tau[6];
  assert_int_equal(dpm_schedule_subsequence(sch, "even", K, tau), 0);
  dpm_analytic_model mod = {3, 0.6, 1.0, g, NULL, NULL, NULL, NULL, NULL, NULL};
  for (int v = 0; v <= (int)DPM_VAR_ZERO; v++) {
    dpm_variance_kind kind;
    assert_int_equal(dpm_variance_parse(dpm_variance_name((dpm_variance_kind)v), &kind), 0);
    assert_int_equal((int)kind, v);
    assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, kind, K, tau, s2), 0);
    for (size_t k = 0; k < K; k++) {
      dpm_analytic_step st, nx;
      dpm_analytic_step_ts(sch, k ? tau[k - 1] : 0, tau[k], 0.6, &st);
      dpm_analytic_step_ts(sch, tau[0], tau[1], 0.6, &nx);
      double want = 0.0;
      switch (kind) {
      case DPM_VAR_BETA:
        want = st.beta_ts;
        break;
      case DPM_VAR_BETA_TILDE:
        want = k ? st.beta_tilde_ts : nx.beta_tilde_ts;
        break;
      case DPM_VAR_OPT:
      case DPM_VAR_CLIPPED:
        want = st.lambda2 + st.coef2 * (1 - g[tau[k]]);
        break;
      case DPM_VAR_ZERO:
        want = 0.0;
        break;
      }
      assert_close(s2[k], want, 1e-15, 0);
    }
  }
  assert_true(tau[0] == 1);
  assert_close(s2[0], 0.0, 0, 0);
  /* decoder of beta: beta_{1|0} = bbar_1 = beta_1 */
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, K, tau, s2), 0);
  assert_close(s2[0], sch->beta[1], 1e-15, 0);
  /* eta = 0: the KL terms are infinite (lambda = 0), the ELBO refuses */
  dpm_analytic_step st;
  dpm_analytic_step_n(sch, 5, 0.0, &st);
  assert_true(dpm_analytic_step_term(&st, 1, 0.3, 0.01) == HUGE_VAL);
  assert_true(isnan(dpm_analytic_step_term(&st, 1, 0.3, -1.0)));
  /* a zero variance is an infinite KL, and a zero decoder variance an infinite NLL */
  dpm_analytic_model m1 = {3, 1.0, 1.0, g, NULL, NULL, NULL, NULL, NULL, NULL};
  dpm_elbo_result r;
  assert_int_equal(dpm_analytic_elbo(sch, &m1, DPM_VAR_ZERO, K, tau, NAN, NAN, &r, NULL), 0);
  assert_true(r.nelbo == HUGE_VAL);
  free(g);
  dpm_schedule_free(sch);
}

/* ---- the step term for any mean, by Monte Carlo --------------------------------------------------------- */

/* dpm_analytic_step_term_mse against its definition by an independent route, for Gaussian data q_0 = N(mu, v) in
 * 1-D (posterior N(mu + m v (x - m mu)/(m^2 v + s^2), v s^2/(m^2 v + s^2))) and an imperfect mean x0-hat =
 * E[x_0|x]
 * + b, whose x0mse is the posterior variance + b^2 exactly. The KL step t -> s: the sample mean of log q(x_s|x_t,
 * x_0) - log p(x_s|x_t) with x_0 ~ q_0, x_t ~ q(x_t|x_0), x_s ~ q(x_s|x_t, x_0) (a Monte Carlo of the KL itself,
 * not of the closed form); the decoder: the sample mean of -log N(x_0; x0-hat(x_t), sigma2). Within K_SE standard
 * errors (M = 200000, fixed seed); at sigma2 = x0mse the decoder equals (1/2)(log(2 pi x0mse) + 1) to rounding. */
static void test_step_term_mse_monte_carlo(void **state)
{
  (void)state;
  const double mu = 0.5, v = 0.8, b = 0.1;
  dpm_schedule *sch = dpm_schedule_alloc_by_name("linear", 100);
  assert_non_null(sch);
  gsl_rng *r = dpm_rng_stream_alloc(21, 0);
  assert_non_null(r);
  const size_t M = 200000;
  double *L = vec(M);
  const size_t cases[2][2] = {{30, 40}, {0, 5}};
  for (size_t c = 0; c < 2; c++) {
    dpm_analytic_step st;
    assert_int_equal(dpm_analytic_step_ts(sch, cases[c][0], cases[c][1], 1.0, &st), 0);
    const double m = sqrt(st.abar_t), s = sqrt(st.bbar_t), C = m * m * v + s * s;
    const double x0mse = v * s * s / C + b * b;
    const double sigma2 = c == 0 ? 1.3 * st.lambda2 + st.coef2 * 0.2 : 0.7 * x0mse;
    for (size_t i = 0; i < M; i++) {
      const double x0 = mu + sqrt(v) * gsl_ran_gaussian(r, 1.0);
      const double xt = m * x0 + s * gsl_ran_gaussian(r, 1.0);
      const double x0hat = mu + m * v * (xt - m * mu) / C + b;
      if (c == 0) {
        const double mtil = st.c0 * x0 + st.cx * xt, mhat = st.c0 * x0hat + st.cx * xt;
        const double xs = mtil + sqrt(st.lambda2) * gsl_ran_gaussian(r, 1.0);
        const double a = xs - mtil, e = xs - mhat;
        L[i] = -0.5 * log(st.lambda2) - 0.5 * a * a / st.lambda2 + 0.5 * log(sigma2) + 0.5 * e * e / sigma2;
      } else {
        const double e = x0 - x0hat;
        L[i] = 0.5 * log(2.0 * M_PI * sigma2) + 0.5 * e * e / sigma2;
      }
    }
    double mean, se;
    dpm_test_mean_se(L, M, &mean, &se);
    assert_within_se(mean, se, dpm_analytic_step_term_mse(&st, 1, x0mse, sigma2), K_SE);
    if (c == 1)
      assert_close(dpm_analytic_step_term_mse(&st, 1, x0mse, x0mse), 0.5 * (log(2.0 * M_PI * x0mse) + 1.0),
                   8 * EPS, 0.0);
  }
  free(L);
  gsl_rng_free(r);
  dpm_schedule_free(sch);
}

/* ---- errors
 * ----------------------------------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const double pts[2] = {0.0, 1.0};
  dpm_mixture *ps = mix_points(2, 1, pts);
  const double mu3[3] = {0, 0, 0}, v3[3] = {1, 1, 1};
  dpm_mixture *g3 = mix_gauss(3, mu3, v3);
  dpm_schedule *sch = dpm_schedule_linear_alloc(20, 1e-3, 0.1);
  double g[21], se[21], m1[2] = {1.0, 0.5}, s1[2] = {0.0, 0.5};
  for (int i = 0; i <= 20; i++)
    g[i] = 0.5;
  g[0] = NAN;
  /* Gamma MC */
  assert_raises_null(dpm_analytic_gamma_mc_alloc(NULL, 10), NULL);
  assert_raises_null(dpm_analytic_gamma_mc_alloc(mix, 1), NULL);
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, 10);
  assert_non_null(w);
  assert_raises(dpm_analytic_gamma_mc_schedule(w, NULL, 0, g, se), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_gamma_mc_ms(w, 2, m1, s1, 0, g, se), GSL_EDOM, NULL);
  assert_raises(dpm_analytic_gamma_mc_ms(w, 2, NULL, s1, 0, g, se), GSL_EINVAL, NULL);
  dpm_denoiser *d3 = dpm_denoiser_oracle_alloc(g3);
  assert_raises(dpm_analytic_gamma_mc_denoiser(w, d3, sch, 0, g, se, NULL, NULL), GSL_EBADLEN, NULL);
  assert_raises(dpm_analytic_gamma_mc_denoiser(w, NULL, sch, 0, g, se, NULL, NULL), GSL_EINVAL, NULL);
  dpm_analytic_gamma_mc_free(w);
  dpm_analytic_gamma_mc_free(NULL);
  /* quadrature */
  assert_raises_null(dpm_analytic_gamma_quad_alloc(g3, 1e-8), NULL);
  assert_raises_null(dpm_analytic_gamma_quad_alloc(mix, 0.0), NULL);
  assert_raises_null(dpm_analytic_gamma_quad_alloc(NULL, 1e-8), NULL);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-8);
  double gv;
  assert_raises(dpm_analytic_gamma_quad_eval(q, 1.0, 0.0, &gv, NULL), GSL_EDOM, NULL);
  assert_raises(dpm_analytic_gamma_quad_eval(q, NAN, 0.5, &gv, NULL), GSL_EDOM, NULL);
  assert_raises(dpm_analytic_gamma_quad_schedule(q, NULL, g, NULL), GSL_EINVAL, NULL);
  dpm_analytic_gamma_quad_free(q);
  dpm_analytic_gamma_quad_free(NULL);
  /* steps */
  dpm_analytic_step st;
  assert_raises(dpm_analytic_step_n(sch, 0, 1.0, &st), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_step_n(sch, 21, 1.0, &st), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_step_n(sch, 3, -0.1, &st), GSL_EDOM, NULL);
  assert_raises(dpm_analytic_step_n(sch, 3, 1.5, &st), GSL_EDOM, NULL);
  assert_raises(dpm_analytic_step_n(NULL, 3, 1.0, &st), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_step_ts(sch, 5, 5, 1.0, &st), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_step_ts(sch, 5, 21, 1.0, &st), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_step_ts(sch, 1, 5, NAN, &st), GSL_EDOM, NULL);
  assert_true(isnan(dpm_analytic_prior_kl(sch, 21, 1, 1.0)));
  assert_true(isnan(dpm_analytic_cost(sch, g, DPM_COST_J, 0, 5)));
  assert_true(isnan(dpm_analytic_cost(sch, g, DPM_COST_J, 5, 5)));
  assert_true(isnan(dpm_analytic_cost(sch, g, (dpm_cost_kind)7, 1, 5)));
  dpm_analytic_step_n(sch, 3, 1.0, &st);
  assert_true(isnan(dpm_analytic_sigma2_upper_box(&st, 1, NULL, NULL)));
  /* variance choices, trajectories, ELBO, table */
  dpm_variance_kind vk;
  assert_raises(dpm_variance_parse("fancy", &vk), GSL_EINVAL, NULL);
  assert_raises(dpm_variance_parse(NULL, &vk), GSL_EINVAL, NULL);
  assert_string_equal(dpm_variance_name((dpm_variance_kind)99), "unknown");
  size_t bad1[3] = {0, 3, 5}, bad2[3] = {1, 5, 5}, bad3[3] = {1, 5, 25}, ok[3] = {1, 8, 20};
  assert_raises(dpm_analytic_check_traj(sch, 0, ok), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_check_traj(sch, 3, bad1), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_check_traj(sch, 3, bad2), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_check_traj(sch, 3, bad3), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_check_traj(sch, 3, NULL), GSL_EINVAL, NULL);
  double s2[3];
  dpm_analytic_model mod = {1, 1.0, 1.0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  assert_raises(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_OPT, 3, ok, s2), GSL_EINVAL, NULL);
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, 3, ok, s2), 0);
  assert_raises(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, 3, ok, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_sigma2_traj(sch, NULL, DPM_VAR_BETA, 3, ok, s2), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_sigma2_traj(sch, &mod, (dpm_variance_kind)9, 3, ok, s2), GSL_EINVAL, NULL);
  mod.eta = 2.0;
  assert_raises(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_BETA, 3, ok, s2), GSL_EDOM, NULL);
  mod.gamma = g;
  mod.eta = 0.0;
  dpm_elbo_result res;
  assert_raises(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, ok, NAN, NAN, &res, NULL), GSL_EDOM, NULL);
  mod.eta = 1.0;
  assert_raises(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, ok, NAN, NAN, NULL, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, bad2, NAN, NAN, &res, NULL), GSL_EINVAL, NULL);
  mod.d = 0;
  assert_raises(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, 3, ok, NAN, NAN, &res, NULL), GSL_EINVAL, NULL);
  mod.d = 1;
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  assert_raises(dpm_analytic_table_fill(NULL, &mod, &tab), GSL_EINVAL, NULL);
  mod.gamma = NULL;
  assert_raises(dpm_analytic_table_fill(sch, &mod, &tab), GSL_EINVAL, NULL);
  /* DP */
  assert_raises_null(dpm_analytic_dp_alloc(20, 1), NULL);
  assert_raises_null(dpm_analytic_dp_alloc(20, 21), NULL);
  dpm_analytic_dp *dp = dpm_analytic_dp_alloc(10, 3);
  size_t tau[5];
  assert_raises(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 3, tau, NULL), GSL_EBADLEN, NULL);
  dpm_analytic_dp_free(dp);
  dp = dpm_analytic_dp_alloc(20, 5);
  assert_raises(dpm_analytic_dp_solve(dp, sch, NULL, DPM_COST_J, 3, tau, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_dp_solve(dp, sch, g, (dpm_cost_kind)5, 3, tau, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 1, tau, NULL), GSL_EINVAL, NULL);
  g[7] = NAN;
  assert_raises(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 3, tau, NULL), GSL_EDOM, NULL);
  g[7] = 0.5;
  assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, 3, tau, NULL), 0);
  dpm_analytic_dp_free(dp);
  dpm_analytic_dp_free(NULL);
  assert_raises(dpm_analytic_trajectory(sch, g, "random", 3, tau, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_trajectory(sch, NULL, "dp", 3, tau, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_trajectory(sch, g, "dp", 1, tau, NULL), GSL_EINVAL, NULL);
  double cum[3];
  assert_raises(dpm_analytic_trajectory(sch, NULL, "even", 3, tau, cum), GSL_EINVAL, NULL);
  assert_int_equal(dpm_analytic_trajectory(sch, NULL, "even", 3, tau, NULL), 0);
  assert_raises(dpm_analytic_trajectory(sch, g, "even", 30, tau, NULL), GSL_EINVAL, NULL);
  /* entropy */
  double H, He;
  assert_raises(dpm_mixture_entropy(ps, &H, &He), GSL_EDOM, NULL);
  assert_raises(dpm_mixture_entropy_mc(ps, 100, 0, &H, &He), GSL_EDOM, NULL);
  assert_raises(dpm_mixture_entropy_quad(g3, 1e-8, &H, &He), GSL_EINVAL, NULL);
  assert_raises(dpm_mixture_entropy_mc(mix, 1, 0, &H, &He), GSL_EINVAL, NULL);
  assert_raises(dpm_mixture_entropy(NULL, &H, &He), GSL_EINVAL, NULL);
  /* diagonal variance and samplers */
  dpm_oracle *o = dpm_oracle_alloc(mix);
  double x[4] = {0.1, 0.2, 0.3, 0.4}, out[4];
  assert_raises(dpm_analytic_diag_sigma2(NULL, sch, 1, 2, 1.0, 4, x, out), GSL_EINVAL, NULL);
  assert_raises(dpm_analytic_diag_sigma2(o, sch, 2, 2, 1.0, 4, x, out), GSL_EINVAL, NULL);
  x[2] = NAN;
  assert_raises(dpm_analytic_diag_sigma2(o, sch, 1, 2, 1.0, 4, x, out), GSL_EBADFUNC, NULL);
  x[2] = 0.3;
  assert_raises_null(dpm_sampler_analytic_alloc(0, 10), NULL);
  assert_raises_null(dpm_sampler_analytic_alloc(1, 0), NULL);
  dpm_sampler_analytic *sw = dpm_sampler_analytic_alloc(1, 4);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(1, 1);
  double sig[3] = {0.01, 0.01, 0.01};
  dpm_sampler_analytic_opts opts = {1.0, sig, 0, NULL};
  assert_int_equal(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), 0);
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 5, x, r), GSL_EBADLEN, NULL);
  assert_raises(dpm_sampler_analytic_run(sw, d3, sch, 3, ok, &opts, 4, x, r), GSL_EBADLEN, NULL);
  assert_raises(dpm_sampler_analytic_run(sw, NULL, sch, 3, ok, &opts, 4, x, r), GSL_EINVAL, NULL);
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, bad1, &opts, 4, x, r), GSL_EINVAL, NULL);
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, NULL), GSL_EINVAL, NULL);
  sig[1] = -1.0;
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EDOM, NULL);
  sig[1] = NAN;
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EDOM, NULL);
  sig[1] = 0.01;
  opts.sigma2 = NULL;
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EINVAL, NULL);
  opts.sigma2 = sig;
  opts.eta = -1.0;
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EDOM, NULL);
  opts.eta = 1.0;
  opts.start_mix = g3;
  assert_raises(dpm_sampler_analytic_run(sw, dn, sch, 3, ok, &opts, 4, x, r), GSL_EBADLEN, NULL);
  opts.start_mix = NULL;
  assert_raises(dpm_sampler_analytic_diag_run(sw, NULL, sch, 3, ok, &opts, 4, x, r), GSL_EINVAL, NULL);
  dpm_oracle *o3 = dpm_oracle_alloc(g3);
  assert_raises(dpm_sampler_analytic_diag_run(sw, o3, sch, 3, ok, &opts, 4, x, r), GSL_EBADLEN, NULL);
  dpm_oracle_free(o3);
  dpm_sampler_analytic_free(sw);
  dpm_sampler_analytic_free(NULL);
  /* imperfect denoisers */
  assert_raises_null(dpm_denoiser_relerr_alloc(NULL, 0.1, 0), NULL);
  assert_raises_null(dpm_denoiser_relerr_alloc(dn, -0.1, 0), NULL);
  assert_raises_null(dpm_denoiser_relerr_alloc(dn, NAN, 0), NULL);
  assert_raises_null(dpm_denoiser_scaled_alloc(NULL, 1.0), NULL);
  assert_raises_null(dpm_denoiser_scaled_alloc(dn, HUGE_VAL), NULL);
  assert_raises_null(dpm_denoiser_memorise_alloc(NULL, 5, r), NULL);
  assert_raises_null(dpm_denoiser_memorise_alloc(mix, 5, NULL), NULL);
  assert_raises_null(dpm_denoiser_memorise_alloc(mix, 0, r), NULL);
  assert_null(dpm_denoiser_memorise_points(NULL));
  /* errors of the inner denoiser propagate through the wrappers */
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(dn, 2.0), *re = dpm_denoiser_relerr_alloc(dn, 0.1, 0);
  assert_int_equal(dpm_denoiser_eval(sc, 1.0, 0.5, 4, x, out, NULL, NULL), 0);
  x[1] = HUGE_VAL;
  assert_raises(dpm_denoiser_eval(sc, 1.0, 0.5, 4, x, out, NULL, NULL), GSL_EBADFUNC, NULL);
  assert_raises(dpm_denoiser_eval(re, 1.0, 0.5, 4, x, NULL, out, NULL), GSL_EBADFUNC, NULL);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(re);
  gsl_rng_free(r);
  dpm_denoiser_free(dn);
  dpm_denoiser_free(d3);
  dpm_oracle_free(o);
  dpm_schedule_free(sch);
  dpm_mixture_free(g3);
  dpm_mixture_free(ps);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigma2_formulas_and_bounds),
      cmocka_unit_test(test_subsequence_equals_per_step),
      cmocka_unit_test(test_opt_variance_minimises_term),
      cmocka_unit_test(test_elbo_gaussian_exact),
      cmocka_unit_test(test_elbo_bounds_entropy),
      cmocka_unit_test(test_box_bound),
      cmocka_unit_test(test_diag_variance),
      cmocka_unit_test(test_variance_choices),
      cmocka_unit_test(test_step_term_mse_monte_carlo),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests_name("analytic_variance", tests, NULL, NULL);
}
