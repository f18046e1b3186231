/* field_lanes.c — the oracle's kernel for the exact field of the probability-flow ODE (Song et al. 2021, eq. (13)
 * and App. D.2) for data whose components are all axis-aligned (isotropic, diagonal or point masses): eps-hat =
 * E[eps|x] and the Laplacian of log q_t at a block of points and one (m, s), in one pass per point with the
 * components in SIMD lanes and a vectorised exp (docs/MATH.md §4.3 "The field kernel", from the closed forms of
 * §2). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_internal.h"
#include "dpm_oracle.h"

/* glibc's vector exp (libmvec): the declaration math-vector.h makes under -ffast-math, made here without it, so
 * the `#pragma omp simd` loop over the components calls _ZGV*_exp (at most 4 ulp). */
extern double exp(double) __attribute__((__simd__("notinbranch")));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define FIELD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FIELD_CLONES
#endif

/* The oracle's bound on the squared Mahalanobis distance to the nearest component with mass (docs/MATH.md §2):
 * beyond it no digit of the second moments is left, and the oracle refuses the point. */
#define FIELD_RHO2_MAX 0x1p104

/* exp's arguments l_k - max l are raised to -708 at least: e^-708 < 2^-1021 relative to the largest term (which is
 * 1), below any rounding of the sums, and libmvec's exp leaves its vector path for a scalar call on every lane
 * whose result would not be a normal double (arguments below about -708.4). */
#define FIELD_EXP_MIN (-708.0)

/* Points per lane group: blocks are cut into groups of at most FIELD_CHUNK points, each padded to a multiple of
 * FIELD_PAD lanes by repeating its last point, so that every point goes through the same vector code (the vector
 * exp included) whatever its place in the block: a point's bits do not depend on the block it comes in. */
enum { FIELD_PAD = 8, FIELD_CHUNK = 32 };

struct dpm_oracle_field {
  size_t K, d, nu; /* K: the components with mass (those of weight 0 have responsibility 0 and are left out) */
  double *mu;      /* d x K: the means, components contiguous */
  double *lam;     /* d x K: the variances lambda_{k,j} */
  size_t *lix;     /* d x K: index of lambda_{k,j} in ulam */
  double *ulam;    /* nu: the distinct variances (one log each per (m, s)) */
  double *logw;    /* K */
  /* the set-up for one (m, s) */
  int have;
  double m, s;
  double *logc; /* nu: log(m^2 lambda + s^2) */
  double *ic;   /* d x K: 1 / c_{k,j}, c = m^2 lambda + s^2 */
  double *mmu;  /* d x K: m mu */
  double *base; /* K: log w_k - 1/2 sum_j log(2 pi c_{k,j}) */
  double *sic;  /* K: tr C_k^{-1} */
  /* lanes: P points at a time */
  size_t P;
  double *X;                 /* d x P: the points */
  double *L;                 /* K x P: l_k, later exp(l_k - max l) */
  double *G;                 /* d x P: sum_k e_k v_k, later the score */
  double *Q, *mx, *qmin, *S; /* P each */
  double *sp, *cu;           /* P each: the spread and curvature sums */
  double *eo, *lo;           /* P x d, P: the outputs of a group */
};

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void dpm_oracle_field_free(dpm_oracle_field *g)
{
  if (!g) return;
  free(g->mu);
  free(g->lam);
  free(g->lix);
  free(g->ulam);
  free(g->logw);
  free(g->logc);
  free(g->ic);
  free(g->mmu);
  free(g->base);
  free(g->sic);
  free(g->X);
  free(g->L);
  free(g->G);
  free(g->Q);
  free(g->mx);
  free(g->qmin);
  free(g->S);
  free(g->sp);
  free(g->cu);
  free(g->eo);
  free(g->lo);
  free(g);
}

/* rows of P doubles (P a multiple of FIELD_PAD), 64-byte aligned: every lane row starts on a cache line, so the
 * vector loops need no peeling (a peeled lane would take the scalar exp) */
static double *lanes_alloc(size_t rows, size_t P)
{
  return aligned_alloc(64, (rows ? rows : 1) * P * sizeof(double));
}

int dpm_oracle_field_alloc(const dpm_mixture *mix, dpm_oracle_field **out)
{
  *out = NULL;
  if (!mix) DPM_ERROR(GSL_EINVAL, "oracle field: NULL data");
  const size_t d = mix->d;
  size_t K = 0;
  for (size_t k = 0; k < mix->K; k++) {
    if (mix->kind[k] == DPM_COV_FULL) return DPM_SUCCESS; /* not for this kernel: the oracle serves it */
    K += mix->w[k] > 0.0;
  }
  const size_t Kd = K * d;
  if (K == 0) return DPM_SUCCESS; /* no mass at all: the oracle says why */
  dpm_oracle_field *g = dpm_calloc(1, sizeof *g);
  if (!g) return GSL_ENOMEM;
  g->K = K;
  g->d = d;
  g->mu = malloc(Kd * sizeof(double));
  g->lam = malloc(Kd * sizeof(double));
  g->lix = malloc(Kd * sizeof(size_t));
  g->ulam = malloc(Kd * sizeof(double));
  g->logw = malloc(K * sizeof(double));
  g->logc = malloc(Kd * sizeof(double));
  g->ic = malloc(Kd * sizeof(double));
  g->mmu = malloc(Kd * sizeof(double));
  g->base = malloc(K * sizeof(double));
  g->sic = malloc(K * sizeof(double));
  const size_t P = K <= 2048 ? FIELD_CHUNK : FIELD_PAD; /* the lanes' scratch K x P stays within 512 KiB */
  g->P = P;
  g->X = lanes_alloc(d, P);
  g->L = lanes_alloc(K, P);
  g->G = lanes_alloc(d, P);
  g->Q = lanes_alloc(1, P);
  g->mx = lanes_alloc(1, P);
  g->qmin = lanes_alloc(1, P);
  g->S = lanes_alloc(1, P);
  g->sp = lanes_alloc(1, P);
  g->cu = lanes_alloc(1, P);
  g->eo = malloc(P * d * sizeof(double));
  g->lo = malloc(P * sizeof(double));
  if (!g->mu || !g->lam || !g->lix || !g->ulam || !g->logw || !g->logc || !g->ic || !g->mmu || !g->base ||
      !g->sic || !g->X || !g->L || !g->G || !g->Q || !g->mx || !g->qmin || !g->S || !g->sp || !g->cu || !g->eo ||
      !g->lo) {
    dpm_oracle_field_free(g);
    DPM_ERROR(GSL_ENOMEM, "oracle field: no memory for the field of %zu components in %zu dimensions", K, d);
  }
  for (size_t k0 = 0, k = 0; k0 < mix->K; k0++) {
    if (!(mix->w[k0] > 0.0)) continue;
    g->logw[k] = mix->logw[k0];
    for (size_t j = 0; j < d; j++) {
      g->mu[j * K + k] = mix->mu[k0 * d + j];
      g->lam[j * K + k] = mix->lambda[k0 * d + j];
    }
    k++;
  }
  memcpy(g->ulam, g->lam, Kd * sizeof(double));
  qsort(g->ulam, Kd, sizeof(double), cmp_double);
  size_t nu = 0;
  for (size_t i = 0; i < Kd; i++)
    if (nu == 0 || g->ulam[i] != g->ulam[nu - 1]) g->ulam[nu++] = g->ulam[i];
  g->nu = nu;
  for (size_t i = 0; i < Kd; i++) {
    size_t lo = 0, hi = nu - 1; /* ulam[lo] <= lam[i] <= ulam[hi], and it is one of them */
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (g->ulam[mid] < g->lam[i])
        lo = mid + 1;
      else
        hi = mid;
    }
    g->lix[i] = lo;
  }
  *out = g;
  return DPM_SUCCESS;
}

/* The tables of one (m, s): O(K d) operations and one log per distinct variance. */
static void diag_setup(dpm_oracle_field *g, double m, double s)
{
  if (g->have && g->m == m && g->s == s) return;
  const size_t K = g->K, d = g->d;
  const double m2 = m * m, s2 = s * s;
  for (size_t u = 0; u < g->nu; u++)
    g->logc[u] = log(m2 * g->ulam[u] + s2);
  for (size_t k = 0; k < K; k++) {
    g->base[k] = 0.0;
    g->sic[k] = 0.0;
  }
  for (size_t j = 0; j < d; j++)
    for (size_t k = 0; k < K; k++) {
      const size_t jk = j * K + k;
      g->ic[jk] = 1.0 / (m2 * g->lam[jk] + s2);
      g->mmu[jk] = m * g->mu[jk];
      g->base[k] += DPM_LOG_2PI + g->logc[g->lix[jk]];
      g->sic[k] += g->ic[jk];
    }
  for (size_t k = 0; k < K; k++)
    g->base[k] = g->logw[k] - 0.5 * g->base[k];
  g->m = m;
  g->s = s;
  g->have = 1;
}

/* A group of np points (np a multiple of FIELD_PAD) held in lanes: X (d x P, coordinate j of lane b at X[j P +
 * b]). Every loop runs over the lanes with the component's numbers broadcast, so each lane does the same
 * operations in the same order. Writes eps (np x d, row b) and lap (np). 0, or 1 when a lane is beyond the
 * oracle's distance bound or a result is not finite. */
FIELD_CLONES static int diag_lanes(dpm_oracle_field *g, size_t np_in, double s, double *eps, double *lap)
{
  const size_t K = g->K, d = g->d, P = g->P;
  const size_t np = np_in & ~(size_t)(FIELD_PAD - 1); /* visibly a multiple of the lanes: no scalar remainder */
  const double *restrict X = g->X;
  double *restrict L = g->L, *restrict Q = g->Q, *restrict mx = g->mx, *restrict qmin = g->qmin;
  double *restrict S = g->S, *restrict G = g->G, *restrict sp = g->sp, *restrict cu = g->cu;
  for (size_t b = 0; b < np; b++) {
    mx[b] = -HUGE_VAL;
    qmin[b] = HUGE_VAL;
  }
  /* l_k = log w_k - 1/2 log det(2 pi C_k) - 1/2 (x - m mu_k)^T C_k^{-1} (x - m mu_k), the max over k, and the
   * guard's min over the components with mass of the squared Mahalanobis distance */
  for (size_t k = 0; k < K; k++) {
    for (size_t b = 0; b < np; b++)
      Q[b] = 0.0;
    for (size_t j = 0; j < d; j++) {
      const double c1 = g->mmu[j * K + k], c2 = g->ic[j * K + k];
      const double *restrict Xj = X + j * P;
#pragma omp simd aligned(Xj, Q : 64)
      for (size_t b = 0; b < np; b++) {
        const double z = Xj[b] - c1;
        Q[b] += z * (z * c2);
      }
    }
    const double base = g->base[k];
    double *restrict Lk = L + k * P;
#pragma omp simd aligned(Lk, Q, mx, qmin : 64)
    for (size_t b = 0; b < np; b++) {
      const double l = base - 0.5 * Q[b];
      Lk[b] = l;
      mx[b] = l > mx[b] ? l : mx[b];
      qmin[b] = Q[b] < qmin[b] ? Q[b] : qmin[b];
    }
  }
  for (size_t b = 0; b < np; b++)
    if (!(qmin[b] <= FIELD_RHO2_MAX) || !(mx[b] > -HUGE_VAL)) return 1;
  /* e_k = exp(l_k - max l) in (0, 1] (the largest exactly 1), S = sum_k e_k, G = sum_k e_k v_k */
  for (size_t b = 0; b < np; b++)
    S[b] = 0.0;
  for (size_t i = 0; i < d * P; i++)
    G[i] = 0.0;
  for (size_t k = 0; k < K; k++) {
    double *restrict Lk = L + k * P;
#pragma omp simd aligned(Lk, mx : 64)
    for (size_t b = 0; b < np; b++) {
      const double a = Lk[b] - mx[b];
      Lk[b] = a > FIELD_EXP_MIN ? a : FIELD_EXP_MIN;
    }
#pragma omp simd aligned(Lk, S : 64)
    for (size_t b = 0; b < np; b++) {
      const double e = exp(Lk[b]);
      Lk[b] = e;
      S[b] += e;
    }
    for (size_t j = 0; j < d; j++) {
      const double c1 = g->mmu[j * K + k], c2 = g->ic[j * K + k];
      const double *restrict Xj = X + j * P;
      double *restrict Gj = G + j * P;
#pragma omp simd aligned(Gj, Lk, Xj : 64)
      for (size_t b = 0; b < np; b++)
        Gj[b] += Lk[b] * ((Xj[b] - c1) * c2);
    }
  }
  /* gbar = -G / S (the score), kept in G; eps = -s gbar */
  for (size_t j = 0; j < d; j++) {
    double *restrict Gj = G + j * P;
#pragma omp simd aligned(Gj, S : 64)
    for (size_t b = 0; b < np; b++)
      Gj[b] = -(Gj[b] / S[b]);
    for (size_t b = 0; b < np; b++)
      eps[b * d + j] = -s * Gj[b];
  }
  /* Laplacian = sum_k r_k |g_k - gbar|^2 - sum_k r_k tr C_k^{-1}: the spread about the mean, no cancellation */
  for (size_t b = 0; b < np; b++)
    sp[b] = cu[b] = 0.0;
  for (size_t k = 0; k < K; k++) {
    for (size_t b = 0; b < np; b++)
      Q[b] = 0.0;
    for (size_t j = 0; j < d; j++) {
      const double c1 = g->mmu[j * K + k], c2 = g->ic[j * K + k];
      const double *restrict Xj = X + j * P, *restrict Gj = G + j * P;
#pragma omp simd aligned(Xj, Gj, Q : 64)
      for (size_t b = 0; b < np; b++) {
        const double dev = (Xj[b] - c1) * c2 + Gj[b]; /* -(g_k - gbar), g_k = -v_k */
        Q[b] += dev * dev;
      }
    }
    const double sick = g->sic[k];
    const double *restrict Lk = L + k * P;
#pragma omp simd aligned(sp, cu, Lk, Q : 64)
    for (size_t b = 0; b < np; b++) {
      sp[b] += Lk[b] * Q[b];
      cu[b] += Lk[b] * sick;
    }
  }
  int ok = 1;
  for (size_t b = 0; b < np; b++) {
    lap[b] = (sp[b] - cu[b]) / S[b];
    ok = ok && isfinite(lap[b]);
    for (size_t j = 0; j < d; j++)
      ok = ok && isfinite(eps[b * d + j]);
  }
  return !ok;
}

int dpm_oracle_field_eval(dpm_oracle_field *g, double m, double s, size_t n, const double *x, size_t ldx,
                          double *eps, double *lap)
{
  if (!(isfinite(m) && m > 0.0 && isfinite(s) && s > 0.0 && s * s >= DBL_MIN && isfinite(s * s) &&
        isfinite(m * m)))
    return GSL_EDOM;
  diag_setup(g, m, s);
  const size_t d = g->d, P = g->P;
  for (size_t i0 = 0; i0 < n; i0 += P) {
    const size_t nb = n - i0 < P ? n - i0 : P, np = (nb + FIELD_PAD - 1) / FIELD_PAD * FIELD_PAD;
    for (size_t b = 0; b < np; b++) {
      const double *xb = x + (i0 + (b < nb ? b : nb - 1)) * ldx;
      for (size_t j = 0; j < d; j++)
        g->X[j * P + b] = xb[j];
    }
    if (diag_lanes(g, np, s, g->eo, g->lo)) return GSL_ERANGE;
    memcpy(eps + i0 * d, g->eo, nb * d * sizeof(double));
    memcpy(lap + i0, g->lo, nb * sizeof(double));
  }
  return DPM_SUCCESS;
}
