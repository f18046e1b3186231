/* analytic.c — Analytic-DPM (Bao et al. ICLR 2022, MATH.md §3): Gamma_n by Monte Carlo and adaptive
 * Gauss-Kronrod quadrature, the optimal reverse variance sigma*^2 = lambda^2 + coef^2 (1 - Gamma) of the DDIM
 * family and its bounds, per-step ELBO terms and the negative ELBO, the optimal trajectory by dynamic programming
 * over J(s,t) = log(sigma*^2_{s|t}/lambda^2_{s|t}), the differential entropy of the data, and the diagonal
 * covariance of SN-/NPR-DPM (Bao et al. ICML 2022). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_analytic.h"
#include "dpm_common.h"
#include "dpm_rng.h"

static const double LOG_2PI = 1.83787706640934548356065947281123527;

static int max_threads(void)
{
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

static int thread_num(void)
{
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* ---- running mean and variance (Welford; Chan et al. for merging) ------------------------------------------ */

typedef struct {
  double n, mean, m2;
} welford;

static void wf_add(welford *a, double v)
{
  a->n += 1.0;
  const double dl = v - a->mean;
  a->mean += dl / a->n;
  a->m2 += dl * (v - a->mean);
}

static void wf_merge(welford *a, const welford *b)
{
  if (b->n == 0.0) return;
  if (a->n == 0.0) {
    *a = *b;
    return;
  }
  const double n = a->n + b->n, dl = b->mean - a->mean;
  a->mean += dl * b->n / n;
  a->m2 += b->m2 + dl * dl * a->n * b->n / n;
  a->n = n;
}

static double wf_se(const welford *a) { return a->n > 1.0 ? sqrt(a->m2 / (a->n - 1.0) / a->n) : HUGE_VAL; }

/* |v|^2 / d of row i */
static double row_norm2(const double *v, size_t d)
{
  double acc = 0.0;
  for (size_t j = 0; j < d; j++)
    acc += v[j] * v[j];
  return acc;
}

/* ---- Gamma by Monte Carlo -------------------------------------------------------------------------------------
 */

enum { GAMMA_MC_BLOCK = 1024, ENTROPY_MC_BLOCK = 4096 };

struct dpm_analytic_gamma_mc {
  const dpm_mixture *mix;
  size_t M, B, d;
  int nthreads;
  dpm_oracle **oracle;  /* nthreads */
  gsl_rng **rng;        /* nthreads */
  double *x, *x0, *eps; /* nthreads x B x d each */
  double *x0hat;        /* B x d (denoiser route, serial) */
};

void dpm_analytic_gamma_mc_free(dpm_analytic_gamma_mc *w)
{
  if (!w) return;
  for (int t = 0; t < w->nthreads; t++) {
    if (w->oracle) dpm_oracle_free(w->oracle[t]);
    if (w->rng && w->rng[t]) gsl_rng_free(w->rng[t]);
  }
  free(w->oracle);
  free(w->rng);
  free(w->x);
  free(w->x0);
  free(w->eps);
  free(w->x0hat);
  free(w);
}

dpm_analytic_gamma_mc *dpm_analytic_gamma_mc_alloc(const dpm_mixture *mix, size_t M)
{
  if (!mix) {
    dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "gamma MC: mixture is NULL");
    return NULL;
  }
  if (M < 2) {
    dpm_errorf(__FILE__, __LINE__, GSL_EINVAL,
               "gamma MC: need M >= 2 samples per time for a standard error "
               "(got %zu)",
               M);
    return NULL;
  }
  dpm_analytic_gamma_mc *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->mix = mix;
  w->M = M;
  w->d = mix->d;
  w->B = M < GAMMA_MC_BLOCK ? M : GAMMA_MC_BLOCK;
  w->nthreads = max_threads();
  const size_t T = (size_t)w->nthreads, Bd = w->B * w->d;
  w->oracle = dpm_calloc(T, sizeof *w->oracle);
  w->rng = dpm_calloc(T, sizeof *w->rng);
  w->x = dpm_malloc(T * Bd * sizeof(double));
  w->x0 = dpm_malloc(T * Bd * sizeof(double));
  w->eps = dpm_malloc(T * Bd * sizeof(double));
  w->x0hat = dpm_malloc(Bd * sizeof(double));
  if (!w->oracle || !w->rng || !w->x || !w->x0 || !w->eps || !w->x0hat) {
    dpm_analytic_gamma_mc_free(w);
    return NULL;
  }
  for (size_t t = 0; t < T; t++) {
    w->oracle[t] = dpm_oracle_alloc(mix);
    w->rng[t] = dpm_rng_stream_alloc(0, 0);
    if (!w->oracle[t] || !w->rng[t]) {
      if (!w->rng[t]) dpm_errorf(__FILE__, __LINE__, GSL_ENOMEM, "gamma MC: cannot allocate a generator");
      dpm_analytic_gamma_mc_free(w);
      return NULL;
    }
  }
  return w;
}

static int ms_ok(double m, double s) { return isfinite(m) && m > 0.0 && isfinite(s) && s > 0.0; }

/* One time (m, s) with stream (seed, idx) on thread tid's resources. */
static int gamma_mc_one(dpm_analytic_gamma_mc *w, int tid, double m, double s, uint64_t seed, uint64_t idx,
                        double *gamma, double *se)
{
  const size_t d = w->d, Bd = w->B * d;
  gsl_rng *r = w->rng[tid];
  double *x = w->x + (size_t)tid * Bd, *x0 = w->x0 + (size_t)tid * Bd, *eps = w->eps + (size_t)tid * Bd;
  dpm_rng_stream_set(r, seed, idx);
  welford a = {0.0, 0.0, 0.0};
  for (size_t done = 0; done < w->M;) {
    const size_t b = w->M - done < w->B ? w->M - done : w->B;
    dpm_mixture_sample_t(w->mix, r, m, s, b, x, x0, NULL);
    dpm_oracle_result res;
    memset(&res, 0, sizeof res);
    res.eps = eps;
    const int st = dpm_oracle_eval(w->oracle[tid], m, s, b, x, &res);
    if (st != DPM_SUCCESS) return st;
    for (size_t i = 0; i < b; i++)
      wf_add(&a, row_norm2(eps + i * d, d) / (double)d);
    done += b;
  }
  *gamma = a.mean;
  if (se) *se = wf_se(&a);
  return DPM_SUCCESS;
}

/* Times lo..hi-1, (m, s) from the schedule (sch != NULL) or from the arrays; stream index = the time index. */
static int gamma_mc_run(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, const double *m, const double *s,
                        size_t lo, size_t hi, uint64_t seed, double *gamma, double *se)
{
  for (size_t i = lo; i < hi; i++) {
    const double mi = sch ? sqrt(sch->alpha_bar[i]) : m[i], si = sch ? sqrt(sch->beta_bar[i]) : s[i];
    if (!ms_ok(mi, si))
      DPM_ERROR(GSL_EDOM, "gamma MC: time %zu has (m, s) = (%g, %g); need m > 0, s > 0", i, mi, si);
  }
  int fail = DPM_SUCCESS;
  size_t fail_at = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->nthreads)
  for (size_t i = lo; i < hi; i++) {
    const double mi = sch ? sqrt(sch->alpha_bar[i]) : m[i], si = sch ? sqrt(sch->beta_bar[i]) : s[i];
    double g = NAN, e = NAN;
    const int st = gamma_mc_one(w, thread_num(), mi, si, seed, (uint64_t)i, &g, &e);
    gamma[i] = g;
    if (se) se[i] = e;
    if (st != DPM_SUCCESS) {
#pragma omp critical(dpm_analytic_fail)
      if (fail == DPM_SUCCESS || i < fail_at) {
        fail = st;
        fail_at = i;
      }
    }
  }
  if (fail != DPM_SUCCESS) DPM_ERROR(fail, "gamma MC: oracle evaluation failed at time %zu", fail_at);
  return DPM_SUCCESS;
}

int dpm_analytic_gamma_mc_schedule(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, uint64_t seed, double *gamma,
                                   double *se)
{
  if (!w || !sch || !gamma) DPM_ERROR(GSL_EINVAL, "gamma MC: NULL workspace, schedule or output");
  gamma[0] = NAN;
  if (se) se[0] = NAN;
  return gamma_mc_run(w, sch, NULL, NULL, 1, sch->N + 1, seed, gamma, se);
}

int dpm_analytic_gamma_mc_ms(dpm_analytic_gamma_mc *w, size_t count, const double *m, const double *s,
                             uint64_t seed, double *gamma, double *se)
{
  if (!w || !m || !s || !gamma) DPM_ERROR(GSL_EINVAL, "gamma MC: NULL workspace, m, s or output");
  return gamma_mc_run(w, NULL, m, s, 0, count, seed, gamma, se);
}

int dpm_analytic_gamma_mc_denoiser(dpm_analytic_gamma_mc *w, dpm_denoiser *dn, const dpm_schedule *sch,
                                   uint64_t seed, double *gamma, double *se, double *x0mse, double *x0mse_se)
{
  if (!w || !dn || !sch || !gamma)
    DPM_ERROR(GSL_EINVAL, "gamma MC (denoiser): NULL workspace, denoiser, "
                          "schedule or output");
  if (dn->d != w->d)
    DPM_ERROR(GSL_EBADLEN, "gamma MC (denoiser): denoiser dimension %zu != data dimension %zu", dn->d, w->d);
  const size_t d = w->d;
  gamma[0] = NAN;
  if (se) se[0] = NAN;
  if (x0mse) x0mse[0] = NAN;
  if (x0mse_se) x0mse_se[0] = NAN;
  gsl_rng *r = w->rng[0];
  for (size_t n = 1; n <= sch->N; n++) {
    const double m = sqrt(sch->alpha_bar[n]), s = sqrt(sch->beta_bar[n]);
    if (!ms_ok(m, s)) DPM_ERROR(GSL_EDOM, "gamma MC (denoiser): step %zu has (m, s) = (%g, %g)", n, m, s);
    dpm_rng_stream_set(r, seed, (uint64_t)n);
    welford a = {0.0, 0.0, 0.0}, b0 = {0.0, 0.0, 0.0};
    for (size_t done = 0; done < w->M;) {
      const size_t b = w->M - done < w->B ? w->M - done : w->B;
      dpm_mixture_sample_t(w->mix, r, m, s, b, w->x, w->x0, NULL);
      const int st = dpm_denoiser_eval(dn, m, s, b, w->x, w->eps, w->x0hat, NULL);
      if (st != DPM_SUCCESS)
        DPM_ERROR(st, "gamma MC (denoiser %s): evaluation failed at step %zu", dn->type->name, n);
      for (size_t i = 0; i < b; i++) {
        wf_add(&a, row_norm2(w->eps + i * d, d) / (double)d);
        double e2 = 0.0;
        for (size_t j = 0; j < d; j++) {
          const double dl = w->x0[i * d + j] - w->x0hat[i * d + j];
          e2 += dl * dl;
        }
        wf_add(&b0, e2 / (double)d);
      }
      done += b;
    }
    gamma[n] = a.mean;
    if (se) se[n] = wf_se(&a);
    if (x0mse) x0mse[n] = b0.mean;
    if (x0mse_se) x0mse_se[n] = wf_se(&b0);
  }
  return DPM_SUCCESS;
}

/* ---- adaptive Gauss-Kronrod cubature for E_{N(0, I_d)} g(u), d <= 2 ----------------------------------------- */

/* The integrands here are smooth but not uniformly so: where the posterior switches between two components the
 * responsibilities change over a width set by the data (not by the component's own scale), so a fixed
 * Gauss-Hermite rule converges slowly and erratically there. Instead: integrate phi(u) (g(u) - c(u)) over the box
 * [-CUB_L, CUB_L]^d (outside it the normal mass is 2.3e-19 per axis, negligible against g's polynomial growth) by
 * adaptive bisection, and add the integral of phi c there in closed form. The control variate c is a quadratic in
 * u that g equals in some regime (for Gamma: where one component owns the posterior, or where q_t is nearly
 * Gaussian); the caller offers one or two, and the one with the smaller estimated error on the starting boxes is
 * used, so that the adaptive part only has to resolve what c misses.
 *
 * Rules. In 1-D the 15-point Kronrod rule K15 with its embedded 7-point Gauss rule G7, error |K15 - G7|
 * (QUADPACK's qk15; conservative: it is the error of G7, of degree 13, while K15 has degree 22). In 2-D the
 * two-level combination (sparse-grid) rule C = K15 x G7 + G7 x K15 - G7 x G7 on the 161 nodes with at least one
 * Gauss coordinate, instead of the 225-node tensor K15 x K15. With e_K = K15 - I and e_G = G7 - I,
 * C - I x I = e_K x I + I x e_K - e_G x e_G + e_K x e_G + e_G x e_K: as accurate as K15 along each axis up to the
 * product of the two G7 errors. The error estimate per axis, E_a, is |K15 - G7| along the 7 lines of 15 nodes in
 * that direction combined with the G7 weights of the other axis (the G7 error along axis a, again conservative),
 * plus the product term, bounded by E_0 E_1 / resabs; the rounding floor is QUADPACK's 50 eps resabs. Each box's
 * nodes are evaluated in one batch.
 *
 * Refinement. The boxes are dyadic (halves of halves of [-CUB_L, CUB_L] along each axis, starting from a
 * CUB_INIT^d grid). While the summed error exceeds the tolerance, the boxes with the largest estimated errors are
 * split in half along the axis with the larger error (no more of them than it takes for their errors to cover the
 * excess). Along a schedule the integrand changes little from one step to the next, so the final boxes of one step
 * can start the next (a warm start: the refinement work is not repeated), with pairs of halves that were far below
 * their share of the tolerance merged back. */

#define CUB_L 9.0
/* CUB_INIT boxes per axis at the start (width 4.5, which the 15-point rules resolve for the normal weight), at
 * level CUB_LV0 (2^2 = CUB_INIT pieces of [-CUB_L, CUB_L]); at most CUB_NPBOX nodes per box, CUB_BATCH boxes per
 * evaluation (CUB_NPMAX points) and CUB_NCV control variates; a budget of CUB_MAXREG boxes. */
enum {
  CUB_INIT = 4,
  CUB_LV0 = 2,
  CUB_NPBOX = 161,
  CUB_BATCH = 16,
  CUB_NPMAX = CUB_BATCH * CUB_NPBOX,
  CUB_NCV = 2,
  CUB_MAXREG_1D = 4000,
  CUB_MAXREG_2D = 6000
};

/* The 15-point Kronrod rule on [-1, 1] (nodes in increasing order) with its embedded 7-point Gauss rule (weight 0
 * at the Kronrod-only nodes, the even indices); QUADPACK's qk15 constants. */
static const double k15_x[15] = {-0.991455371120812639206854697526329, -0.949107912342758524526189684047851,
                                 -0.864864423359769072789712788640926, -0.741531185599394439863864773280788,
                                 -0.586087235467691130294144845693013, -0.405845151377397166906606412076961,
                                 -0.207784955007898467600689403773245, 0.0,
                                 0.207784955007898467600689403773245,  0.405845151377397166906606412076961,
                                 0.586087235467691130294144845693013,  0.741531185599394439863864773280788,
                                 0.864864423359769072789712788640926,  0.949107912342758524526189684047851,
                                 0.991455371120812639206854697526329};
static const double k15_wk[15] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518,
    0.140653259715525918745189590510238, 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714, 0.204432940075298892414161999234649,
    0.190350578064785409913256402421014, 0.169004726639267902826583426598550, 0.140653259715525918745189590510238,
    0.104790010322250183839876322541518, 0.063092092629978553290700663189204, 0.022935322010529224963732008058970};
static const double k15_wg[15] = {
    0.0, 0.129484966168869693270611432679082, 0.0, 0.279705391489276667901467771423780,
    0.0, 0.381830050505118944950369775488975, 0.0, 0.417959183673469387755102040816327,
    0.0, 0.381830050505118944950369775488975, 0.0, 0.279705391489276667901467771423780,
    0.0, 0.129484966168869693270611432679082, 0.0};

/* f(ctx, np, u, g, c): the integrand g (np) and the control variates c (ncv x np, variate v at c[v np + p]) at np
 * points u (np x d, standard-normal coordinates). */
typedef int (*cub_fn)(void *ctx, size_t np, const double *u, double *g, double *c);

/* A dyadic box: along axis a it is the ix[a]-th of the 2^lv[a] equal pieces of [-CUB_L, CUB_L]. */
typedef struct {
  int lv[2], ix[2];
  double c[2], h[2]; /* centre, half-widths */
  double val;        /* the rule's value of phi (g - c) over the box */
  double errd[2];    /* truncation error estimate per axis */
  double red, flo;   /* errd[0] + errd[1] (reducible by splitting); rounding floor */
} cub_region;

/* The boxes of the last integration, kept to warm-start the next one (a nearby integrand). */
typedef struct {
  size_t n, cap;
  double tol; /* the tolerance they were refined to */
  cub_region *leaf;
} cub_mesh;

typedef struct {
  size_t d, maxreg, nreg;
  size_t ncv, cv;            /* control variates offered, the one in use */
  size_t np, idx[CUB_NPBOX]; /* nodes per box; node p is node idx[p] of the 15 (1-D) or 15 x 15 grid (2-D: (i, j)
                                = (idx / 15, idx % 15)) */
  size_t nb;                 /* boxes in the current batch */
  cub_region *reg;           /* max-heap on red */
  cub_region *tmp;           /* CUB_NCV x maxreg: the starting boxes under each control variate */
  double *u, *g, *c;         /* the nodes of the current batch (nb np x d), g (nb np), the control variates
                                (ncv x nb np) */
  double f[225], mag[225];   /* phi (g - c) and phi (|g| + |c|) on the 15^d grid */
} cub_ws;

static void cub_free(cub_ws *c)
{
  if (!c) return;
  free(c->reg);
  free(c->tmp);
  free(c->u);
  free(c->g);
  free(c->c);
  memset(c, 0, sizeof *c);
}

static int cub_init(cub_ws *c, size_t d, size_t ncv)
{
  memset(c, 0, sizeof *c);
  c->d = d;
  c->ncv = ncv;
  c->maxreg = d == 1 ? CUB_MAXREG_1D : CUB_MAXREG_2D;
  if (d == 1)
    for (size_t i = 0; i < 15; i++)
      c->idx[c->np++] = i;
  else
    for (size_t i = 0; i < 15; i++)
      for (size_t j = 0; j < 15; j++)
        if ((i & 1) || (j & 1)) c->idx[c->np++] = i * 15 + j; /* a Gauss node on at least one axis */
  c->reg = dpm_malloc(c->maxreg * sizeof *c->reg);
  c->tmp = dpm_malloc(CUB_NCV * c->maxreg * sizeof *c->tmp);
  c->u = dpm_malloc(CUB_BATCH * c->np * d * sizeof(double));
  c->g = dpm_malloc(CUB_BATCH * c->np * sizeof(double));
  c->c = dpm_malloc(CUB_NCV * CUB_BATCH * c->np * sizeof(double));
  if (!c->reg || !c->tmp || !c->u || !c->g || !c->c) {
    cub_free(c);
    return GSL_ENOMEM;
  }
  return DPM_SUCCESS;
}

static const double INV_SQRT_2PI = 0.398942280401432677939946059934381868;

/* The null rule of degree 12 on the 15 Kronrod nodes that picks the Legendre coefficient a_13 of the nodes'
 * interpolant (row 13 of the inverse of V_in = sqrt(n + 1/2) P_n(x_i)), scaled by |G7(sqrt(29/2) P_14)| =
 * 1.72922815307175701 so that it reads on the scale of K15 - G7 = -G7(sqrt(29/2) P_14) a_14. */
static const double k15_n13[15] = {
    -0.0454496828660774024322, 0.125947602549685649942,  -0.181142668409196072599,  0.206091422542782787275,
    -0.197976644505288484899,  0.155322878135513320341,  -0.0849019799868539204457, 0.0,
    0.0849019799868539204457,  -0.155322878135513320341, 0.197976644505288484899,   -0.206091422542782787275,
    0.181142668409196072599,   -0.125947602549685649942, 0.0454496828660774024322};

/* One line of 15 values f (stride st) on [-1, 1]: returns K15; *est its error estimate, *res = K15 of mag:
 *   e = max(|K15 - G7|, |N13| / 10)           (the a_14 null rule, guarded against its accidental zeros by a_13)
 *   est = max(e, resasc min(1, (200 e / resasc)^1.5))   (QUADPACK's rescaling, as a floor: a line whose K15 and G7
 *                                              differ by more than ~1e-7 of resasc = K15 |f - K15/2| is not
 *                                              resolved, and then even K15 may be as far off as G7) */
static double cub_line(const double *f, const double *mag, size_t st, double *est, double *res)
{
  double K = 0.0, G = 0.0, N = 0.0, A = 0.0;
  for (size_t i = 0; i < 15; i++) {
    const double v = f[i * st];
    K += k15_wk[i] * v;
    G += k15_wg[i] * v;
    N += k15_n13[i] * v;
    A += k15_wk[i] * mag[i * st];
  }
  const double e = fmax(fabs(K - G), 0.1 * fabs(N)), mean = 0.5 * K;
  double asc = 0.0;
  for (size_t i = 0; i < 15; i++)
    asc += k15_wk[i] * fabs(f[i * st] - mean);
  const double t = asc > 0.0 ? fmin(1.0, 200.0 * e / asc) : 0.0; /* (200 e / resasc)^1.5 capped at 1 */
  *est = fmax(e, asc * t * sqrt(t));
  *res = A;
  return K;
}

static void cub_geom(cub_region *r, size_t d)
{
  for (size_t a = 0; a < d; a++) {
    r->h[a] = ldexp(CUB_L, -r->lv[a]);
    r->c[a] = -CUB_L + r->h[a] * (2.0 * r->ix[a] + 1.0);
  }
}

/* Evaluate g and the control variates at the nodes of the nb <= CUB_BATCH boxes r[] in one call (into c->g, c->c).
 */
static int cub_eval_nodes(cub_ws *c, cub_fn fn, void *ctx, const cub_region *r, size_t nb)
{
  const size_t np = c->np;
  for (size_t b = 0; b < nb; b++)
    for (size_t p = 0; p < np; p++) {
      const size_t q = c->idx[p], at = b * np + p;
      if (c->d == 1)
        c->u[at] = r[b].c[0] + r[b].h[0] * k15_x[q];
      else {
        c->u[2 * at] = r[b].c[0] + r[b].h[0] * k15_x[q / 15];
        c->u[2 * at + 1] = r[b].c[1] + r[b].h[1] * k15_x[q % 15];
      }
    }
  c->nb = nb;
  return fn(ctx, nb * np, c->u, c->g, c->c);
}

/* The rule on box r, the b-th of the last batch, for the integrand phi (g - c_v) from the node values in c->g,
 * c->c. */
static void cub_rule(cub_ws *c, size_t v, size_t b, cub_region *r)
{
  const size_t d = c->d, np = c->np;
  const double *g = c->g + b * np, *cv = c->c + v * c->nb * np + b * np;
  double ph[2][15];
  for (size_t a = 0; a < d; a++)
    for (size_t i = 0; i < 15; i++) {
      const double x = r->c[a] + r->h[a] * k15_x[i];
      ph[a][i] = INV_SQRT_2PI * exp(-0.5 * x * x);
    }
  for (size_t p = 0; p < np; p++) {
    const size_t q = c->idx[p];
    const double w = d == 1 ? ph[0][q] : ph[0][q / 15] * ph[1][q % 15];
    c->f[q] = w * (g[p] - cv[p]);
    c->mag[q] = w * (fabs(g[p]) + fabs(cv[p]));
  }
  if (d == 1) {
    double kg, A;
    const double K = cub_line(c->f, c->mag, 1, &kg, &A);
    r->val = r->h[0] * K;
    r->errd[0] = r->red = r->h[0] * kg;
    r->errd[1] = 0.0;
    r->flo = r->h[0] * 50.0 * DBL_EPSILON * A;
    return;
  }
  /* axis-0 lines at the Gauss nodes j of axis 1 (stride 15), axis-1 lines at the Gauss nodes i of axis 0 */
  double V = 0.0, E0 = 0.0, E1 = 0.0, A = 0.0;
  for (size_t j = 1; j < 15; j += 2) {
    double kg, a;
    V += k15_wg[j] * cub_line(c->f + j, c->mag + j, 15, &kg, &a);
    E0 += k15_wg[j] * kg;
    A += k15_wg[j] * a;
  }
  for (size_t i = 1; i < 15; i += 2) {
    double kg, a;
    V += k15_wg[i] * cub_line(c->f + i * 15, c->mag + i * 15, 1, &kg, &a);
    E1 += k15_wg[i] * kg;
    A += k15_wg[i] * a;
    for (size_t j = 1; j < 15; j += 2) { /* - G7 x G7 */
      V -= k15_wg[i] * k15_wg[j] * c->f[i * 15 + j];
      A += k15_wg[i] * k15_wg[j] * c->mag[i * 15 + j];
    }
  }
  /* the product of the two G7 errors: relative errors E0 / resabs and E1 / resabs times resabs (A counts the
   * |values| three times over: twice through the lines, once through G7 x G7) */
  const double resabs = A / 3.0, cross = resabs > 0.0 ? E0 * E1 / resabs : 0.0;
  const double hh = r->h[0] * r->h[1];
  r->val = hh * V;
  r->errd[0] = hh * (E0 + 0.5 * cross);
  r->errd[1] = hh * (E1 + 0.5 * cross);
  r->red = r->errd[0] + r->errd[1];
  r->flo = hh * 50.0 * DBL_EPSILON * A;
}

static void heap_push(cub_ws *c, const cub_region *r)
{
  size_t i = c->nreg++;
  c->reg[i] = *r;
  while (i > 0) {
    const size_t p = (i - 1) / 2;
    if (c->reg[p].red >= c->reg[i].red) break;
    const cub_region t = c->reg[p];
    c->reg[p] = c->reg[i];
    c->reg[i] = t;
    i = p;
  }
}

static cub_region heap_pop(cub_ws *c)
{
  const cub_region top = c->reg[0];
  c->reg[0] = c->reg[--c->nreg];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < c->nreg && c->reg[l].red > c->reg[m].red) m = l;
    if (r < c->nreg && c->reg[r].red > c->reg[m].red) m = r;
    if (m == i) break;
    const cub_region t = c->reg[m];
    c->reg[m] = c->reg[i];
    c->reg[i] = t;
    i = m;
  }
  return top;
}

/* Order that puts the two halves of a dyadic box along axis 0 next to each other: by axis 1's (level, index),
 * then axis 0's level and index. */
static int cub_cmp_ax0(const void *pa, const void *pb)
{
  const cub_region *a = pa, *b = pb;
  if (a->lv[1] != b->lv[1]) return a->lv[1] < b->lv[1] ? -1 : 1;
  if (a->ix[1] != b->ix[1]) return a->ix[1] < b->ix[1] ? -1 : 1;
  if (a->lv[0] != b->lv[0]) return a->lv[0] < b->lv[0] ? -1 : 1;
  return a->ix[0] < b->ix[0] ? -1 : a->ix[0] > b->ix[0];
}

static int cub_cmp_ax1(const void *pa, const void *pb)
{
  const cub_region *a = pa, *b = pb;
  if (a->lv[0] != b->lv[0]) return a->lv[0] < b->lv[0] ? -1 : 1;
  if (a->ix[0] != b->ix[0]) return a->ix[0] < b->ix[0] ? -1 : 1;
  if (a->lv[1] != b->lv[1]) return a->lv[1] < b->lv[1] ? -1 : 1;
  return a->ix[1] < b->ix[1] ? -1 : a->ix[1] > b->ix[1];
}

/* The starting boxes of a warm start: the last mesh's boxes, with pairs of halves merged back where both together
 * were below a tenth of their share of the old tolerance divided by 2^14 (the growth of |K15 - G7| ~ h^15 when
 * the width doubles). Returns the count; the boxes (geometry only) in out. */
static size_t cub_warm_boxes(const cub_ws *c, const cub_mesh *m, cub_region *out)
{
  const size_t d = c->d;
  size_t n = m->n;
  memcpy(out, m->leaf, n * sizeof *out);
  const double lim = 0.1 * m->tol / (double)(n ? n : 1) / 16384.0;
  for (size_t ax = 0; ax < d; ax++) {
    qsort(out, n, sizeof *out, ax == 0 ? cub_cmp_ax0 : cub_cmp_ax1);
    const size_t o = 1 - ax;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      const cub_region *a = &out[i], *b = i + 1 < n ? &out[i + 1] : NULL;
      if (b && (d == 1 || (a->lv[o] == b->lv[o] && a->ix[o] == b->ix[o])) && a->lv[ax] == b->lv[ax] &&
          a->lv[ax] > CUB_LV0 && (a->ix[ax] & 1) == 0 && b->ix[ax] == a->ix[ax] + 1 &&
          a->red + a->flo + b->red + b->flo <= lim) {
        cub_region p = *a;
        p.lv[ax]--;
        p.ix[ax] >>= 1;
        p.red = p.flo = HUGE_VAL; /* not merged again along the other axis in this pass */
        out[kept++] = p;
        i++;
      } else
        out[kept++] = *a;
    }
    n = kept;
  }
  return n;
}

/* E_{N(0, I_d)} g over [-CUB_L, CUB_L]^d with ncv control variates whose integrals there are cint[v]: to summed
 * error (truncation estimates plus rounding floors) <= max(abs_tol, rel_tol |value|); the refinement also stops
 * when the truncation part is below a tenth of that (the floors cannot be reduced by splitting) or at the box
 * budget. With a mesh, the start is its boxes (warm start) rather than the coarse grid, and the final boxes are
 * stored back (GSL_ENOMEM if they cannot be). */
static int cub_integrate(cub_ws *c, cub_fn fn, void *ctx, const double *cint, double rel_tol, double abs_tol,
                         cub_mesh *mesh, double *value, double *err)
{
  const size_t d = c->d, ncv = c->ncv, M = c->maxreg;
  size_t nstart = 0;
  if (mesh && mesh->n > 0)
    nstart = cub_warm_boxes(c, mesh, c->tmp);
  else
    for (size_t i = 0; i < CUB_INIT; i++)
      for (size_t j = 0; j < (d == 2 ? (size_t)CUB_INIT : 1); j++) {
        cub_region *r = &c->tmp[nstart++];
        memset(r, 0, sizeof *r);
        r->lv[0] = CUB_LV0;
        r->ix[0] = (int)i;
        if (d == 2) {
          r->lv[1] = CUB_LV0;
          r->ix[1] = (int)j;
        }
      }
  /* the starting boxes under every control variate; keep the variate with the smallest summed error */
  double best = HUGE_VAL;
  c->cv = 0;
  for (size_t i0 = 0; i0 < nstart; i0 += CUB_BATCH) {
    const size_t nb = nstart - i0 < CUB_BATCH ? nstart - i0 : CUB_BATCH;
    for (size_t b = 0; b < nb; b++)
      cub_geom(&c->tmp[i0 + b], d);
    const int st = cub_eval_nodes(c, fn, ctx, &c->tmp[i0], nb);
    if (st != DPM_SUCCESS) return st;
    for (size_t b = 0; b < nb; b++)
      for (size_t v = ncv; v-- > 0;) {
        c->tmp[v * M + i0 + b] = c->tmp[i0 + b];
        cub_rule(c, v, b, &c->tmp[v * M + i0 + b]);
      }
  }
  for (size_t v = 0; v < ncv; v++) {
    double e = 0.0;
    for (size_t i = 0; i < nstart; i++)
      e += c->tmp[v * M + i].red + c->tmp[v * M + i].flo;
    if (e < best) {
      best = e;
      c->cv = v;
    }
  }
  c->nreg = 0;
  for (size_t i = 0; i < nstart; i++)
    heap_push(c, &c->tmp[c->cv * M + i]);
  for (;;) {
    /* Neumaier-compensated sum of the box values */
    double tv = cint[c->cv], comp = 0.0, tr = 0.0, tf = 0.0;
    for (size_t i = 0; i < c->nreg; i++) {
      const double v = c->reg[i].val, t = tv + v;
      comp += fabs(tv) >= fabs(v) ? (tv - t) + v : (v - t) + tv;
      tv = t;
      tr += c->reg[i].red;
      tf += c->reg[i].flo;
    }
    tv += comp;
    const double tol = fmax(abs_tol, rel_tol * fabs(tv));
    if (tr + tf <= tol || tr <= 0.1 * tol || c->nreg + 1 >= M) {
      *value = tv;
      *err = tr + tf;
      if (!mesh) return DPM_SUCCESS;
      if (mesh->cap < c->nreg) {
        size_t cap = mesh->cap ? mesh->cap : 64;
        while (cap < c->nreg)
          cap *= 2;
        cub_region *nl = realloc(mesh->leaf, cap * sizeof *nl);
        if (!nl) DPM_ERROR(GSL_ENOMEM, "cubature: cannot keep a mesh of %zu boxes", c->nreg);
        mesh->leaf = nl;
        mesh->cap = cap;
      }
      memcpy(mesh->leaf, c->reg, c->nreg * sizeof *c->reg);
      mesh->n = c->nreg;
      mesh->tol = tol;
      return DPM_SUCCESS;
    }
    /* split the worst boxes: no more than it takes for their errors to cover the excess over the tolerance, at
     * most a sixteenth of them at a time (keeps the O(nreg) sums above cheap), their halves evaluated in one batch
     */
    const size_t nsplit = c->nreg / 16 + 1;
    const double excess = tr + tf - tol;
    double removed = 0.0;
    size_t nh = 0;
    cub_region h[CUB_BATCH];
    while (nh / 2 < nsplit && nh + 2 <= CUB_BATCH && removed < excess && c->nreg + nh + 1 < M) {
      const cub_region r = heap_pop(c);
      removed += r.red;
      const int ax = (d == 2 && r.errd[1] > r.errd[0]) ? 1 : 0;
      for (int s = 0; s < 2; s++) {
        h[nh] = r;
        h[nh].lv[ax] = r.lv[ax] + 1;
        h[nh].ix[ax] = 2 * r.ix[ax] + s;
        cub_geom(&h[nh++], d);
      }
    }
    const int st = cub_eval_nodes(c, fn, ctx, h, nh);
    if (st != DPM_SUCCESS) return st;
    for (size_t b = 0; b < nh; b++) {
      cub_rule(c, c->cv, b, &h[b]);
      heap_push(c, &h[b]);
    }
  }
}

/* The integrals of phi and phi u_1^2 over [-CUB_L, CUB_L] (for the control variates' closed forms). */
static void cub_moments(double *A0, double *A2)
{
  *A0 = erf(CUB_L / M_SQRT2);
  *A2 = *A0 - 2.0 * CUB_L * INV_SQRT_2PI * exp(-0.5 * CUB_L * CUB_L);
}

/* x = c + U_k diag(scale) u (U_k the identity unless component k is full). */
static void comp_point(const dpm_mixture *mix, size_t k, const double *c, const double *scale, const double *u,
                       double *x)
{
  const size_t d = mix->d;
  if (mix->kind[k] == DPM_COV_FULL && mix->U) {
    const double *U = mix->U + k * d * d;
    for (size_t i = 0; i < d; i++) {
      double acc = c[i];
      for (size_t j = 0; j < d; j++)
        acc += U[i * d + j] * scale[j] * u[j];
      x[i] = acc;
    }
  } else {
    for (size_t i = 0; i < d; i++)
      x[i] = c[i] + scale[i] * u[i];
  }
}

static int quad_check(size_t d, double rel_tol, const char *what)
{
  if (d < 1 || d > 2)
    DPM_ERROR(GSL_EINVAL, "%s: quadrature is for d = 1 or 2 (got d = %zu); use Monte Carlo", what, d);
  if (!(rel_tol >= 1e-14 && rel_tol <= 0.1))
    DPM_ERROR(GSL_EINVAL, "%s: rel_tol must be in [1e-14, 0.1] (got %g)", what, rel_tol);
  return DPM_SUCCESS;
}

/* ---- Gamma by quadrature ---------------------------------------------------------------------------------------
 */

typedef struct {
  const dpm_mixture *mix;
  dpm_oracle *oracle;
  size_t k;
  double m, s, c[2], scale[2];
  double cva[CUB_NCV][2], cvM[CUB_NCV][4]; /* control variate v: (s^2/d) |cva_v + cvM_v u|^2 */
  double *x, *eps;                         /* CUB_NPMAX x d */
} gamma_ctx;

/* g(u) = |E[eps|x]|^2 / d at x = m mu_k + U_k diag(scale) u, scale_j = sqrt(m^2 lambda_kj + s^2), and its two
 * control variates (see gamma_cv_setup). */
static int gamma_fn(void *vctx, size_t np, const double *u, double *out, double *cv)
{
  gamma_ctx *g = vctx;
  const size_t d = g->mix->d;
  const double cs = g->s * g->s / (double)d;
  for (size_t p = 0; p < np; p++)
    comp_point(g->mix, g->k, g->c, g->scale, u + p * d, g->x + p * d);
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.eps = g->eps;
  const int st = dpm_oracle_eval(g->oracle, g->m, g->s, np, g->x, &res);
  if (st != DPM_SUCCESS) return st;
  for (size_t p = 0; p < np; p++) {
    out[p] = row_norm2(g->eps + p * d, d) / (double)d;
    for (size_t v = 0; v < CUB_NCV; v++) {
      double c = 0.0;
      for (size_t i = 0; i < d; i++) {
        double t = g->cva[v][i];
        for (size_t j = 0; j < d; j++)
          t += g->cvM[v][i * d + j] * u[p * d + j];
        c += t * t;
      }
      cv[v * np + p] = cs * c;
    }
  }
  return DPM_SUCCESS;
}

struct dpm_analytic_gamma_quad {
  const dpm_mixture *mix;
  double rel_tol;
  int nthreads;
  dpm_oracle **oracle;
  cub_ws *cub;
  cub_mesh *mesh;           /* nthreads x K: each component's last boxes, for warm starts along a schedule */
  double mubar[2], cov0[4]; /* the data's mean and covariance */
  double *x, *eps;          /* nthreads x CUB_NPMAX x d */
};

void dpm_analytic_gamma_quad_free(dpm_analytic_gamma_quad *w)
{
  if (!w) return;
  for (int t = 0; t < w->nthreads; t++) {
    if (w->oracle) dpm_oracle_free(w->oracle[t]);
    if (w->cub) cub_free(&w->cub[t]);
  }
  if (w->mesh)
    for (size_t i = 0; i < (size_t)w->nthreads * w->mix->K; i++)
      free(w->mesh[i].leaf);
  free(w->mesh);
  free(w->oracle);
  free(w->cub);
  free(w->x);
  free(w->eps);
  free(w);
}

dpm_analytic_gamma_quad *dpm_analytic_gamma_quad_alloc(const dpm_mixture *mix, double rel_tol)
{
  if (!mix) {
    dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "gamma quadrature: mixture is NULL");
    return NULL;
  }
  if (quad_check(mix->d, rel_tol, "gamma quadrature") != DPM_SUCCESS) return NULL;
  dpm_analytic_gamma_quad *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->mix = mix;
  w->rel_tol = rel_tol;
  w->nthreads = max_threads();
  dpm_mixture_moments(mix, w->mubar, w->cov0, NULL);
  const size_t T = (size_t)w->nthreads, npd = CUB_NPMAX * mix->d;
  w->oracle = dpm_calloc(T, sizeof *w->oracle);
  w->cub = dpm_calloc(T, sizeof *w->cub);
  w->mesh = dpm_calloc(T * mix->K, sizeof *w->mesh);
  w->x = dpm_malloc(T * npd * sizeof(double));
  w->eps = dpm_malloc(T * npd * sizeof(double));
  if (!w->oracle || !w->cub || !w->mesh || !w->x || !w->eps) {
    dpm_analytic_gamma_quad_free(w);
    return NULL;
  }
  for (size_t t = 0; t < T; t++)
    if (!(w->oracle[t] = dpm_oracle_alloc(mix)) || cub_init(&w->cub[t], mix->d, CUB_NCV) != DPM_SUCCESS) {
      dpm_analytic_gamma_quad_free(w);
      return NULL;
    }
  return w;
}

/* The control variates of component g->k at (g->m, g->s), g->c and g->scale set, as (s^2/d) |a + M u|^2 with
 * x = m mu_k + U_k diag(scale) u, and their integrals over the box, cint[v] = (s^2/d) (|a|^2 A0^d + |M|_F^2 A2
 * A0^(d-1)):
 *   v = 0: component k alone, E[eps|x] = s C_k^{-1}(x - m mu_k) = s U_k diag(1/scale) u: a = 0, M = diag(1/scale)
 *          (exact where k owns the posterior: separated components, small t);
 *   v = 1: the Gaussian with the data's mean and covariance, E[eps|x] = s B (x - m mubar), B = (m^2 Cov_0 +
 *          s^2 I)^{-1}: a = m B (mu_k - mubar), M = B U_k diag(scale) (exact for Gaussian data; close when q_t is
 *          nearly Gaussian, large t). */
static void gamma_cv_setup(const dpm_analytic_gamma_quad *w, gamma_ctx *g, double *cint)
{
  const dpm_mixture *mix = w->mix;
  const size_t d = mix->d, k = g->k;
  const double m = g->m, s = g->s;
  memset(g->cva, 0, sizeof g->cva);
  memset(g->cvM, 0, sizeof g->cvM);
  for (size_t j = 0; j < d; j++)
    g->cvM[0][j * d + j] = 1.0 / g->scale[j];
  double S[4], B[4], U[4] = {1.0, 0.0, 0.0, 1.0};
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      S[i * d + j] = m * m * w->cov0[i * d + j] + (i == j ? s * s : 0.0);
  if (d == 1)
    B[0] = 1.0 / S[0];
  else {
    const double det = S[0] * S[3] - S[1] * S[2];
    B[0] = S[3] / det;
    B[1] = -S[1] / det;
    B[2] = -S[2] / det;
    B[3] = S[0] / det;
  }
  if (mix->kind[k] == DPM_COV_FULL && mix->U) memcpy(U, mix->U + k * d * d, d * d * sizeof(double));
  for (size_t i = 0; i < d; i++) {
    for (size_t j = 0; j < d; j++) {
      g->cva[1][i] += B[i * d + j] * m * (mix->mu[k * d + j] - w->mubar[j]);
      double acc = 0.0;
      for (size_t l = 0; l < d; l++)
        acc += B[i * d + l] * U[l * d + j];
      g->cvM[1][i * d + j] = acc * g->scale[j];
    }
  }
  double A0, A2;
  cub_moments(&A0, &A2);
  for (size_t v = 0; v < CUB_NCV; v++) {
    double a2 = 0.0, m2 = 0.0;
    for (size_t i = 0; i < d; i++) {
      a2 += g->cva[v][i] * g->cva[v][i];
      for (size_t j = 0; j < d; j++)
        m2 += g->cvM[v][i * d + j] * g->cvM[v][i * d + j];
    }
    cint[v] = s * s / (double)d * (a2 * (d == 2 ? A0 * A0 : A0) + m2 * A2 * (d == 2 ? A0 : 1.0));
  }
}

/* Gamma at (m, s) with thread tid's scratch. mesh: 0 start each component from the coarse grid, 1 the same and
 * keep the final boxes, 2 start from the kept boxes (a warm start) and keep the new ones. */
static int gamma_quad_one(dpm_analytic_gamma_quad *w, int tid, double m, double s, int mesh, double *gamma,
                          double *err)
{
  const dpm_mixture *mix = w->mix;
  const size_t d = mix->d, npd = CUB_NPMAX * d;
  gamma_ctx g;
  memset(&g, 0, sizeof g);
  g.mix = mix;
  g.oracle = w->oracle[tid];
  g.m = m;
  g.s = s;
  g.x = w->x + (size_t)tid * npd;
  g.eps = w->eps + (size_t)tid * npd;
  double total = 0.0, terr = 0.0;
  for (size_t k = 0; k < mix->K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    g.k = k;
    for (size_t j = 0; j < d; j++) {
      g.c[j] = m * mix->mu[k * d + j];
      g.scale[j] = sqrt(m * m * mix->lambda[k * d + j] + s * s);
    }
    double cint[CUB_NCV];
    gamma_cv_setup(w, &g, cint);
    cub_mesh *mk = mesh ? &w->mesh[(size_t)tid * mix->K + k] : NULL;
    if (mesh == 1) mk->n = 0;
    double v, e;
    const int st = cub_integrate(&w->cub[tid], gamma_fn, &g, cint, w->rel_tol, 1e-15, mk, &v, &e);
    if (st != DPM_SUCCESS) return st;
    total += mix->w[k] * v;
    terr += mix->w[k] * e;
  }
  *gamma = total;
  if (err) *err = terr;
  return DPM_SUCCESS;
}

int dpm_analytic_gamma_quad_eval(dpm_analytic_gamma_quad *w, double m, double s, double *gamma, double *err)
{
  if (!w || !gamma) DPM_ERROR(GSL_EINVAL, "gamma quadrature: NULL workspace or output");
  if (!ms_ok(m, s)) DPM_ERROR(GSL_EDOM, "gamma quadrature: need m > 0, s > 0 finite (got %g, %g)", m, s);
  return gamma_quad_one(w, 0, m, s, 0, gamma, err);
}

/* Steps per chain of warm starts in dpm_analytic_gamma_quad_schedule. */
enum { GAMMA_CHAIN = 16 };

int dpm_analytic_gamma_quad_schedule(dpm_analytic_gamma_quad *w, const dpm_schedule *sch, double *gamma,
                                     double *err)
{
  if (!w || !sch || !gamma) DPM_ERROR(GSL_EINVAL, "gamma quadrature: NULL workspace, schedule or output");
  gamma[0] = NAN;
  if (err) err[0] = NAN;
  for (size_t n = 1; n <= sch->N; n++)
    if (!ms_ok(sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n])))
      DPM_ERROR(GSL_EDOM, "gamma quadrature: step %zu has abar = %g, bbar = %g", n, sch->alpha_bar[n],
                sch->beta_bar[n]);
  /* Chains of GAMMA_CHAIN consecutive steps, each chain on one thread: its first step starts from the coarse grid,
   * the others from the previous step's boxes (the integrand moves little from one step to the next). The chains
   * do not depend on the thread count, so neither do the results. */
  int fail = DPM_SUCCESS;
  size_t fail_at = 0;
  const size_t nchain = (sch->N + GAMMA_CHAIN - 1) / GAMMA_CHAIN;
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->nthreads)
  for (size_t ci = 0; ci < nchain; ci++) {
    const int tid = thread_num();
    const size_t n0 = 1 + ci * GAMMA_CHAIN, n1 = n0 + GAMMA_CHAIN - 1 < sch->N ? n0 + GAMMA_CHAIN - 1 : sch->N;
    for (size_t n = n0; n <= n1; n++) {
      double g = NAN, e = NAN;
      const int st =
          gamma_quad_one(w, tid, sqrt(sch->alpha_bar[n]), sqrt(sch->beta_bar[n]), n > n0 ? 2 : 1, &g, &e);
      gamma[n] = g;
      if (err) err[n] = e;
      if (st != DPM_SUCCESS) {
#pragma omp critical(dpm_analytic_fail)
        if (fail == DPM_SUCCESS || n < fail_at) {
          fail = st;
          fail_at = n;
        }
        for (size_t r = n + 1; r <= n1; r++) { /* the rest of the chain is not computed */
          gamma[r] = NAN;
          if (err) err[r] = NAN;
        }
        break;
      }
    }
  }
  if (fail != DPM_SUCCESS) DPM_ERROR(fail, "gamma quadrature: oracle evaluation failed at step %zu", fail_at);
  return DPM_SUCCESS;
}
/* ---- one reverse step ------------------------------------------------------------------------------------------
 */

/* Fill the step from its ingredients; rem = bbar_s - lambda^2 >= 0. The x_0 coefficient of mu~ is formed without
 * cancellation: c0 = sqrt(abar_s) - sqrt(rem abar_t/bbar_t) = abar_s (beta + alpha lambda^2) /
 * (bbar_t (sqrt(abar_s) + sqrt(rem abar_t/bbar_t))), using abar_s bbar_t - bbar_s abar_t = abar_s beta. */
static void step_fill(dpm_analytic_step *st, size_t s, size_t t, double eta, double abar_s, double bbar_s,
                      double abar_t, double bbar_t, double alpha, double beta, double beta_tilde, double rem)
{
  st->s = s;
  st->t = t;
  st->eta = eta;
  st->abar_s = abar_s;
  st->bbar_s = bbar_s;
  st->abar_t = abar_t;
  st->bbar_t = bbar_t;
  st->alpha_ts = alpha;
  st->beta_ts = beta;
  st->err_scale = bbar_t / abar_t;
  if (s == 0) { /* the decoder: mu~ = x_0 */
    st->beta_tilde_ts = 0.0;
    st->lambda2 = 0.0;
    st->c0 = 1.0;
    st->cx = 0.0;
  } else {
    st->beta_tilde_ts = beta_tilde;
    st->lambda2 = eta * eta * beta_tilde;
    if (rem < 0.0) rem = 0.0;
    const double r = sqrt(rem * abar_t / bbar_t);
    st->c0 = abar_s * (beta + alpha * st->lambda2) / (bbar_t * (sqrt(abar_s) + r));
    st->cx = sqrt(rem / bbar_t);
  }
  st->coef2 = st->c0 * st->c0 * st->err_scale;
}

static int eta_ok(double eta) { return isfinite(eta) && eta >= 0.0 && eta <= 1.0; }

int dpm_analytic_step_n(const dpm_schedule *sch, size_t n, double eta, dpm_analytic_step *st)
{
  if (!sch || !st) DPM_ERROR(GSL_EINVAL, "analytic step: NULL schedule or output");
  if (n < 1 || n > sch->N) DPM_ERROR(GSL_EINVAL, "analytic step: n = %zu outside 1..%zu", n, sch->N);
  if (!eta_ok(eta)) DPM_ERROR(GSL_EDOM, "analytic step: eta = %g outside [0, 1]", eta);
  const double lambda2 = eta * eta * sch->beta_tilde[n];
  step_fill(st, n - 1, n, eta, sch->alpha_bar[n - 1], sch->beta_bar[n - 1], sch->alpha_bar[n], sch->beta_bar[n],
            sch->alpha[n], sch->beta[n], sch->beta_tilde[n], sch->beta_bar[n - 1] - lambda2);
  return DPM_SUCCESS;
}

int dpm_analytic_step_ts(const dpm_schedule *sch, size_t s, size_t t, double eta, dpm_analytic_step *st)
{
  if (!sch || !st) DPM_ERROR(GSL_EINVAL, "analytic step: NULL schedule or output");
  if (!(s < t && t <= sch->N))
    DPM_ERROR(GSL_EINVAL, "analytic step: need 0 <= s < t <= N = %zu (got s = %zu, t = %zu)", sch->N, s, t);
  if (!eta_ok(eta)) DPM_ERROR(GSL_EDOM, "analytic step: eta = %g outside [0, 1]", eta);
  const double la = sch->log_alpha_bar[t] - sch->log_alpha_bar[s];
  const double alpha = exp(la), beta = -expm1(la);
  const double abar_s = sch->alpha_bar[s], bbar_s = sch->beta_bar[s], bbar_t = sch->beta_bar[t];
  const double beta_tilde = bbar_s * beta / bbar_t;
  /* bbar_s - eta^2 beta~ = bbar_s (bbar_t - eta^2 beta)/bbar_t and bbar_t - beta = alpha bbar_s: no cancellation
   */
  const double rem = bbar_s * (alpha * bbar_s + (1.0 - eta * eta) * beta) / bbar_t;
  step_fill(st, s, t, eta, abar_s, bbar_s, sch->alpha_bar[t], bbar_t, alpha, beta, beta_tilde, rem);
  return DPM_SUCCESS;
}

double dpm_analytic_sigma2_opt(const dpm_analytic_step *st, double gamma)
{
  return st->lambda2 + st->coef2 * (1.0 - gamma);
}

double dpm_analytic_sigma2_lower(const dpm_analytic_step *st) { return st->lambda2; }

double dpm_analytic_sigma2_upper(const dpm_analytic_step *st) { return st->lambda2 + st->coef2; }

double dpm_analytic_sigma2_upper_box(const dpm_analytic_step *st, size_t d, const double *lo, const double *hi)
{
  if (!lo || !hi || d == 0) return NAN;
  double r2 = 0.0;
  for (size_t j = 0; j < d; j++) {
    const double h = 0.5 * (hi[j] - lo[j]);
    r2 += h * h;
  }
  return st->lambda2 + st->c0 * st->c0 * r2 / (double)d;
}

double dpm_analytic_sigma2_clip(const dpm_analytic_step *st, double sigma2, double upper_box)
{
  if (isnan(sigma2)) return NAN;
  double hi = dpm_analytic_sigma2_upper(st);
  if (upper_box < hi) hi = upper_box;
  const double lo = st->lambda2;
  if (sigma2 < lo) sigma2 = lo;
  if (sigma2 > hi) sigma2 = hi;
  return sigma2;
}

/* ---- ELBO terms
 * ------------------------------------------------------------------------------------------------- */

/* The terms (MATH §3). For s >= 1: KL(N(mu~(x_t, x_0), lambda^2 I) || N(mu(x_t), sigma^2 I)) =
 * (d/2)[log(sigma^2/lambda^2) + lambda^2/sigma^2 - 1] + |mu~ - mu|^2/(2 sigma^2), and mu~ - mu = c0 (x_0 -
 * x0-hat), so the expectation is (d/2)[... + c0^2 x0mse/sigma^2]. The decoder (s = 0), derivation of its closed
 * form: L_0 = -E log N(x_0; mu_1(x_t), sigma^2 I) = E[(d/2) log(2 pi sigma^2) + |x_0 - mu_1(x_t)|^2/(2 sigma^2)].
 * With s = 0, abar_0 = 1 and bbar_0 - lambda^2 = 0, so mu~(x_t, x_0) = x_0 and the optimal mean is mu_1*(x_t) =
 * E[x_0|x_t]. Then E|x_0 - E[x_0|x_t]|^2 = E tr Cov[x_0|x_t]; from x_t = sqrt(abar_t) x_0 + sqrt(bbar_t) eps,
 * Cov[x_0|x_t] = (bbar_t/abar_t) Cov[eps|x_t], and by the law of total variance E tr Cov[eps|x_t] = E|eps|^2 -
 * E|E[eps|x_t]|^2 = d (1 - Gamma_t). Hence E|x_0 - E[x_0|x_t]|^2 = d (bbar_t/abar_t)(1 - Gamma_t) = d x0mse and
 * L_0 = (d/2)[log(2 pi sigma^2) + x0mse/sigma^2], minimised at sigma^2 = x0mse (the s = 0 case of sigma*^2) where
 * it is (d/2)(log(2 pi sigma*^2) + 1). */
double dpm_analytic_step_term_mse(const dpm_analytic_step *st, size_t d, double x0mse, double sigma2)
{
  if (isnan(sigma2) || sigma2 < 0.0 || isnan(x0mse)) return NAN;
  const double half_d = 0.5 * (double)d, A = st->c0 * st->c0 * x0mse;
  if (st->s == 0) { /* decoder: -E log N(x_0; x0-hat, sigma2 I) */
    if (sigma2 == 0.0) return A > 0.0 ? HUGE_VAL : -HUGE_VAL;
    return half_d * (log(2.0 * M_PI * sigma2) + A / sigma2);
  }
  if (st->lambda2 == 0.0 || sigma2 == 0.0) return HUGE_VAL;
  /* log(sigma2/lambda2) + lambda2/sigma2 - 1 = u - log1p(u), u = lambda2/sigma2 - 1 */
  const double u = (st->lambda2 - sigma2) / sigma2;
  return half_d * ((u - log1p(u)) + A / sigma2);
}

double dpm_analytic_step_term(const dpm_analytic_step *st, size_t d, double gamma, double sigma2)
{
  return dpm_analytic_step_term_mse(st, d, st->err_scale * (1.0 - gamma), sigma2);
}

double dpm_analytic_step_term_dgamma(const dpm_analytic_step *st, size_t d, double sigma2)
{
  return 0.5 * (double)d * st->coef2 / sigma2;
}

double dpm_analytic_prior_kl(const dpm_schedule *sch, size_t t, size_t d, double e_norm2)
{
  if (!sch || t > sch->N) return NAN;
  const double abar = sch->alpha_bar[t];
  /* bbar - 1 - log bbar = -abar - log1p(-abar) >= 0, exact near abar = 0 */
  return 0.5 * (double)d * (-abar - log1p(-abar)) + 0.5 * abar * e_norm2;
}

/* ---- variance choices
 * -------------------------------------------------------------------------------------------- */

static const char *const var_names[] = {"beta", "beta_tilde", "opt", "clipped", "zero"};

const char *dpm_variance_name(dpm_variance_kind v)
{
  return (unsigned)v < sizeof var_names / sizeof var_names[0] ? var_names[v] : "unknown";
}

int dpm_variance_parse(const char *name, dpm_variance_kind *v)
{
  if (!name || !v) DPM_ERROR(GSL_EINVAL, "variance: NULL name or output");
  for (size_t i = 0; i < sizeof var_names / sizeof var_names[0]; i++)
    if (strcmp(name, var_names[i]) == 0) {
      *v = (dpm_variance_kind)i;
      return DPM_SUCCESS;
    }
  DPM_ERROR(GSL_EINVAL, "variance: unknown choice '%s' (beta, beta_tilde, opt, clipped, zero)", name);
}

int dpm_analytic_check_traj(const dpm_schedule *sch, size_t K, const size_t *tau)
{
  if (!sch || !tau) DPM_ERROR(GSL_EINVAL, "trajectory: NULL schedule or tau");
  if (K < 1) DPM_ERROR(GSL_EINVAL, "trajectory: K must be >= 1");
  if (tau[0] < 1) DPM_ERROR(GSL_EINVAL, "trajectory: tau[0] must be >= 1 (got %zu)", tau[0]);
  for (size_t k = 1; k < K; k++)
    if (tau[k] <= tau[k - 1])
      DPM_ERROR(GSL_EINVAL, "trajectory: not increasing at k = %zu (tau = %zu after %zu)", k, tau[k], tau[k - 1]);
  if (tau[K - 1] > sch->N) DPM_ERROR(GSL_EINVAL, "trajectory: tau[K-1] = %zu > N = %zu", tau[K - 1], sch->N);
  return DPM_SUCCESS;
}

static double box_upper(const dpm_analytic_model *mod, const dpm_analytic_step *st)
{
  if (!mod->box_lo || !mod->box_hi) return HUGE_VAL;
  return dpm_analytic_sigma2_upper_box(st, mod->d, mod->box_lo, mod->box_hi);
}

/* Variance of the trajectory step k (st its step; next the step tau[1] -> tau[0] for the decoder's beta~). */
static double traj_sigma2(const dpm_analytic_model *mod, dpm_variance_kind var, const dpm_analytic_step *st,
                          const dpm_analytic_step *next)
{
  const double *gh = mod->gamma_hat ? mod->gamma_hat : mod->gamma;
  switch (var) {
  case DPM_VAR_BETA:
    return st->beta_ts;
  case DPM_VAR_BETA_TILDE:
    if (st->s > 0) return st->beta_tilde_ts;
    return next ? next->beta_tilde_ts : st->beta_ts;
  case DPM_VAR_OPT:
    return dpm_analytic_sigma2_opt(st, mod->gamma[st->t]);
  case DPM_VAR_CLIPPED:
    return dpm_analytic_sigma2_clip(st, dpm_analytic_sigma2_opt(st, gh[st->t]), box_upper(mod, st));
  case DPM_VAR_ZERO:
    return 0.0;
  }
  return NAN;
}

static int model_check(const dpm_analytic_model *mod, dpm_variance_kind var, int need_gamma, const char *what)
{
  if (!mod) DPM_ERROR(GSL_EINVAL, "%s: model is NULL", what);
  if (!eta_ok(mod->eta)) DPM_ERROR(GSL_EDOM, "%s: eta = %g outside [0, 1]", what, mod->eta);
  if ((unsigned)var > (unsigned)DPM_VAR_ZERO)
    DPM_ERROR(GSL_EINVAL, "%s: unknown variance choice %d", what, (int)var);
  if ((need_gamma || var == DPM_VAR_OPT || var == DPM_VAR_CLIPPED) && !mod->gamma)
    DPM_ERROR(GSL_EINVAL, "%s: the variance '%s' needs model.gamma", what, dpm_variance_name(var));
  if (mod->d == 0) DPM_ERROR(GSL_EINVAL, "%s: model.d must be >= 1", what);
  return DPM_SUCCESS;
}

int dpm_analytic_sigma2_traj(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_variance_kind var,
                             size_t K, const size_t *tau, double *sigma2)
{
  int st = model_check(mod, var, 0, "trajectory variance");
  if (st != DPM_SUCCESS) return st;
  if ((st = dpm_analytic_check_traj(sch, K, tau)) != DPM_SUCCESS) return st;
  if (!sigma2) DPM_ERROR(GSL_EINVAL, "trajectory variance: output is NULL");
  dpm_analytic_step a, next;
  for (size_t k = 0; k < K; k++) {
    dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], mod->eta, &a);
    if (k == 0 && K > 1) dpm_analytic_step_ts(sch, tau[0], tau[1], mod->eta, &next);
    sigma2[k] = traj_sigma2(mod, var, &a, k == 0 && K > 1 ? &next : NULL);
  }
  return DPM_SUCCESS;
}

int dpm_analytic_elbo(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_variance_kind var, size_t K,
                      const size_t *tau, double entropy, double entropy_err, dpm_elbo_result *res, double *terms)
{
  int st = model_check(mod, var, 1, "ELBO");
  if (st != DPM_SUCCESS) return st;
  if (!(mod->eta > 0.0))
    DPM_ERROR(GSL_EDOM, "ELBO: eta must be > 0 (with eta = 0 the KL to the deterministic q(x_s|x_t,x_0) is "
                        "infinite)");
  if ((st = dpm_analytic_check_traj(sch, K, tau)) != DPM_SUCCESS) return st;
  if (!res) DPM_ERROR(GSL_EINVAL, "ELBO: result is NULL");
  memset(res, 0, sizeof *res);
  const size_t d = mod->d;
  dpm_analytic_step a, next;
  double trans = 0.0, dec = 0.0, err = 0.0;
  for (size_t k = 0; k < K; k++) {
    dpm_analytic_step_ts(sch, k == 0 ? 0 : tau[k - 1], tau[k], mod->eta, &a);
    if (k == 0 && K > 1) dpm_analytic_step_ts(sch, tau[0], tau[1], mod->eta, &next);
    const double s2 = traj_sigma2(mod, var, &a, k == 0 && K > 1 ? &next : NULL);
    const double L = dpm_analytic_step_term(&a, d, mod->gamma[tau[k]], s2);
    if (terms) terms[k] = L;
    if (k == 0)
      dec = L;
    else
      trans += L;
    if (mod->gamma_err) err += dpm_analytic_step_term_dgamma(&a, d, s2) * fabs(mod->gamma_err[tau[k]]);
  }
  res->prior = dpm_analytic_prior_kl(sch, tau[K - 1], d, mod->e_norm2);
  res->transitions = trans;
  res->decoder = dec;
  res->nelbo = res->prior + trans + dec;
  res->bpd = res->nelbo / ((double)d * M_LN2);
  res->nelbo_err = err;
  res->entropy = entropy;
  res->entropy_err = entropy_err;
  res->gap = res->nelbo - entropy;
  res->gap_err = err + fabs(entropy_err);
  return DPM_SUCCESS;
}

static void put(double *col, size_t n, double v)
{
  if (col) col[n] = v;
}

int dpm_analytic_table_fill(const dpm_schedule *sch, const dpm_analytic_model *mod, dpm_analytic_table *tab)
{
  int st = model_check(mod, DPM_VAR_OPT, 1, "analytic table");
  if (st != DPM_SUCCESS) return st;
  if (!sch || !tab) DPM_ERROR(GSL_EINVAL, "analytic table: NULL schedule or table");
  double *cols[] = {tab->beta,      tab->alpha_bar,  tab->gamma,       tab->gamma_err, tab->gamma_hat,
                    tab->lambda2,   tab->sigma2_opt, tab->sigma2,      tab->lower,     tab->upper,
                    tab->upper_box, tab->L_beta,     tab->L_betatilde, tab->L_opt,     tab->L_clipped};
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
    if (cols[c]) cols[c][0] = NAN;
  const size_t d = mod->d;
  const double *gh = mod->gamma_hat ? mod->gamma_hat : mod->gamma;
  dpm_analytic_step a, next;
  for (size_t n = 1; n <= sch->N; n++) {
    dpm_analytic_step_n(sch, n, mod->eta, &a);
    const double g = mod->gamma[n];
    const double ub = box_upper(mod, &a);
    const double opt = dpm_analytic_sigma2_opt(&a, g);
    const double clip = dpm_analytic_sigma2_clip(&a, dpm_analytic_sigma2_opt(&a, gh[n]), ub);
    put(tab->beta, n, sch->beta[n]);
    put(tab->alpha_bar, n, sch->alpha_bar[n]);
    put(tab->gamma, n, g);
    put(tab->gamma_err, n, mod->gamma_err ? mod->gamma_err[n] : (double)NAN);
    put(tab->gamma_hat, n, gh[n]);
    put(tab->lambda2, n, a.lambda2);
    put(tab->sigma2_opt, n, opt);
    put(tab->sigma2, n, clip);
    put(tab->lower, n, dpm_analytic_sigma2_lower(&a));
    put(tab->upper, n, dpm_analytic_sigma2_upper(&a));
    put(tab->upper_box, n, ub);
    double var_beta = sch->beta[n], var_tilde = sch->beta_tilde[n];
    if (n == 1) { /* decoder convention, see dpm_analytic_table */
      if (sch->N >= 2) {
        dpm_analytic_step_n(sch, 2, mod->eta, &next);
        var_tilde = next.beta_tilde_ts;
      } else {
        var_tilde = sch->beta[1];
      }
    }
    put(tab->L_beta, n, dpm_analytic_step_term(&a, d, g, var_beta));
    put(tab->L_betatilde, n, dpm_analytic_step_term(&a, d, g, var_tilde));
    put(tab->L_opt, n, dpm_analytic_step_term(&a, d, g, opt));
    put(tab->L_clipped, n, dpm_analytic_step_term(&a, d, g, clip));
  }
  return DPM_SUCCESS;
}

/* ---- optimal trajectory
 * ------------------------------------------------------------------------------------------- */

/* The cost of t -> s, 1 <= s < t, DDPM family: with beta = beta_{t|s}, alpha = alpha_{t|s},
 *   J = log(sigma*^2/lambda^2) = log1p(coef2 (1 - g)/lambda^2),  coef2/lambda^2 = beta/(alpha bbar_s),
 *   F = log(1 - beta g / bbar_t). */
static double cost_eval(const dpm_schedule *sch, double g, dpm_cost_kind cost, size_t s, size_t t)
{
  if (g < 0.0) g = 0.0;
  if (g > 1.0) g = 1.0;
  const double la = sch->log_alpha_bar[t] - sch->log_alpha_bar[s];
  const double beta = -expm1(la), alpha = exp(la);
  if (cost == DPM_COST_J) return log1p(beta * (1.0 - g) / (alpha * sch->beta_bar[s]));
  return log1p(-beta * g / sch->beta_bar[t]);
}

double dpm_analytic_cost(const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost, size_t s, size_t t)
{
  if (!sch || !gamma || s < 1 || s >= t || t > sch->N || (cost != DPM_COST_J && cost != DPM_COST_F)) return NAN;
  return cost_eval(sch, gamma[t], cost, s, t);
}

struct dpm_analytic_dp {
  size_t N, K;
  double *D[2]; /* N+1 each: best cost of a path ending at t with the current number of points */
  size_t *arg;  /* K x (N+1): predecessor of t in layer k */
};

void dpm_analytic_dp_free(dpm_analytic_dp *dp)
{
  if (!dp) return;
  free(dp->D[0]);
  free(dp->D[1]);
  free(dp->arg);
  free(dp);
}

dpm_analytic_dp *dpm_analytic_dp_alloc(size_t N, size_t K)
{
  if (K < 2 || K > N) {
    dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "trajectory DP: need 2 <= K <= N (got K = %zu, N = %zu)", K, N);
    return NULL;
  }
  dpm_analytic_dp *dp = dpm_calloc(1, sizeof *dp);
  if (!dp) return NULL;
  dp->N = N;
  dp->K = K;
  dp->D[0] = dpm_malloc((N + 1) * sizeof(double));
  dp->D[1] = dpm_malloc((N + 1) * sizeof(double));
  dp->arg = dpm_malloc(K * (N + 1) * sizeof(size_t));
  if (!dp->D[0] || !dp->D[1] || !dp->arg) {
    dpm_analytic_dp_free(dp);
    return NULL;
  }
  return dp;
}

int dpm_analytic_dp_solve(dpm_analytic_dp *dp, const dpm_schedule *sch, const double *gamma, dpm_cost_kind cost,
                          size_t K, size_t *tau, double *total)
{
  if (!dp || !sch || !gamma || !tau)
    DPM_ERROR(GSL_EINVAL, "trajectory DP: NULL workspace, schedule, gamma or tau");
  const size_t N = sch->N;
  if (N > dp->N || K > dp->K)
    DPM_ERROR(GSL_EBADLEN,
              "trajectory DP: (N, K) = (%zu, %zu) exceeds the workspace's "
              "(%zu, %zu)",
              N, K, dp->N, dp->K);
  if (K < 2 || K > N) DPM_ERROR(GSL_EINVAL, "trajectory DP: need 2 <= K <= N (got K = %zu, N = %zu)", K, N);
  if (cost != DPM_COST_J && cost != DPM_COST_F) DPM_ERROR(GSL_EINVAL, "trajectory DP: unknown cost %d", (int)cost);
  for (size_t t = 2; t <= N; t++)
    if (isnan(gamma[t])) DPM_ERROR(GSL_EDOM, "trajectory DP: gamma[%zu] is NaN", t);
  double *prev = dp->D[0], *cur = dp->D[1];
  for (size_t t = 0; t <= N; t++)
    prev[t] = t == 1 ? 0.0 : HUGE_VAL;
  /* layer k (1-based) holds paths with k points ending at t; t ranges over [k, N - (K - k)] */
  for (size_t k = 2; k <= K; k++) {
    const size_t tlo = k, thi = N - (K - k);
    size_t *arg = dp->arg + (k - 1) * (N + 1);
    for (size_t t = 0; t <= N; t++)
      cur[t] = HUGE_VAL;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t t = tlo; t <= thi; t++) {
      double best = HUGE_VAL;
      size_t bs = 0;
      for (size_t s = k - 1; s < t; s++) {
        if (prev[s] == HUGE_VAL) continue;
        const double v = prev[s] + cost_eval(sch, gamma[t], cost, s, t);
        if (v < best) {
          best = v;
          bs = s;
        }
      }
      cur[t] = best;
      arg[t] = bs;
    }
    double *tmp = prev;
    prev = cur;
    cur = tmp;
  }
  if (!isfinite(prev[N])) DPM_ERROR(GSL_EDOM, "trajectory DP: no finite path (cost not finite)");
  tau[K - 1] = N;
  for (size_t k = K; k >= 2; k--)
    tau[k - 2] = dp->arg[(k - 1) * (N + 1) + tau[k - 1]];
  if (total) *total = prev[N];
  return DPM_SUCCESS;
}

int dpm_analytic_trajectory(const dpm_schedule *sch, const double *gamma, const char *kind, size_t K, size_t *tau,
                            double *cum)
{
  if (!sch || !kind || !tau) DPM_ERROR(GSL_EINVAL, "trajectory: NULL schedule, kind or tau");
  int st;
  if (strcmp(kind, "dp") == 0) {
    if (!gamma) DPM_ERROR(GSL_EINVAL, "trajectory dp: gamma is NULL");
    dpm_analytic_dp *dp = dpm_analytic_dp_alloc(sch->N, K);
    if (!dp) return GSL_EINVAL;
    st = dpm_analytic_dp_solve(dp, sch, gamma, DPM_COST_J, K, tau, NULL);
    dpm_analytic_dp_free(dp);
  } else if (strcmp(kind, "even") == 0 || strcmp(kind, "quadratic") == 0) {
    st = dpm_schedule_subsequence(sch, kind, K, tau);
  } else {
    DPM_ERROR(GSL_EINVAL, "trajectory: unknown kind '%s' (dp, even, quadratic)", kind);
  }
  if (st != DPM_SUCCESS) return st;
  if (cum) {
    if (!gamma) DPM_ERROR(GSL_EINVAL, "trajectory: the cumulative cost needs gamma");
    cum[0] = 0.0;
    for (size_t k = 1; k < K; k++)
      cum[k] = cum[k - 1] + cost_eval(sch, gamma[tau[k]], DPM_COST_J, tau[k - 1], tau[k]);
  }
  return DPM_SUCCESS;
}

/* ---- differential entropy --------------------------------------------------------------------------------------
 */

/* log q_0(x) of a mixture without point masses; logc[k] = sum_j log(2 pi lambda_kj); lk (K) and z (d) scratch. */
static double mix_logq0(const dpm_mixture *mix, const double *logc, const double *x, double *lk, double *z)
{
  const size_t d = mix->d, K = mix->K;
  for (size_t k = 0; k < K; k++) {
    if (!(mix->w[k] > 0.0)) {
      lk[k] = -HUGE_VAL;
      continue;
    }
    const double *mu = mix->mu + k * d, *lam = mix->lambda + k * d;
    if (mix->kind[k] == DPM_COV_FULL && mix->U) {
      const double *U = mix->U + k * d * d;
      for (size_t j = 0; j < d; j++) {
        double acc = 0.0;
        for (size_t i = 0; i < d; i++)
          acc += U[i * d + j] * (x[i] - mu[i]);
        z[j] = acc;
      }
    } else {
      for (size_t j = 0; j < d; j++)
        z[j] = x[j] - mu[j];
    }
    double q = 0.0;
    for (size_t j = 0; j < d; j++)
      q += z[j] * z[j] / lam[j];
    lk[k] = mix->logw[k] - 0.5 * (q + logc[k]);
  }
  return dpm_logsumexp(lk, K, 1);
}

static int entropy_prepare(const dpm_mixture *mix, double *logc, const char *what)
{
  for (size_t k = 0; k < mix->K; k++) {
    if (!(mix->w[k] > 0.0)) {
      logc[k] = 0.0;
      continue;
    }
    double acc = 0.0;
    for (size_t j = 0; j < mix->d; j++) {
      const double l = mix->lambda[k * mix->d + j];
      if (mix->kind[k] == DPM_COV_ZERO || !(l > 0.0))
        DPM_ERROR(GSL_EDOM,
                  "%s: component %zu is a point mass: a finite set has no density, its differential "
                  "entropy is -infinity (undefined)",
                  what, k);
      acc += LOG_2PI + log(l);
    }
    logc[k] = acc;
  }
  return DPM_SUCCESS;
}

typedef struct {
  const dpm_mixture *mix;
  const double *logc;
  size_t k;
  double scale[2], x[2], z[2];
  double *lk; /* K */
} entropy_ctx;

/* g(u) = -log q_0(x) at x = mu_k + U_k diag(sqrt(lambda_k)) u, and its control variate -l_k(x) = -log w_k +
 * (|u|^2 + logc_k)/2 (the component's own term: g = -l_k + log r_k(x), log r_k = 0 where k owns x). */
static int entropy_fn(void *vctx, size_t np, const double *u, double *out, double *cv)
{
  entropy_ctx *e = vctx;
  const size_t d = e->mix->d, k = e->k;
  const double c0 = -e->mix->logw[k] + 0.5 * e->logc[k];
  for (size_t p = 0; p < np; p++) {
    comp_point(e->mix, k, e->mix->mu + k * d, e->scale, u + p * d, e->x);
    out[p] = -mix_logq0(e->mix, e->logc, e->x, e->lk, e->z);
    double c = c0;
    for (size_t j = 0; j < d; j++)
      c += 0.5 * u[p * d + j] * u[p * d + j];
    cv[p] = c;
  }
  return DPM_SUCCESS;
}

int dpm_analytic_entropy_quad(const dpm_mixture *mix, double rel_tol, double *H, double *err)
{
  if (!mix || !H) DPM_ERROR(GSL_EINVAL, "entropy quadrature: NULL mixture or output");
  int st = quad_check(mix->d, rel_tol, "entropy quadrature");
  if (st != DPM_SUCCESS) return st;
  const size_t d = mix->d, K = mix->K;
  cub_ws cub;
  if ((st = cub_init(&cub, d, 1)) != DPM_SUCCESS) return st;
  double *logc = dpm_malloc(K * sizeof(double)), *lk = dpm_malloc(K * sizeof(double));
  if (!logc || !lk) {
    st = GSL_ENOMEM;
    goto done;
  }
  if ((st = entropy_prepare(mix, logc, "entropy quadrature")) != DPM_SUCCESS) goto done;
  entropy_ctx e;
  memset(&e, 0, sizeof e);
  e.mix = mix;
  e.logc = logc;
  e.lk = lk;
  double total = 0.0, terr = 0.0;
  for (size_t k = 0; k < K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    e.k = k;
    for (size_t j = 0; j < d; j++)
      e.scale[j] = sqrt(mix->lambda[k * d + j]);
    /* the control variate's integral over the box: (-log w_k + logc_k/2) A0^d + (d/2) A2 A0^(d-1) */
    double A0, A2;
    cub_moments(&A0, &A2);
    const double cint =
        (-mix->logw[k] + 0.5 * logc[k]) * (d == 2 ? A0 * A0 : A0) + 0.5 * (double)d * A2 * (d == 2 ? A0 : 1.0);
    double v, ve;
    if ((st = cub_integrate(&cub, entropy_fn, &e, &cint, rel_tol, 1e-13, NULL, &v, &ve)) != DPM_SUCCESS) goto done;
    total += mix->w[k] * v;
    terr += mix->w[k] * ve;
  }
  *H = total;
  if (err) *err = terr;
done:
  free(logc);
  free(lk);
  cub_free(&cub);
  return st;
}

int dpm_analytic_entropy_mc(const dpm_mixture *mix, size_t M, uint64_t seed, double *H, double *se)
{
  if (!mix || !H) DPM_ERROR(GSL_EINVAL, "entropy MC: NULL mixture or output");
  if (M < 2) DPM_ERROR(GSL_EINVAL, "entropy MC: need M >= 2 samples (got %zu)", M);
  const size_t d = mix->d, K = mix->K, nb = (M + ENTROPY_MC_BLOCK - 1) / ENTROPY_MC_BLOCK;
  double *logc = dpm_malloc(K * sizeof(double));
  welford *blk = dpm_calloc(nb, sizeof *blk);
  int st = DPM_SUCCESS;
  if (!logc || !blk) {
    st = GSL_ENOMEM;
    goto done;
  }
  if ((st = entropy_prepare(mix, logc, "entropy MC")) != DPM_SUCCESS) goto done;
  int oom = 0;
#pragma omp parallel
  {
    double *x = malloc(ENTROPY_MC_BLOCK * d * sizeof(double)), *lk = malloc(K * sizeof(double)),
           *z = malloc(d * sizeof(double));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!x || !lk || !z || !r) {
#pragma omp atomic write
      oom = 1;
    } else {
#pragma omp for schedule(dynamic, 1)
      for (size_t b = 0; b < nb; b++) {
        const size_t n = b + 1 < nb ? (size_t)ENTROPY_MC_BLOCK : M - b * ENTROPY_MC_BLOCK;
        dpm_rng_stream_set(r, seed, (uint64_t)b);
        dpm_mixture_sample(mix, r, n, x, NULL);
        welford a = {0.0, 0.0, 0.0};
        for (size_t i = 0; i < n; i++)
          wf_add(&a, -mix_logq0(mix, logc, x + i * d, lk, z));
        blk[b] = a;
      }
    }
    free(x);
    free(lk);
    free(z);
    if (r) gsl_rng_free(r);
  }
  if (oom) {
    st = dpm_errorf(__FILE__, __LINE__, GSL_ENOMEM, "entropy MC: out of memory for per-thread scratch");
    goto done;
  }
  welford all = {0.0, 0.0, 0.0};
  for (size_t b = 0; b < nb; b++)
    wf_merge(&all, &blk[b]);
  *H = all.mean;
  if (se) *se = wf_se(&all);
done:
  free(logc);
  free(blk);
  return st;
}

int dpm_analytic_entropy(const dpm_mixture *mix, double *H, double *err)
{
  if (!mix) DPM_ERROR(GSL_EINVAL, "entropy: mixture is NULL");
  if (mix->d <= 2) return dpm_analytic_entropy_quad(mix, 1e-10, H, err);
  return dpm_analytic_entropy_mc(mix, 200000, 0, H, err);
}

/* ---- diagonal covariance
 * ------------------------------------------------------------------------------------------ */

int dpm_analytic_diag_sigma2(dpm_oracle *o, const dpm_schedule *sch, size_t s, size_t t, double eta, size_t n,
                             const double *x, double *sigma2)
{
  if (!o || !sigma2) DPM_ERROR(GSL_EINVAL, "diagonal variance: NULL oracle or output");
  dpm_analytic_step a;
  int st = dpm_analytic_step_ts(sch, s, t, eta, &a);
  if (st != DPM_SUCCESS) return st;
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.diagcov = sigma2;
  if ((st = dpm_oracle_eval(o, sqrt(a.abar_t), sqrt(a.bbar_t), n, x, &res)) != DPM_SUCCESS) return st;
  const size_t nd = n * dpm_oracle_mixture(o)->d;
  const double c2 = a.c0 * a.c0;
  for (size_t i = 0; i < nd; i++)
    sigma2[i] = a.lambda2 + c2 * sigma2[i];
  return DPM_SUCCESS;
}
