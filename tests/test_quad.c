/* test_quad.c — the adaptive cubature workspace (lib/quad, the engine behind Gamma_n by quadrature, docs/MATH.md
 * §3) against closed forms on its box B = [-L, L]^d: Gaussian moments and a Gaussian moment generating function,
 * a function with a kink, each within the returned error estimate (plus, where the closed form is for the whole
 * line, a bound on the mass outside B); warm starts from a mesh; GSL_EMAXITER when the box budget cannot meet the
 * tolerance; and every rejected argument. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_quad.h"
#include "testutil.h"

#define L DPM_QUAD_L

static double phi(double u) { return exp(-0.5 * u * u) / sqrt(2.0 * M_PI); }
/* Phi(b) - Phi(a), from the tail that keeps relative accuracy */
static double normal_mass(double a, double b) { return 0.5 * (erf(b / M_SQRT2) - erf(a / M_SQRT2)); }

/* int_B u^{2k} phi(u) du in 1-D, by the recursion M_{2k} = (2k - 1) M_{2k-2} - 2 L^{2k-1} phi(L) (integration by
 * parts), M_0 = Phi(L) - Phi(-L). */
static double box_moment(int k)
{
  double m = normal_mass(-L, L);
  for (int j = 1; j <= k; j++)
    m = (2.0 * j - 1.0) * m - 2.0 * pow(L, 2.0 * j - 1.0) * phi(L);
  return m;
}

/* ---- integrands -------------------------------------------------------------------------------------------- */

typedef struct {
  size_t d;
  int kind;       /* which g */
  double a[2];    /* parameters */
  size_t npoints; /* points evaluated (summed over calls) */
} integrand;

enum { G_POLY, G_EXP, G_KINK, G_KINK_AXIS, G_COS, G_FAIL };

/* g and two control variates: c_0 = 0 (plain integration) and c_1 = u_1^2 (a quadratic, as the library's) */
static int fn(void *ctx, size_t np, const double *u, double *g, double *c)
{
  integrand *in = ctx;
  const size_t d = in->d;
  in->npoints += np;
  if (in->kind == G_FAIL) return DPM_RAISE(GSL_EBADFUNC, "integrand: NaN at point %d", 3);
  for (size_t p = 0; p < np; p++) {
    const double u1 = u[p * d], u2 = d == 2 ? u[p * d + 1] : 0.0;
    switch (in->kind) {
    case G_POLY: /* 1-D: u^6 - 3 u^2 + 1; 2-D: u1^2 u2^4 + u1 u2 */
      g[p] = d == 1 ? pow(u1, 6) - 3.0 * u1 * u1 + 1.0 : u1 * u1 * pow(u2, 4) + u1 * u2;
      break;
    case G_EXP: /* exp(a . u) */
      g[p] = exp(in->a[0] * u1 + (d == 2 ? in->a[1] * u2 : 0.0));
      break;
    case G_KINK: /* |u1 + u2 - a| (1-D: |u - a|) */
      g[p] = fabs(u1 + u2 - in->a[0]);
      break;
    case G_KINK_AXIS: /* |u1 - a| (1 + u2^2) */
      g[p] = fabs(u1 - in->a[0]) * (1.0 + u2 * u2);
      break;
    default: /* G_COS: cos(a u1) */
      g[p] = cos(in->a[0] * u1);
      break;
    }
    c[p] = 0.0;
    c[np + p] = u1 * u1;
  }
  return DPM_SUCCESS;
}

/* integrate with both control variates offered; returns the status */
static int integrate(dpm_quad_workspace *w, integrand *in, double rel_tol, double abs_tol, dpm_quad_mesh *mesh,
                     double *value, double *err)
{
  double A0, A2;
  dpm_quad_box_moments(&A0, &A2);
  const double cint[2] = {0.0, in->d == 2 ? A2 * A0 : A2};
  return dpm_quad_integrate(w, fn, in, cint, rel_tol, abs_tol, mesh, value, err);
}

/* success, the error estimate within the tolerance, and the closed form within the error estimate (plus `extra`,
 * a bound on the part of the closed form that lies outside the box when it is not the integral on the box) */
static void check_ok(dpm_quad_workspace *w, integrand *in, double rel_tol, double exact, double extra)
{
  double value = NAN, err = NAN;
  assert_int_equal(integrate(w, in, rel_tol, 0.0, NULL, &value, &err), DPM_SUCCESS);
  assert_true(err >= 0.0);
  assert_close(err, 0.0, 0.0, rel_tol * fabs(value));
  assert_close(value, exact, 0.0, err + extra);
}

static void test_closed_forms_1d(void **state)
{
  (void)state;
  dpm_quad_workspace *w = dpm_quad_workspace_alloc(1, 2);
  assert_non_null(w);
  integrand in = {.d = 1, .kind = G_POLY};
  /* E_B[u^6 - 3u^2 + 1] = M6 - 3 M2 + M0 (= 13 on the whole line) */
  check_ok(w, &in, 1e-12, box_moment(3) - 3.0 * box_moment(1) + box_moment(0), 0.0);
  /* int_B e^{a u} phi = e^{a^2/2} (Phi(L - a) - Phi(-L - a)) */
  in.kind = G_EXP;
  in.a[0] = 0.7;
  check_ok(w, &in, 1e-12, exp(0.245) * normal_mass(-L - 0.7, L - 0.7), 0.0);
  /* a kink off the dyadic grid: int_B |u - a| phi = 2 phi(a) - 2 phi(L) + a (2 Phi(a) - Phi(L) - Phi(-L)) */
  in.kind = G_KINK;
  in.a[0] = 0.3;
  check_ok(w, &in, 1e-10, 2.0 * phi(0.3) - 2.0 * phi(L) + 0.3 * (normal_mass(-L, 0.3) - normal_mass(0.3, L)), 0.0);
  dpm_quad_workspace_free(w);
}

static void test_closed_forms_2d(void **state)
{
  (void)state;
  dpm_quad_workspace *w = dpm_quad_workspace_alloc(2, 2);
  assert_non_null(w);
  /* E_B[u1^2 u2^4 + u1 u2] = M2 M4 (the odd term vanishes on the symmetric box) */
  integrand in = {.d = 2, .kind = G_POLY};
  check_ok(w, &in, 1e-12, box_moment(1) * box_moment(2), 0.0);
  /* a product of two 1-D moment generating functions */
  in.kind = G_EXP;
  in.a[0] = 0.5;
  in.a[1] = -0.8;
  check_ok(w, &in, 1e-12, exp(0.125) * normal_mass(-L - 0.5, L - 0.5) * exp(0.32) * normal_mass(-L + 0.8, L + 0.8),
           0.0);
  /* a kink along a line of the box grid, u1 = a: the 1-D closed form times E_B[1 + u2^2] = M0 + M2 */
  in.kind = G_KINK_AXIS;
  in.a[0] = 0.3;
  check_ok(w, &in, 1e-10,
           (2.0 * phi(0.3) - 2.0 * phi(L) + 0.3 * (normal_mass(-L, 0.3) - normal_mass(0.3, L))) *
               (box_moment(0) + box_moment(1)),
           0.0);
  /* a kink across the boxes (bisection along the axes resolves it slowly: a looser tolerance within the budget):
   * E|u1 + u2 - a| = E|Z - a| with Z ~ N(0, 2), i.e. sqrt2 (2 phi(b) + b (2 Phi(b) - 1)) at
   * b = a / sqrt2 on the whole plane; outside B it is at most
   * sum over the two axes of E[(|u1| + |u2| + |a|) 1{|u_i| > L}] = 2 (2 phi(L) + (sqrt(2/pi) + |a|) 2 Q(L)) */
  in.kind = G_KINK;
  in.a[0] = 0.3;
  const double b = 0.3 / M_SQRT2, Q = 0.5 * erfc(L / M_SQRT2);
  const double outside = 2.0 * (2.0 * phi(L) + (sqrt(2.0 / M_PI) + 0.3) * 2.0 * Q);
  check_ok(w, &in, 1e-5, M_SQRT2 * (2.0 * phi(b) + b * (normal_mass(-HUGE_VAL, b) - normal_mass(b, HUGE_VAL))),
           outside);
  dpm_quad_workspace_free(w);
}

/* A warm start from the previous mesh gives the same integral (within the two error estimates) with fewer
 * integrand evaluations, and a reset mesh starts cold again. */
static void test_mesh_warm_start(void **state)
{
  (void)state;
  dpm_quad_workspace *w = dpm_quad_workspace_alloc(2, 2);
  dpm_quad_mesh *mesh = dpm_quad_mesh_alloc();
  assert_non_null(w);
  assert_non_null(mesh);
  integrand in = {.d = 2, .kind = G_KINK_AXIS, .a = {0.3, 0.0}};
  double v1, e1, v2, e2, v3, e3;
  assert_int_equal(integrate(w, &in, 1e-9, 0.0, mesh, &v1, &e1), DPM_SUCCESS);
  const size_t cold = in.npoints;
  in.npoints = 0;
  assert_int_equal(integrate(w, &in, 1e-9, 0.0, mesh, &v2, &e2), DPM_SUCCESS);
  assert_close(v2, v1, 0.0, e1 + e2);
  assert_true(in.npoints < cold);
  dpm_quad_mesh_reset(mesh);
  in.npoints = 0;
  assert_int_equal(integrate(w, &in, 1e-9, 0.0, mesh, &v3, &e3), DPM_SUCCESS);
  assert_int_equal(in.npoints, cold);
  assert_true(v3 == v1 && e3 == e1);
  dpm_quad_mesh_free(mesh);
  dpm_quad_workspace_free(w);
}

/* cos(a u) with a = 2000 has about 2000 x 15 / (2 pi) ~ 4800 periods where phi > 1e-14: no budget of a few
 * thousand boxes resolves it to an absolute 1e-12, so the refinement must stop with GSL_EMAXITER (value and error
 * set, the error above the tolerance). At a = 20 the same tolerance is met, and the integral on the box,
 * e^{-a^2/2} minus two tails each at most 2 phi(L)/a (integration by parts), is ~0. */
static void test_budget(void **state)
{
  (void)state;
  for (size_t d = 1; d <= 2; d++) {
    dpm_quad_workspace *w = dpm_quad_workspace_alloc(d, 2);
    assert_non_null(w);
    integrand in = {.d = d, .kind = G_COS, .a = {2000.0, 0.0}};
    double value = NAN, err = NAN;
    assert_raises(integrate(w, &in, 1e-12, 1e-12, NULL, &value, &err), GSL_EMAXITER, "budget");
    assert_true(isfinite(value));
    assert_true(isfinite(err) && err > 1e-12);
    in.a[0] = 20.0;
    assert_int_equal(integrate(w, &in, 1e-12, 1e-12, NULL, &value, &err), DPM_SUCCESS);
    assert_close(value, exp(-200.0), 0.0, err + 4.0 * phi(L) / 20.0);
    dpm_quad_workspace_free(w);
  }
}

static void test_errors(void **state)
{
  (void)state;
  assert_raises_null(dpm_quad_workspace_alloc(0, 1), "d must be 1 or 2");
  assert_raises_null(dpm_quad_workspace_alloc(3, 1), "d must be 1 or 2");
  assert_raises_null(dpm_quad_workspace_alloc(1, 0), "control variates");
  assert_raises_null(dpm_quad_workspace_alloc(2, DPM_QUAD_NCV_MAX + 1), "control variates");
  dpm_quad_workspace_free(NULL);
  dpm_quad_mesh_free(NULL);
  dpm_quad_mesh_reset(NULL);
  assert_raises(dpm_quad_check(3, 1e-8, "gamma"), GSL_EINVAL, "gamma: quadrature is for d = 1 or 2");
  assert_raises(dpm_quad_check(0, 1e-8, "gamma"), GSL_EINVAL, "d = 0");
  assert_raises(dpm_quad_check(1, 1e-15, "gamma"), GSL_EINVAL, "rel_tol");
  assert_raises(dpm_quad_check(2, 0.5, "gamma"), GSL_EINVAL, "rel_tol");
  assert_raises(dpm_quad_check(2, NAN, "gamma"), GSL_EINVAL, "rel_tol");
  assert_int_equal(dpm_quad_check(2, 1e-8, "gamma"), DPM_SUCCESS);
  dpm_quad_workspace *w = dpm_quad_workspace_alloc(1, 2);
  assert_non_null(w);
  const double cint[2] = {0.0, 1.0};
  double value, err;
  assert_raises(dpm_quad_integrate(NULL, fn, NULL, cint, 1e-8, 0.0, NULL, &value, &err), GSL_EINVAL, "NULL");
  assert_raises(dpm_quad_integrate(w, NULL, NULL, cint, 1e-8, 0.0, NULL, &value, &err), GSL_EINVAL, "NULL");
  integrand in = {.d = 1, .kind = G_POLY};
  assert_raises(dpm_quad_integrate(w, fn, &in, NULL, 1e-8, 0.0, NULL, &value, &err), GSL_EINVAL, "NULL");
  assert_raises(dpm_quad_integrate(w, fn, &in, cint, 1e-8, 0.0, NULL, NULL, &err), GSL_EINVAL, "NULL");
  /* the integrand's own failure comes back with its reason */
  in.kind = G_FAIL;
  assert_raises(integrate(w, &in, 1e-8, 0.0, NULL, &value, &err), GSL_EBADFUNC, "NaN at point 3");
  dpm_quad_workspace_free(w);
}

int main(void)
{
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closed_forms_1d), cmocka_unit_test(test_closed_forms_2d),
      cmocka_unit_test(test_mesh_warm_start), cmocka_unit_test(test_budget),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
