/* test_denoiser.c — the denoiser interface (docs/MATH.md §2-4): the optional diagonal posterior variance against
 * the oracle's full covariance, a closed form for Gaussian data and a long-double brute force for a point set; the
 * optional divergence of the score against central finite differences of the score; the oracle denoiser against
 * the oracle bit for bit and dpm_denoiser_complete against Tweedie's relations; the prediction kinds and the NFE
 * count of every op; and the wrappers that forward or decline each op.
 *
 * Tolerances. EPSU is the unit roundoff. A quantity formed from nonnegative terms (a posterior second moment
 * computed in two passes) is exact to a small multiple of EPSU times itself, times the condition of the
 * responsibilities (their log-weights carry an absolute rounding error EPSU |l_k|). A central difference with
 * step h has truncation error c h^2 + O(h^4), so |D(h) - D(2h)| = 3 |c| h^2 bounds the error of D(h) with a
 * factor 3 to spare, plus rounding: each score carries a relative error of a few hundred EPSU (the
 * cancellation in x - m mu_k), divided by the step. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpmlab.h"
#include "testutil.h"

#define EPSU DBL_EPSILON

/* 3-D: isotropic, diagonal, two full (one ill-conditioned) covariances and a point mass, unequal weights (the
 * shared mixture of every kind; its labels play no part here). */
static dpm_mixture *mix_mixed(void) { return dpm_test_mixture_kinds(); }

/* 2-D point set (equal weights). */
static const double PTS[6][2] = {{0.0, 0.0}, {1.0, 0.5}, {-1.25, 0.75}, {0.5, -1.0}, {2.0, 2.0}, {-0.5, -0.25}};

static dpm_mixture *mix_pointset(void) { return dpm_test_points(6, 2, &PTS[0][0], NULL); }

/* ---- the oracle denoiser
 * ----------------------------------------------------------------------------------------- */

/* The oracle denoiser returns the oracle's eps, x0 and score bit for bit; NFE and point counts advance on success
 * only; dpm_denoiser_complete reproduces the missing predictions (Tweedie relations, rounding 8 u of the terms).
 */
static void test_oracle_denoiser(void **state)
{
  (void)state;
  dpm_mixture *mix = dpm_test_mixture_kinds();
  dpm_oracle *orc = dpm_test_oracle(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  assert_int_equal(dn->d, 3);
  const size_t n = 10, d = 3;
  const double m = 0.8, s = 0.6;
  double x[30], e1[30], x1[30], g1[30], e2[30], x2[30], g2[30];
  gsl_rng *r = dpm_rng_stream_alloc(51, 0);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
  dpm_oracle_result res = {0};
  res.eps = e1;
  res.x0 = x1;
  res.score = g1;
  assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &res), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, e2, x2, g2), DPM_SUCCESS);
  assert_memory_equal(e1, e2, sizeof e1);
  assert_memory_equal(x1, x2, sizeof x1);
  assert_memory_equal(g1, g2, sizeof g1);
  assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, NULL, x2, NULL), DPM_SUCCESS);
  assert_int_equal(dn->nfe, 2);
  assert_int_equal(dn->npoints, 2 * n);
  assert_raises(dpm_denoiser_eval(dn, m, -1.0, n, x, e2, NULL, NULL), GSL_EDOM, NULL);
  assert_raises(dpm_denoiser_eval(dn, 0.0, 1.0, n, x, e2, NULL, NULL), GSL_EDOM, NULL);
  x[4] = NAN;
  assert_raises(dpm_denoiser_eval(dn, m, s, n, x, e2, NULL, NULL), GSL_EBADFUNC, NULL);
  x[4] = 0.5;
  assert_int_equal(dn->nfe, 2);
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
  assert_int_equal(dpm_oracle_eval(orc, m, s, n, x, &res), DPM_SUCCESS);
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_EPS, e1, x2, g2);
  for (size_t i = 0; i < n * d; i++) {
    assert_close(x2[i], x1[i], 0.0, 8 * EPSU * (fabs(x[i]) + s * fabs(e1[i])) / m + 64 * 8 * EPSU * fabs(x1[i]));
    assert_close(g2[i], g1[i], 4 * EPSU, 0.0);
  }
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_X0, e2, x1, g2);
  for (size_t i = 0; i < n * d; i++) {
    double mag = (fabs(x[i]) + m * fabs(x1[i])) / s;
    assert_close(e2[i], e1[i], 0.0, 64 * 8 * EPSU * mag);
    assert_close(g2[i], g1[i], 0.0, 64 * 8 * EPSU * mag / s);
  }
  assert_raises_null(dpm_denoiser_alloc(NULL, NULL, 3), NULL);
  dpm_denoiser_free(NULL);
  dpm_denoiser_free(dn);
  gsl_rng_free(r);
  dpm_oracle_free(orc);
  dpm_mixture_free(mix);
}

/* ---- diagonal posterior variance ----------------------------------------------------------------------- */

/* The oracle denoiser's diag Cov[x_0|x] equals the diagonal of the oracle's full Cov[x_0|x] (both sums of
 * nonnegative terms: 64 EPSU relative), its mean output is eval's x0 bit for bit, and one call is one NFE. */
static void test_diagcov_vs_full_cov(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_mixed();
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(o);
  assert_non_null(dn);
  assert_true(dpm_denoiser_has_diagcov(dn));
  enum { n = 40, d = 3 };
  double x[n * d], x0[n * d], x0e[n * d], dc[n * d], cov[n * d * d];
  gsl_rng *r = dpm_rng_stream_alloc(7, 0);
  const double ms[3][2] = {{0.99, 0.14}, {0.8, 0.6}, {0.1, 0.995}};
  for (size_t c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1];
    dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
    dpm_denoiser_reset_count(dn);
    assert_int_equal(dpm_denoiser_eval_diagcov(dn, m, s, n, x, x0, dc), DPM_SUCCESS);
    assert_int_equal(dn->nfe, 1);
    assert_int_equal(dn->npoints, n);
    assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, NULL, x0e, NULL), DPM_SUCCESS);
    assert_memory_equal(x0, x0e, sizeof x0);
    dpm_oracle_result res = {0};
    res.cov = cov;
    assert_int_equal(dpm_oracle_eval(o, m, s, n, x, &res), DPM_SUCCESS);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++) {
        assert_true(dc[i * d + j] >= 0.0);
        assert_close(dc[i * d + j], cov[i * d * d + j * d + j], 64 * EPSU, 0.0);
      }
    /* the mean alone is optional */
    assert_int_equal(dpm_denoiser_eval_diagcov(dn, m, s, n, x, NULL, x0e), DPM_SUCCESS);
    assert_memory_equal(dc, x0e, sizeof dc);
  }
  gsl_rng_free(r);
  dpm_denoiser_free(dn);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
}

/* Gaussian data q_0 = N(mu, diag v): Cov[x_0|x] = v s^2/(m^2 v + s^2) per coordinate, exactly (docs/MATH.md §3),
 * at any x; the oracle forms it in a handful of operations (16 EPSU). */
static void test_diagcov_gaussian_closed_form(void **state)
{
  (void)state;
  const double mu[2] = {0.5, -2.0}, v[2] = {0.7, 3.0};
  dpm_mixture *mix = dpm_test_gauss(2, mu, v);
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  const double x[6] = {0.0, 0.0, 3.0, -4.0, -10.0, 25.0};
  const double ms[4][2] = {{1.0, 1e-4}, {0.9, 0.4}, {0.3, 0.95}, {1e-3, 1.0}};
  for (size_t c = 0; c < 4; c++) {
    const double m = ms[c][0], s = ms[c][1];
    double dc[6];
    assert_int_equal(dpm_denoiser_eval_diagcov(dn, m, s, 3, x, NULL, dc), DPM_SUCCESS);
    for (size_t i = 0; i < 3; i++)
      for (size_t j = 0; j < 2; j++)
        assert_close(dc[i * 2 + j], v[j] * s * s / (m * m * v[j] + s * s), 16 * EPSU, 0.0);
  }
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* A point set: the posterior is sum_k r_k delta_{y_k}, r_k = softmax(-|x - m y_k|^2 / (2 s^2)); its variance by
 * brute force in long double (two passes). Reference and oracle differ by the rounding of the log-weights,
 * EPSU |l_k| absolute in each, which moves the variance by at most 2 max_k |l_k - l_max| EPSU relative to the
 * sum of the nonnegative terms r_k (y_k - ybar)^2 = the variance itself; 64 EPSU for the sums. */
static void test_diagcov_pointset_brute_force(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_pointset();
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  const double x[8] = {0.3, 0.1, -2.0, 1.0, 1.5, 1.5, 4.0, -3.0};
  const double ms[3][2] = {{1.0, 0.3}, {0.7, 0.7}, {0.2, 1.0}};
  for (size_t c = 0; c < 3; c++) {
    const double m = ms[c][0], s = ms[c][1];
    double dc[8];
    assert_int_equal(dpm_denoiser_eval_diagcov(dn, m, s, 4, x, NULL, dc), DPM_SUCCESS);
    for (size_t i = 0; i < 4; i++) {
      long double l[6], lmax = -INFINITY, z = 0.0L, mean[2] = {0.0L, 0.0L}, var[2] = {0.0L, 0.0L};
      for (size_t k = 0; k < 6; k++) {
        const long double a = (long double)x[2 * i] - (long double)m * PTS[k][0],
                          b = (long double)x[2 * i + 1] - (long double)m * PTS[k][1];
        l[k] = -(a * a + b * b) / (2.0L * (long double)s * (long double)s);
        if (l[k] > lmax) lmax = l[k];
      }
      double spread = 0.0;
      for (size_t k = 0; k < 6; k++) {
        z += expl(l[k] - lmax);
        if ((double)(lmax - l[k]) > spread) spread = (double)(lmax - l[k]);
      }
      for (size_t k = 0; k < 6; k++)
        for (size_t j = 0; j < 2; j++)
          mean[j] += expl(l[k] - lmax) / z * PTS[k][j];
      for (size_t k = 0; k < 6; k++)
        for (size_t j = 0; j < 2; j++)
          var[j] += expl(l[k] - lmax) / z * (PTS[k][j] - mean[j]) * (PTS[k][j] - mean[j]);
      for (size_t j = 0; j < 2; j++)
        assert_close(dc[i * 2 + j], (double)var[j], (64.0 + 4.0 * (spread + fabs((double)lmax))) * EPSU, 0.0);
    }
  }
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* ---- divergence of the score ----------------------------------------------------------------------------- */

/* Central differences D(h) = sum_j (score_j(x + h e_j) - score_j(x - h e_j)) / (2h) through the denoiser's own
 * score, at h and 2h; the tolerance is |D(h) - D(2h)| (three times the truncation error of D(h)) plus the
 * rounding of the differenced scores, 2 * 256 EPSU max|score| / (2h) per coordinate. */
static void check_divergence_fd(dpm_denoiser *dn, double m, double s, size_t n, const double *x)
{
  const size_t d = dn->d;
  double *div = calloc(n, sizeof *div), *sc = calloc(n * d, sizeof *sc), *xp = calloc(2 * d * d, sizeof *xp),
         *sp = calloc(2 * d * d, sizeof *sp);
  assert_true(div && sc && xp && sp);
  assert_int_equal(dpm_denoiser_eval_divergence(dn, m, s, n, x, sc, div), DPM_SUCCESS);
  for (size_t i = 0; i < n; i++) {
    double D[2], smax = 0.0;
    for (int q = 0; q < 2; q++) {
      const double h = (q == 0 ? 1e-3 : 2e-3) * s;
      for (size_t j = 0; j < d; j++) {
        memcpy(xp + (2 * j) * d, x + i * d, d * sizeof(double));
        memcpy(xp + (2 * j + 1) * d, x + i * d, d * sizeof(double));
        xp[(2 * j) * d + j] += h;
        xp[(2 * j + 1) * d + j] -= h;
      }
      assert_int_equal(dpm_denoiser_eval(dn, m, s, 2 * d, xp, NULL, NULL, sp), DPM_SUCCESS);
      D[q] = 0.0;
      for (size_t j = 0; j < d; j++) {
        D[q] += (sp[(2 * j) * d + j] - sp[(2 * j + 1) * d + j]) / (2.0 * h);
        for (size_t l = 0; l < 2 * d * d; l++)
          if (fabs(sp[l]) > smax) smax = fabs(sp[l]);
      }
    }
    const double h = 1e-3 * s;
    assert_close(div[i], D[0], 0.0, fabs(D[0] - D[1]) + (double)d * 256.0 * EPSU * smax / h);
  }
  free(div);
  free(sc);
  free(xp);
  free(sp);
}

/* The oracle's divergence (its Laplacian) against finite differences of its score, for the mixed 3-D mixture and
 * a point set at several (m, s); the score output equals eval's bit for bit; one call is one NFE. */
static void test_divergence_vs_finite_differences(void **state)
{
  (void)state;
  dpm_mixture *mixes[2] = {mix_mixed(), mix_pointset()};
  gsl_rng *r = dpm_rng_stream_alloc(8, 0);
  const double ms[3][2] = {{0.99, 0.14}, {0.8, 0.6}, {0.2, 0.98}};
  for (size_t q = 0; q < 2; q++) {
    dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mixes[q]);
    assert_non_null(dn);
    assert_true(dpm_denoiser_has_divergence(dn));
    const size_t d = dn->d, n = 12;
    double x[36], sc[36], sc2[36], div[12];
    for (size_t c = 0; c < 3; c++) {
      const double m = ms[c][0], s = ms[c][1];
      dpm_test_sample_qt(mixes[q], r, m, s, n, x, NULL, NULL);
      check_divergence_fd(dn, m, s, n, x);
      dpm_denoiser_reset_count(dn);
      assert_int_equal(dpm_denoiser_eval_divergence(dn, m, s, n, x, sc, div), DPM_SUCCESS);
      assert_int_equal(dn->nfe, 1);
      assert_int_equal(dn->npoints, n);
      assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, NULL, NULL, sc2), DPM_SUCCESS);
      assert_memory_equal(sc, sc2, n * d * sizeof(double));
    }
    dpm_denoiser_free(dn);
    dpm_mixture_free(mixes[q]);
  }
  gsl_rng_free(r);
}

/* ---- wrappers, prediction kinds, counts ------------------------------------------------------------------ */

/* Scaled: score-hat = c score so its divergence is c times the oracle's (exact: one multiplication), and it is
 * consistent with its own score (finite differences); it declines the posterior variance. Relerr declines both.
 * Memorise forwards both, equal to the exact denoiser of its own training set. Declining raises GSL_EINVAL naming
 * the denoiser and does not count. */
static void test_wrappers_forward_or_decline(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_mixed();
  dpm_denoiser *ex = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(ex, 0.7);
  dpm_denoiser *re = dpm_denoiser_relerr_alloc(ex, 0.1, 3);
  gsl_rng *r = dpm_rng_stream_alloc(9, 0);
  dpm_denoiser *me = dpm_denoiser_memorise_alloc(mix, 50, r);
  assert_true(ex && sc && re && me);
  const double m = 0.8, s = 0.6;
  enum { n = 10, d = 3 };
  double x[n * d], a[n * d], b[n * d], da[n], db[n];
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);

  assert_true(dpm_denoiser_has_divergence(sc));
  assert_false(dpm_denoiser_has_diagcov(sc));
  assert_int_equal(dpm_denoiser_eval_divergence(ex, m, s, n, x, a, da), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval_divergence(sc, m, s, n, x, b, db), DPM_SUCCESS);
  for (size_t i = 0; i < n; i++)
    assert_close(db[i], 0.7 * da[i], EPSU, 0.0);
  for (size_t i = 0; i < n * d; i++)
    assert_close(b[i], 0.7 * a[i], EPSU, 0.0);
  check_divergence_fd(sc, m, s, n, x);

  dpm_denoiser *decl[2] = {sc, re};
  for (size_t q = 0; q < 2; q++) {
    const unsigned long nfe = decl[q]->nfe;
    assert_raises(dpm_denoiser_eval_diagcov(decl[q], m, s, n, x, NULL, a), GSL_EINVAL,
                  q == 0 ? "denoiser scaled has no posterior variance"
                         : "denoiser relerr has no posterior variance");
    assert_int_equal(decl[q]->nfe, nfe);
  }
  assert_false(dpm_denoiser_has_divergence(re));
  assert_raises(dpm_denoiser_eval_divergence(re, m, s, n, x, NULL, da), GSL_EINVAL,
                "denoiser relerr has no divergence");
  /* a scaled model of a model without divergence has none either */
  dpm_denoiser *sc2 = dpm_denoiser_scaled_alloc(re, 2.0);
  assert_non_null(sc2);
  assert_false(dpm_denoiser_has_divergence(sc2));
  dpm_denoiser_free(sc2);

  const dpm_mixture *pts = dpm_denoiser_memorise_points(me);
  dpm_denoiser *pex = dpm_denoiser_oracle_alloc(pts);
  assert_non_null(pex);
  assert_int_equal(dpm_denoiser_eval_diagcov(me, m, s, n, x, a, b), DPM_SUCCESS);
  double a2[n * d], b2[n * d];
  assert_int_equal(dpm_denoiser_eval_diagcov(pex, m, s, n, x, a2, b2), DPM_SUCCESS);
  assert_memory_equal(b, b2, sizeof b);
  assert_int_equal(dpm_denoiser_eval_divergence(me, m, s, n, x, NULL, da), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval_divergence(pex, m, s, n, x, NULL, db), DPM_SUCCESS);
  assert_memory_equal(da, db, sizeof da);
  assert_int_equal(me->nfe, 2);

  dpm_denoiser_free(pex);
  dpm_denoiser_free(me);
  dpm_denoiser_free(re);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(ex);
  gsl_rng_free(r);
  dpm_mixture_free(mix);
}

/* dpm_denoiser_complete from a score: eps = -s score, x0 = (x + s^2 score)/m reproduce the oracle's eps and x0
 * (one product: 2 EPSU; x0 cancels in x + s^2 score, so the bound is relative to the magnitudes of the terms). */
static void test_complete_from_score(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_mixed();
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  assert_non_null(dn);
  enum { n = 20, d = 3 };
  double x[n * d], e1[n * d], x1[n * d], g1[n * d], e2[n * d], x2[n * d];
  gsl_rng *r = dpm_rng_stream_alloc(10, 0);
  const double m = 0.9, s = 0.45;
  dpm_test_sample_qt(mix, r, m, s, n, x, NULL, NULL);
  assert_int_equal(dpm_denoiser_eval(dn, m, s, n, x, e1, x1, g1), DPM_SUCCESS);
  dpm_denoiser_complete(m, s, n, d, x, DPM_PRED_SCORE, e2, x2, g1);
  for (size_t i = 0; i < n * d; i++) {
    assert_close(e2[i], e1[i], 0.0, 8 * EPSU * fabs(e1[i]) + 8 * EPSU * s * fabs(g1[i]));
    assert_close(x2[i], x1[i], 0.0, 64 * EPSU * (fabs(x[i]) + s * s * fabs(g1[i])) / m + 64 * EPSU * fabs(x1[i]));
  }
  /* an unknown kind writes nothing */
  memcpy(e2, e1, sizeof e2);
  dpm_denoiser_complete(m, s, n, d, x, (dpm_pred_kind)7, e2, NULL, NULL);
  assert_memory_equal(e2, e1, sizeof e2);
  gsl_rng_free(r);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

/* Counting: every op counts one NFE and n points on success only; a bad (m, s) is GSL_EDOM for every op; reset
 * sets both counts to 0; wrappers count their own call (the inner denoiser counts its own). */
static void test_counts_and_errors(void **state)
{
  (void)state;
  dpm_mixture *mix = mix_pointset();
  dpm_denoiser *dn = dpm_denoiser_oracle_alloc(mix);
  dpm_denoiser *sc = dpm_denoiser_scaled_alloc(dn, 0.5);
  assert_true(dn && sc);
  const double x[4] = {0.1, 0.2, -0.3, 0.4};
  double a[4], v[2];
  assert_int_equal(dpm_denoiser_eval(dn, 0.9, 0.5, 2, x, a, NULL, NULL), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval_diagcov(dn, 0.9, 0.5, 2, x, NULL, a), DPM_SUCCESS);
  assert_int_equal(dpm_denoiser_eval_divergence(dn, 0.9, 0.5, 2, x, NULL, v), DPM_SUCCESS);
  assert_int_equal(dn->nfe, 3);
  assert_int_equal(dn->npoints, 6);
  assert_int_equal(dpm_denoiser_eval_divergence(sc, 0.9, 0.5, 2, x, NULL, v), DPM_SUCCESS);
  assert_int_equal(sc->nfe, 1);
  assert_int_equal(dn->nfe, 4);
  assert_raises(dpm_denoiser_eval_diagcov(dn, 0.0, 0.5, 2, x, NULL, a), GSL_EDOM, NULL);
  assert_raises(dpm_denoiser_eval_divergence(dn, 0.9, -1.0, 2, x, NULL, v), GSL_EDOM, NULL);
  assert_raises(dpm_denoiser_eval_divergence(dn, 0.9, NAN, 2, x, NULL, v), GSL_EDOM, NULL);
  assert_raises(dpm_denoiser_eval_diagcov(dn, 0.9, 0.5, 2, x, NULL, NULL), GSL_EINVAL, NULL);
  assert_raises(dpm_denoiser_eval_divergence(dn, 0.9, 0.5, 2, x, NULL, NULL), GSL_EINVAL, NULL);
  const double bad[4] = {0.1, NAN, 0.0, 0.0};
  /* the origin's reason, with the denoiser named in front */
  assert_raises(dpm_denoiser_eval_divergence(dn, 0.9, 0.5, 2, bad, NULL, v), GSL_EBADFUNC, "denoiser oracle: ");
  assert_int_equal(dn->nfe, 4);
  dpm_denoiser_reset_count(dn);
  assert_int_equal(dn->nfe, 0);
  assert_int_equal(dn->npoints, 0);
  dpm_denoiser_reset_count(NULL);
  assert_false(dpm_denoiser_has_diagcov(NULL));
  assert_false(dpm_denoiser_has_divergence(NULL));
  assert_raises(dpm_denoiser_eval_diagcov(NULL, 0.9, 0.5, 2, x, NULL, a), GSL_EINVAL, NULL);
  dpm_denoiser_free(sc);
  dpm_denoiser_free(dn);
  dpm_mixture_free(mix);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oracle_denoiser),
      cmocka_unit_test(test_diagcov_vs_full_cov),
      cmocka_unit_test(test_diagcov_gaussian_closed_form),
      cmocka_unit_test(test_diagcov_pointset_brute_force),
      cmocka_unit_test(test_divergence_vs_finite_differences),
      cmocka_unit_test(test_wrappers_forward_or_decline),
      cmocka_unit_test(test_complete_from_score),
      cmocka_unit_test(test_counts_and_errors),
  };
  return cmocka_run_group_tests_name("denoiser", tests, NULL, NULL);
}
