/* sinkhorn.c — log-domain Sinkhorn between weighted point sets with epsilon-scaling (Cuturi 2013; Schmitzer 2019,
 * Algorithm 2; POT's sinkhorn_log and its stopping rule), the plan, dual potentials, costs with and without the
 * entropy term, and the dynamic Schrödinger bridge as the plan composed with Brownian bridges (docs/MATH.md §5.4).
 */
/* Lets the compiler vectorise the clamp in exp_nonpos (a compare-and-select); nothing here reads FP exception
 * flags. */
#pragma GCC optimize("no-trapping-math")
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>

#include "dpm_bridge.h"
#include "dpm_internal.h"
#include "dpm_rng.h"

/* Points x rows (n x m cost entries) above which the log-sum-exp passes are shared among threads. */
#define SINKHORN_PAR_MIN 16384

/* exp(x) for x <= 0 written so that a `omp simd` loop vectorises it: x clamped at -700 (below, the result is under
 * 1e-304 and only ever added to a sum >= 1; the clamp also keeps every result a normal number: subnormal
 * arithmetic is two orders of magnitude slower), x = k ln 2 + r with |r| <= ln(2)/2 (Cody–Waite split of ln 2),
 * e^r by its Taylor polynomial of degree 13 in Horner form (remainder < 0.35^14/14! < 2e-18, under half an ulp),
 * 2^k built in the exponent bits. Relative error a few ulps. MADD(a, b, c) = a b + c: a multiply and an add, or
 * one fused multiply-add in the AVX2/FMA variant. Then the log-sum-exp of a contiguous row, log sum_j exp(w_j -
 * c_j ir): one pass for the max, one for the exponentials. */
#define DEFINE_LSE_ROW(NAME, ATTR, MADD)                                                                          \
  ATTR static inline double NAME##_exp(double x)                                                                  \
  {                                                                                                               \
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */                   \
    const double log2e = 1.4426950408889634, ln2_hi = 0.6931471803691238, ln2_lo = 1.9082149292705877e-10;        \
    x = x < -700.0 ? -700.0 : x;                                                                                  \
    const double ks = MADD(x, log2e, shifter), k = ks - shifter;                                                  \
    const double r = MADD(-k, ln2_lo, MADD(-k, ln2_hi, x));                                                       \
    double p = 1.0 / 6227020800.0;                                                                                \
    p = MADD(p, r, 1.0 / 479001600.0);                                                                            \
    p = MADD(p, r, 1.0 / 39916800.0);                                                                             \
    p = MADD(p, r, 1.0 / 3628800.0);                                                                              \
    p = MADD(p, r, 1.0 / 362880.0);                                                                               \
    p = MADD(p, r, 1.0 / 40320.0);                                                                                \
    p = MADD(p, r, 1.0 / 5040.0);                                                                                 \
    p = MADD(p, r, 1.0 / 720.0);                                                                                  \
    p = MADD(p, r, 1.0 / 120.0);                                                                                  \
    p = MADD(p, r, 1.0 / 24.0);                                                                                   \
    p = MADD(p, r, 1.0 / 6.0);                                                                                    \
    p = MADD(p, r, 0.5);                                                                                          \
    p = MADD(p, r, 1.0);                                                                                          \
    p = MADD(p, r, 1.0);                                                                                          \
    union {                                                                                                       \
      double f;                                                                                                   \
      int64_t i;                                                                                                  \
    } kb = {ks}, sc;                                                                                              \
    sc.i = (kb.i - 0x4338000000000000LL + 1023) << 52; /* 0x4338... = the bits of the shifter */                  \
    return p * sc.f;                                                                                              \
  }                                                                                                               \
  ATTR static double NAME(size_t m, const double *restrict c, const double *restrict w, double ir)                \
  {                                                                                                               \
    double mx = -HUGE_VAL;                                                                                        \
    _Pragma("omp simd reduction(max : mx)") for (size_t j = 0; j < m; j++)                                        \
    {                                                                                                             \
      const double t = MADD(-c[j], ir, w[j]);                                                                     \
      mx = t > mx ? t : mx;                                                                                       \
    }                                                                                                             \
    if (!(mx > -HUGE_VAL)) return mx;                                                                             \
    double s = 0.0;                                                                                               \
    _Pragma("omp simd reduction(+ : s)") for (size_t j = 0; j < m; j++) s +=                                      \
        NAME##_exp(MADD(-c[j], ir, w[j]) - mx);                                                                   \
    return mx + log(s);                                                                                           \
  }

#define MADD_PLAIN(a, b, c) ((a) * (b) + (c))
DEFINE_LSE_ROW(lse_row_plain, , MADD_PLAIN)
#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_LSE_FMA 1
DEFINE_LSE_ROW(lse_row_fma, __attribute__((target("avx2,fma"))), fma)
#endif

/* The variant for this processor, chosen once: AVX2 with FMA when the CPU has both (4 lanes, fused multiply-add),
 * else the portable one. Either is deterministic, so results are the same bits for any number of threads. */
typedef double lse_row_fn(size_t m, const double *restrict c, const double *restrict w, double ir);
static lse_row_fn *lse_row_pick(void)
{
#ifdef HAVE_LSE_FMA
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return lse_row_fma;
#endif
  return lse_row_plain;
}

/* out_i = lw_i - LSE_j(w_j - c_ij ir) for the rows of c (rows x cols). */
static void lse_update(lse_row_fn *lse_row, size_t rows, size_t cols, const double *c, const double *w,
                       const double *lw, double ir, double *out)
{
#pragma omp parallel for schedule(static) if (rows * cols > SINKHORN_PAR_MIN)
  for (size_t i = 0; i < rows; i++)
    out[i] = lw[i] - lse_row(cols, c + i * cols, w, ir);
}

/* lc_j = LSE_i(u_i - c_ij ir) (no subtraction) for the columns, reading the transposed cost. */
static void lse_cols(lse_row_fn *lse_row, const dpm_bridge_sinkhorn *s, double ir, double *lc)
{
  const size_t n = s->n, m = s->m;
#pragma omp parallel for schedule(static) if (n * m > SINKHORN_PAR_MIN)
  for (size_t j = 0; j < m; j++)
    lc[j] = lse_row(n, s->costT + j * n, s->u, ir);
}

dpm_bridge_sinkhorn_params dpm_bridge_sinkhorn_default(void)
{
  dpm_bridge_sinkhorn_params p = {2.0, 1e-9, 100000, 0};
  return p;
}

void dpm_bridge_sinkhorn_free(dpm_bridge_sinkhorn *s)
{
  if (!s) return;
  free(s->x);
  free(s->cost);
  free(s);
}

static int weights_in(size_t n, const double *a, double *out, const char *which)
{
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double w = a ? a[i] : 1.0;
    if (!(isfinite(w) && w > 0.0))
      DPM_ERROR(GSL_EDOM, "sinkhorn: weight %zu of %s must be finite and > 0", i, which);
    out[i] = w;
    sum += w;
  }
  if (!(isfinite(sum) && sum > 0.0))
    DPM_ERROR(GSL_EDOM, "sinkhorn: the weights of %s do not sum to a number", which);
  for (size_t i = 0; i < n; i++)
    out[i] /= sum;
  return DPM_SUCCESS;
}

dpm_bridge_sinkhorn *dpm_bridge_sinkhorn_alloc(size_t n, size_t m, size_t d, const double *x, const double *y,
                                               const double *a, const double *b)
{
  if (!x || !y || n == 0 || m == 0 || d == 0) DPM_ERROR_NULL(GSL_EINVAL, "sinkhorn: NULL points or an empty set");
  for (size_t i = 0; i < n * d; i++)
    if (!isfinite(x[i])) DPM_ERROR_NULL(GSL_EBADFUNC, "sinkhorn: source point %zu is not finite", i / d);
  for (size_t i = 0; i < m * d; i++)
    if (!isfinite(y[i])) DPM_ERROR_NULL(GSL_EBADFUNC, "sinkhorn: target point %zu is not finite", i / d);
  dpm_bridge_sinkhorn *s = dpm_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->n = n;
  s->m = m;
  s->d = d;
  s->x = dpm_malloc(((n + m) * d + 4 * (n + m) + 2 * (n + m)) * sizeof(double));
  s->cost = s->x ? dpm_malloc(2 * n * m * sizeof(double)) : NULL;
  if (!s->cost) {
    dpm_bridge_sinkhorn_free(s);
    return NULL;
  }
  s->y = s->x + n * d;
  s->a = s->y + m * d;
  s->b = s->a + n;
  s->u = s->b + m;
  s->v = s->u + n;
  s->f = s->v + m;
  s->g = s->f + n;
  s->work = s->g + m; /* 2 (n + m): log a, log b, row and column scratch */
  s->costT = s->cost + n * m;
  memcpy(s->x, x, n * d * sizeof *x);
  memcpy(s->y, y, m * d * sizeof *y);
  if (weights_in(n, a, s->a, "the source") || weights_in(m, b, s->b, "the target")) {
    dpm_bridge_sinkhorn_free(s);
    return NULL;
  }
#pragma omp parallel for schedule(static) if (n * m * d > SINKHORN_PAR_MIN)
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      double c = 0.0;
      for (size_t l = 0; l < d; l++) {
        const double df = x[i * d + l] - y[j * d + l];
        c += df * df;
      }
      s->cost[i * m + j] = c;
      s->costT[j * n + i] = c;
    }
  s->marginal_err = s->transport = s->entropic = NAN;
  return s;
}

/* One stage at regularisation reg from the current (u, v); returns 1 converged, 0 not, -1 non-finite. */
static int stage(dpm_bridge_sinkhorn *s, double reg, double tol, size_t max_iter, size_t *iters, double *err)
{
  const size_t n = s->n, m = s->m;
  const double ir = 1.0 / reg;
  double *la = s->work, *lb = la + n, *lc = lb + m;
  lse_row_fn *lse_row = lse_row_pick();
  lse_cols(lse_row, s, ir, lc);
  for (size_t it = 0; it < max_iter; it++) {
    for (size_t j = 0; j < m; j++)
      s->v[j] = lb[j] - lc[j];
    lse_update(lse_row, n, m, s->cost, s->v, la, ir, s->u);
    lse_cols(lse_row, s, ir, lc); /* the next v-update's sums; with v they give the column marginal gamma^T 1 */
    ++*iters;
    if (it % 10 == 0) {
      double e = 0.0;
      for (size_t j = 0; j < m; j++) {
        const double r = exp(s->v[j] + lc[j]) - s->b[j];
        e += r * r;
      }
      *err = sqrt(e);
      if (!isfinite(*err)) return -1;
      if (*err < tol) return 1;
    }
  }
  return 0;
}

int dpm_bridge_sinkhorn_solve(dpm_bridge_sinkhorn *s, const dpm_bridge_sinkhorn_params *p)
{
  if (!s || !p) DPM_ERROR(GSL_EINVAL, "sinkhorn: NULL problem or parameters");
  if (!(isfinite(p->reg) && p->reg > 0.0))
    DPM_ERROR(GSL_EDOM, "sinkhorn: reg must be finite and > 0 (got %g)", p->reg);
  if (!(isfinite(p->tol) && p->tol > 0.0))
    DPM_ERROR(GSL_EDOM, "sinkhorn: tol must be finite and > 0 (got %g)", p->tol);
  if (p->max_iter == 0) DPM_ERROR(GSL_EDOM, "sinkhorn: max_iter must be >= 1");
  const size_t n = s->n, m = s->m;
  double *la = s->work, *lb = la + n;
  for (size_t i = 0; i < n; i++)
    la[i] = log(s->a[i]);
  for (size_t j = 0; j < m; j++)
    lb[j] = log(s->b[j]);
  memset(s->u, 0, n * sizeof *s->u);
  memset(s->v, 0, m * sizeof *s->v);
  s->iters = 0;
  double err = HUGE_VAL;
  int res;
  if (p->eps_scaling > 0) {
    double cmax = 0.0;
    for (size_t k = 0; k < n * m; k++)
      cmax = fmax(cmax, s->cost[k]);
    const double S = (double)p->eps_scaling, r = cmax > p->reg ? pow(cmax / p->reg, 1.0 / S) : 1.0;
    double prev = p->reg * pow(r, S);
    for (size_t st = 0; st < p->eps_scaling && r > 1.0; st++) {
      const double reg_s = p->reg * pow(r, S - (double)st);
      for (size_t i = 0; i < n; i++) /* warm start in the dual potentials f = reg u, g = reg v */
        s->u[i] *= prev / reg_s;
      for (size_t j = 0; j < m; j++)
        s->v[j] *= prev / reg_s;
      prev = reg_s;
      if (stage(s, reg_s, fmax(p->tol, 1e-4), p->max_iter, &s->iters, &err) < 0)
        DPM_ERROR(GSL_EBADFUNC, "sinkhorn: non-finite potentials at reg = %g", reg_s);
    }
    for (size_t i = 0; i < n; i++)
      s->u[i] *= prev / p->reg;
    for (size_t j = 0; j < m; j++)
      s->v[j] *= prev / p->reg;
  }
  res = stage(s, p->reg, p->tol, p->max_iter, &s->iters, &err);
  if (res < 0) DPM_ERROR(GSL_EBADFUNC, "sinkhorn: non-finite potentials at reg = %g", p->reg);
  s->reg = p->reg;
  for (size_t i = 0; i < n; i++)
    s->f[i] = p->reg * s->u[i];
  for (size_t j = 0; j < m; j++)
    s->g[j] = p->reg * s->v[j];
  /* costs: per-row partial sums, added in row order (same bits for any thread count) */
  double *rowT = s->work + n + m, *rowK = rowT + n; /* n each: the column scratch is free again */
  const double ir = 1.0 / p->reg;
#pragma omp parallel for schedule(static) if (n * m > SINKHORN_PAR_MIN)
  for (size_t i = 0; i < n; i++) {
    double tr = 0.0, kl = 0.0;
    const double *c = s->cost + i * m;
    for (size_t j = 0; j < m; j++) {
      const double lg = s->u[i] + s->v[j] - c[j] * ir, gm = exp(lg);
      tr += gm * c[j];
      kl += gm * (lg - la[i] - lb[j]) - gm;
    }
    rowT[i] = tr;
    rowK[i] = kl;
  }
  double tr = 0.0, kl = 1.0; /* generalised KL(gamma | a b^T) = sum gamma log(gamma / ab) - sum gamma + 1 */
  for (size_t i = 0; i < n; i++) {
    tr += rowT[i];
    kl += rowK[i];
  }
  s->transport = tr;
  s->entropic = tr + p->reg * kl;
  s->marginal_err = err;
  if (res == 0)
    DPM_ERROR(GSL_EMAXITER, "sinkhorn: |gamma^T 1 - b| = %g above tol %g after %zu iterations", err, p->tol,
              s->iters);
  return DPM_SUCCESS;
}

void dpm_bridge_sinkhorn_plan(const dpm_bridge_sinkhorn *s, double *plan)
{
  const size_t n = s->n, m = s->m;
  const double ir = 1.0 / s->reg;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++)
      plan[i * m + j] = exp(s->u[i] + s->v[j] - s->cost[i * m + j] * ir);
}

/* All moments under gamma: means (d each), covariances of X, Y and the cross-covariance (d x d each). */
static void plan_moments(const dpm_bridge_sinkhorn *s, double *mx, double *my, double *cxx, double *cyy,
                         double *cxy)
{
  const size_t n = s->n, m = s->m, d = s->d;
  const double ir = 1.0 / s->reg;
  memset(mx, 0, d * sizeof *mx);
  memset(my, 0, d * sizeof *my);
  memset(cxx, 0, d * d * sizeof *cxx);
  memset(cyy, 0, d * d * sizeof *cyy);
  memset(cxy, 0, d * d * sizeof *cxy);
  double tot = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      const double gm = exp(s->u[i] + s->v[j] - s->cost[i * m + j] * ir);
      const double *xi = s->x + i * d, *yj = s->y + j * d;
      tot += gm;
      for (size_t k = 0; k < d; k++) {
        mx[k] += gm * xi[k];
        my[k] += gm * yj[k];
        for (size_t l = 0; l < d; l++) {
          cxx[k * d + l] += gm * xi[k] * xi[l];
          cyy[k * d + l] += gm * yj[k] * yj[l];
          cxy[k * d + l] += gm * xi[k] * yj[l];
        }
      }
    }
  for (size_t k = 0; k < d; k++) {
    mx[k] /= tot;
    my[k] /= tot;
  }
  for (size_t k = 0; k < d; k++)
    for (size_t l = 0; l < d; l++) {
      cxx[k * d + l] = cxx[k * d + l] / tot - mx[k] * mx[l];
      cyy[k * d + l] = cyy[k * d + l] / tot - my[k] * my[l];
      cxy[k * d + l] = cxy[k * d + l] / tot - mx[k] * my[l];
    }
}

void dpm_bridge_sinkhorn_moments(const dpm_bridge_sinkhorn *s, double *mx, double *my, double *cxy)
{
  const size_t d = s->d;
  double *w = malloc((2 * d + 3 * d * d) * sizeof *w);
  if (!w) return;
  plan_moments(s, w, w + d, w + 2 * d, w + 2 * d + d * d, w + 2 * d + 2 * d * d);
  if (mx) memcpy(mx, w, d * sizeof *mx);
  if (my) memcpy(my, w + d, d * sizeof *my);
  if (cxy) memcpy(cxy, w + 2 * d + 2 * d * d, d * d * sizeof *cxy);
  free(w);
}

int dpm_bridge_sinkhorn_marginal(const dpm_bridge_sinkhorn *s, double t, double *mean, double *Sigma)
{
  if (!s) DPM_ERROR(GSL_EINVAL, "sinkhorn: NULL problem");
  if (!(t >= 0.0 && t <= 1.0)) DPM_ERROR(GSL_EDOM, "sinkhorn: t must be in [0, 1] (got %g)", t);
  const size_t d = s->d;
  double *w = dpm_malloc((2 * d + 3 * d * d) * sizeof *w);
  if (!w) return GSL_ENOMEM;
  double *mx = w, *my = w + d, *cxx = w + 2 * d, *cyy = cxx + d * d, *cxy = cyy + d * d;
  plan_moments(s, mx, my, cxx, cyy, cxy);
  const double u = 1.0 - t, sig2 = 0.5 * s->reg;
  if (mean)
    for (size_t k = 0; k < d; k++)
      mean[k] = u * mx[k] + t * my[k];
  if (Sigma)
    for (size_t k = 0; k < d; k++)
      for (size_t l = 0; l < d; l++)
        Sigma[k * d + l] = u * u * cxx[k * d + l] + t * t * cyy[k * d + l] +
                           t * u * (cxy[k * d + l] + cxy[l * d + k] + (k == l ? sig2 : 0.0));
  free(w);
  return DPM_SUCCESS;
}

int dpm_bridge_sinkhorn_paths(const dpm_bridge_sinkhorn *s, size_t n_paths, size_t K, uint64_t seed, double *paths,
                              size_t *ends)
{
  if (!s || !paths || n_paths == 0 || K == 0 || !isfinite(s->transport))
    DPM_ERROR(GSL_EINVAL, "sinkhorn paths: NULL argument, no paths, K = 0 or no solve yet");
  const size_t n = s->n, m = s->m, d = s->d;
  const double ir = 1.0 / s->reg, sig2 = 0.5 * s->reg, h = 1.0 / (double)K;
  /* row masses of the plan, cumulated: i ~ rows, then j ~ gamma_i. / row_i */
  double *cum = dpm_malloc(n * sizeof *cum);
  if (!cum) return GSL_ENOMEM;
  double acc = 0.0;
  for (size_t i = 0; i < n; i++) {
    double r = 0.0;
    for (size_t j = 0; j < m; j++)
      r += exp(s->u[i] + s->v[j] - s->cost[i * m + j] * ir);
    acc += r;
    cum[i] = acc;
  }
  int fail = 0;
#pragma omp parallel if (n_paths * (m + K * d) > SINKHORN_PAR_MIN)
  {
    gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
    if (!r) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(static)
    for (size_t p = 0; p < n_paths; p++) {
      if (!r) continue;
      dpm_rng_stream_set(r, seed, p);
      const double ui = gsl_rng_uniform(r) * acc;
      size_t lo = 0, hi = n - 1;
      while (lo < hi) { /* first i with cum[i] > ui */
        const size_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > ui)
          hi = mid;
        else
          lo = mid + 1;
      }
      const size_t i = lo;
      const double row = cum[i] - (i ? cum[i - 1] : 0.0);
      const double uj = gsl_rng_uniform(r) * row;
      double c = 0.0;
      size_t j = m - 1;
      for (size_t jj = 0; jj < m; jj++) {
        c += exp(s->u[i] + s->v[jj] - s->cost[i * m + jj] * ir);
        if (c > uj) {
          j = jj;
          break;
        }
      }
      if (ends) {
        ends[2 * p] = i;
        ends[2 * p + 1] = j;
      }
      const double *xi = s->x + i * d, *yj = s->y + j * d;
      memcpy(paths + p * d, xi, d * sizeof *xi);
      for (size_t k = 0; k < K; k++) { /* exact Brownian-bridge transition from t_k to t_{k+1}, pinned at y_j */
        const double tk = (double)k * h, rem = 1.0 - tk, tn = (double)(k + 1) * h;
        const double frac = h / rem, sd = sqrt(sig2 * h * fmax(1.0 - tn, 0.0) / rem);
        const double *xk = paths + (k * n_paths + p) * d;
        double *xn = paths + ((k + 1) * n_paths + p) * d;
        for (size_t l = 0; l < d; l++)
          xn[l] = k + 1 == K ? yj[l] : xk[l] + frac * (yj[l] - xk[l]) + sd * gsl_ran_gaussian_ziggurat(r, 1.0);
      }
    }
    if (r) gsl_rng_free(r);
  }
  free(cum);
  if (fail) DPM_ERROR(GSL_ENOMEM, "sinkhorn paths: out of memory for the generators");
  return DPM_SUCCESS;
}
