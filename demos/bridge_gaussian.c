/* bridge_gaussian.c — the Schrödinger bridge between two Gaussians against its closed form (Janati et al. 2020;
 * Bunne et al. 2023; De Bortoli et al. 2021, docs/MATH.md §5): the bridge's time marginals with Euler–Maruyama
 * paths on the closed-form drift and the dynamic bridge of Sinkhorn's plan on samples; exact IPF's distance to
 * C_sigma per iteration on a log scale for the Brownian and the DSB reference with the predicted linear rate; and
 * the epsilon -> 0 (sorted coupling) and epsilon -> infinity (independent) limits of C_sigma and of Sinkhorn's
 * plan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort.h>

#include "demo.h"
#include "dpm_bridge.h"

/* the check problem of docs/MATH.md §5 */
#define M0    (-1.0)
#define S0    0.5
#define M1    1.5
#define S1    2.0
#define SIG2  1.0
#define NPATH 14
#define NT    101
#define NTS   11 /* times of the Sinkhorn marginals */
#define NIPF  12
#define NLIM  8 /* sigma^2 = 10^(-1.5 + k/2) */

typedef struct {
  size_t n_sk, n_lim, n_em, K_em, G;
  double grid_match, grid_dx, mm_bias[4], mm_order;
  size_t n_mm;
  double D, C, OT, S12, transport;
  double ipf_c[4], rate_bm, rate_pred, err_last_bm;
  double dsb_a, dsb_q, dsb_sig2, rate_dsb;
  double sk_cost, sk_entropic, sk_C, sk_S12, sk_iters;
  double em_mean1, em_var1, em_se_mean1, em_se_var1;
  double lim_sig2[2], lim_C[2], lim_sk[2], sorted_C, indep_pred;
} results;

static int compute(const demo_ctx *ctx, results *R)
{
  const double m0 = M0, s0 = S0, m1 = M1, s1 = S1;
  const size_t n = R->n_sk, K = R->K_em, ne = R->n_em;
  dpm_bridge_gauss *g = dpm_bridge_gauss_alloc(1, &m0, &s0, &m1, &s1, SIG2);
  double *paths = malloc((K + 1) * ne * sizeof *paths), *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  double *xs = malloc(n * sizeof *xs), *ys = malloc(n * sizeof *ys);
  dpm_bridge_sinkhorn *sk = NULL;
  dpm_bridge_ipf_gauss *ipf = NULL;
  dpm_bridge_gauss *g2 = NULL;
  dpm_out *out = NULL;
  int st = g && paths && x && y && xs && ys ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) {
    R->D = g->D[0];
    R->C = g->C[0];
    R->OT = g->OT;
    R->transport = g->transport;
    st = dpm_bridge_gauss_marginal(g, 0.5, NULL, &R->S12);
  }
  if (!st) st = dpm_bridge_gauss_sample(g, ne, K, demo_seed(ctx, 1), paths);
  if (!st) out = demo_dat_open(ctx, ctx->data_path, "Gaussian bridge: marginals, paths, IPF, epsilon limits");
  if (!st && !out) st = GSL_EFAILED;
  FILE *fp = out ? dpm_out_file(out) : NULL;
  if (!st) {
    demo_dat_block(fp, "marg", "t mean lower upper (closed form, mean -+ 2 sd)");
    for (size_t k = 0; k < NT; k++) {
      const double t = (double)k / (NT - 1);
      double mt, vt;
      dpm_bridge_gauss_marginal(g, t, &mt, &vt);
      const double v[4] = {t, mt, mt - 2 * sqrt(vt), mt + 2 * sqrt(vt)};
      demo_dat_row(fp, 4, v);
    }
    demo_dat_block(fp, "paths", "t x (Euler-Maruyama on the closed-form drift; a blank line between paths)");
    for (size_t p = 0; p < NPATH && p < ne; p++) {
      for (size_t k = 0; k <= K; k++) {
        const double v[2] = {(double)k / (double)K, paths[k * ne + p]};
        demo_dat_row(fp, 2, v);
      }
      fputc('\n', fp);
    }
    double m = 0, v = 0, m4 = 0;
    const double *xe = paths + K * ne;
    for (size_t i = 0; i < ne; i++)
      m += xe[i] / (double)ne;
    for (size_t i = 0; i < ne; i++) {
      v += (xe[i] - m) * (xe[i] - m) / (double)(ne - 1);
      m4 += pow(xe[i] - m, 4) / (double)ne;
    }
    R->em_mean1 = m;
    R->em_var1 = v;
    R->em_se_mean1 = sqrt(v / (double)ne);
    R->em_se_var1 = sqrt((m4 - v * v) / (double)ne);
  }
  /* Sinkhorn on n draws of each marginal, its dynamic bridge's marginals */
  if (!st) {
    gsl_rng *r = dpm_rng_stream_alloc(demo_seed(ctx, 2), 0);
    for (size_t i = 0; i < n; i++)
      x[i] = M0 + sqrt(S0) * gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < n; i++)
      y[i] = M1 + sqrt(S1) * gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
    sk = dpm_bridge_sinkhorn_alloc(n, n, 1, x, y, NULL, NULL);
    if (!sk) st = GSL_EFAILED;
  }
  dpm_bridge_sinkhorn_params par = dpm_bridge_sinkhorn_default();
  if (!st) {
    par.reg = 2 * SIG2;
    st = dpm_bridge_sinkhorn_solve(sk, &par);
  }
  if (!st) {
    double mx, my, c, mt, vt;
    dpm_bridge_sinkhorn_moments(sk, &mx, &my, &c);
    R->sk_C = c;
    R->sk_cost = sk->transport;
    R->sk_entropic = sk->entropic;
    R->sk_iters = (double)sk->iters;
    demo_dat_block(fp, "sk_marg", "t mean lower upper (Sinkhorn's dynamic bridge on the samples)");
    for (size_t k = 0; k < NTS && !st; k++) {
      const double t = (double)k / (NTS - 1);
      st = dpm_bridge_sinkhorn_marginal(sk, t, &mt, &vt);
      const double v[4] = {t, mt, mt - 2 * sqrt(vt), mt + 2 * sqrt(vt)};
      demo_dat_row(fp, 4, v);
      if (k == NTS / 2) R->sk_S12 = vt;
    }
  }
  /* exact IPF, Brownian reference, the check problem */
  if (!st && !(ipf = dpm_bridge_ipf_gauss_alloc(1, &m0, &s0, dpm_bridge_kernel_brownian(SIG2)))) st = GSL_EFAILED;
  const double phi = 0.5 * (sqrt(5.0) - 1.0);
  R->rate_pred = pow(phi, 4);
  if (!st) {
    demo_dat_block(
        fp, "ipf_bm",
        "iteration err pred (|C_n - C_sigma|, exact IPF, Brownian reference, 1-D; pred = err_1 phi^(4(n-1)))");
    double prev = NAN, e1 = NAN;
    for (size_t it = 1; it <= NIPF && !st; it++) {
      st = dpm_bridge_ipf_gauss_step(ipf, 1, &m1, &s1);
      if (!st) st = dpm_bridge_ipf_gauss_step(ipf, 0, &m0, &s0);
      const double e = dpm_bridge_ipf_gauss_err(ipf, g->C);
      if (it <= 4) R->ipf_c[it - 1] = ipf->Sxy[0];
      if (it == 4) R->rate_bm = e / prev;
      if (it == 1) e1 = e;
      prev = e;
      R->err_last_bm = e;
      const double v[3] = {(double)it, e, e1 * pow(R->rate_pred, (double)(it - 1))};
      if (e > 0) demo_dat_row(fp, 3, v);
    }
  }
  /* the DSB reference (a discretised OU chain of 20 increasing steps) on a 2-D pair with full covariances */
  if (!st) {
    double gam[20];
    for (int k = 0; k < 20; k++)
      gam[k] = 0.02 + 0.004 * k;
    dpm_bridge_kernel kd;
    st = dpm_bridge_kernel_dsb(20, gam, &kd);
    R->dsb_a = kd.a;
    R->dsb_q = kd.q;
    R->dsb_sig2 = kd.q / kd.a;
    const double a0[2] = {1.0, -1.0}, a1[2] = {-2.0, 0.5}, A0[4] = {1.0, 0.3, 0.3, 0.5},
                 A1[4] = {2.0, -0.8, -0.8, 1.5};
    dpm_bridge_ipf_gauss_free(ipf);
    ipf = st ? NULL : dpm_bridge_ipf_gauss_alloc(2, a0, A0, kd);
    g2 = st ? NULL : dpm_bridge_gauss_alloc(2, a0, A0, a1, A1, R->dsb_sig2);
    if (!st && (!ipf || !g2)) st = GSL_EFAILED;
    demo_dat_block(fp, "ipf_dsb", "iteration err (exact IPF, DSB reference, 2-D, against C at sigma^2 = q/a)");
    double prev = NAN;
    for (size_t it = 1; it <= NIPF && !st; it++) {
      st = dpm_bridge_ipf_gauss_step(ipf, 1, a1, A1);
      if (!st) st = dpm_bridge_ipf_gauss_step(ipf, 0, a0, A0);
      const double e = dpm_bridge_ipf_gauss_err(ipf, g2->C);
      if (it == 4) R->rate_dsb = e / prev; /* before the rounding floor */
      prev = e;
      const double v[2] = {(double)it, e};
      if (e > 0) demo_dat_row(fp, 2, v);
    }
  }
  /* grid IPF on the check problem: each iteration ends on the X_1-update, i.e. on exact IPF's half-step 2n - 1 */
  if (!st) {
    dpm_mixture *ga = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[-1]],\"covariances\":[0.5]}", "mu0");
    dpm_mixture *gb = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[1.5]],\"covariances\":[2]}", "mu1");
    dpm_bridge_grid *gr = ga && gb ? dpm_bridge_grid_alloc(ga, gb, R->G, -11.0, 14.0, 4, SIG2) : NULL;
    dpm_bridge_ipf_gauss *ex =
        gr ? dpm_bridge_ipf_gauss_alloc(1, &m0, &s0, dpm_bridge_kernel_brownian(SIG2)) : NULL;
    if (!ex) st = GSL_EFAILED;
    demo_dat_block(fp, "ipf_grid", "iteration-1/2 err (grid IPF, 1-D, G points, N = 4; after its X_1-update)");
    R->grid_match = 0.0;
    for (size_t it = 1; it <= NIPF && !st; it++) {
      double e, C;
      st = dpm_bridge_grid_iterate(gr, &e);
      if (!st) st = dpm_bridge_grid_cross_cov(gr, &C);
      if (!st) st = dpm_bridge_ipf_gauss_step(ex, 1, &m1, &s1); /* exact half-step 2n - 1 */
      if (st) break;
      R->grid_match = fmax(R->grid_match, fabs(C - ex->Sxy[0]));
      st = dpm_bridge_ipf_gauss_step(ex, 0, &m0, &s0);
      const double v[2] = {(double)it - 0.5, fabs(C - g->C[0])};
      if (v[1] > 0) demo_dat_row(fp, 2, v);
    }
    R->grid_dx = gr ? gr->dx : (double)NAN;
    dpm_bridge_ipf_gauss_free(ex);
    dpm_bridge_grid_free(gr);
    dpm_mixture_free(ga);
    dpm_mixture_free(gb);
  }
  /* mean-matching IPF (affine least squares) on the check problem: its error per iteration at N = 32, and the
   * fixed-variance bias after one iteration against exact IPF's 3/5 for N = 4, 8, 16, 32 */
  if (!st) {
    dpm_mixture *ga = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[-1]],\"covariances\":[0.5]}", "mu0");
    dpm_mixture *gb = dpm_data_load_json_string("{\"weights\":[1],\"means\":[[1.5]],\"covariances\":[2]}", "mu1");
    if (!ga || !gb) st = GSL_EFAILED;
    static const size_t NMM[4] = {4, 8, 16, 32};
    for (int q = 0; q < 4 && !st; q++) {
      dpm_bridge_mm *mm = dpm_bridge_mm_alloc(ga, gb, NMM[q], R->n_mm, SIG2, demo_seed(ctx, 3));
      if (!mm) {
        st = GSL_EFAILED;
        break;
      }
      double C;
      const size_t nit = q == 3 ? NIPF / 2 : 1;
      if (q == 3)
        demo_dat_block(fp, "ipf_mm", "iteration err (mean-matching IPF, N = 32 steps, affine least squares)");
      for (size_t it = 1; it <= nit && !st; it++) {
        st = dpm_bridge_mm_iterate(mm, &C);
        if (it == 1) R->mm_bias[q] = C - 3.0 / 5.0;
        const double v[2] = {(double)it, fabs(C - g->C[0])};
        if (q == 3 && !st) demo_dat_row(fp, 2, v);
      }
      dpm_bridge_mm_free(mm);
    }
    R->mm_order = log(R->mm_bias[1] / R->mm_bias[3]) / log(4.0);
    dpm_mixture_free(ga);
    dpm_mixture_free(gb);
  }
  /* the limits: C_sigma and Sinkhorn's cross-covariance on the samples against sigma^2 */
  if (!st) {
    /* a smaller sample: Sinkhorn's iteration count grows like 1/reg as reg -> 0 */
    const size_t nl = R->n_lim;
    dpm_bridge_sinkhorn_free(sk);
    sk = dpm_bridge_sinkhorn_alloc(nl, nl, 1, x, y, NULL, NULL);
    if (!sk) st = GSL_EFAILED;
    memcpy(xs, x, nl * sizeof *xs);
    memcpy(ys, y, nl * sizeof *ys);
    gsl_sort(xs, 1, nl);
    gsl_sort(ys, 1, nl);
    double mx = 0, my = 0, c = 0;
    for (size_t i = 0; i < nl; i++) {
      mx += xs[i] / (double)nl;
      my += ys[i] / (double)nl;
    }
    for (size_t i = 0; i < nl; i++)
      c += (xs[i] - mx) * (ys[i] - my) / (double)nl;
    R->sorted_C = c;
    demo_dat_block(fp, "limits", "sigma2 C_closed C_sinkhorn sqrt(S0 S1) S0S1/sigma2 sorted_sample_C");
    for (size_t k = 0; k < NLIM && !st && sk; k++) {
      const double s2 = pow(10.0, -1.5 + 0.5 * (double)k);
      double Cc, Cs, mxx, myy;
      dpm_bridge_gauss_scalar(M0, S0, M1, S1, s2, NULL, &Cc, NULL);
      par.reg = 2 * s2;
      par.eps_scaling = s2 < 0.3 ? 8 : 0;
      par.max_iter = 50000;
      st = dpm_bridge_sinkhorn_solve(sk, &par);
      if (st) break;
      dpm_bridge_sinkhorn_moments(sk, &mxx, &myy, &Cs);
      const double v[6] = {s2, Cc, Cs, sqrt(S0 * S1), S0 * S1 / s2, c};
      demo_dat_row(fp, 6, v);
      if (k == 0) {
        R->lim_sig2[0] = s2;
        R->lim_C[0] = Cc;
        R->lim_sk[0] = Cs;
      }
      if (k == NLIM - 1) {
        R->lim_sig2[1] = s2;
        R->lim_C[1] = Cc;
        R->lim_sk[1] = Cs;
        R->indep_pred = S0 * S1 / s2;
      }
    }
    if (st) dpm_error_context("Sinkhorn for the limits");
  }
  int cst = out ? demo_dat_close(out, st == DPM_SUCCESS) : DPM_SUCCESS;
  if (!st) st = cst;
  dpm_bridge_gauss_free(g2);
  dpm_bridge_ipf_gauss_free(ipf);
  dpm_bridge_sinkhorn_free(sk);
  dpm_bridge_gauss_free(g);
  free(paths);
  free(x);
  free(y);
  free(xs);
  free(ys);
  return st;
}

static int write_values(const demo_ctx *ctx, FILE *fp, const void *arg)
{
  (void)ctx;
  const results *R = arg;
  demo_val1(fp, "m0", M0);
  demo_val1(fp, "s0", S0);
  demo_val1(fp, "m1", M1);
  demo_val1(fp, "s1", S1);
  demo_val1(fp, "sig2", SIG2);
  demo_val1(fp, "D", R->D);
  demo_val1(fp, "C", R->C);
  demo_val1(fp, "OT", R->OT);
  demo_val1(fp, "S12", R->S12);
  demo_val1(fp, "transport", R->transport);
  demo_val(fp, "ipf_c", 4, R->ipf_c);
  demo_val1(fp, "rate_bm", R->rate_bm);
  demo_val1(fp, "rate_pred", R->rate_pred);
  demo_val1(fp, "err_last_bm", R->err_last_bm);
  demo_val1(fp, "nipf", NIPF);
  demo_val1(fp, "dsb_a", R->dsb_a);
  demo_val1(fp, "dsb_q", R->dsb_q);
  demo_val1(fp, "dsb_sig2", R->dsb_sig2);
  demo_val1(fp, "rate_dsb", R->rate_dsb);
  demo_val1(fp, "G", (double)R->G);
  demo_val1(fp, "grid_dx", R->grid_dx);
  demo_val1(fp, "grid_match", R->grid_match);
  demo_val(fp, "mm_bias", 4, R->mm_bias);
  demo_val1(fp, "mm_order", R->mm_order);
  demo_val1(fp, "n_mm", (double)R->n_mm);
  /* the standard error of a sample Cov(X_0, X_1) of Gaussians: sqrt((S0 S1 + C^2)/M) */
  demo_val1(fp, "mm_se", sqrt((S0 * S1 + 0.36) / (double)R->n_mm));
  demo_val1(fp, "n_sk", (double)R->n_sk);
  demo_val1(fp, "n_lim", (double)R->n_lim);
  demo_val1(fp, "sk_cost", R->sk_cost);
  demo_val1(fp, "sk_entropic", R->sk_entropic);
  demo_val1(fp, "sk_C", R->sk_C);
  demo_val1(fp, "sk_S12", R->sk_S12);
  demo_val1(fp, "sk_iters", R->sk_iters);
  demo_val1(fp, "n_em", (double)R->n_em);
  demo_val1(fp, "K_em", (double)R->K_em);
  demo_val1(fp, "em_mean1", R->em_mean1);
  demo_val1(fp, "em_var1", R->em_var1);
  demo_val1(fp, "em_se_mean1", R->em_se_mean1);
  demo_val1(fp, "em_se_var1", R->em_se_var1);
  demo_val(fp, "lim_sig2", 2, R->lim_sig2);
  demo_val(fp, "lim_C", 2, R->lim_C);
  demo_val(fp, "lim_sk", 2, R->lim_sk);
  demo_val1(fp, "sorted_C", R->sorted_C);
  demo_val1(fp, "bw_C", sqrt(S0 * S1));
  demo_val1(fp, "indep_pred", R->indep_pred);
  return DPM_SUCCESS;
}

int main(int argc, char **argv)
{
  demo_ctx ctx;
  int rc = demo_init(&ctx, "bridge_gaussian",
                     "The Schroedinger bridge between two Gaussians against its closed form: time marginals, IPF "
                     "convergence, the epsilon limits.",
                     argc, argv);
  if (rc) return rc < 0 ? 0 : rc;
  results R = {0};
  R.n_sk = ctx.quick ? 200 : 1000;
  R.n_lim = ctx.quick ? 100 : 300;
  R.G = ctx.quick ? 120 : 300;
  R.n_mm = ctx.quick ? 5000 : 200000;
  R.n_em = ctx.quick ? 2000 : 20000;
  R.K_em = ctx.quick ? 50 : 200;
  demo_progress(&ctx, "closed form, %zu Euler-Maruyama paths, Sinkhorn on %zu samples", R.n_em, R.n_sk);
  int st = compute(&ctx, &R);
  static const char *const figures[1] = {"bridge_gaussian"};
  return st ? demo_fail(&ctx, "computing the bridge") : demo_publish(&ctx, 1, figures, write_values, &R);
}
