/* gamma_mc.c — Gamma_n = E|E[eps|x_n]|^2/d and its complement 1 - Gamma_n = E tr Cov[eps|x_n]/d by Monte Carlo
 * with standard errors (Bao et al. ICLR 2022, eq. 8; docs/MATH.md §3), for the exact oracle and for any denoiser.
 *
 * Samples x ~ q_t = sum_k w_k N(m mu_k, m^2 Sigma_k + s^2 I). For a mixture without full components each
 * coordinate is drawn in one step, x_i = m mu_{k,i} + sqrt(m^2 lambda_{k,i} + s^2) z_i (the law of m x_0 + s eps
 * given the component, with half the Gaussian draws of drawing x_0 and eps), the z_i of a block by Box-Muller
 * (Box and Muller 1958: z = sqrt(-2 log u_1) (cos, sin)(2 pi u_2), exactly standard normal pairs for exact
 * uniforms; with the generator's 2^-32 resolution |z| <= 6.66, a tail of probability 3e-11 left out) with the
 * log, cos and sin in SIMD lanes (libmvec), one uniform per normal instead of the ziggurat's two calls. Where x_0
 * is needed too (the denoiser route's x_0 error) it is drawn given x and k from its exact conditional
 * N(mu_k + (m lambda/c)(x - m mu_k), lambda s^2/c), c = m^2 lambda + s^2, on a second stream, so x is the same
 * draw on both routes. Mixtures with full components draw x_0 and eps (dpm_mixture_sample_t). */
#include <stdio.h>
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
#include "dpm_internal.h"

/* glibc's vector log, cos and sin (libmvec), declared as math-vector.h does under -ffast-math, for the Box-Muller
 * loop (at most 4 ulp each). */
extern double log(double) __attribute__((__simd__("notinbranch")));
extern double cos(double) __attribute__((__simd__("notinbranch")));
extern double sin(double) __attribute__((__simd__("notinbranch")));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GAMMA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GAMMA_CLONES
#endif
/* ---- Gamma by Monte Carlo -------------------------------------------------------------------------------------
 */

enum { GAMMA_MC_BLOCK = 1024 };

struct dpm_analytic_gamma_mc {
  const dpm_mixture *mix;
  size_t M, B, d;
  int nthreads;
  dpm_oracle **oracle;                /* nthreads */
  gsl_rng **rng;                      /* nthreads */
  dpm_mixture_sample_workspace **smp; /* nthreads */
  gsl_rng *rng_x0;                    /* the denoiser route's x_0 | x stream */
  int diag;                           /* no full component: one draw per coordinate */
  double *cum;                        /* K: cumulative weights */
  double *sd;                         /* nthreads x 3 x K x d: sqrt(c), m lambda / c, sqrt(lambda s^2 / c) */
  double *u, *z;                      /* nthreads x (B d + 2) each: uniforms and normals of a block */
  uint32_t *bits;                     /* nthreads x (B d + 2): the generator's words for them */
  size_t *comp;                       /* nthreads x B: the components of a block */
  double *x, *x0, *eps;               /* nthreads x B x d each */
  double *tr;                         /* nthreads x B: tr Cov[x_0|x] for the complement */
  double *x0hat;                      /* B x d (denoiser route, serial) */
};

void dpm_analytic_gamma_mc_free(dpm_analytic_gamma_mc *w)
{
  if (!w) return;
  for (int t = 0; t < w->nthreads; t++) {
    if (w->oracle) dpm_oracle_free(w->oracle[t]);
    if (w->rng && w->rng[t]) gsl_rng_free(w->rng[t]);
    if (w->smp) dpm_mixture_sample_free(w->smp[t]);
  }
  free(w->oracle);
  if (w->rng_x0) gsl_rng_free(w->rng_x0);
  free(w->cum);
  free(w->sd);
  free(w->u);
  free(w->bits);
  free(w->comp);
  free(w->z);
  free(w->rng);
  free(w->smp);
  free(w->x);
  free(w->x0);
  free(w->eps);
  free(w->tr);
  free(w->x0hat);
  free(w);
}

dpm_analytic_gamma_mc *dpm_analytic_gamma_mc_alloc(const dpm_mixture *mix, size_t M)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "gamma MC: mixture is NULL");
  if (M < 2)
    DPM_ERROR_NULL(GSL_EINVAL,
                   "gamma MC: need M >= 2 samples per time for a standard error "
                   "(got %zu)",
                   M);
  dpm_analytic_gamma_mc *w = dpm_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->mix = mix;
  w->M = M;
  w->d = mix->d;
  w->B = M < GAMMA_MC_BLOCK ? M : GAMMA_MC_BLOCK;
  w->nthreads = dpm_omp_max_threads();
  const size_t T = (size_t)w->nthreads, Bd = w->B * w->d;
  w->oracle = dpm_calloc(T, sizeof *w->oracle);
  w->rng = dpm_calloc(T, sizeof *w->rng);
  w->smp = dpm_calloc(T, sizeof *w->smp);
  w->x = dpm_malloc(T * Bd * sizeof(double));
  w->x0 = dpm_malloc(T * Bd * sizeof(double));
  w->eps = dpm_malloc(T * Bd * sizeof(double));
  w->tr = dpm_malloc(T * w->B * sizeof(double));
  w->x0hat = dpm_malloc(Bd * sizeof(double));
  w->diag = 1;
  for (size_t k = 0; k < mix->K; k++)
    if (mix->kind[k] == DPM_COV_FULL) w->diag = 0;
  w->cum = dpm_malloc(mix->K * sizeof(double));
  w->sd = dpm_malloc(T * 3 * mix->K * w->d * sizeof(double));
  w->u = dpm_malloc(T * (Bd + 2) * sizeof(double));
  w->bits = dpm_malloc(T * (Bd + 2) * sizeof(uint32_t));
  w->comp = dpm_malloc(T * w->B * sizeof(size_t));
  w->z = dpm_malloc(T * (Bd + 2) * sizeof(double));
  w->rng_x0 = dpm_rng_stream_alloc(0, 0);
  if (!w->rng_x0) DPM_RAISE(GSL_ENOMEM, "gamma MC: cannot allocate a generator");
  if (!w->oracle || !w->rng || !w->smp || !w->x || !w->x0 || !w->eps || !w->tr || !w->x0hat || !w->cum || !w->sd ||
      !w->u || !w->z || !w->bits || !w->comp || !w->rng_x0) {
    dpm_analytic_gamma_mc_free(w);
    return NULL;
  }
  double c = 0.0;
  for (size_t k = 0; k < mix->K; k++)
    w->cum[k] = (c += mix->w[k]);
  for (size_t t = 0; t < T; t++) {
    w->oracle[t] = dpm_oracle_alloc(mix);
    w->rng[t] = dpm_rng_stream_alloc(0, 0);
    w->smp[t] = dpm_mixture_sample_alloc(mix);
    if (!w->oracle[t] || !w->rng[t] || !w->smp[t]) {
      if (!w->rng[t]) DPM_RAISE(GSL_ENOMEM, "gamma MC: cannot allocate a generator");
      dpm_analytic_gamma_mc_free(w);
      return NULL;
    }
  }
  return w;
}

/* The stream of the denoiser route's x_0 | x draws for time index idx: an index no time uses (bit 63 set). */
#define GAMMA_X0_STREAM(idx) ((idx) | (UINT64_C(1) << 63))

/* The first component whose cumulative weight passes u (as dpm_mixture_sample: the last one of positive weight
 * when rounding leaves u above the total). */
static size_t gamma_mc_pick(const dpm_mixture *mix, const double *cum, double u)
{
  if (mix->K <= 16) { /* a few components: count the cumulative weights at or below u, without branches */
    size_t n = 0;
    for (size_t k = 0; k < mix->K; k++)
      n += cum[k] <= u;
    if (n < mix->K) return n;
  }
  size_t lo = 0, hi = mix->K;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (u < cum[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  if (lo < mix->K) return lo;
  size_t k = mix->K - 1;
  while (k > 0 && !(mix->w[k] > 0))
    k--;
  return k;
}

/* GSL's mt19937 state (as lib/core/rng.c reads it): 624 words of 32 bits in unsigned longs, the next index. */
typedef struct {
  unsigned long mt[624];
  int mti;
} gamma_mt_state;

/* n words of r's stream into out: for mt19937 the generator itself (Matsumoto and Nishimura 1998, the
 * recurrence and tempering of GSL's rng/mt.c, so the words are gsl_rng_get's, in order) run in bulk on GSL's
 * state, instead of one call through a function pointer per word; other generators word by word. */
GAMMA_CLONES static void gamma_mc_words(gsl_rng *r, size_t n, uint32_t *restrict out)
{
  if (!(r->type == gsl_rng_mt19937 && gsl_rng_size(r) == sizeof(gamma_mt_state))) {
    for (size_t i = 0; i < n; i++)
      out[i] = (uint32_t)gsl_rng_get(r);
    return;
  }
  gamma_mt_state *st = gsl_rng_state(r);
  unsigned long *mt = st->mt;
  const unsigned long up = 0x80000000UL, lo = 0x7fffffffUL, mag = 0x9908b0dfUL;
  for (size_t i = 0; i < n;) {
    if (st->mti >= 624) { /* the next 624 words */
      size_t k = 0;
      for (; k < 624 - 397; k++) {
        const unsigned long y = (mt[k] & up) | (mt[k + 1] & lo);
        mt[k] = mt[k + 397] ^ (y >> 1) ^ ((y & 1UL) ? mag : 0UL);
      }
      for (; k < 623; k++) {
        const unsigned long y = (mt[k] & up) | (mt[k + 1] & lo);
        mt[k] = mt[k + 397 - 624] ^ (y >> 1) ^ ((y & 1UL) ? mag : 0UL);
      }
      const unsigned long y = (mt[623] & up) | (mt[0] & lo);
      mt[623] = mt[396] ^ (y >> 1) ^ ((y & 1UL) ? mag : 0UL);
      st->mti = 0;
    }
    const size_t at = (size_t)st->mti, take = n - i < 624 - at ? n - i : 624 - at;
#pragma omp simd
    for (size_t j = 0; j < take; j++) {
      unsigned long k = mt[at + j];
      k ^= k >> 11;
      k ^= (k << 7) & 0x9d2c5680UL;
      k ^= (k << 15) & 0xefc60000UL;
      k ^= k >> 18;
      out[i + j] = (uint32_t)k;
    }
    st->mti += (int)take;
    i += take;
  }
}

/* n standard normals z[0..n) from r by Box-Muller on 2 ceil(n/2) uniforms (w + 1/2) 2^-32 in (0, 1), w the
 * generator's words (u, bits: scratch of as many). */
GAMMA_CLONES static void gamma_mc_normals(gsl_rng *r, size_t n, double *restrict z, double *restrict u,
                                          uint32_t *restrict bits)
{
  const size_t h = (n + 1) / 2;
  gamma_mc_words(r, 2 * h, bits);
#pragma omp simd
  for (size_t j = 0; j < 2 * h; j++)
    u[j] = ((double)bits[j] + 0.5) * 0x1p-32;
  /* (rad cos th, rad sin(th - pi)) = (rad cos th, -rad sin th): a reflection of the Box-Muller pair, the same
   * law; the two arguments differ so the compiler keeps two vectorisable calls instead of one scalar sincos */
  const double two_pi = 6.283185307179586477, pi = 3.141592653589793238;
#pragma omp simd
  for (size_t p = 0; p < h; p++) {
    const double th = two_pi * u[h + p];
    u[p] = -2.0 * log(u[p]);
    z[p] = cos(th);
    z[h + p] = sin(th - pi);
  }
  for (size_t p = 0; p < h; p++) { /* apart: sqrt's errno branch would keep the loop above scalar */
    const double rad = sqrt(u[p]);
    z[p] *= rad;
    z[h + p] *= rad;
  }
}

/* b draws x ~ q_t at (m, s) from r; with x0 != NULL also x_0 (from r0 on the diagonal route). Thread tid's
 * per-time table sd is filled here when set != 0 (the first block of a time). */
static int gamma_mc_draw(dpm_analytic_gamma_mc *w, int tid, gsl_rng *r, gsl_rng *r0, double m, double s, int set,
                         size_t b, double *x, double *x0)
{
  const dpm_mixture *mix = w->mix;
  if (!w->diag) return dpm_mixture_sample_t(mix, w->smp[tid], r, m, s, b, x, x0, NULL);
  const size_t d = w->d, Kd = mix->K * d;
  double *sd = w->sd + (size_t)tid * 3 * Kd, *gain = sd + Kd, *csd = gain + Kd;
  if (set)
    for (size_t j = 0; j < Kd; j++) {
      const double lam = mix->lambda[j], c = m * m * lam + s * s;
      sd[j] = sqrt(c);
      gain[j] = m * lam / c;
      csd[j] = sqrt(lam * (s * s / c));
    }
  /* the block's component uniforms, then its b d normals, from r */
  double *u = w->u + (size_t)tid * (w->B * d + 2), *z = w->z + (size_t)tid * (w->B * d + 2);
  size_t *comp = w->comp + (size_t)tid * w->B;
  uint32_t *bits = w->bits + (size_t)tid * (w->B * d + 2);
  gamma_mc_words(r, b, bits);
  for (size_t a = 0; a < b; a++)
    comp[a] = gamma_mc_pick(mix, w->cum, (double)bits[a] * 0x1p-32);
  gamma_mc_normals(r, b * d, z, u, bits);
  for (size_t a = 0; a < b; a++) {
    const size_t k = comp[a];
    const double *mu = mix->mu + k * d, *sk = sd + k * d, *za = z + a * d;
    double *xa = x + a * d;
    for (size_t i = 0; i < d; i++)
      xa[i] = m * mu[i] + sk[i] * za[i];
  }
  if (!x0) return DPM_SUCCESS;
  gamma_mc_normals(r0, b * d, z, u, bits);
  for (size_t a = 0; a < b; a++) {
    const size_t k = comp[a];
    const double *mu = mix->mu + k * d, *gk = gain + k * d, *ck = csd + k * d, *za = z + a * d, *xa = x + a * d;
    for (size_t i = 0; i < d; i++)
      x0[a * d + i] = mu[i] + gk[i] * (xa[i] - m * mu[i]) + ck[i] * za[i];
  }
  return DPM_SUCCESS;
}

/* One time (m, s) with stream (seed, idx) on thread tid's resources: Gamma (when g != NULL) and the complement
 * (when cg != NULL) from the same samples, with their standard errors. */
static int gamma_mc_one(dpm_analytic_gamma_mc *w, int tid, double m, double s, uint64_t seed, uint64_t idx,
                        double *g, double *g_se, double *cg, double *cg_se)
{
  const size_t d = w->d, Bd = w->B * d;
  gsl_rng *r = w->rng[tid];
  double *x = w->x + (size_t)tid * Bd, *eps = w->eps + (size_t)tid * Bd, *tr = w->tr + (size_t)tid * w->B;
  const double rr = m / s, f = rr * rr / (double)d; /* tr Cov[eps|x]/d = (m/s)^2 tr Cov[x_0|x]/d */
  dpm_rng_stream_set(r, seed, idx);
  dpm_welford a = {0.0, 0.0, 0.0}, c = {0.0, 0.0, 0.0};
  for (size_t done = 0; done < w->M;) {
    const size_t b = w->M - done < w->B ? w->M - done : w->B;
    int st = gamma_mc_draw(w, tid, r, NULL, m, s, done == 0, b, x, NULL);
    if (st != DPM_SUCCESS) return st;
    dpm_oracle_result res;
    memset(&res, 0, sizeof res);
    res.eps = g ? eps : NULL;
    res.trcov = cg ? tr : NULL;
    if ((st = dpm_oracle_eval(w->oracle[tid], m, s, b, x, &res)) != DPM_SUCCESS) return st;
    for (size_t i = 0; i < b; i++) {
      if (g) dpm_welford_add(&a, dpm_norm2(eps + i * d, d) / (double)d);
      if (cg) dpm_welford_add(&c, f * tr[i]);
    }
    done += b;
  }
  if (g) *g = a.mean;
  if (g_se) *g_se = dpm_welford_se(&a);
  if (cg) *cg = c.mean;
  if (cg_se) *cg_se = dpm_welford_se(&c);
  return DPM_SUCCESS;
}

/* Times lo..hi-1, (m, s) from the schedule (sch != NULL) or from the arrays; stream index = the time index. The
 * reason of a failure is recorded in the failing thread, so it is copied out and passed up here with the time in
 * front (never raised again). */
static int gamma_mc_run(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, const double *m, const double *s,
                        size_t lo, size_t hi, uint64_t seed, const dpm_analytic_gamma_result *res)
{
  for (size_t i = lo; i < hi; i++) {
    const double mi = sch ? sqrt(sch->alpha_bar[i]) : m[i], si = sch ? sqrt(sch->beta_bar[i]) : s[i];
    if (!dpm_ms_ok(mi, si))
      DPM_ERROR(GSL_EDOM, "gamma MC: time %zu has (m, s) = (%g, %g); need m > 0, s > 0", i, mi, si);
  }
  int fail = DPM_SUCCESS;
  size_t fail_at = 0;
  char reason[512] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(w->nthreads)
  for (size_t i = lo; i < hi; i++) {
    const double mi = sch ? sqrt(sch->alpha_bar[i]) : m[i], si = sch ? sqrt(sch->beta_bar[i]) : s[i];
    double g = NAN, ge = NAN, c = NAN, ce = NAN;
    const int st = gamma_mc_one(w, dpm_omp_thread_num(), mi, si, seed, (uint64_t)i, res->gamma ? &g : NULL, &ge,
                                res->cgamma ? &c : NULL, &ce);
    if (res->gamma) res->gamma[i] = g;
    if (res->gamma_err) res->gamma_err[i] = ge;
    if (res->cgamma) res->cgamma[i] = c;
    if (res->cgamma_err) res->cgamma_err[i] = ce;
    if (st != DPM_SUCCESS) {
#pragma omp critical(dpm_analytic_fail)
      if (fail == DPM_SUCCESS || i < fail_at) {
        fail = st;
        fail_at = i;
        snprintf(reason, sizeof reason, "%s", dpm_error_last());
      }
    }
  }
  if (fail != DPM_SUCCESS) {
    dpm_error_clear();
    dpm_error_context("%s", reason);
    dpm_error_context("gamma MC: time %zu", fail_at);
  }
  return fail;
}

int dpm_analytic_gamma_mc_fill(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, uint64_t seed,
                               const dpm_analytic_gamma_result *res)
{
  if (!w || !sch || !res) DPM_ERROR(GSL_EINVAL, "gamma MC: NULL workspace, schedule or result");
  double *cols[4] = {res->gamma, res->gamma_err, res->cgamma, res->cgamma_err};
  for (size_t c = 0; c < 4; c++)
    if (cols[c]) cols[c][0] = NAN;
  return gamma_mc_run(w, sch, NULL, NULL, 1, sch->N + 1, seed, res);
}

int dpm_analytic_gamma_mc_schedule(dpm_analytic_gamma_mc *w, const dpm_schedule *sch, uint64_t seed, double *gamma,
                                   double *se)
{
  if (!gamma) DPM_ERROR(GSL_EINVAL, "gamma MC: NULL output");
  const dpm_analytic_gamma_result res = {gamma, se, NULL, NULL};
  return dpm_analytic_gamma_mc_fill(w, sch, seed, &res);
}

int dpm_analytic_gamma_mc_ms(dpm_analytic_gamma_mc *w, size_t count, const double *m, const double *s,
                             uint64_t seed, double *gamma, double *se)
{
  if (!w || !m || !s || !gamma) DPM_ERROR(GSL_EINVAL, "gamma MC: NULL workspace, m, s or output");
  const dpm_analytic_gamma_result res = {gamma, se, NULL, NULL};
  return gamma_mc_run(w, NULL, m, s, 0, count, seed, &res);
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
    if (!dpm_ms_ok(m, s)) DPM_ERROR(GSL_EDOM, "gamma MC (denoiser): step %zu has (m, s) = (%g, %g)", n, m, s);
    dpm_rng_stream_set(r, seed, (uint64_t)n);
    dpm_rng_stream_set(w->rng_x0, seed, GAMMA_X0_STREAM((uint64_t)n));
    dpm_welford a = {0.0, 0.0, 0.0}, b0 = {0.0, 0.0, 0.0};
    for (size_t done = 0; done < w->M;) {
      const size_t b = w->M - done < w->B ? w->M - done : w->B;
      int st = gamma_mc_draw(w, 0, r, w->rng_x0, m, s, done == 0, b, w->x, w->x0);
      if (st == DPM_SUCCESS) st = dpm_denoiser_eval(dn, m, s, b, w->x, w->eps, w->x0hat, NULL);
      if (st != DPM_SUCCESS) {
        dpm_error_context("gamma MC (denoiser %s): step %zu", dn->type->name, n);
        return st;
      }
      for (size_t i = 0; i < b; i++) {
        dpm_welford_add(&a, dpm_norm2(w->eps + i * d, d) / (double)d);
        double e2 = 0.0;
        for (size_t j = 0; j < d; j++) {
          const double dl = w->x0[i * d + j] - w->x0hat[i * d + j];
          e2 += dl * dl;
        }
        dpm_welford_add(&b0, e2 / (double)d);
      }
      done += b;
    }
    gamma[n] = a.mean;
    if (se) se[n] = dpm_welford_se(&a);
    if (x0mse) x0mse[n] = b0.mean;
    if (x0mse_se) x0mse_se[n] = dpm_welford_se(&b0);
  }
  return DPM_SUCCESS;
}
