/* oracle.c — the closed-form oracle of docs/MATH.md §2: log q_t, score, Hessian, Laplacian, E[x_0|x], Cov[x_0|x],
 * E[eps|x], responsibilities and class posteriors of q_t = law of m x_0 + s eps for a Gaussian mixture q_0, from
 * eigen-factored covariances Sigma_k = U_k diag(lambda_k) U_k^T, batched over points.
 *
 * Notation (docs/MATH.md §2): c_{k,i} = m^2 lambda_{k,i} + s^2 are the eigenvalues of C_k = m^2 Sigma_k + s^2 I,
 * z_k = U_k^T (x - m mu_k), v_k = z_k / c_k, so that
 *   l_k   = log w_k - 1/2 z_k . v_k - 1/2 sum_i log(2 pi c_{k,i}),   log q_t = logsumexp_k l_k,  r_k = softmax
 * l_k, g_k   = -C_k^{-1}(x - m mu_k) = -U_k v_k,                         score = sum_k r_k g_k = gbar, x0_k  =
 * mu_k + m Sigma_k C_k^{-1}(x - m mu_k) = mu_k + m U_k (lambda_k v_k), S_k   = Sigma_k - m^2 Sigma_k C_k^{-1}
 * Sigma_k = U_k diag(lambda_k s^2 / c_k) U_k^T. Every output is formed directly from these without cancellation:
 * E[eps|x] = -s gbar (never (x - m x0)/s), second moments as sum_k r_k (within-component part + outer product of
 * the deviation from the mean) in two passes. The per-(m, s) set-up (c, 1/c, log det, lambda s^2/c) costs O(K d)
 * and is cached; dense d x d matrices C_k^{-1} and S_k of full components are built lazily, once per (m, s), only
 * when the Hessian or the full covariance is asked for. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_cblas.h>

#include "dpm_common.h"
#include "dpm_oracle.h"
#include "dpm_internal.h"

/* glibc's vector exp (libmvec), declared as math-vector.h does under -ffast-math (as lib/oracle/distance.c does),
 * so the responsibilities' exp in `#pragma omp simd` loops runs in SIMD lanes: at most 4 ulp (the scalar exp's
 * 1 ulp), 5-7x the throughput. Every point goes through the same loops and the same lanes whatever its batch,
 * its thread or the outputs asked for, so no two routes to one output differ. */
extern double exp(double) __attribute__((__simd__("notinbranch")));

/* eval_block in one copy per instruction set, chosen once at load (on one machine every call runs the same). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define ORACLE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ORACLE_CLONES
#endif

/* 1 inside an active parallel region (a caller's OpenMP task): the oracle then adds no region of its own. */
static int in_parallel(void)
{
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return 0;
#endif
}

/* Full covariances in dimension >= BLAS_MIN_D rotate blocks of BLAS_BLOCK points with one dgemm each; the block
 * is always padded to BLAS_BLOCK rows so every point goes through the same call shape whatever the batch. Below
 * that dimension (and for diagonal kinds) plain loops are faster than a library call; they take blocks of up to
 * DIAG_BLOCK points (one call per block instead of per point: 9% less time for Gamma_n of ring8), fewer when the
 * per-thread scratch K x B x d would pass DIAG_SCRATCH doubles. Every point's arithmetic is the same whatever the
 * block, so the block size never changes a bit of the result. */
enum { BLAS_MIN_D = 16, BLAS_BLOCK = 16, DIAG_BLOCK = 16, DIAG_SCRATCH = 1 << 20 };

/* The lanes route: a mixture without full components whose blocks take the full DIAG_BLOCK points runs every
 * per-component step with the block's points in SIMD lanes (loops of the constant length DIAG_BLOCK, a multiple
 * of every vector width: no scalar remainder, so a point's bits do not depend on its lane), the components one
 * after the other in each lane, so no sum over components is split across lanes. Blocks are padded with zero
 * points. */
#define LANES DIAG_BLOCK

/* Per-thread scratch, all sized at allocation. B is the number of points per block. */
typedef struct {
  double *l;    /* B x K: l_k, then log r_k */
  double *r;    /* B x K: r_k */
  double *V;    /* K x B x d: v_k = z_k / c_k (eigen coordinates); lanes route: K x d x B */
  double *LT;   /* lanes route, K x B: l_k */
  double *RT;   /* lanes route, K x B: r_k */
  double *XT;   /* lanes route, d x B: the points; then 2 d x B: gbar, xbar; then B each: max l, sum, tr */
  double *G;    /* K x B x d: g_k in x coordinates (full components only; NULL when none) */
  double *X0;   /* K x B x d: x0_k (full components only; NULL when none) */
  double *D;    /* B x d: x - m mu_k, later m lambda v */
  double *Z;    /* B x d: U^T (x - m mu_k) */
  double *gbar; /* d */
  double *xbar; /* d */
  double *gy;   /* d: class-conditional mean of g */
  double *dev;  /* d */
  double *buf1; /* d */
  double *buf2; /* d */
  double *M;    /* d x d */
} oracle_ws;

struct dpm_oracle {
  const dpm_mixture *mix;
  size_t d, K, B;
  int any_full, use_blas, lanes;
  /* cache for one (m, s) */
  int have;
  double m, s;
  double *c;         /* K x d: m^2 lambda + s^2 */
  double *invc;      /* K x d: 1 / c */
  double *mlam;      /* K x d: m lambda */
  double *mmu;       /* K x d: m mu */
  double *shrink;    /* K x d: lambda s^2 / c, the eigenvalues of S_k */
  double *logdet;    /* K: sum_i log(2 pi c_i) = log det(2 pi C_k) */
  double *sum_invc;  /* K: tr C_k^{-1} */
  double *trS;       /* K: tr S_k */
  double *blo, *bhi; /* d: the box of the centres m mu_k of components with mass */
  double cmin, cmax; /* extreme c_{k,i} over components with mass */
  double *base;      /* K: log w_k - 1/2 log det(2 pi C_k) */
  /* lazily built per (m, s), full components only */
  int have_diagS, have_dense;
  double *diagS; /* K x d: diag S_k in x coordinates */
  double *Cinv;  /* K x d x d: C_k^{-1} */
  double *S;     /* K x d x d: S_k */
  int nthreads;
  oracle_ws *ws;
};

/* What an evaluation must compute, from which outputs were asked for. */
typedef struct {
  int g;       /* component gradients g_k */
  int x0k;     /* component posterior means x0_k */
  int logq;    /* log q_t and the log responsibilities l_k - log q_t */
  int gsecond; /* Hessian / Laplacian: second moments of g */
  int xsecond; /* posterior covariance: second moments of x0_k */
  int rows;    /* per-point code reading l_k or r_k (lanes route: copied out of the lanes only then) */
} oracle_need;

static void ws_free(oracle_ws *w)
{
  free(w->l);
  free(w->r);
  free(w->V);
  free(w->LT);
  free(w->RT);
  free(w->XT);
  free(w->G);
  free(w->X0);
  free(w->D);
  free(w->Z);
  free(w->gbar);
  free(w->xbar);
  free(w->gy);
  free(w->dev);
  free(w->buf1);
  free(w->buf2);
  free(w->M);
}

static int ws_alloc(oracle_ws *w, size_t K, size_t B, size_t d, int any_full, int lanes)
{
  memset(w, 0, sizeof *w);
  w->l = dpm_malloc(B * K * sizeof(double));
  w->r = dpm_malloc(B * K * sizeof(double));
  w->V = dpm_calloc(K * B * d, sizeof(double));
  w->D = dpm_calloc(B * d, sizeof(double));
  w->Z = dpm_calloc(B * d, sizeof(double));
  w->gbar = dpm_malloc(d * sizeof(double));
  w->xbar = dpm_malloc(d * sizeof(double));
  w->gy = dpm_malloc(d * sizeof(double));
  w->dev = dpm_malloc(d * sizeof(double));
  w->buf1 = dpm_malloc(d * sizeof(double));
  w->buf2 = dpm_malloc(d * sizeof(double));
  w->M = dpm_malloc(d * d * sizeof(double));
  int ok =
      w->l && w->r && w->V && w->D && w->Z && w->gbar && w->xbar && w->gy && w->dev && w->buf1 && w->buf2 && w->M;
  if (lanes) {
    w->LT = dpm_calloc(K * B, sizeof(double));
    w->RT = dpm_calloc(K * B, sizeof(double));
    w->XT = dpm_calloc((3 * d + 4) * B, sizeof(double));
    ok = ok && w->LT && w->RT && w->XT;
  }
  if (any_full) {
    w->G = dpm_calloc(K * B * d, sizeof(double));
    w->X0 = dpm_calloc(K * B * d, sizeof(double));
    ok = ok && w->G && w->X0;
  }
  return ok;
}

dpm_oracle *dpm_oracle_alloc(const dpm_mixture *mix)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "oracle: mixture is NULL");
  if (mix->K == 0 || mix->d == 0)
    DPM_ERROR_NULL(GSL_EBADLEN, "oracle: empty mixture (K = %zu, d = %zu)", mix->K, mix->d);
  size_t K = mix->K, d = mix->d;
  int any_full = 0;
  for (size_t k = 0; k < K; k++)
    if (mix->kind[k] == DPM_COV_FULL) any_full = 1;
  if (any_full && !mix->U) DPM_ERROR_NULL(GSL_EINVAL, "oracle: mixture has full components but no eigenvectors");
  dpm_oracle *o = dpm_calloc(1, sizeof *o);
  if (!o) return NULL;
  o->mix = mix;
  o->K = K;
  o->d = d;
  o->any_full = any_full;
  o->use_blas = any_full && d >= BLAS_MIN_D;
  if (o->use_blas) {
    o->B = BLAS_BLOCK;
  } else {
    const size_t fit = DIAG_SCRATCH / (K * d);
    o->B = fit < 1 ? 1 : fit > DIAG_BLOCK ? DIAG_BLOCK : fit;
  }
  o->lanes = !any_full && o->B == LANES;
#ifdef _OPENMP
  o->nthreads = omp_get_max_threads();
  if (o->nthreads < 1) o->nthreads = 1;
#else
  o->nthreads = 1;
#endif
  o->c = dpm_malloc(K * d * sizeof(double));
  o->invc = dpm_malloc(K * d * sizeof(double));
  o->mlam = dpm_malloc(K * d * sizeof(double));
  o->mmu = dpm_malloc(K * d * sizeof(double));
  o->shrink = dpm_malloc(K * d * sizeof(double));
  o->logdet = dpm_malloc(K * sizeof(double));
  o->sum_invc = dpm_malloc(K * sizeof(double));
  o->trS = dpm_malloc(K * sizeof(double));
  o->blo = dpm_malloc(d * sizeof(double));
  o->bhi = dpm_malloc(d * sizeof(double));
  o->base = dpm_malloc(K * sizeof(double));
  o->ws = dpm_calloc((size_t)o->nthreads, sizeof(oracle_ws));
  int ok = o->c && o->invc && o->mlam && o->mmu && o->shrink && o->logdet && o->sum_invc && o->trS && o->blo &&
           o->bhi && o->base && o->ws;
  if (ok && any_full) {
    o->diagS = dpm_malloc(K * d * sizeof(double));
    o->Cinv = dpm_malloc(K * d * d * sizeof(double));
    o->S = dpm_malloc(K * d * d * sizeof(double));
    ok = o->diagS && o->Cinv && o->S;
  }
  for (int t = 0; ok && t < o->nthreads; t++)
    ok = ws_alloc(&o->ws[t], K, o->B, d, any_full, o->lanes);
  if (!ok) {
    dpm_oracle_free(o);
    return NULL;
  }
  return o;
}

void dpm_oracle_free(dpm_oracle *o)
{
  if (!o) return;
  if (o->ws)
    for (int t = 0; t < o->nthreads; t++)
      ws_free(&o->ws[t]);
  free(o->ws);
  free(o->c);
  free(o->invc);
  free(o->mlam);
  free(o->mmu);
  free(o->shrink);
  free(o->logdet);
  free(o->sum_invc);
  free(o->trS);
  free(o->blo);
  free(o->bhi);
  free(o->base);
  free(o->diagS);
  free(o->Cinv);
  free(o->S);
  free(o);
}

const dpm_mixture *dpm_oracle_mixture(const dpm_oracle *o) { return o ? o->mix : NULL; }

/* ---- per-(m, s) set-up ------------------------------------------------------------------------------------ */

static void setup(dpm_oracle *o, double m, double s)
{
  if (o->have && o->m == m && o->s == s) return;
  const dpm_mixture *mix = o->mix;
  size_t K = o->K, d = o->d;
  double m2 = m * m, s2 = s * s;
  for (size_t k = 0; k < K; k++) {
    double ld = 0.0, si = 0.0, ts = 0.0;
    for (size_t i = 0; i < d; i++) {
      size_t ki = k * d + i;
      double lam = mix->lambda[ki];
      double c = m2 * lam + s2;
      o->c[ki] = c;
      o->invc[ki] = 1.0 / c;
      o->mlam[ki] = m * lam;
      o->mmu[ki] = m * mix->mu[ki];
      o->shrink[ki] = lam * (s2 / c); /* lambda s^2 / (m^2 lambda + s^2) in [0, lambda] */
      ld += DPM_LOG_2PI + log(c);
      si += o->invc[ki];
      ts += o->shrink[ki];
    }
    o->logdet[k] = ld;
    o->base[k] = mix->logw[k] - 0.5 * ld;
    o->sum_invc[k] = si;
    o->trS[k] = ts;
  }
  o->cmin = HUGE_VAL;
  o->cmax = 0.0;
  for (size_t i = 0; i < d; i++) {
    o->blo[i] = HUGE_VAL;
    o->bhi[i] = -HUGE_VAL;
  }
  for (size_t k = 0; k < K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    for (size_t i = 0; i < d; i++) {
      const size_t ki = k * d + i;
      o->blo[i] = fmin(o->blo[i], o->mmu[ki]);
      o->bhi[i] = fmax(o->bhi[i], o->mmu[ki]);
      o->cmin = fmin(o->cmin, o->c[ki]);
      o->cmax = fmax(o->cmax, o->c[ki]);
    }
  }
  o->m = m;
  o->s = s;
  o->have = 1;
  o->have_diagS = 0;
  o->have_dense = 0;
}

/* diag(U diag(e) U^T) for each full component. */
static void setup_diagS(dpm_oracle *o)
{
  if (o->have_diagS) return;
  size_t d = o->d;
  for (size_t k = 0; k < o->K; k++) {
    if (o->mix->kind[k] != DPM_COV_FULL) continue;
    const double *U = o->mix->U + k * d * d, *e = o->shrink + k * d;
    for (size_t i = 0; i < d; i++) {
      double acc = 0.0;
      for (size_t j = 0; j < d; j++)
        acc += U[i * d + j] * U[i * d + j] * e[j];
      o->diagS[k * d + i] = acc;
    }
  }
  o->have_diagS = 1;
}

/* out = U diag(e) U^T (d x d, symmetric by construction). */
static void sandwich(size_t d, const double *U, const double *e, double *out)
{
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++) {
      double acc = 0.0;
      for (size_t l = 0; l < d; l++)
        acc += U[i * d + l] * e[l] * U[j * d + l];
      out[i * d + j] = acc;
      out[j * d + i] = acc;
    }
}

/* Dense C_k^{-1} and S_k of the full components. */
static void setup_dense(dpm_oracle *o)
{
  if (o->have_dense) return;
  size_t d = o->d;
  for (size_t k = 0; k < o->K; k++) {
    if (o->mix->kind[k] != DPM_COV_FULL) continue;
    const double *U = o->mix->U + k * d * d;
    sandwich(d, U, o->invc + k * d, o->Cinv + k * d * d);
    sandwich(d, U, o->shrink + k * d, o->S + k * d * d);
  }
  o->have_dense = 1;
}

/* ---- rotations ---------------------------------------------------------------------------------------------- */

/* out = in U (rows x d): row b of out is U^T (row b of in). */
static void rotate_fwd(const dpm_oracle *o, size_t rows, const double *U, const double *in, double *out)
{
  size_t d = o->d;
  if (o->use_blas) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)d, (int)d, 1.0, in, (int)d, U, (int)d,
                0.0, out, (int)d);
    return;
  }
  for (size_t b = 0; b < rows; b++) {
    const double *a = in + b * d;
    double *z = out + b * d;
    for (size_t j = 0; j < d; j++)
      z[j] = 0.0;
    for (size_t i = 0; i < d; i++) {
      const double ai = a[i], *Ui = U + i * d;
      for (size_t j = 0; j < d; j++)
        z[j] += ai * Ui[j];
    }
  }
}

/* out = alpha in U^T (rows x d): row b of out is alpha U (row b of in). */
static void rotate_back(const dpm_oracle *o, size_t rows, const double *U, double alpha, const double *in,
                        double *out)
{
  size_t d = o->d;
  if (o->use_blas) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)d, (int)d, alpha, in, (int)d, U, (int)d,
                0.0, out, (int)d);
    return;
  }
  for (size_t b = 0; b < rows; b++) {
    const double *a = in + b * d;
    double *y = out + b * d;
    for (size_t i = 0; i < d; i++) {
      const double *Ui = U + i * d;
      double acc = 0.0;
      for (size_t j = 0; j < d; j++)
        acc += Ui[j] * a[j];
      y[i] = alpha * acc;
    }
  }
}

/* ---- per-component quantities at point b of the block --------------------------------------------------------
 */

/* Where coordinate i of v_k at point b of the block is kept: K x B x d, or K x d x B on the lanes route. */
static inline size_t v_at(const dpm_oracle *o, size_t k, size_t b, size_t i)
{
  return o->lanes ? (k * o->d + i) * LANES + b : (k * o->B + b) * o->d + i;
}

/* g_k = -U_k v_k. */
static const double *comp_g(const dpm_oracle *o, const oracle_ws *w, size_t k, size_t b, double *buf)
{
  size_t d = o->d, at = (k * o->B + b) * d;
  if (o->mix->kind[k] == DPM_COV_FULL) return w->G + at;
  for (size_t i = 0; i < d; i++)
    buf[i] = -w->V[v_at(o, k, b, i)];
  return buf;
}

/* x0_k = mu_k + m U_k (lambda_k v_k). */
static const double *comp_x0(const dpm_oracle *o, const oracle_ws *w, size_t k, size_t b, double *buf)
{
  size_t d = o->d, at = (k * o->B + b) * d;
  if (o->mix->kind[k] == DPM_COV_FULL) return w->X0 + at;
  const double *mu = o->mix->mu + k * d, *ml = o->mlam + k * d;
  for (size_t i = 0; i < d; i++)
    buf[i] = mu[i] + ml[i] * w->V[v_at(o, k, b, i)];
  return buf;
}

/* ---- one block of points ---------------------------------------------------------------------------------- */

/* The lanes route's per-component work for one block (points i0..i0+nb-1, padded to LANES with zero points):
 * l_k, the responsibilities (max, exp, sum, scale), then gbar and xbar and, for the posterior covariance, tr Cov;
 * for every point the same operations in the same order over components as the per-point loops, the exp
 * excepted. Leaves l, r in B x K (for the per-point outputs), gbar, xbar, max l, the sum of exp and tr in XT. */
static inline __attribute__((always_inline)) void lanes_block(const dpm_oracle *o, oracle_ws *w, size_t i0,
                                                              size_t nb, const double *x, const oracle_need *need)
{
  const dpm_mixture *mix = o->mix;
  const size_t d = o->d, K = o->K;
  double *restrict LT = w->LT, *restrict RT = w->RT, *restrict V = w->V, *restrict XT = w->XT;
  double *restrict GB = XT + d * LANES, *restrict XB = GB + d * LANES, *restrict MX = XB + d * LANES;
  double *restrict SM = MX + LANES, *restrict TR = SM + LANES, *restrict Q = TR + LANES;
  for (size_t i = 0; i < d; i++)
    for (size_t b = 0; b < LANES; b++)
      XT[i * LANES + b] = b < nb ? x[(i0 + b) * d + i] : 0.0;
  /* l_k = log w_k - 1/2 log det - 1/2 z.v, z = x - m mu_k, v = z / c_k */
  for (size_t k = 0; k < K; k++) {
    const double *restrict mmu = o->mmu + k * d, *restrict ic = o->invc + k * d;
#pragma omp simd
    for (size_t b = 0; b < LANES; b++)
      Q[b] = 0.0;
    for (size_t i = 0; i < d; i++) {
      const double mm = mmu[i], c = ic[i];
      const double *restrict xi = XT + i * LANES;
      double *restrict vk = V + (k * d + i) * LANES;
#pragma omp simd
      for (size_t b = 0; b < LANES; b++) {
        const double z = xi[b] - mm, v = z * c;
        vk[b] = v;
        Q[b] += z * v;
      }
    }
    const double base = o->base[k];
#pragma omp simd
    for (size_t b = 0; b < LANES; b++)
      LT[k * LANES + b] = base - 0.5 * Q[b];
  }
  /* r_k = exp(l_k - max l) / sum */
#pragma omp simd
  for (size_t b = 0; b < LANES; b++) {
    MX[b] = -HUGE_VAL;
    SM[b] = 0.0;
  }
  for (size_t k = 0; k < K; k++)
#pragma omp simd
    for (size_t b = 0; b < LANES; b++)
      MX[b] = LT[k * LANES + b] > MX[b] ? LT[k * LANES + b] : MX[b];
  for (size_t k = 0; k < K; k++)
#pragma omp simd
    for (size_t b = 0; b < LANES; b++) {
      const double e = exp(LT[k * LANES + b] - MX[b]);
      RT[k * LANES + b] = e;
      SM[b] += e;
    }
#pragma omp simd
  for (size_t b = 0; b < LANES; b++)
    Q[b] = 1.0 / SM[b];
  for (size_t k = 0; k < K; k++)
#pragma omp simd
    for (size_t b = 0; b < LANES; b++)
      RT[k * LANES + b] *= Q[b];
  for (size_t b = 0; need->rows && b < nb; b++)
    for (size_t k = 0; k < K; k++) {
      w->l[b * K + k] = LT[k * LANES + b];
      w->r[b * K + k] = RT[k * LANES + b];
    }
  if (!need->g && !need->x0k) return;
  /* gbar = sum_k r_k g_k, g_k = -v_k; xbar = sum_k r_k x0_k, x0_k = mu_k + m lambda_k v_k */
  for (size_t j = 0; j < 2 * d * LANES; j++)
    GB[j] = 0.0;
  for (size_t k = 0; k < K; k++) {
    const double *restrict rk = RT + k * LANES;
    for (size_t j = 0; j < d; j++) {
      const double mu = mix->mu[k * d + j], ml = o->mlam[k * d + j];
      const double *restrict vk = V + (k * d + j) * LANES;
      double *restrict gj = GB + j * LANES, *restrict xj = XB + j * LANES;
#pragma omp simd
      for (size_t b = 0; b < LANES; b++) {
        gj[b] -= rk[b] * vk[b];
        xj[b] += rk[b] * (mu + ml * vk[b]);
      }
    }
  }
  if (!need->xsecond) return;
    /* tr Cov[x0|x] = sum_k r_k (tr S_k + |x0_k - xbar|^2) */
#pragma omp simd
  for (size_t b = 0; b < LANES; b++)
    TR[b] = 0.0;
  for (size_t k = 0; k < K; k++) {
    const double *restrict rk = RT + k * LANES;
    const double ts = o->trS[k];
#pragma omp simd
    for (size_t b = 0; b < LANES; b++)
      Q[b] = ts;
    for (size_t j = 0; j < d; j++) {
      const double mu = mix->mu[k * d + j], ml = o->mlam[k * d + j];
      const double *restrict vk = V + (k * d + j) * LANES, *restrict xj = XB + j * LANES;
#pragma omp simd
      for (size_t b = 0; b < LANES; b++) {
        const double dv = mu + ml * vk[b] - xj[b];
        Q[b] += dv * dv;
      }
    }
#pragma omp simd
    for (size_t b = 0; b < LANES; b++)
      TR[b] += rk[b] * Q[b];
  }
}

ORACLE_CLONES static void eval_block(const dpm_oracle *o, oracle_ws *w, size_t i0, size_t nb, const double *x,
                                     const dpm_oracle_result *res, const oracle_need *need)
{
  const dpm_mixture *mix = o->mix;
  const size_t d = o->d, K = o->K, B = o->B;
  const size_t rows = o->use_blas ? B : nb; /* BLAS blocks are padded with zero rows */
  const double s = o->s;

  /* Pass 1: z_k, v_k and l_k for every component (on the lanes route with the responsibilities and the means). */
  if (o->lanes) lanes_block(o, w, i0, nb, x, need);
  for (size_t k = 0; !o->lanes && k < K; k++) {
    const double *restrict mmu = o->mmu + k * d, *restrict ic = o->invc + k * d;
    double *restrict Vk = w->V + k * B * d;
    const double base = mix->logw[k] - 0.5 * o->logdet[k];
    if (mix->kind[k] != DPM_COV_FULL) { /* eigenvectors = identity: z = x - m mu */
      for (size_t b = 0; b < nb; b++) {
        const double *restrict xb = x + (i0 + b) * d;
        double *restrict vb = Vk + b * d;
        double quad = 0.0;
        for (size_t i = 0; i < d; i++) {
          const double z = xb[i] - mmu[i], v = z * ic[i];
          vb[i] = v;
          quad += z * v;
        }
        w->l[b * K + k] = base - 0.5 * quad;
      }
      continue;
    }
    double *restrict D = w->D;
    for (size_t b = 0; b < nb; b++) {
      const double *restrict xb = x + (i0 + b) * d;
      for (size_t i = 0; i < d; i++)
        D[b * d + i] = xb[i] - mmu[i];
    }
    for (size_t b = nb; b < rows; b++)
      for (size_t i = 0; i < d; i++)
        D[b * d + i] = 0.0;
    rotate_fwd(o, rows, mix->U + k * d * d, D, w->Z);
    const double *restrict Z = w->Z;
    for (size_t b = 0; b < rows; b++) {
      double quad = 0.0;
      for (size_t i = 0; i < d; i++) {
        const double v = Z[b * d + i] * ic[i];
        Vk[b * d + i] = v;
        quad += Z[b * d + i] * v;
      }
      if (b < nb) w->l[b * K + k] = base - 0.5 * quad;
    }
  }

  /* Responsibilities by log-sum-exp: one exp per component, the components in SIMD lanes (done on the lanes
   * route). */
  for (size_t b = 0; b < nb; b++) {
    double *restrict lb = w->l + b * K, *restrict rb = w->r + b * K;
    double mx, sum;
    if (o->lanes) {
      mx = w->XT[3 * d * LANES + b];
      sum = w->XT[(3 * d + 1) * LANES + b];
    } else {
      mx = -HUGE_VAL;
      for (size_t k = 0; k < K; k++)
        if (lb[k] > mx) mx = lb[k];
      sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (size_t k = 0; k < K; k++) {
        const double e = exp(lb[k] - mx);
        rb[k] = e;
        sum += e;
      }
      const double inv = 1.0 / sum;
      for (size_t k = 0; k < K; k++)
        rb[k] *= inv;
    }
    const size_t i = i0 + b;
    if (need->logq) { /* log q and the log responsibilities only when asked for: a log per point */
      const double logq = mx + log(sum);
      for (size_t k = 0; (!o->lanes || need->rows) && k < K; k++)
        lb[k] -= logq;
      if (res->logq) res->logq[i] = logq;
    }
    if (res->resp) memcpy(res->resp + i * K, rb, K * sizeof(double));
    if (res->logresp) memcpy(res->logresp + i * K, lb, K * sizeof(double));
    if (res->class_post && mix->labels) {
      double *cp = res->class_post + i * (size_t)mix->nlabels;
      for (int y = 0; y < mix->nlabels; y++)
        cp[y] = 0.0;
      for (size_t k = 0; k < K; k++)
        cp[mix->labels[k]] += rb[k];
    }
  }
  if (!need->g && !need->x0k) return;

  /* Pass 2: rotate v back to x coordinates for full components (whole block at once). */
  if (o->any_full) {
    for (size_t k = 0; k < K; k++) {
      if (mix->kind[k] != DPM_COV_FULL) continue;
      const double *U = mix->U + k * d * d, *Vk = w->V + k * B * d;
      if (need->g) rotate_back(o, rows, U, -1.0, Vk, w->G + k * B * d);
      if (need->x0k) {
        const double *ml = o->mlam + k * d, *mu = mix->mu + k * d;
        double *X0k = w->X0 + k * B * d;
        for (size_t b = 0; b < rows; b++)
          for (size_t j = 0; j < d; j++)
            w->D[b * d + j] = ml[j] * Vk[b * d + j];
        rotate_back(o, rows, U, 1.0, w->D, X0k);
        for (size_t b = 0; b < nb; b++)
          for (size_t j = 0; j < d; j++)
            X0k[b * d + j] += mu[j];
      }
    }
  }

  /* The lanes route's first moments (and tr Cov) straight out of the lanes; the per-point pass below only for
   * the second moments and the class gradient (it writes the same values again). */
  if (o->lanes) {
    const double *GB = w->XT + d * LANES, *XB = GB + d * LANES, *TR = XB + d * LANES + 2 * LANES;
    for (size_t b = 0; b < nb; b++) {
      const size_t i = i0 + b;
      for (size_t j = 0; j < d; j++) {
        if (res->score) res->score[i * d + j] = GB[j * LANES + b];
        if (res->eps) res->eps[i * d + j] = -s * GB[j * LANES + b];
        if (res->x0) res->x0[i * d + j] = XB[j * LANES + b];
      }
      if (res->trcov) res->trcov[i] = TR[b];
    }
    if (!need->gsecond && !res->diagcov && !res->cov && !res->class_grad) return;
  }

  /* Pass 3, per point: means, then second moments about them. */
  for (size_t b = 0; b < nb; b++) {
    const size_t i = i0 + b;
    const double *rb = w->r + b * K, *lb = w->l + b * K;
    /* coordinate by coordinate, so each sum over components runs in a register */
    double *restrict gbar = w->gbar, *restrict xbar = w->xbar;
    for (size_t j = 0; o->lanes && j < d; j++) {
      gbar[j] = w->XT[(d + j) * LANES + b];
      xbar[j] = w->XT[(2 * d + j) * LANES + b];
    }
    for (size_t j = 0; !o->lanes && j < d; j++) {
      double ga = 0.0, xa = 0.0;
      for (size_t k = 0; k < K; k++) {
        const double r = rb[k];
        if (r == 0.0) continue;
        const size_t at = (k * B + b) * d + j;
        if (mix->kind[k] == DPM_COV_FULL) {
          if (need->g) ga += r * w->G[at];
          if (need->x0k) xa += r * w->X0[at];
        } else { /* g_k = -v_k, x0_k = mu_k + m lambda_k v_k */
          const double v = w->V[at];
          ga -= r * v;
          xa += r * (mix->mu[k * d + j] + o->mlam[k * d + j] * v);
        }
      }
      gbar[j] = ga;
      xbar[j] = xa;
    }
    if (res->score) memcpy(res->score + i * d, gbar, d * sizeof(double));
    if (res->eps)
      for (size_t j = 0; j < d; j++)
        res->eps[i * d + j] = -s * gbar[j];
    if (res->x0) memcpy(res->x0 + i * d, xbar, d * sizeof(double));

    /* Hessian = sum_k r_k (g_k - gbar)(g_k - gbar)^T - sum_k r_k C_k^{-1}; Laplacian its trace. */
    if (need->gsecond) {
      double *H = res->hess ? res->hess + i * d * d : NULL;
      double spread = 0.0, curv = 0.0;
      if (H)
        for (size_t j = 0; j < d * d; j++)
          H[j] = w->M[j] = 0.0;
      for (size_t k = 0; k < K; k++) {
        const double r = rb[k];
        if (r == 0.0) continue;
        const double *g = comp_g(o, w, k, b, w->buf1);
        double n2 = 0.0;
        for (size_t j = 0; j < d; j++) {
          w->dev[j] = g[j] - gbar[j];
          n2 += w->dev[j] * w->dev[j];
        }
        spread += r * n2;
        curv += r * o->sum_invc[k];
        if (!H) continue;
        for (size_t p = 0; p < d; p++)
          for (size_t q = p; q < d; q++)
            H[p * d + q] += r * w->dev[p] * w->dev[q];
        if (mix->kind[k] == DPM_COV_FULL) {
          const double *Ci = o->Cinv + k * d * d;
          for (size_t p = 0; p < d; p++)
            for (size_t q = p; q < d; q++)
              w->M[p * d + q] += r * Ci[p * d + q];
        } else {
          const double *ic = o->invc + k * d;
          for (size_t p = 0; p < d; p++)
            w->M[p * d + p] += r * ic[p];
        }
      }
      if (res->lap) res->lap[i] = spread - curv;
      if (H)
        for (size_t p = 0; p < d; p++)
          for (size_t q = p; q < d; q++)
            H[q * d + p] = H[p * d + q] = H[p * d + q] - w->M[p * d + q];
    }

    /* Cov[x0|x] = sum_k r_k (S_k + (x0_k - x0)(x0_k - x0)^T), with its trace and diagonal. */
    if (need->xsecond) {
      double *C = res->cov ? res->cov + i * d * d : NULL;
      double *dg = res->diagcov ? res->diagcov + i * d : NULL;
      double tr = 0.0;
      if (C)
        for (size_t j = 0; j < d * d; j++)
          C[j] = 0.0;
      if (dg)
        for (size_t j = 0; j < d; j++)
          dg[j] = 0.0;
      if (o->lanes) tr = w->XT[(3 * d + 2) * LANES + b];
      for (size_t k = 0; (!o->lanes || C || dg) && k < K; k++) {
        const double r = rb[k];
        if (r == 0.0) continue;
        const double *x0 = comp_x0(o, w, k, b, w->buf2);
        double n2 = 0.0;
        for (size_t j = 0; j < d; j++) {
          w->dev[j] = x0[j] - xbar[j];
          n2 += w->dev[j] * w->dev[j];
        }
        if (!o->lanes) tr += r * (o->trS[k] + n2);
        const int full = mix->kind[k] == DPM_COV_FULL;
        if (dg) {
          const double *sd = full ? o->diagS + k * d : o->shrink + k * d;
          for (size_t j = 0; j < d; j++)
            dg[j] += r * (sd[j] + w->dev[j] * w->dev[j]);
        }
        if (C) {
          for (size_t p = 0; p < d; p++)
            for (size_t q = p; q < d; q++)
              C[p * d + q] += r * w->dev[p] * w->dev[q];
          if (full) {
            const double *Sk = o->S + k * d * d;
            for (size_t p = 0; p < d; p++)
              for (size_t q = p; q < d; q++)
                C[p * d + q] += r * Sk[p * d + q];
          } else {
            const double *sh = o->shrink + k * d;
            for (size_t p = 0; p < d; p++)
              C[p * d + p] += r * sh[p];
          }
        }
      }
      if (res->trcov) res->trcov[i] = tr;
      if (C)
        for (size_t p = 0; p < d; p++)
          for (size_t q = p + 1; q < d; q++)
            C[q * d + p] = C[p * d + q];
    }

    /* grad log p(y|x) = sum_{k in y} (r_k / R_y) g_k - gbar = sum_{k not in y} r_k (gbar_y - g_k), where
     * gbar_y = sum_{k in y} (r_k / R_y) g_k with weights from a within-class log-sum-exp (exact also when R_y
     * underflows) and the second form has no cancellation as R_y -> 1. */
    if (res->class_grad) {
      const int y = res->class_y[i];
      double lmx = -HUGE_VAL;
      for (size_t k = 0; k < K; k++)
        if (mix->labels[k] == y && lb[k] > lmx) lmx = lb[k];
      double sum = 0.0;
      for (size_t k = 0; k < K; k++)
        if (mix->labels[k] == y) sum += exp(lb[k] - lmx);
      const double logRy = lmx + log(sum);
      double *gy = w->gy, *out = res->class_grad + i * d;
      for (size_t j = 0; j < d; j++)
        gy[j] = out[j] = 0.0;
      for (size_t k = 0; k < K; k++) {
        if (mix->labels[k] != y) continue;
        const double wk = exp(lb[k] - logRy);
        if (wk == 0.0) continue;
        const double *g = comp_g(o, w, k, b, w->buf1);
        for (size_t j = 0; j < d; j++)
          gy[j] += wk * g[j];
      }
      for (size_t k = 0; k < K; k++) {
        const double r = rb[k];
        if (mix->labels[k] == y || r == 0.0) continue;
        const double *g = comp_g(o, w, k, b, w->buf1);
        for (size_t j = 0; j < d; j++)
          out[j] += r * (gy[j] - g[j]);
      }
    }
  }
}

/* ---- how far a point may be ----------------------------------------------------------------------------------
 *
 * Every output is a responsibility-weighted sum over components of terms built from z_k = x - m mu_k in the units
 * of C_k: the squared distance rho_k^2 = z_k^T C_k^{-1} z_k, the gradients g_k = -C_k^{-1} z_k (|g_k| ~ rho_k /
 * sqrt c) and their deviations g_k - gbar. Rounding leaves each g_k off by ~ u |g_k| (u = 2^-52), so a squared
 * deviation |g_k - gbar|^2 (the Laplacian, the Hessian; likewise the posterior covariances) carries an error
 * ~ u^2 rho^2 / c against the curvature 1/c it is added to. With rho^2 = min_k rho_k^2 (the nearest component
 * with mass), that error reaches the size of the result at rho^2 = 1/u^2 = 2^104 ~ 2.0e31: beyond, the squared
 * distances are no longer exact enough for any digit of the second moments (ring8 at x = 1e150 gave a Laplacian
 * of 1.7e271 against -5.2), and from |x| ~ 1.3e154 on |z|^2 overflows to a row of NaN. Such points are refused
 * with GSL_ERANGE. Below the bound that error is ~ u^2 rho^2 relative; separately, the log-responsibilities
 * carry ~ u rho^2 absolute, which matters only between components nearly tied at that distance (outputs then stay
 * within the range their per-component terms span, as conditioning allows). The test costs O(d)
 * per point from the box of the centres (rho^2 >= D^2 / c_max and <= (D + diam)^2 / c_min, D the distance to
 * the box), and O(K d^2) only for points in between. */
#define ORACLE_RHO2_MAX 0x1p104

/* The point-independent parts of too_far's bounds, once per call: sqrt of the extreme variances, the squared
 * diameter of the centres' box in units of the smallest standard deviation, and near: a distance to the box
 * below which every coordinate's keeps the point in range (D <= sqrt(d) max_j D_j, so max_j D_j <= near gives
 * (D/smin + diam)^2 <= 2^104 with a margin of 1e-6 for rounding; 0 when no such distance exists). */
typedef struct {
  double smax, smin, diam2, near;
} far_bounds;

static far_bounds far_bounds_of(const dpm_oracle *o)
{
  far_bounds f = {sqrt(o->cmax), sqrt(o->cmin), 0.0, 0.0};
  for (size_t j = 0; j < o->d; j++) {
    const double w = (o->bhi[j] - o->blo[j]) / f.smin;
    f.diam2 += w * w;
  }
  const double room = 0x1p52 * (1.0 - 1e-6) - sqrt(f.diam2);
  if (room > 0.0 && isfinite(f.smin)) f.near = room * f.smin / sqrt((double)o->d);
  return f;
}

/* rho^2 > ORACLE_RHO2_MAX (or not representable)? *coord: the coordinate farthest out. Needs setup(o, m, s) and
 * fb = far_bounds_of(o). */
static int too_far(const dpm_oracle *o, const far_bounds *fb, const double *x, size_t *coord)
{
  const size_t d = o->d, K = o->K;
  const double smax = fb->smax, smin = fb->smin, diam2 = fb->diam2;
  /* the common case first: every coordinate near the centres' box */
  double far = 0.0;
  for (size_t j = 0; j < d; j++) {
    const double a = o->blo[j] - x[j], b = x[j] - o->bhi[j], dj = a > b ? a : b;
    far = dj > far ? dj : far;
  }
  if (far <= fb->near) return 0;
  double lo2 = 0.0, dmin2 = 0.0, worst = -1.0;
  for (size_t j = 0; j < d; j++) {
    const double dist = fmax(fmax(o->blo[j] - x[j], x[j] - o->bhi[j]), 0.0);
    if (dist > worst) {
      worst = dist;
      *coord = j;
    }
    lo2 += (dist / smax) * (dist / smax);
    dmin2 += (dist / smin) * (dist / smin);
  }
  if (!(lo2 <= ORACLE_RHO2_MAX)) return 1;
  const double up = sqrt(dmin2) + sqrt(diam2);
  if (up * up <= ORACLE_RHO2_MAX) return 0;
  /* in between: the exact minimum over the components with mass */
  const dpm_mixture *mix = o->mix;
  double best = HUGE_VAL;
  size_t kbest = 0;
  for (size_t k = 0; k < K; k++) {
    if (!(mix->w[k] > 0.0)) continue;
    const double *mmu = o->mmu + k * d, *ic = o->invc + k * d;
    double q = 0.0;
    for (size_t i = 0; i < d; i++) {
      double z;
      if (mix->kind[k] == DPM_COV_FULL) {
        const double *U = mix->U + k * d * d;
        z = 0.0;
        for (size_t l = 0; l < d; l++)
          z += U[l * d + i] * (x[l] - mmu[l]);
      } else {
        z = x[i] - mmu[i];
      }
      q += z * (z * ic[i]);
    }
    if (q < best) {
      best = q;
      kbest = k;
    }
  }
  if (best <= ORACLE_RHO2_MAX) return 0;
  worst = -1.0;
  for (size_t j = 0; j < d; j++)
    if (fabs(x[j] - o->mmu[kbest * d + j]) > worst) {
      worst = fabs(x[j] - o->mmu[kbest * d + j]);
      *coord = j;
    }
  return 1;
}

/* ---- the public entry points ------------------------------------------------------------------------------- */

int dpm_oracle_eval(dpm_oracle *o, double m, double s, size_t n, const double *x, dpm_oracle_result *res)
{
  if (!o) DPM_ERROR(GSL_EINVAL, "oracle: oracle is NULL");
  if (!(isfinite(m) && m > 0.0)) DPM_ERROR(GSL_EDOM, "oracle: m must be > 0 and finite (got %g)", m);
  if (!(isfinite(s) && s > 0.0)) DPM_ERROR(GSL_EDOM, "oracle: s must be > 0 and finite (got %g)", s);
  if (!(s * s >= DBL_MIN && isfinite(s * s) && isfinite(m * m)))
    DPM_ERROR(GSL_EDOM, "oracle: (m, s) = (%g, %g) out of range (m^2 and s^2 must be finite, s^2 normal)", m, s);
  if (n == 0) return DPM_SUCCESS;
  if (!x) DPM_ERROR(GSL_EINVAL, "oracle: x is NULL for %zu points", n);
  const dpm_mixture *mix = o->mix;
  const size_t d = o->d, K = o->K;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      if (!isfinite(x[i * d + j]))
        DPM_ERROR(GSL_EBADFUNC, "oracle: point %zu is not finite (coordinate %zu = %g)", i, j, x[i * d + j]);
  setup(o, m, s);
  const far_bounds fb = far_bounds_of(o);
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    if (too_far(o, &fb, x + i * d, &j))
      DPM_ERROR(GSL_ERANGE,
                "oracle: point %zu is too far from every component (coordinate %zu = %g at (m, s) = (%g, %g)): "
                "more than 2^52 standard deviations of q_t from each component, where squared distances lose "
                "every digit",
                i, j, x[i * d + j], m, s);
  }
  dpm_oracle_result none;
  if (!res) {
    memset(&none, 0, sizeof none);
    res = &none;
  }
  if ((res->class_post || res->class_grad) && (!mix->labels || mix->nlabels <= 0))
    DPM_ERROR(GSL_EINVAL, "oracle: class posterior asked of a mixture without labels");
  if (res->class_grad) {
    if (!res->class_y) DPM_ERROR(GSL_EINVAL, "oracle: class_grad needs class_y (the label of each point)");
    for (size_t i = 0; i < n; i++) {
      const int y = res->class_y[i];
      if (y < 0 || y >= mix->nlabels)
        DPM_ERROR(GSL_EINVAL, "oracle: point %zu: class label %d out of range [0, %d)", i, y, mix->nlabels);
      int present = 0;
      for (size_t k = 0; k < K && !present; k++)
        present = mix->labels[k] == y && mix->logw[k] > -HUGE_VAL;
      if (!present) DPM_ERROR(GSL_EDOM, "oracle: point %zu: class %d has no component of positive weight", i, y);
    }
  }

  oracle_need need;
  need.gsecond = res->hess || res->lap;
  need.g = res->score || res->eps || need.gsecond || res->class_grad;
  need.xsecond = res->trcov || res->diagcov || res->cov;
  need.x0k = res->x0 || need.xsecond;
  need.logq = res->logq || res->logresp || res->class_grad;
  need.rows =
      res->resp || res->logresp || res->class_post || res->class_grad || need.gsecond || res->diagcov || res->cov;

  if (o->any_full && res->diagcov) setup_diagS(o);
  if (o->any_full && (res->hess || res->cov)) setup_dense(o);

  const size_t B = o->B, nblocks = (n + B - 1) / B;
  int nt = 1;
#ifdef _OPENMP
  nt = omp_get_max_threads();
  if (nt > o->nthreads) nt = o->nthreads;
  if (nt < 1) nt = 1;
#endif
  /* Threads only when the batch outweighs the cost of a parallel region (~ a few microseconds) and the caller is
   * not already running in parallel. Otherwise no OpenMP region at all: even a region of one thread costs a team
   * set-up (a nested team is built anew on every call), which was most of the time of callers that solve one
   * point per task. Each block's arithmetic does not depend on the thread that runs it: the same bits. */
  const int par =
      nblocks > 1 && nt > 1 && (double)n * (double)K * (double)(d + 8) >= DPM_PAR_MIN_WORK && !in_parallel();
  const dpm_oracle_result *cres = res;
  if (!par) {
    for (size_t blk = 0; blk < nblocks; blk++) {
      const size_t i0 = blk * B, nb = n - i0 < B ? n - i0 : B;
      eval_block(o, &o->ws[0], i0, nb, x, cres, &need);
    }
    return DPM_SUCCESS;
  }
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt)
  for (size_t blk = 0; blk < nblocks; blk++) {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    const size_t i0 = blk * B, nb = n - i0 < B ? n - i0 : B;
    eval_block(o, &o->ws[tid], i0, nb, x, cres, &need);
  }
  return DPM_SUCCESS;
}

double dpm_oracle_logq1(dpm_oracle *o, double m, double s, const double *x)
{
  double lq = NAN;
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.logq = &lq;
  if (dpm_oracle_eval(o, m, s, 1, x, &res) != DPM_SUCCESS) return NAN;
  return lq;
}
