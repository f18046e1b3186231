/* test_analytic_trajectory.c — trajectories and sampling along them (Bao et al. ICLR 2022, §4; docs/MATH.md §3):
 * the DP's optimal path against brute-force search, its cost against the ELBO, and the Analytic-DDPM/DDIM
 * samplers against exact laws (Gaussian data) and the Kolmogorov-Smirnov test. Tolerances as stated in
 * test_analytic_common.h. */
#include "test_analytic_common.h"

/* ---- trajectories --------------------------------------------------------------------------------------------
 */

/* Brute force over all C(N-2, K-2) paths 1 < tau_2 < ... < tau_{K-1} < N by recursion. */
static void brute(const dpm_schedule *sch, const double *g, dpm_cost_kind c, size_t K, size_t k, size_t *cur,
                  double acc, double *best, size_t *arg)
{
  const size_t N = sch->N;
  if (k == K - 1) {
    const double tot = acc + dpm_analytic_cost(sch, g, c, cur[k - 1], N);
    if (tot < *best) {
      *best = tot;
      memcpy(arg, cur, (K - 1) * sizeof(size_t));
      arg[K - 1] = N;
    }
    return;
  }
  for (size_t t = cur[k - 1] + 1; t + (K - 1 - k) <= N; t++) {
    cur[k] = t;
    brute(sch, g, c, K, k + 1, cur, acc + dpm_analytic_cost(sch, g, c, cur[k - 1], t), best, arg);
  }
}

/* The DP equals brute force (same path; costs equal to 1e-13 relative: the same sums in the same order, with DP
 * partial sums exact copies), for J and for the reference code's F on N = 12, 14 and K = 4, 5; F gives the same
 * path and the totals differ by the telescoped constant log(bbar_N abar_1/(abar_N bbar_1)) (to 64 EPS times the
 * sum of |terms|). The extremes K = N (one path) and K = N - 1 too. J's closed form log1p(beta(1-Gamma)/(alpha
 * bbar_s)) equals log(sigma*^2_{s|t}/lambda^2_{s|t}) from the step (16 EPS relative). */
static void test_dp_vs_brute_force(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const size_t Ns[] = {12, 14}, Ks[] = {4, 5};
  for (int c = 0; c < 2; c++) {
    dpm_schedule *sch = c == 0 ? dpm_schedule_cosine_alloc(Ns[c]) : dpm_schedule_linear_alloc(Ns[c], 0.01, 0.3);
    const size_t N = sch->N;
    double *g = vec(N + 1), *ge = vec(N + 1);
    quad_gamma(mix, sch, g, ge);
    for (size_t s = 1; s < N; s++)
      for (size_t t = s + 1; t <= N; t++) {
        dpm_analytic_step st;
        assert_int_equal(dpm_analytic_step_ts(sch, s, t, 1.0, &st), 0);
        assert_close(dpm_analytic_cost(sch, g, DPM_COST_J, s, t),
                     log(dpm_analytic_sigma2_opt(&st, g[t]) / st.lambda2), 16 * EPS, 16 * EPS);
      }
    for (int kk = 0; kk < 2; kk++) {
      const size_t K = Ks[kk];
      dpm_analytic_dp *dp = dpm_analytic_dp_alloc(N, K);
      assert_non_null(dp);
      size_t tau[8], tauF[8], arg[8], cur[8];
      double tot, totF, best = HUGE_VAL, bestF = HUGE_VAL;
      assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, K, tau, &tot), 0);
      cur[0] = 1;
      brute(sch, g, DPM_COST_J, K, 1, cur, 0.0, &best, arg);
      assert_memory_equal(tau, arg, K * sizeof(size_t));
      assert_close(tot, best, 1e-13, 0);
      assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_F, K, tauF, &totF), 0);
      brute(sch, g, DPM_COST_F, K, 1, cur, 0.0, &bestF, arg);
      assert_memory_equal(tauF, arg, K * sizeof(size_t));
      assert_memory_equal(tauF, tau, K * sizeof(size_t));
      const double tele = log(sch->beta_bar[N] * sch->alpha_bar[1] / (sch->alpha_bar[N] * sch->beta_bar[1]));
      assert_close(tot - totF, tele, 0, 64 * EPS * (fabs(tot) + fabs(totF) + fabs(tele)));
      /* the trajectory front end returns the same path and cumulative cost */
      size_t tau2[8];
      double cum[8];
      assert_int_equal(dpm_analytic_trajectory(sch, g, "dp", K, tau2, cum), 0);
      assert_memory_equal(tau2, tau, K * sizeof(size_t));
      assert_close(cum[K - 1], tot, 1e-13, 0);
      assert_true(cum[0] == 0.0);
      dpm_analytic_dp_free(dp);
    }
    /* the extreme K = N admits one path, every step, costing the sum of one-step J (same order of additions) */
    dpm_analytic_dp *dp = dpm_analytic_dp_alloc(N, N);
    size_t all[16];
    double tot, sum = 0.0;
    assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, N, all, &tot), 0);
    for (size_t k = 0; k < N; k++)
      assert_int_equal(all[k], k + 1);
    for (size_t t = 2; t <= N; t++)
      sum += dpm_analytic_cost(sch, g, DPM_COST_J, t - 1, t);
    assert_close(tot, sum, 1e-15, 0);
    /* K = N - 1 drops exactly one interior point: brute force again */
    size_t arg[16], cur[16];
    double best = HUGE_VAL;
    assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, N - 1, all, &tot), 0);
    cur[0] = 1;
    brute(sch, g, DPM_COST_J, N - 1, 1, cur, 0.0, &best, arg);
    assert_memory_equal(all, arg, (N - 1) * sizeof(size_t));
    assert_close(tot, best, 1e-13, 0);
    dpm_analytic_dp_free(dp);
    free(g);
    free(ge);
    dpm_schedule_free(sch);
  }
  dpm_mixture_free(mix);
}

/* The DP by a plain strict scan (the textbook recursion: for each target the first s, in increasing order, with
 * the smallest prev[s] + J(s, t)), every cost from dpm_analytic_cost, once per pair (row t of C holds s < t). */
static double dp_reference(const dpm_schedule *sch, const double *g, size_t K, size_t *tau)
{
  const size_t N = sch->N;
  double *prev = vec(N + 1), *cur = vec(N + 1), *C = vec((N + 1) * N / 2 + 1);
  size_t *arg = calloc(K * (N + 1), sizeof *arg);
  for (size_t t = 2; t <= N; t++)
    for (size_t s = 1; s < t; s++)
      C[t * (t - 1) / 2 + s] = dpm_analytic_cost(sch, g, DPM_COST_J, s, t);
  for (size_t t = 0; t <= N; t++)
    prev[t] = t == 1 ? 0.0 : HUGE_VAL;
  for (size_t k = 2; k <= K; k++) {
    for (size_t t = 0; t <= N; t++)
      cur[t] = HUGE_VAL;
    for (size_t t = k; t <= N - (K - k); t++)
      for (size_t s = k - 1; s < t; s++) {
        if (prev[s] == HUGE_VAL) continue;
        const double v = prev[s] + C[t * (t - 1) / 2 + s];
        if (v < cur[t]) {
          cur[t] = v;
          arg[(k - 1) * (N + 1) + t] = s;
        }
      }
    double *tmp = prev;
    prev = cur;
    cur = tmp;
  }
  tau[K - 1] = N;
  for (size_t k = K; k >= 2; k--)
    tau[k - 2] = arg[(k - 1) * (N + 1) + tau[k - 1]];
  const double total = prev[N];
  free(prev);
  free(cur);
  free(C);
  free(arg);
  return total;
}

/* The DP's vectorised row minimum (lanes, each with its first index, folded) is the strict scan: the same path
 * and the same total bit for bit (the same sums compared exactly), for 1 and 2 threads, on (a) a smooth Gamma, (b)
 * a Gamma with masses of exact ties: Gamma = 1 makes J(s, t) = log1p(0) = 0 for every s, so with Gamma = 0 only
 * on the targets 2..37 every path that avoids them costs exactly 0, and the first zero of a row moves across the
 * lanes from layer to layer (the smallest index must win), and (c) Gamma = 1 everywhere: every path costs 0 and
 * the smallest-index rule gives the closed form tau = (1, 2, ..., K - 1, N). N = 1000, K = 100 (the kept cost
 * table; a, b, c) and N = 2900, K = 3 (past the table's size: costs on the fly, layers in parallel; b, c). */
static void test_dp_row_min_ties_threads(void **state)
{
  (void)state;
  const size_t Ns[] = {1000, 2900}, Ks[] = {100, 3};
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
#endif
  for (int c = 0; c < 2; c++) {
    const size_t N = Ns[c], K = Ks[c];
    dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
    assert_non_null(sch);
    double *g = vec(N + 1);
    size_t *tau = calloc(K, sizeof *tau), *ref = calloc(K, sizeof *ref);
    for (int kind = c; kind < 3; kind++) { /* the smooth Gamma on the table route only */
      g[0] = NAN;
      for (size_t t = 1; t <= N; t++)
        g[t] = kind == 0 ? 0.5 + 0.45 * sin(0.05 * (double)t) : kind == 1 && t <= 37 ? 0.0 : 1.0;
      const double want = dp_reference(sch, g, K, ref);
      if (kind == 2) {
        assert_true(want == 0.0);
        for (size_t k = 0; k + 1 < K; k++)
          assert_int_equal(ref[k], k + 1);
      }
      for (int nt = 1; nt <= 2; nt++) {
#ifdef _OPENMP
        omp_set_num_threads(nt);
#endif
        dpm_analytic_dp *dp = dpm_analytic_dp_alloc(N, K);
        assert_non_null(dp);
        double tot = NAN;
        memset(tau, 0, K * sizeof *tau);
        assert_int_equal(dpm_analytic_dp_solve(dp, sch, g, DPM_COST_J, K, tau, &tot), 0);
        assert_memory_equal(tau, ref, K * sizeof *tau);
        assert_true(tot == want);
        dpm_analytic_dp_free(dp);
      }
    }
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    free(g);
    free(tau);
    free(ref);
    dpm_schedule_free(sch);
  }
}

/* KL(q || p*) = (d/2) sum J + c (Bao et al. Thm): the transitions of the ELBO with sigma*^2 along any trajectory
 * equal (d/2) times the path's cumulative J (to 1e-12 relative: K terms, each two formulas for one number), and
 * since prior and decoder depend only on tau_1 = 1 and tau_K = N, ELBO differences between trajectories are
 * (d/2) differences of J. The DP path's J is <= that of the even and quadratic paths. */
static void test_trajectory_elbo_consistency(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  const size_t N = 300, K = 12, d = 1;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 3e-4, 0.06);
  double *g = vec(N + 1), *ge = vec(N + 1), e2;
  quad_gamma(mix, sch, g, ge);
  dpm_mixture_moments(mix, NULL, NULL, &e2);
  dpm_analytic_model mod = {d, 1.0, e2, g, ge, NULL, NULL, NULL, NULL, NULL};
  const char *kinds[] = {"dp", "even", "quadratic"};
  double J[3], nelbo[3], dec[3];
  for (int i = 0; i < 3; i++) {
    size_t tau[12];
    double cum[12], terms[12];
    assert_int_equal(dpm_analytic_trajectory(sch, g, kinds[i], K, tau, cum), 0);
    assert_true(tau[0] == 1 && tau[K - 1] == N);
    dpm_elbo_result r;
    assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, K, tau, NAN, NAN, &r, terms), 0);
    assert_close(r.transitions, 0.5 * (double)d * cum[K - 1], 1e-12, 0);
    double sum = 0.0;
    for (size_t k = 1; k < K; k++)
      sum += terms[k];
    assert_close(sum, r.transitions, 1e-14, 0);
    assert_close(terms[0], r.decoder, 0, 0);
    assert_close(r.nelbo, r.prior + r.transitions + r.decoder, 1e-15, 1e-15);
    assert_close(r.bpd, r.nelbo / ((double)d * M_LN2), 1e-15, 0);
    assert_true(isnan(r.gap));
    J[i] = cum[K - 1];
    nelbo[i] = r.nelbo;
    dec[i] = r.decoder;
  }
  assert_true(J[0] <= J[1] && J[0] <= J[2]);
  assert_close(dec[1], dec[0], 1e-15, 0);
  assert_close(nelbo[1] - nelbo[0], 0.5 * (double)d * (J[1] - J[0]), 0, 1e-12 * fabs(nelbo[1]));
  assert_close(nelbo[2] - nelbo[0], 0.5 * (double)d * (J[2] - J[0]), 0, 1e-12 * fabs(nelbo[2]));
  free(g);
  free(ge);
  dpm_schedule_free(sch);
  dpm_mixture_free(mix);
}

/* ---- samplers
 * ------------------------------------------------------------------------------------------------------ */

/* The law of one coordinate of the sampler's output for Gaussian data N(mu, v) (per coordinate), by recursion:
 * the denoiser is linear, x0-hat = mu + k (x_t - m mu), k = m v/(m^2 v + s^2) (the Gaussian posterior mean,
 * independent of the oracle), so x_s = a x_t + b + sigma z with a = c0 k + cx, b = c0 mu (1 - k m); the decoder
 * returns x0-hat (+ sigma_0 z with final noise). Start N(0, 1) or exact q_T = N(m mu, m^2 v + s^2). */
static normal_law gauss_chain(const dpm_schedule *sch, size_t K, const size_t *tau, double eta, const double *s2,
                              int final_noise, int exact_start, double mu, double v)
{
  const size_t T = tau[K - 1];
  double mean = exact_start ? sqrt(sch->alpha_bar[T]) * mu : 0.0;
  double var = exact_start ? sch->alpha_bar[T] * v + sch->beta_bar[T] : 1.0;
  for (size_t k = K; k-- > 0;) {
    dpm_analytic_step st;
    dpm_analytic_step_ts(sch, k > 0 ? tau[k - 1] : 0, tau[k], eta, &st);
    const double m = sqrt(st.abar_t), s = sqrt(st.bbar_t), kk = m * v / (m * m * v + s * s);
    const double a = st.c0 * kk + st.cx, b = st.c0 * mu * (1 - kk * m);
    mean = a * mean + b;
    var = a * a * var + ((k > 0 || final_noise) ? s2[k] : 0.0);
  }
  normal_law l = {mean, sqrt(var)};
  return l;
}

/* Gaussian data: (1) every DDIM-family sampler's output law is the recursion's Gaussian, checked by KS with the
 * DKW threshold (beta, beta~, analytic eta = 1, 0.5, 0, plain DDIM); (2) for the analytic variance with an exact
 * start and final noise the recursion gives exactly N(mu, v) (the optimal Gaussian transitions are exact for
 * Gaussian data; 1e-10 relative after 10 steps); (3) plain DDIM is a deterministic linear map of the start, which
 * the sampler reproduces to 64 K EPS (|x| + 1) when the start is redrawn from the same stream. */
static void test_samplers_gaussian_exact(void **state)
{
  (void)state;
  const size_t N = 1000, K = 10, n = 20000;
  const double mu = 0.7, v = 0.3;
  dpm_mixture *gd = mix_gauss(1, &mu, &v);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(gd);
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  size_t tau[10];
  assert_int_equal(dpm_schedule_subsequence(sch, "even", K, tau), 0);
  double *g = vec(N + 1), *x = vec(n), *s2 = vec(K);
  for (size_t t = 1; t <= N; t++)
    g[t] = gauss_gamma(1, &v, sqrt(sch->alpha_bar[t]), sqrt(sch->beta_bar[t]));
  dpm_sampler_analytic *w = dpm_sampler_analytic_alloc(1, n);
  assert_non_null(w);
  gsl_rng *r = dpm_rng_stream_alloc(1234, 0);
  const struct {
    double eta;
    dpm_variance_kind var;
    int exact_start;
  } cases[] = {{1.0, DPM_VAR_BETA, 0},   {1.0, DPM_VAR_BETA_TILDE, 0}, {1.0, DPM_VAR_OPT, 1},
               {0.5, DPM_VAR_OPT, 1},    {0.0, DPM_VAR_OPT, 1},        {0.0, DPM_VAR_ZERO, 0},
               {1.0, DPM_VAR_CLIPPED, 0}};
  const double thr = dkw(n, KS_ALPHA);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    dpm_analytic_model mod = {1, cases[c].eta, mu * mu + v, g, NULL, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, cases[c].var, K, tau, s2), 0);
    dpm_sampler_analytic_opts opts = {cases[c].eta, s2, 1, cases[c].exact_start ? gd : NULL};
    assert_int_equal(dpm_sampler_analytic_run(w, dn, sch, K, tau, &opts, n, x, r), 0);
    normal_law law = gauss_chain(sch, K, tau, cases[c].eta, s2, 1, cases[c].exact_start, mu, v);
    assert_true(ks_stat(x, n, normal_cdf, &law) <= thr);
    if (cases[c].var == DPM_VAR_OPT) {
      assert_close(law.mean, mu, 1e-10, 0);
      assert_close(law.sd * law.sd, v, 1e-10, 0);
    }
  }
  /* DDIM: deterministic map; redraw the start from the same stream */
  dpm_analytic_model mod0 = {1, 0.0, mu * mu + v, g, NULL, NULL, NULL, NULL, NULL, NULL};
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod0, DPM_VAR_ZERO, K, tau, s2), 0);
  dpm_sampler_analytic_opts opts = {0.0, s2, 0, NULL};
  dpm_rng_stream_set(r, 77, 0);
  assert_int_equal(dpm_sampler_analytic_run(w, dn, sch, K, tau, &opts, 100, x, r), 0);
  dpm_rng_stream_set(r, 77, 0);
  for (size_t i = 0; i < 100; i++) {
    double z = gsl_ran_gaussian_ziggurat(r, 1.0);
    for (size_t k = K; k-- > 0;) {
      dpm_analytic_step st;
      dpm_analytic_step_ts(sch, k > 0 ? tau[k - 1] : 0, tau[k], 0.0, &st);
      const double m = sqrt(st.abar_t), s = sqrt(st.bbar_t), x0 = mu + m * v / (m * m * v + s * s) * (z - m * mu);
      z = st.c0 * x0 + st.cx * z;
    }
    assert_close(x[i], z, 0, 64 * (double)K * EPS * (fabs(z) + 1));
  }
  gsl_rng_free(r);
  dpm_sampler_analytic_free(w);
  free(g);
  free(x);
  free(s2);
  dpm_schedule_free(sch);
  dpm_denoiser_free(dn);
  dpm_mixture_free(gd);
}

/* Analytic-DDPM on the 1-D bimodal mixture, cosine N = 1000, all steps, start N(0, 1), with the decoder noise
 * (final_noise), so the samples follow exactly the model p whose negative ELBO we compute: KS(p_0, q_0) <=
 * TV(p_0, q_0) <= sqrt(KL(q_0 || p_0)/2) <= sqrt(gap/2) (Pinsker and data processing), gap = nelbo - H from
 * quadrature (plus its error). So sup|F_n - F_q| <= DKW(alpha) + sqrt((gap + gap_err)/2) except with
 * probability alpha. At N = 1000 the gap is ~1e-3 nats, a bias bound ~0.025 next to DKW ~0.020 for n = 10000.
 * The diagonal-covariance sampler minimises each step's KL over a larger family (state-dependent diagonal
 * covariances include the scalar one), so its gap is at most the scalar one and the same threshold applies. For
 * Gaussian data with unequal coordinate variances the diagonal sampler is exact: per-coordinate KS against
 * N(mu_j, v_j) at alpha/2 each. */
static void test_samplers_ks(void **state)
{
  (void)state;
  const size_t N = 1000, n = 10000;
  dpm_mixture *mix = mix_bimodal();
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  double *g = vec(N + 1), *ge = vec(N + 1), *s2 = vec(N), *x = vec(2 * n), H, He, e2;
  size_t *tau = malloc(N * sizeof(size_t));
  assert_non_null(tau);
  for (size_t k = 0; k < N; k++)
    tau[k] = k + 1;
  quad_gamma(mix, sch, g, ge);
  assert_int_equal(dpm_mixture_entropy(mix, &H, &He), 0);
  dpm_mixture_moments(mix, NULL, NULL, &e2);
  dpm_analytic_model mod = {1, 1.0, e2, g, ge, NULL, NULL, NULL, NULL, NULL};
  dpm_elbo_result res;
  assert_int_equal(dpm_analytic_elbo(sch, &mod, DPM_VAR_OPT, N, tau, H, He, &res, NULL), 0);
  assert_int_equal(dpm_analytic_sigma2_traj(sch, &mod, DPM_VAR_OPT, N, tau, s2), 0);
  const double thr = dkw(n, KS_ALPHA) + sqrt(0.5 * (res.gap + res.gap_err));
  assert_true(thr < 0.05); /* the check has teeth */
  dpm_sampler_analytic *w = dpm_sampler_analytic_alloc(2, n);
  gsl_rng *r = dpm_rng_stream_alloc(2024, 0);
  dpm_sampler_analytic_opts opts = {1.0, s2, 1, NULL};
  dpm_sampler_analytic *w1 = dpm_sampler_analytic_alloc(1, n);
  assert_int_equal(dpm_sampler_analytic_run(w1, dn, sch, N, tau, &opts, n, x, r), 0);
  assert_true(ks_stat(x, n, mix_cdf, mix) <= thr);
  assert_int_equal(dpm_sampler_analytic_diag_run(w1, o, sch, N, tau, &opts, n, x, r), 0);
  assert_true(ks_stat(x, n, mix_cdf, mix) <= thr);
  /* Gaussian with unequal variances: the diagonal sampler is exact (K = 10, exact start, final noise) */
  const double mu[2] = {0.3, -1.0}, var[2] = {0.05, 2.0};
  dpm_mixture *gd = mix_gauss(2, mu, var);
  dpm_oracle *og = dpm_oracle_alloc(gd);
  size_t t10[10];
  assert_int_equal(dpm_schedule_subsequence(sch, "quadratic", 10, t10), 0);
  dpm_sampler_analytic_opts o2 = {1.0, NULL, 1, gd};
  assert_int_equal(dpm_sampler_analytic_diag_run(w, og, sch, 10, t10, &o2, n, x, r), 0);
  double *col = vec(n);
  for (size_t j = 0; j < 2; j++) {
    for (size_t i = 0; i < n; i++)
      col[i] = x[2 * i + j];
    normal_law law = {mu[j], sqrt(var[j])};
    assert_true(ks_stat(col, n, normal_cdf, &law) <= dkw(n, KS_ALPHA / 2));
  }
  /* the last step returns the mean without final noise: the output is E[x_0 | x_tau1] with x_tau1 ~ q_tau1
   * exactly, so its mean is mu and its variance v - E Var[x_0 | x_tau1] (the posterior variance is removed) */
  o2.final_noise = 0;
  const size_t t5[5] = {200, 400, 600, 800, 1000};
  assert_int_equal(dpm_sampler_analytic_diag_run(w, og, sch, 5, t5, &o2, n, x, r), 0);
  for (size_t i = 0; i < n; i++)
    col[i] = x[2 * i];
  double mean, se, vhat = 0.0;
  dpm_test_mean_se(col, n, &mean, &se);
  assert_within_se(mean, se, mu[0], K_SE);
  for (size_t i = 0; i < n; i++)
    vhat += (col[i] - mean) * (col[i] - mean) / (double)(n - 1);
  const double ab = sch->alpha_bar[t5[0]], bb = sch->beta_bar[t5[0]];
  const double vpred = var[0] * ab * var[0] / (ab * var[0] + bb); /* v - E Var[x_0 | x_tau1] */
  assert_true(vpred < 0.5 * var[0]);                              /* the check has teeth */
  /* the sample variance of n Gaussian draws has standard error var sqrt(2/(n-1)) */
  assert_within_se(vhat, vpred * sqrt(2.0 / (double)(n - 1)), vpred, K_SE);
  free(col);
  dpm_oracle_free(og);
  dpm_mixture_free(gd);
  gsl_rng_free(r);
  dpm_sampler_analytic_free(w);
  dpm_sampler_analytic_free(w1);
  free(tau);
  free(g);
  free(ge);
  free(s2);
  free(x);
  dpm_schedule_free(sch);
  dpm_oracle_free(o);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dp_vs_brute_force),
      cmocka_unit_test(test_dp_row_min_ties_threads),
      cmocka_unit_test(test_trajectory_elbo_consistency),
      cmocka_unit_test(test_samplers_gaussian_exact),
      cmocka_unit_test(test_samplers_ks),
  };
  return cmocka_run_group_tests_name("analytic_trajectory", tests, NULL, NULL);
}
