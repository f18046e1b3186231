/* expo.c — the exponential-integrator and multistep samplers of the probability-flow ODE in the half log-SNR
 * lambda = log(m/s) as entries of the sampler table: DPM-Solver-1/2/3 (Lu et al. 2022, eq. (3.7), Algorithms 1-2),
 * DPM-Solver++(2M) and its third-order analogue (Lu et al. 2022b, Algorithm 2), DPM-Solver++(2M) SDE, UniPC-bh2
 * with UniC (Zhao et al. 2023, Algorithms 2-3), DEIS tAB (Zhang & Chen 2023, eq. (15)), LMS in sigma
 * (k-diffusion) and iPNDM (Zhang & Chen 2023, eq. (21)); docs/MATH.md §4, update rules in docs/samplers.md.
 * Every step is written for any process of the table through (m, s), log m and lambda of the timeline. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_integration.h>

#include "dpm_common.h"
#include "dpm_sampler.h"

typedef enum {
  EXPO_DPM1,
  EXPO_DPM2,
  EXPO_DPM3,
  EXPO_PP2M,
  EXPO_PP3M,
  EXPO_PP2M_SDE,
  EXPO_UNIPC,
  EXPO_DEIS,
  EXPO_LMS,
  EXPO_IPNDM
} expo_kind;

/* Intermediate points of the singlestep solvers, at lambda_a + r_k h: m_k / m_a, s_k and m_k (k = 1, 2). */
enum { MID_R1, MID_S1, MID_M1, MID_R2, MID_S2, MID_M2, MID_N };
/* Multistep coefficients per step (DEIS, LMS): up to 4, for eps of the points i, i - 1, i - 2, i - 3. */
#define COEF_N 4

typedef struct {
  expo_kind kind;
  size_t Kmax, nd;
  double *mid;                   /* Kmax x MID_N (singlestep) */
  double *coef;                  /* Kmax x COEF_N (DEIS, LMS) */
  double *u, *e1, *e2;           /* nmax x d scratch: an intermediate point and the evaluations at it */
  gsl_integration_workspace *iw; /* DEIS */
  const dpm_process *proc;       /* DEIS: the process during reset (t of sigma) */
  const double *nodes;           /* DEIS: the Lagrange nodes in t during reset */
  size_t nnodes, node_j;
} expo_state;

static void expo_free(void *state)
{
  expo_state *S = state;
  if (!S) return;
  free(S->mid);
  free(S->coef);
  free(S->u);
  free(S->e1);
  free(S->e2);
  if (S->iw) gsl_integration_workspace_free(S->iw);
  free(S);
}

#define DEIS_LIMIT 64

static void *expo_alloc(size_t nmax, size_t d, size_t Kmax, expo_kind kind)
{
  expo_state *S = dpm_calloc(1, sizeof *S);
  if (!S) return NULL;
  S->kind = kind;
  S->Kmax = Kmax;
  S->nd = nmax * d;
  const size_t nb = S->nd * sizeof(double);
  if (!(S->mid = dpm_malloc(Kmax * MID_N * sizeof(double))) ||
      !(S->coef = dpm_malloc(Kmax * COEF_N * sizeof(double))))
    goto fail;
  if ((kind == EXPO_DPM2 || kind == EXPO_DPM3) && !(S->u = dpm_malloc(nb))) goto fail;
  if ((kind == EXPO_DPM2 || kind == EXPO_DPM3) && !(S->e1 = dpm_malloc(nb))) goto fail;
  if (kind == EXPO_DPM3 && !(S->e2 = dpm_malloc(nb))) goto fail;
  if (kind == EXPO_DEIS && !(S->iw = gsl_integration_workspace_alloc(DEIS_LIMIT))) {
    DPM_RAISE(GSL_ENOMEM, "sampler deis: no memory for the integration workspace");
    goto fail;
  }
  return S;
fail:
  expo_free(S);
  return NULL;
}

#define EXPO_ALLOC(fn, kind)                                                                                      \
  static void *fn(size_t nmax, size_t d, size_t Kmax) { return expo_alloc(nmax, d, Kmax, kind); }
EXPO_ALLOC(alloc_dpm1, EXPO_DPM1)
EXPO_ALLOC(alloc_dpm2, EXPO_DPM2)
EXPO_ALLOC(alloc_dpm3, EXPO_DPM3)
EXPO_ALLOC(alloc_pp2m, EXPO_PP2M)
EXPO_ALLOC(alloc_pp3m, EXPO_PP3M)
EXPO_ALLOC(alloc_pp2m_sde, EXPO_PP2M_SDE)
EXPO_ALLOC(alloc_unipc, EXPO_UNIPC)
EXPO_ALLOC(alloc_deis, EXPO_DEIS)
EXPO_ALLOC(alloc_lms, EXPO_LMS)
EXPO_ALLOC(alloc_ipndm, EXPO_IPNDM)

/* sigma = s/m of timeline point k, from log m (finite where m underflows) */
static double tl_sigma(const dpm_timeline *tl, size_t k) { return tl->s[k] * exp(-tl->log_m[k]); }

/* The intermediate point at lambda = lambda_a + r h of step i: m/m_a, s, m. */
static int mid_point(const dpm_timeline *tl, size_t i, double r, double *ratio, double *s, double *m)
{
  const double h = tl->lambda[i + 1] - tl->lambda[i];
  const double t = dpm_process_t_of_lambda(tl->proc, tl->lambda[i] + r * h);
  if (isnan(t)) return GSL_EDOM; /* raised by the process */
  int st = dpm_process_ms(tl->proc, t, m, s);
  if (st) return st;
  *ratio = exp(dpm_process_log_m(tl->proc, t) - tl->log_m[i]);
  return DPM_SUCCESS;
}

/* L_j(t(sigma)) for the DEIS coefficient: the Lagrange basis polynomial j over the nodes in t */
static double deis_integrand(double sigma, void *param)
{
  const expo_state *S = param;
  const double t = dpm_process_t_of_sigma(S->proc, sigma);
  double p = 1.0;
  for (size_t k = 0; k < S->nnodes; k++)
    if (k != S->node_j) p *= (t - S->nodes[k]) / (S->nodes[S->node_j] - S->nodes[k]);
  return p;
}

/* The Lagrange basis polynomial j over nodes x[0..p-1] integrated from a to b: by 3-point Gauss-Legendre, exact
 * for the degree p - 1 <= 3 of the basis (k-diffusion integrates the same polynomial with QUADPACK, also exact) */
static double lagrange_integral(const double *x, size_t p, size_t j, double a, double b)
{
  static const double gx[3] = {-0.774596669241483377035853079956479922, 0.0,
                               0.774596669241483377035853079956479922};
  static const double gw[3] = {5.0 / 9.0, 8.0 / 9.0, 5.0 / 9.0};
  const double c = 0.5 * (a + b), hw = 0.5 * (b - a);
  double sum = 0.0;
  for (size_t q = 0; q < 3; q++) {
    const double u = c + hw * gx[q];
    double l = 1.0;
    for (size_t k = 0; k < p; k++)
      if (k != j) l *= (u - x[k]) / (x[j] - x[k]);
    sum += gw[q] * l;
  }
  return hw * sum;
}

/* Per-run coefficients: the intermediate points of the singlestep solvers, the DEIS and LMS weights. */
static int expo_reset(void *state, const dpm_sampler_problem *pb)
{
  expo_state *S = state;
  const dpm_timeline *tl = pb->tl;
  const size_t K = tl->K;
  if (K > S->Kmax) DPM_ERROR(GSL_EBADLEN, "sampler: %zu steps exceed the state's %zu", K, S->Kmax);
  int st = DPM_SUCCESS;
  for (size_t i = 0; i < K && !st; i++) {
    double *mid = S->mid + i * MID_N, *cf = S->coef + i * COEF_N;
    const int last0 = !(tl->s[i + 1] > 0.0);
    for (size_t k = 0; k < MID_N; k++)
      mid[k] = NAN;
    for (size_t k = 0; k < COEF_N; k++)
      cf[k] = 0.0;
    if ((S->kind == EXPO_DPM2 || S->kind == EXPO_DPM3) && !last0) {
      const double r1 = S->kind == EXPO_DPM2 ? 0.5 : 1.0 / 3.0;
      st = mid_point(tl, i, r1, &mid[MID_R1], &mid[MID_S1], &mid[MID_M1]);
      if (!st && S->kind == EXPO_DPM3) st = mid_point(tl, i, 2.0 / 3.0, &mid[MID_R2], &mid[MID_S2], &mid[MID_M2]);
      if (st) dpm_error_context("intermediate point of step %zu", i);
    } else if (S->kind ==
               EXPO_LMS) { /* k-diffusion: the Lagrange basis in sigma over sigma_i, ..., sigma_{i-p+1} */
      const size_t p = i + 1 < 4 ? i + 1 : 4;
      double x[4];
      for (size_t j = 0; j < p; j++)
        x[j] = tl_sigma(tl, i - j);
      for (size_t j = 0; j < p; j++)
        cf[j] = lagrange_integral(x, p, j, x[0], tl_sigma(tl, i + 1));
    } else if (S->kind == EXPO_DEIS) { /* tAB: the Lagrange basis in t, integrated in sigma */
      const size_t p = i + 1 < 3 ? i + 1 : 3;
      double x[3];
      for (size_t j = 0; j < p; j++)
        x[j] = tl->t[i - j];
      const double sa = tl_sigma(tl, i), sb = tl_sigma(tl, i + 1);
      if (p == 1) {
        cf[0] = sb - sa;
        continue;
      }
      S->proc = tl->proc;
      S->nodes = x;
      S->nnodes = p;
      gsl_function F = {deis_integrand, S};
      for (size_t j = 0; j < p && !st; j++) {
        double res = 0.0, err, rabs, rasc;
        S->node_j = j;
        if (tl->proc->type
                ->discrete) { /* t(sigma) has a kink at every integer t: one Gauss-Kronrod rule per piece */
          double lo = sb;
          for (double n = floor(tl->t[i + 1]) + 1.0;; n += 1.0) { /* the integers strictly above t_b */
            const double hi = n < tl->t[i] ? dpm_process_sigma(tl->proc, n) : sa;
            double part;
            gsl_integration_qk21(&F, lo, hi, &part, &err, &rabs, &rasc);
            res += part;
            lo = hi;
            if (!(n < tl->t[i])) break;
          }
        } else {
          st = gsl_integration_qag(&F, sb, sa, 0.0, 1e-12, DEIS_LIMIT, GSL_INTEG_GAUSS21, S->iw, &res, &err);
          if (st == GSL_EROUND && fabs(err) <= 1e-10 * fabs(res)) st = DPM_SUCCESS; /* rounding-level accuracy */
        }
        if (st) dpm_error_context("DEIS coefficient %zu of step %zu", j, i);
        cf[j] = -res;
      }
      S->nodes = NULL;
    }
  }
  return st;
}

/* The order of step i: the driver's (warm-up), at most 1 into s = 0 (lambda = +inf), and with fewer than 10
 * steps the official DPM-Solver's lower_order_final, min(order, K - i). */
static unsigned final_order(const dpm_sampler_step *st, int lower_final)
{
  const dpm_timeline *tl = st->pb->tl;
  unsigned p = st->order;
  if (lower_final && tl->K < 10 && tl->K - st->i < p) p = (unsigned)(tl->K - st->i);
  if (!(tl->s[st->i + 1] > 0.0)) p = 1;
  return p;
}

/* s_b (e^h - 1) = r s_a - s_b, the eps coefficient of DPM-Solver-1 (DDIM), in the form exact into s = 0 */
static double phi1_eps(const dpm_timeline *tl, size_t i, double r, double h)
{
  return tl->s[i + 1] > 0.0 ? tl->s[i + 1] * expm1(h) : r * tl->s[i];
}

/* DPM-Solver-1/2/3, the eps forms of Lu et al. 2022 (eq. (3.7), Algorithms 1 and 2 with r1 = 1/2 and
 * r1 = 1/3, r2 = 2/3); the step into s = 0 is DPM-Solver-1 (k-diffusion's Euler step there). */
static int dpm_apply(void *state, dpm_sampler_step *st)
{
  expo_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  const double r = exp(tl->log_m[i + 1] - tl->log_m[i]), h = tl->lambda[i + 1] - tl->lambda[i];
  const double sb = tl->s[i + 1], c1 = phi1_eps(tl, i, r, h), *mid = S->mid + i * MID_N;
  double *x = st->x, *eps = st->eval;
  int rc = dpm_sampler_step_eval(st, i, x, eps, NULL);
  if (rc) return rc;
  const unsigned p = final_order(st, 0);
  if (p == 1) {
    for (size_t k = 0; k < nd; k++)
      x[k] = r * x[k] - c1 * eps[k];
    return DPM_SUCCESS;
  }
  const double r1 = p == 2 ? 0.5 : 1.0 / 3.0, r2 = 2.0 / 3.0;
  double *u = S->u, *e1 = S->e1, *e2 = S->e2;
  const double a1 = mid[MID_R1], b1 = mid[MID_S1] * expm1(r1 * h);
  for (size_t k = 0; k < nd; k++)
    u[k] = a1 * x[k] - b1 * eps[k];
  if ((rc = dpm_sampler_step_eval_ms(st, mid[MID_M1], mid[MID_S1], u, e1, NULL))) return rc;
  if (p == 2) {
    const double c = 0.5 / r1 * sb * expm1(h);
    for (size_t k = 0; k < nd; k++)
      x[k] = r * x[k] - c1 * eps[k] - c * (e1[k] - eps[k]);
    return DPM_SUCCESS;
  }
  const double a2 = mid[MID_R2], b2 = mid[MID_S2] * expm1(r2 * h);
  const double d2 = r2 / r1 * mid[MID_S2] * (expm1(r2 * h) / (r2 * h) - 1.0);
  for (size_t k = 0; k < nd; k++)
    u[k] = a2 * x[k] - b2 * eps[k] - d2 * (e1[k] - eps[k]);
  if ((rc = dpm_sampler_step_eval_ms(st, mid[MID_M2], mid[MID_S2], u, e2, NULL))) return rc;
  const double c = sb * (expm1(h) / h - 1.0) / r2;
  for (size_t k = 0; k < nd; k++)
    x[k] = r * x[k] - c1 * eps[k] - c * (e2[k] - eps[k]);
  return DPM_SUCCESS;
}

/* DPM-Solver++(2M) and (3M) in the data prediction x0 (Lu et al. 2022b, Algorithm 2; the third-order update of
 * the official implementation with its D2 term doubled, which makes it third order: docs/samplers.md):
 * x_b = (s_b/s_a) x_a - m_b (e^{-h} - 1) x0_a + the terms of the backward differences D1 ~ h x0', D2 ~ h^2 x0''/2.
 */
static int pp_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x = st->x, *x0 = st->eval;
  int rc = dpm_sampler_step_eval(st, i, x, NULL, x0);
  if (rc) return rc;
  const unsigned p = final_order(st, 1);
  const double sr = tl->s[i + 1] / tl->s[i], mb = tl->m[i + 1], h = tl->lambda[i + 1] - tl->lambda[i];
  const double phi1 = expm1(-h);
  if (p == 1) {
    for (size_t k = 0; k < nd; k++)
      x[k] = sr * x[k] - mb * phi1 * x0[k];
    return DPM_SUCCESS;
  }
  const double r0 = (tl->lambda[i] - tl->lambda[i - 1]) / h;
  const double *p1 = st->hist[0];
  if (p == 2) {
    const double c = 0.5 * mb * phi1 / r0;
    for (size_t k = 0; k < nd; k++)
      x[k] = sr * x[k] - mb * phi1 * x0[k] - c * (x0[k] - p1[k]);
    return DPM_SUCCESS;
  }
  const double r1 = (tl->lambda[i - 1] - tl->lambda[i - 2]) / h, phi2 = phi1 / h + 1.0, phi3 = phi2 / h - 0.5;
  const double *p2 = st->hist[1];
  for (size_t k = 0; k < nd; k++) {
    const double d10 = (x0[k] - p1[k]) / r0, d11 = (p1[k] - p2[k]) / r1;
    const double D1 = d10 + r0 / (r0 + r1) * (d10 - d11), D2 = (d10 - d11) / (r0 + r1);
    x[k] = sr * x[k] - mb * phi1 * x0[k] + mb * phi2 * D1 - 2.0 * mb * phi3 * D2; /* 2 phi3: docs/samplers.md */
  }
  return DPM_SUCCESS;
}

/* DPM-Solver++(2M) SDE, k-diffusion's sample_dpmpp_2m_sde with the midpoint solver type, for any process:
 * x_b = (s_b/s_a) e^{-eta h} x_a - m_b expm1(-h - eta h) (x0_a + (x0_a - x0_prev)/(2 r)) + s_b sqrt(-expm1(-2 eta
 * h)) S_noise z; the step into s = 0 returns m_b x0_a. */
static int pp_sde_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x = st->x, *x0 = st->eval, *z = st->z;
  int rc = dpm_sampler_step_eval(st, i, x, NULL, x0);
  if (rc) return rc;
  const double mb = tl->m[i + 1];
  if (!(tl->s[i + 1] > 0.0)) {
    for (size_t k = 0; k < nd; k++)
      x[k] = mb * x0[k];
    return DPM_SUCCESS;
  }
  const double h = tl->lambda[i + 1] - tl->lambda[i], eh = st->eta * h;
  const double a = tl->s[i + 1] / tl->s[i] * exp(-eh), b = -expm1(-h - eh);
  const double c = st->order >= 2 ? 0.5 * b * h / (tl->lambda[i] - tl->lambda[i - 1]) : 0.0; /* 0.5 b / r */
  const double *p1 = st->order >= 2 ? st->hist[0] : x0;
  const double sd = tl->s[i + 1] * sqrt(-expm1(-2.0 * eh)) * st->pb->par.s_noise;
  if (sd > 0.0) dpm_sampler_step_noise(st, z);
  for (size_t k = 0; k < nd; k++) {
    double v = a * x[k] + mb * (b * x0[k] + c * (x0[k] - p1[k]));
    if (sd > 0.0) v += sd * z[k];
    x[k] = v;
  }
  return DPM_SUCCESS;
}

/* UniPC with the B(h) = e^{-h} - 1 variant (bh2) in the data prediction (Zhao et al. 2023, Algorithms 2 and 3, as
 * the official multistep_uni_pc_bh_update): the predictor UniP-p from x0_a and the backward difference
 * D1 = (x0_prev - x0_a)/r_1, r_1 = (lambda_prev - lambda_a)/h < 0, then one evaluation at the predicted point,
 * which the corrector UniC uses and the next step reuses (one NFE per step; no corrector on the last step). */
static int unipc_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x = st->x, *x0 = st->eval, *xt = st->work, *mt = st->next;
  int rc;
  if (!st->eval_ready && (rc = dpm_sampler_step_eval(st, i, x, NULL, x0))) return rc;
  const unsigned p = final_order(st, 1);
  const double sr = tl->s[i + 1] / tl->s[i], mb = tl->m[i + 1], h = tl->lambda[i + 1] - tl->lambda[i];
  const double hh = -h, hphi1 = expm1(hh), Bh = hphi1;
  const double hphi2 = hphi1 / hh - 1.0, hphi3 = hphi2 / hh - 0.5;
  const double b1 = hphi2 / Bh, b2 = 2.0 * hphi3 / Bh;
  const int corrector = i + 1 < tl->K;
  double rk = 0.0, rp = 0.0, rc0 = 0.5, rc1 = 0.0; /* predictor and corrector weights */
  const double *prev = p >= 2 ? st->hist[0] : x0;
  if (p >= 2) {
    rk = (tl->lambda[i - 1] - tl->lambda[i]) / h;
    rp = 0.5;                     /* UniP-2: the official simplified rho_p */
    rc0 = (b1 - b2) / (1.0 - rk); /* UniC-2: [1 1; r_1 1] rho = (b_1, b_2) */
    rc1 = b1 - rc0;               /* rc0 multiplies D1, rc1 the new difference */
  }
  for (size_t k = 0; k < nd; k++) {
    const double base = sr * x[k] - mb * hphi1 * x0[k];
    const double D1 = p >= 2 ? (prev[k] - x0[k]) / rk : 0.0;
    xt[k] = base - mb * Bh * rp * D1;
  }
  if (!corrector) {
    memcpy(x, xt, nd * sizeof(double));
    return DPM_SUCCESS;
  }
  if ((rc = dpm_sampler_step_eval(st, i + 1, xt, NULL, mt))) return rc;
  st->next_ready = 1;
  for (size_t k = 0; k < nd; k++) {
    const double base = sr * x[k] - mb * hphi1 * x0[k];
    if (p >= 2) {
      const double D1 = (prev[k] - x0[k]) / rk;
      x[k] = base - mb * Bh * (rc0 * D1 + rc1 * (mt[k] - x0[k]));
    } else
      x[k] = base - mb * Bh * rc0 * (mt[k] - x0[k]);
  }
  return DPM_SUCCESS;
}

/* DEIS tAB and LMS: x_b = (m_b/m_a) x_a + m_b sum_j c_j eps_{i-j}, the weights from reset */
static int lagrange_apply(void *state, dpm_sampler_step *st)
{
  expo_state *S = state;
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x = st->x, *eps = st->eval;
  int rc = dpm_sampler_step_eval(st, i, x, eps, NULL);
  if (rc) return rc;
  const double r = exp(tl->log_m[i + 1] - tl->log_m[i]), mb = tl->m[i + 1], *cf = S->coef + i * COEF_N;
  const unsigned p = st->order;
  for (size_t k = 0; k < nd; k++) {
    double v = cf[0] * eps[k];
    for (unsigned j = 1; j < p; j++)
      v += cf[j] * st->hist[j - 1][k];
    x[k] = r * x[k] + mb * v;
  }
  return DPM_SUCCESS;
}

/* iPNDM: the Adams-Bashforth combination of the last eps with the fixed weights of uniform steps, taken by a
 * DDIM step (Zhang & Chen 2023, eq. (21); Liu et al. 2022's PNDM without its Runge-Kutta warm-up). */
static int ipndm_apply(void *state, dpm_sampler_step *st)
{
  (void)state;
  static const double w[4][4] = {{1.0, 0.0, 0.0, 0.0},
                                 {3.0 / 2.0, -1.0 / 2.0, 0.0, 0.0},
                                 {23.0 / 12.0, -16.0 / 12.0, 5.0 / 12.0, 0.0},
                                 {55.0 / 24.0, -59.0 / 24.0, 37.0 / 24.0, -9.0 / 24.0}};
  const dpm_timeline *tl = st->pb->tl;
  const size_t i = st->i, nd = st->n * st->d;
  double *x = st->x, *eps = st->eval;
  int rc = dpm_sampler_step_eval(st, i, x, eps, NULL);
  if (rc) return rc;
  const double r = exp(tl->log_m[i + 1] - tl->log_m[i]), h = tl->lambda[i + 1] - tl->lambda[i];
  const double c1 = phi1_eps(tl, i, r, h);
  const double *wp = w[st->order - 1];
  for (size_t k = 0; k < nd; k++) {
    double e = wp[0] * eps[k];
    for (unsigned j = 1; j < st->order; j++)
      e += wp[j] * st->hist[j - 1][k];
    x[k] = r * x[k] - c1 * e;
  }
  return DPM_SUCCESS;
}

const dpm_sampler_type dpm_sampler_dpm_solver_1 = {
    .name = "dpm-solver-1",
    .kind = "ode",
    .reference = "Lu et al. 2022 (DPM-Solver), eq. (3.7) with k = 1 (= DDIM, eta = 0)",
    .description = "DPM-Solver-1: the exponential integrator in lambda, first order (equals ddim with eta 0)",
    .order = 1,
    .history = 0,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = alloc_dpm1,
    .reset = expo_reset,
    .apply = dpm_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_dpm_solver_2 = {
    .name = "dpm-solver-2",
    .kind = "ode",
    .reference = "Lu et al. 2022 (DPM-Solver), Algorithm 1 (DPM-Solver-2, r1 = 1/2)",
    .description = "DPM-Solver-2: singlestep, intermediate point at the midpoint in lambda (2 NFE per step)",
    .order = 2,
    .history = 0,
    .nfe_per_step = 2,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = alloc_dpm2,
    .reset = expo_reset,
    .apply = dpm_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_dpm_solver_3 = {
    .name = "dpm-solver-3",
    .kind = "ode",
    .reference = "Lu et al. 2022 (DPM-Solver), Algorithm 2 (DPM-Solver-3, r1 = 1/3, r2 = 2/3)",
    .description = "DPM-Solver-3: singlestep, intermediate points at 1/3 and 2/3 of the step in lambda (3 NFE)",
    .order = 3,
    .history = 0,
    .nfe_per_step = 3,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = alloc_dpm3,
    .reset = expo_reset,
    .apply = dpm_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_dpmpp_2m = {
    .name = "dpmpp-2m",
    .kind = "ode",
    .reference = "Lu et al. 2022b (DPM-Solver++), Algorithm 2 (2M)",
    .description = "DPM-Solver++(2M): multistep in the data prediction, second order (1 NFE per step)",
    .order = 2,
    .history = 1,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_X0,
    .eta_default = NAN,
    .alloc = alloc_pp2m,
    .reset = expo_reset,
    .apply = pp_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_dpmpp_3m = {
    .name = "dpmpp-3m",
    .kind = "ode",
    .reference = "Lu et al. 2022b (DPM-Solver++), Algorithm 2 and the official third-order multistep update",
    .description = "DPM-Solver++(3M): multistep in the data prediction, third order (1 NFE per step)",
    .order = 3,
    .history = 2,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_X0,
    .eta_default = NAN,
    .alloc = alloc_pp3m,
    .reset = expo_reset,
    .apply = pp_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_dpmpp_2m_sde = {
    .name = "dpmpp-2m-sde",
    .kind = "sde",
    .reference = "Lu et al. 2022b, §5 (SDE form); k-diffusion sample_dpmpp_2m_sde, midpoint solver type",
    .description =
        "DPM-Solver++(2M) SDE: the multistep data-prediction solver of the reverse SDE (--eta, default 1)",
    .order = 2,
    .history = 1,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_STOCHASTIC | DPM_SAMPLER_PREDICTS_X0,
    .eta_default = 1.0,
    .alloc = alloc_pp2m_sde,
    .reset = expo_reset,
    .apply = pp_sde_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_unipc = {
    .name = "unipc",
    .kind = "ode",
    .reference = "Zhao et al. 2023 (UniPC), Algorithms 2-3, B(h) = e^h - 1 (bh2), UniP-2 with UniC",
    .description = "UniPC-2 (bh2) with the corrector UniC: data prediction, 1 NFE per step, order 3 with UniC",
    .order = 3,
    .history = 1,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_X0 | DPM_SAMPLER_REUSES_LAST,
    .eta_default = NAN,
    .alloc = alloc_unipc,
    .reset = expo_reset,
    .apply = unipc_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_deis = {
    .name = "deis",
    .kind = "ode",
    .reference = "Zhang & Chen 2023 (DEIS), eq. (15), tAB3: Lagrange basis in t integrated exactly in the EI form",
    .description = "DEIS tAB3: Adams-Bashforth in the exponential-integrator form, third order (1 NFE per step)",
    .order = 3,
    .history = 2,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = alloc_deis,
    .reset = expo_reset,
    .apply = lagrange_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_lms = {
    .name = "lms",
    .kind = "ode",
    .reference = "Karras et al. 2022 ODE in sigma; k-diffusion sample_lms (Lagrange basis in sigma, order 4)",
    .description = "linear multistep in sigma, order 4, weights from integrating the Lagrange basis (1 NFE)",
    .order = 4,
    .history = 3,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = alloc_lms,
    .reset = expo_reset,
    .apply = lagrange_apply,
    .free = expo_free};

const dpm_sampler_type dpm_sampler_ipndm = {
    .name = "ipndm",
    .kind = "ode",
    .reference = "Zhang & Chen 2023 (DEIS), eq. (21): improved PNDM, fixed Adams-Bashforth weights in eps",
    .description = "iPNDM: 4th-order Adams-Bashforth weights of uniform steps on eps, taken by a DDIM step",
    .order = 4,
    .history = 3,
    .nfe_per_step = 1,
    .flags = DPM_SAMPLER_PREDICTS_EPS,
    .eta_default = NAN,
    .alloc = alloc_ipndm,
    .reset = expo_reset,
    .apply = ipndm_apply,
    .free = expo_free};
