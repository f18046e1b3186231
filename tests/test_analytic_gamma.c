/* test_analytic_gamma.c — Gamma_n = E|E[eps|x_n]|^2/d and its complement 1 - Gamma_n = E tr Cov[eps|x_n]/d
 * (Bao et al. ICLR 2022, eq. 8; docs/MATH.md §3) against independent routes: closed forms for Gaussian data,
 * quadrature vs Monte Carlo, a tensor Gauss-Legendre reference, the x0-error identity, and imperfect denoisers.
 * Tolerances as stated in test_analytic_common.h. */
#include "test_analytic_common.h"

/* ---- Gamma: quadrature vs closed form vs Monte Carlo
 * ------------------------------------------------------------ */

/* For one Gaussian, Gamma = (1/d) sum_j s^2/(m^2 lambda_j + s^2) with lambda_j the covariance's eigenvalues
 * (2 x 2 closed form here, independent of the data module's factorisation); the quadrature must agree within its
 * own error estimate plus 1e-13 (rounding of ~10^5 summed terms of size <= 1). Covers the diagonal path (d = 1)
 * and the full-covariance path (d = 2). */
static void test_gamma_quad_gaussian_closed_form(void **state)
{
  (void)state;
  const double mu1 = 0.7, v1 = 0.3;
  dpm_mixture *g1 = mix_gauss(1, &mu1, &v1);
  dpm_mixture *g2 = dpm_mixture_alloc(1, 2);
  const double mu2[2] = {0.5, -1.0}, cov[4] = {0.5, 0.3, 0.3, 0.4};
  assert_int_equal(dpm_mixture_set_mean(g2, 0, mu2), 0);
  assert_int_equal(dpm_mixture_set_full(g2, 0, cov), 0);
  const double tr = 0.9, det = 0.5 * 0.4 - 0.09, disc = sqrt(tr * tr / 4 - det);
  const double lam[2] = {tr / 2 + disc, tr / 2 - disc};
  dpm_analytic_gamma_quad *q1 = dpm_analytic_gamma_quad_alloc(g1, 1e-10),
                          *q2 = dpm_analytic_gamma_quad_alloc(g2, 1e-8);
  assert_non_null(q1);
  assert_non_null(q2);
  const double ss[] = {0.01, 0.1, 0.5, 0.9, 0.999};
  for (size_t i = 0; i < 5; i++) {
    const double s = ss[i], m = sqrt(1 - s * s);
    double g, e;
    assert_int_equal(dpm_analytic_gamma_quad_eval(q1, m, s, &g, &e), 0);
    assert_close(g, gauss_gamma(1, &v1, m, s), 0, e + 1e-13);
    assert_true(e <= 1e-10 * g + 1e-15);
    assert_int_equal(dpm_analytic_gamma_quad_eval(q2, m, s, &g, &e), 0);
    assert_close(g, gauss_gamma(2, lam, m, s), 0, e + 1e-13);
  }
  dpm_analytic_gamma_quad_free(q1);
  dpm_analytic_gamma_quad_free(q2);
  dpm_mixture_free(g1);
  dpm_mixture_free(g2);
}

/* Monte Carlo Gamma (M samples, stream (seed, n)) within K_SE standard errors (+ the quadrature error) of the
 * quadrature, for a range of n, on a 1-D mixture, a 2-D ring and a 1-D point set; the same bits for 1 and 2
 * threads; the (m, s) entry point equals the schedule one on the same stream indices. */
static void test_gamma_mc_vs_quad(void **state)
{
  (void)state;
  const size_t N = 1000, M = 20000;
  dpm_schedule *sch = dpm_schedule_linear_alloc(N, 1e-4, 0.02);
  const double pts[5] = {-2.0, -0.5, 0.0, 1.2, 2.5};
  dpm_mixture *mixes[3] = {mix_bimodal(), mix_ring(3, 2.0, 0.04), mix_points(5, 1, pts)};
  const size_t ns[] = {1, 3, 10, 30, 100, 200, 400, 700, 1000};
  const size_t nn = sizeof ns / sizeof ns[0];
  double *g = vec(N + 1), *se = vec(N + 1), *g2 = vec(N + 1), *se2 = vec(N + 1);
  for (int c = 0; c < 3; c++) {
    dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mixes[c], M);
    dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mixes[c], 1e-9);
    assert_non_null(w);
    assert_non_null(q);
    /* the (m, s) route at the listed steps (stream index = position in the list) */
    double m[16], s[16], gm[16], sem[16];
    for (size_t i = 0; i < nn; i++) {
      m[i] = sqrt(sch->alpha_bar[ns[i]]);
      s[i] = sqrt(sch->beta_bar[ns[i]]);
    }
    assert_int_equal(dpm_analytic_gamma_mc_ms(w, nn, m, s, 42, gm, sem), 0);
    for (size_t i = 0; i < nn; i++) {
      double gq, eq;
      assert_int_equal(dpm_analytic_gamma_quad_eval(q, m[i], s[i], &gq, &eq), 0);
      assert_true(fabs(gm[i] - gq) <= K_SE * sem[i] + eq);
      assert_true(sem[i] > 0 && sem[i] < 0.05);
    }
    dpm_analytic_gamma_quad_free(q);
    dpm_analytic_gamma_mc_free(w);
  }
  /* thread-count independence and the schedule route: the same streams give the same bits */
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  dpm_schedule *small = dpm_schedule_cosine_alloc(40);
  dpm_analytic_gamma_mc *w1 = dpm_analytic_gamma_mc_alloc(mixes[1], 3000);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  dpm_analytic_gamma_mc *w2 = dpm_analytic_gamma_mc_alloc(mixes[1], 3000);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w1, small, 7, g, se), 0);
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w2, small, 7, g2, se2), 0);
  assert_true(isnan(g[0]) && isnan(g2[0]));
  assert_memory_equal(g + 1, g2 + 1, 40 * sizeof(double));
  assert_memory_equal(se + 1, se2 + 1, 40 * sizeof(double));
  /* the (m, s) route on the same stream indices reproduces the schedule route */
  double ms_m[41], ms_s[41];
  for (size_t n = 0; n <= 40; n++) {
    ms_m[n] = n ? sqrt(small->alpha_bar[n]) : 1.0;
    ms_s[n] = n ? sqrt(small->beta_bar[n]) : 1.0;
  }
  assert_int_equal(dpm_analytic_gamma_mc_ms(w2, 41, ms_m, ms_s, 7, g2, se2), 0);
  assert_memory_equal(g + 1, g2 + 1, 40 * sizeof(double));
  /* a different seed gives different draws */
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w2, small, 8, g2, se2), 0);
  assert_true(g2[20] != g[20]);
  dpm_analytic_gamma_mc_free(w1);
  dpm_analytic_gamma_mc_free(w2);
  dpm_schedule_free(small);
  for (int c = 0; c < 3; c++)
    dpm_mixture_free(mixes[c]);
  free(g);
  free(se);
  free(g2);
  free(se2);
  dpm_schedule_free(sch);
}

/* ---- Gamma and entropy by quadrature against a tensor Gauss-Legendre reference ----------------------------- */

#define REF_L  9.0 /* the quadrature's box [-9, 9]^d in each component's principal coordinates (dpm_analytic.h) */
#define REF_NQ 20  /* Gauss-Legendre nodes per panel */

/* The 1-D composite Gauss-Legendre rule on [-REF_L, REF_L] with P panels of REF_NQ nodes, with the normal density
 * folded into the weights: nodes x (P REF_NQ), weights w. */
static void gl_normal_rule(size_t P, double *x, double *w)
{
  gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(REF_NQ);
  assert_non_null(t);
  for (size_t p = 0; p < P; p++) {
    const double a = -REF_L + 2.0 * REF_L * (double)p / (double)P,
                 b = -REF_L + 2.0 * REF_L * (double)(p + 1) / (double)P;
    for (size_t i = 0; i < REF_NQ; i++) {
      double xi, wi;
      assert_int_equal(gsl_integration_glfixed_point(a, b, i, &xi, &wi, t), 0);
      x[p * REF_NQ + i] = xi;
      w[p * REF_NQ + i] = wi * exp(-0.5 * xi * xi) / sqrt(2.0 * M_PI);
    }
  }
  gsl_integration_glfixed_table_free(t);
}

/* x = m mu_k + U_k diag(scale) u with scale_j = sqrt(m^2 lambda_kj + s^2) (U_k = I unless the component is full):
 * the principal coordinates in which dpm_analytic.h defines each component's integral. */
static void comp_frame(const dpm_mixture *mix, size_t k, double m, double s, const double *u, double *x)
{
  const size_t d = mix->d;
  for (size_t i = 0; i < d; i++) {
    double acc = m * mix->mu[k * d + i];
    for (size_t j = 0; j < d; j++) {
      const double sc = sqrt(m * m * mix->lambda[k * d + j] + s * s);
      const double Uij = mix->kind[k] == DPM_COV_FULL && mix->U ? mix->U[k * d * d + i * d + j] : (double)(i == j);
      acc += Uij * sc * u[j];
    }
    x[i] = acc;
  }
}

/* The integrand at n points x (n x d, n <= 4096) into out: Gamma's |E[eps|x]|^2/d from the oracle at (m, s), or
 * the entropy's -log q_0(x) (s = 0) from the mixture's densities directly (an independent route to log q_0). */
static void ref_integrand(dpm_oracle *o, const dpm_mixture *mix, double m, double s, size_t n, const double *x,
                          double *out)
{
  const size_t d = mix->d;
  if (s > 0.0) {
    static double eps[4096 * 2];
    dpm_oracle_result res;
    memset(&res, 0, sizeof res);
    res.eps = eps;
    assert_int_equal(dpm_oracle_eval(o, m, s, n, x, &res), 0);
    for (size_t i = 0; i < n; i++) {
      double a = 0.0;
      for (size_t j = 0; j < d; j++)
        a += eps[i * d + j] * eps[i * d + j];
      out[i] = a / (double)d;
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    double lmax = -HUGE_VAL, l[16];
    assert_true(mix->K <= 16);
    for (size_t k = 0; k < mix->K; k++) {
      double S[4], z[2], q;
      dpm_mixture_cov(mix, k, S);
      for (size_t j = 0; j < d; j++)
        z[j] = x[i * d + j] - mix->mu[k * d + j];
      double det;
      if (d == 1) {
        det = S[0];
        q = z[0] * z[0] / S[0];
      } else {
        det = S[0] * S[3] - S[1] * S[2];
        q = (S[3] * z[0] * z[0] - (S[1] + S[2]) * z[0] * z[1] + S[0] * z[1] * z[1]) / det;
      }
      l[k] = log(mix->w[k]) - 0.5 * (q + log(det) + (double)d * log(2.0 * M_PI));
      if (l[k] > lmax) lmax = l[k];
    }
    double sum = 0.0;
    for (size_t k = 0; k < mix->K; k++)
      sum += exp(l[k] - lmax);
    out[i] = -(lmax + log(sum));
  }
}

/* sum_k w_k E_{N(0, I)} f(x_k(u)) over [-9, 9]^d by the tensor composite Gauss-Legendre rule with P panels per
 * axis (P <= 36), accumulated in long double: f as in ref_integrand (s = 0: the entropy). */
static double gl_reference(const dpm_mixture *mix, double m, double s, size_t P)
{
  const size_t d = mix->d, n1 = P * REF_NQ;
  static double x1[36 * REF_NQ], w1[36 * REF_NQ], u[4096 * 2], xx[4096 * 2], f[4096];
  assert_true(P <= 36);
  gl_normal_rule(P, x1, w1);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  assert_non_null(o);
  long double total = 0.0L;
  for (size_t k = 0; k < mix->K; k++) {
    long double acc = 0.0L;
    for (size_t a = 0; a < (d == 2 ? n1 : 1); a++) { /* one row of the tensor grid per call */
      for (size_t b = 0; b < n1; b++) {
        if (d == 1)
          u[b] = x1[b];
        else {
          u[2 * b] = x1[a];
          u[2 * b + 1] = x1[b];
        }
        comp_frame(mix, k, m, s > 0.0 ? s : 0.0, u + b * d, xx + b * d);
      }
      ref_integrand(o, mix, m, s, n1, xx, f);
      long double row = 0.0L;
      for (size_t b = 0; b < n1; b++)
        row += (long double)w1[b] * f[b];
      acc += d == 2 ? (long double)w1[a] * row : row;
    }
    total += (long double)mix->w[k] * acc;
  }
  dpm_oracle_free(o);
  return (double)total;
}

/* 2-D: three Gaussians with full covariances of different orientations and widths (eigenvalues 0.09 to 0.75). */
static dpm_mixture *mix_full2(void)
{
  const double mu[3 * 2] = {0.0, 0.0, 2.0, 1.0, -1.5, 1.5}, w[3] = {0.5, 0.3, 0.2};
  const double cov[3][4] = {{0.5, 0.3, 0.3, 0.4}, {0.2, -0.1, -0.1, 0.3}, {0.3, 0.05, 0.05, 0.1}};
  dpm_mixture *m = dpm_test_points(3, 2, mu, w);
  for (size_t k = 0; k < 3; k++)
    assert_int_equal(dpm_mixture_set_full(m, k, cov[k]), DPM_SUCCESS);
  return m;
}

/* The reported error bounds the true error. Reference: the same integrals (each component's expectation over
 * [-9, 9]^d in its principal coordinates) by a tensor composite Gauss-Legendre rule, P and 3P/2 panels of 20
 * nodes per axis; their spread bounds the reference's own error and must be below a quarter of the quadrature's
 * estimate (so the check can see an underestimate). Then |quad - ref| <= err + spread + 8 EPS |ref| (the last
 * term: the relative rounding of the reference's positive-weight sums of integrand values accurate to a few
 * units of roundoff). Checked on gmm1d (1-D), ring8 and a full-covariance 2-D mixture at steps across a cosine
 * schedule (N = 100, from nearly clean data to pure noise), for the warm-started schedule route at rel_tol 1e-10,
 * the (m, s) route at 1e-10 and at 1e-5 (coarse boxes, where an optimistic estimate would show), and against the
 * (m, s) route at 1e-13 (a much tighter tolerance: |g_10 - g_13| <= e_10 + e_13); each estimate also meets its
 * tolerance. The entropy quadrature is checked the same way for gmm1d and the 2-D mixture (reference -log q_0
 * from the mixture's densities, not the library's). */
static void test_quad_vs_gauss_legendre(void **state)
{
  (void)state;
  const size_t N = 100, ns[] = {1, 5, 20, 50, 80, 100}, nn = sizeof ns / sizeof ns[0];
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  assert_non_null(sch);
  dpm_mixture *mixes[3] = {dpm_test_mixture("gmm1d"), dpm_test_mixture("ring8"), mix_full2()};
  const size_t P[3] = {24, 12, 12};
  double *g = vec(N + 1), *e = vec(N + 1);
  for (int c = 0; c < 3; c++) {
    const dpm_mixture *mix = mixes[c];
    assert_non_null(mix);
    dpm_analytic_gamma_quad *q10 = dpm_analytic_gamma_quad_alloc(mix, 1e-10),
                            *q5 = dpm_analytic_gamma_quad_alloc(mix, 1e-5),
                            *q13 = dpm_analytic_gamma_quad_alloc(mix, 1e-13);
    assert_non_null(q10);
    assert_non_null(q5);
    assert_non_null(q13);
    assert_int_equal(dpm_analytic_gamma_quad_schedule(q10, sch, g, e), 0);
    for (size_t i = 0; i < nn; i++) {
      const size_t n = ns[i];
      const double m = sqrt(sch->alpha_bar[n]), s = sqrt(sch->beta_bar[n]);
      const double ref = gl_reference(mix, m, s, P[c]), spread = fabs(ref - gl_reference(mix, m, s, P[c] * 3 / 2));
      const double slack = spread + 8.0 * EPS * fabs(ref);
      /* the schedule route (warm starts) */
      assert_true(e[n] > 0.0 && e[n] <= 1e-10 * g[n] + 1e-15);
      assert_true(spread <= 0.25 * e[n]);
      assert_close(g[n], ref, 0, e[n] + slack);
      /* the (m, s) route at 1e-10, 1e-5 and 1e-13 */
      double g10, e10, g5, e5, g13, e13;
      assert_int_equal(dpm_analytic_gamma_quad_eval(q10, m, s, &g10, &e10), 0);
      assert_int_equal(dpm_analytic_gamma_quad_eval(q5, m, s, &g5, &e5), 0);
      assert_int_equal(dpm_analytic_gamma_quad_eval(q13, m, s, &g13, &e13), 0);
      assert_true(e10 <= 1e-10 * g10 + 1e-15 && e5 <= 1e-5 * g5 + 1e-15);
      assert_close(g10, ref, 0, e10 + slack);
      assert_close(g5, ref, 0, e5 + slack);
      assert_close(g10, g13, 0, e10 + e13);
    }
    dpm_analytic_gamma_quad_free(q10);
    dpm_analytic_gamma_quad_free(q5);
    dpm_analytic_gamma_quad_free(q13);
    if (c == 1) continue; /* ring8 has no entropy check here (test_elbo_bounds_entropy covers it against MC) */
    double H, He;
    assert_int_equal(dpm_mixture_entropy_quad(mix, 1e-10, &H, &He), 0);
    const double Href = gl_reference(mix, 1.0, 0.0, P[c]),
                 Hspread = fabs(Href - gl_reference(mix, 1.0, 0.0, P[c] * 3 / 2));
    assert_true(He <= 1e-10 * fabs(H) + 1e-13);
    assert_true(Hspread <= 0.25 * He);
    assert_close(H, Href, 0, He + Hspread + 8.0 * EPS * fabs(Href));
  }
  free(g);
  free(e);
  for (int c = 0; c < 3; c++)
    dpm_mixture_free(mixes[c]);
  dpm_schedule_free(sch);
}

/* The schedule route's warm starts run in chains of steps fixed by the schedule alone, so its results are the same
 * bits for 1 and 2 threads; at every step it agrees with the (m, s) route (which starts from the coarse grid)
 * within the sum of the two error estimates. */
static void test_gamma_quad_schedule_route(void **state)
{
  (void)state;
  const size_t N = 60;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  dpm_mixture *mix = mix_ring(3, 2.0, 0.04);
  double *g1 = vec(N + 1), *e1 = vec(N + 1), *g2 = vec(N + 1), *e2 = vec(N + 1);
#ifdef _OPENMP
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  dpm_analytic_gamma_quad *w1 = dpm_analytic_gamma_quad_alloc(mix, 1e-9);
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  dpm_analytic_gamma_quad *w2 = dpm_analytic_gamma_quad_alloc(mix, 1e-9);
#ifdef _OPENMP
  omp_set_num_threads(saved);
#endif
  assert_non_null(w1);
  assert_non_null(w2);
  assert_int_equal(dpm_analytic_gamma_quad_schedule(w1, sch, g1, e1), 0);
  assert_int_equal(dpm_analytic_gamma_quad_schedule(w2, sch, g2, e2), 0);
  assert_true(isnan(g1[0]) && isnan(e1[0]));
  assert_memory_equal(g1 + 1, g2 + 1, N * sizeof(double));
  assert_memory_equal(e1 + 1, e2 + 1, N * sizeof(double));
  for (size_t n = 1; n <= N; n++) {
    double g, e;
    assert_int_equal(dpm_analytic_gamma_quad_eval(w2, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), &g, &e), 0);
    assert_close(g1[n], g, 0, e1[n] + e);
  }
  dpm_analytic_gamma_quad_free(w1);
  dpm_analytic_gamma_quad_free(w2);
  free(g1);
  free(e1);
  free(g2);
  free(e2);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
}

/* Under the oracle, E|x_0 - E[x_0|x_n]|^2 = d (bbar_n/abar_n)(1 - Gamma_n): the Monte Carlo x_0 error of the
 * exact denoiser (with its standard error) against the right side from quadrature Gamma, within K_SE se plus
 * the quadrature error times bbar/abar. The denoiser route's Gamma-hat of the exact denoiser reproduces the
 * oracle route on the same streams (same draws, same eps: equal to rounding, 1e-12 relative). */
static void test_x0_error_identity(void **state)
{
  (void)state;
  const size_t N = 50, M = 20000;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  dpm_mixture *mix = mix_ring(3, 2.0, 0.04);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, M);
  assert_non_null(dn);
  assert_non_null(w);
  double *g = vec(N + 1), *se = vec(N + 1), *gh = vec(N + 1), *seh = vec(N + 1), *e0 = vec(N + 1),
         *e0se = vec(N + 1), *gq = vec(N + 1), *gqe = vec(N + 1);
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w, sch, 11, g, se), 0);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, dn, sch, 11, gh, seh, e0, e0se), 0);
  quad_gamma(mix, sch, gq, gqe);
  for (size_t n = 1; n <= N; n++) {
    assert_close(gh[n], g[n], 1e-12, 0);
    const double r = sch->beta_bar[n] / sch->alpha_bar[n];
    assert_true(fabs(e0[n] - r * (1 - gq[n])) <= K_SE * e0se[n] + r * gqe[n]);
  }
  assert_true(dn->nfe == N * ((M + 1023) / 1024));
  free(g);
  free(se);
  free(gh);
  free(seh);
  free(e0);
  free(e0se);
  free(gq);
  free(gqe);
  dpm_analytic_gamma_mc_free(w);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
}

/* ---- imperfect denoisers
 * ------------------------------------------------------------------------------------------ */

/* Scaled c: Gamma-hat = c^2 Gamma-hat(exact) on the same streams (1e-13), and c^2 Gamma within K_SE se + c^2 err.
 * Relative error eta: |eps-hat - eps| = eta |eps| exactly (1e-13), deterministic in x, and Gamma-hat within K_SE
 * se of (1 + eta^2) Gamma (the direction is uniform and independent of eps). Memorising model of 20 training
 * points: at noise s far below the training spacing its eps-hat is (x - m y*)/s for the nearest training point y*,
 * so |eps-hat|^2 ~ |eps|^2 + dist(x_0, set)^2/s^2 and Gamma-hat exceeds 1 (the ceiling of any true Gamma:
 * E|E[eps|x]|^2
 * <= E|eps|^2 = d) — with 20 points over a range of ~4, dist^2/s^2 ~ 30 at s = 0.01; the clipped decoder
 * variance then sits on its lower bound 0. */
static void test_imperfect_denoisers(void **state)
{
  (void)state;
  const size_t N = 50, M = 10000;
  dpm_schedule *sch = dpm_schedule_cosine_alloc(N);
  dpm_mixture *mix = mix_bimodal();
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(ex, 1.5);
  dpm_denoiser *re = dpm_denoiser_relerr_alloc(ex, 0.4, 99);
  gsl_rng *r = dpm_rng_stream_alloc(3, 0);
  dpm_denoiser *me = dpm_denoiser_memorise_alloc(mix, 20, r);
  assert_non_null(sc);
  assert_non_null(re);
  assert_non_null(me);
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, M);
  double *gq = vec(N + 1), *gqe = vec(N + 1), *g0 = vec(N + 1), *s0 = vec(N + 1), *gs = vec(N + 1),
         *ss = vec(N + 1), *gr = vec(N + 1), *sr = vec(N + 1), *gm = vec(N + 1), *sm = vec(N + 1);
  quad_gamma(mix, sch, gq, gqe);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, ex, sch, 5, g0, s0, NULL, NULL), 0);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, sc, sch, 5, gs, ss, NULL, NULL), 0);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w, re, sch, 6, gr, sr, NULL, NULL), 0);
  for (size_t n = 1; n <= N; n++) {
    assert_close(gs[n], 2.25 * g0[n], 1e-13, 0);
    assert_true(fabs(gs[n] - 2.25 * gq[n]) <= K_SE * ss[n] + 2.25 * gqe[n]);
    assert_true(fabs(gr[n] - 1.16 * gq[n]) <= K_SE * sr[n] + 1.16 * gqe[n]);
  }
  /* Gamma-hat != Gamma in the expected direction where it matters */
  for (size_t n = 1; n <= N; n += 7) {
    assert_true(gs[n] - 2.25 * gq[n] > -K_SE * ss[n] && gs[n] > gq[n] + K_SE * s0[n]);
  }
  /* relative error: exact size, determinism */
  double x[6] = {-2.0, -0.1, 0.0, 0.3, 1.0, 3.0}, e1[6], e2[6], eps[6];
  assert_int_equal(dpm_denoiser_eval(ex, 0.8, 0.6, 6, x, eps, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(re, 0.8, 0.6, 6, x, e1, NULL, NULL), 0);
  assert_int_equal(dpm_denoiser_eval(re, 0.8, 0.6, 6, x, e2, NULL, NULL), 0);
  assert_memory_equal(e1, e2, sizeof e1);
  for (int i = 0; i < 6; i++)
    assert_close(fabs(e1[i] - eps[i]), 0.4 * fabs(eps[i]), 1e-13, 1e-300);
  /* x0 and score follow from eps-hat */
  double x0[6], sco[6];
  assert_int_equal(dpm_denoiser_eval(re, 0.8, 0.6, 6, x, NULL, x0, sco), 0);
  for (int i = 0; i < 6; i++) {
    assert_close(x0[i], (x[i] - 0.6 * e1[i]) / 0.8, 1e-14, 1e-14);
    assert_close(sco[i], -e1[i] / 0.6, 1e-14, 0);
  }
  /* memorising: at s = 0.01 (linear schedule's first step) against 20 training points */
  dpm_schedule *sch2 = dpm_schedule_linear_alloc(20, 1e-4, 0.1);
  dpm_analytic_gamma_mc *w2 = dpm_analytic_gamma_mc_alloc(mix, 5000);
  double *gq2 = vec(21), *gqe2 = vec(21);
  quad_gamma(mix, sch2, gq2, gqe2);
  assert_int_equal(dpm_analytic_gamma_mc_denoiser(w2, me, sch2, 5, gm, sm, NULL, NULL), 0);
  const dpm_mixture *tr = dpm_denoiser_memorise_points(me);
  assert_non_null(tr);
  assert_int_equal(tr->K, 20);
  assert_true(dpm_mixture_is_pointset(tr));
  assert_null(dpm_denoiser_memorise_points(ex));
  assert_true(gm[1] > 1.0 + K_SE * sm[1]);
  assert_true(gq2[1] < 1.0);
  dpm_analytic_model mod = {1, 1.0, 1.0, gq2, NULL, gm, NULL, NULL, NULL, NULL};
  double *s2 = vec(21), *lower = vec(21);
  dpm_analytic_table tab;
  memset(&tab, 0, sizeof tab);
  tab.sigma2 = s2;
  tab.lower = lower;
  assert_int_equal(dpm_analytic_table_fill(sch2, &mod, &tab), 0);
  assert_true(s2[1] == lower[1] && lower[1] == 0.0);
  free(gq2);
  free(gqe2);
  dpm_analytic_gamma_mc_free(w2);
  dpm_schedule_free(sch2);
  free(s2);
  free(lower);
  free(gq);
  free(gqe);
  free(g0);
  free(s0);
  free(gs);
  free(ss);
  free(gr);
  free(sr);
  free(gm);
  free(sm);
  dpm_analytic_gamma_mc_free(w);
  dpm_denoiser_free(me);
  dpm_denoiser_free(re);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(ex);
  gsl_rng_free(r);
  dpm_mixture_free(mix);
  dpm_schedule_free(sch);
}

/* ---- the complement 1 - Gamma_n, integrated directly -------------------------------------------------------- */

/* Where both are well conditioned (linear schedule, bimodal data, Gamma away from 1) the directly integrated
 * complement equals 1 - Gamma within the sum of the two quadrature error estimates plus 8 EPS rounding; the Monte
 * Carlo complement lies within K_SE standard errors of the quadrature one (plus its error estimate). */
static void test_cgamma_vs_one_minus_gamma(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_bimodal();
  dpm_schedule *sch = dpm_schedule_alloc_by_name("linear", 200);
  assert_non_null(sch);
  const size_t N = sch->N;
  double *g = vec(N + 1), *ge = vec(N + 1), *cg = vec(N + 1), *cge = vec(N + 1), *mg = vec(N + 1),
         *mc = vec(N + 1), *mce = vec(N + 1);
  dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
  assert_non_null(q);
  const dpm_analytic_gamma_result qr = {g, ge, cg, cge};
  assert_int_equal(dpm_analytic_gamma_quad_fill(q, sch, &qr), 0);
  dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, 2000);
  assert_non_null(w);
  const dpm_analytic_gamma_result mr = {mg, NULL, mc, mce};
  assert_int_equal(dpm_analytic_gamma_mc_fill(w, sch, 5, &mr), 0);
  /* the same samples as the Gamma-only route: identical Gamma */
  double *mg2 = vec(N + 1);
  assert_int_equal(dpm_analytic_gamma_mc_schedule(w, sch, 5, mg2, NULL), 0);
  assert_memory_equal(mg + 1, mg2 + 1, N * sizeof(double));
  for (size_t n = 1; n <= N; n++) {
    assert_true(cg[n] > 0.0 && cg[n] < 1.0);
    assert_close(cg[n], 1.0 - g[n], 0.0, ge[n] + cge[n] + 8 * EPS);
    double one;
    assert_int_equal(
        dpm_analytic_gamma_quad_eval_cgamma(q, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), &one, NULL), 0);
    assert_close(one, cg[n], 0.0, 2.0 * cge[n] + 8 * EPS * cg[n]);
    assert_within_se(mc[n], mce[n] + cge[n] / K_SE, cg[n], K_SE);
  }
  free(mg2);
  dpm_analytic_gamma_mc_free(w);
  dpm_analytic_gamma_quad_free(q);
  free(g);
  free(ge);
  free(cg);
  free(cge);
  free(mg);
  free(mc);
  free(mce);
  dpm_schedule_free(sch);
  dpm_mixture_free(mix);
}

/* Near n = N on the cosine schedule 1 - Gamma_n ~ 1e-9: for Gaussian data N(mu, diag v) the complement is
 * (1/d) sum_j m^2 v_j/(m^2 v_j + s^2) exactly (Cov[x_0|x] = v s^2/(m^2 v + s^2)). The quadrature complement meets
 * it to its relative tolerance 1e-10 plus its error estimate, the Monte Carlo one (a constant integrand here) to
 * rounding (64 EPS); 1 - Gamma from the same Monte Carlo is off by about its standard error, ~1e-2, i.e. by many
 * times the value itself: the case the direct route exists for. */
static void test_cgamma_accurate_near_N(void **state)
{
  (void)state;
  const double mu[2] = {0.5, -1.0}, v[2] = {0.7, 2.5};
  dpm_schedule *sch = dpm_schedule_alloc_by_name("cosine", 1000);
  assert_non_null(sch);
  const size_t N = sch->N;
  for (size_t d = 1; d <= 2; d++) {
    dpm_mixture *mix = mix_gauss(d, mu, v);
    double *cg = vec(N + 1), *cge = vec(N + 1), *mg = vec(N + 1), *mc = vec(N + 1);
    dpm_analytic_gamma_quad *q = dpm_analytic_gamma_quad_alloc(mix, 1e-10);
    assert_non_null(q);
    for (size_t n = N - 5; n <= N; n++)
      assert_int_equal(
          dpm_analytic_gamma_quad_eval_cgamma(q, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), &cg[n], &cge[n]),
          0);
    dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, 1000);
    assert_non_null(w);
    const dpm_analytic_gamma_result mr = {mg, NULL, mc, NULL};
    assert_int_equal(dpm_analytic_gamma_mc_fill(w, sch, 2, &mr), 0);
    for (size_t n = N - 5; n <= N; n++) {
      const double m = sqrt(sch->alpha_bar[n]), s = sqrt(sch->beta_bar[n]);
      double exact = 0.0;
      for (size_t j = 0; j < d; j++)
        exact += m * m * v[j] / (m * m * v[j] + s * s) / (double)d;
      assert_true(exact < 1e-4);
      assert_close(cg[n], exact, 1e-10, cge[n]);
      assert_close(mc[n], exact, 64 * EPS, 0.0);
    }
    assert_true(sch->alpha_bar[N] < 1e-8);
    assert_true(fabs((1.0 - mg[N]) - mc[N]) > 100.0 * mc[N]);
    dpm_analytic_gamma_mc_free(w);
    dpm_analytic_gamma_quad_free(q);
    free(cg);
    free(cge);
    free(mg);
    free(mc);
    dpm_mixture_free(mix);
  }
  dpm_schedule_free(sch);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gamma_quad_gaussian_closed_form),
      cmocka_unit_test(test_gamma_mc_vs_quad),
      cmocka_unit_test(test_quad_vs_gauss_legendre),
      cmocka_unit_test(test_gamma_quad_schedule_route),
      cmocka_unit_test(test_x0_error_identity),
      cmocka_unit_test(test_imperfect_denoisers),
      cmocka_unit_test(test_cgamma_vs_one_minus_gamma),
      cmocka_unit_test(test_cgamma_accurate_near_N),
  };
  return cmocka_run_group_tests_name("analytic_gamma", tests, NULL, NULL);
}
