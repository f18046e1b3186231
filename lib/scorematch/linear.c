/* linear.c — score models linear in their parameters, eps_theta(x; m, s) = Phi(z) theta(lambda), s_theta =
 * -eps_theta/s (docs/MATH.md §4.4): polynomial, random Fourier (Rahimi & Recht 2007) and Gaussian-bump features on
 * standardised coordinates, piecewise linear in lambda = log(m/s) between knots, with their exact divergence and
 * Jacobian; the model as a score model and as a denoiser. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>

#include "dpm_internal.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"
#include "sm_internal.h"

static const char *const basis_names[] = {"poly", "rff", "bump"};

int dpm_sm_basis_parse(const char *name, dpm_sm_basis_kind *kind)
{
  for (int i = 0; i < 3; i++)
    if (name && strcmp(name, basis_names[i]) == 0) {
      *kind = (dpm_sm_basis_kind)i;
      return DPM_SUCCESS;
    }
  dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "unknown basis '%s' (poly, rff, bump)", name ? name : "(null)");
  return -1;
}

const char *dpm_sm_basis_name(dpm_sm_basis_kind kind) { return (unsigned)kind < 3 ? basis_names[kind] : "?"; }

/* Number of monomials of degree <= D in d variables, C(d + D, D), or SIZE_MAX above limit. */
static size_t n_monomials(size_t d, size_t D, size_t limit)
{
  double c = 1.0;
  for (size_t i = 1; i <= D; i++) {
    c = c * (double)(d + i) / (double)i;
    if (c > (double)limit) return (size_t)-1;
  }
  return (size_t)llround(c);
}

/* Every exponent vector alpha with |alpha| <= D, by total degree then lexicographically (alpha: P x d). */
static void enumerate_monomials(size_t d, size_t D, unsigned char *alpha)
{
  size_t P = 0;
  unsigned char *cur = calloc(d, 1);
  if (!cur) return;
  for (size_t deg = 0; deg <= D; deg++) {
    /* all compositions of deg into d parts, first coordinate largest first */
    memset(cur, 0, d);
    cur[0] = (unsigned char)deg;
    for (;;) {
      memcpy(alpha + P * d, cur, d);
      P++;
      /* next composition: find the last non-zero entry before the end that can pass one unit right */
      if (d == 1) break;
      const unsigned char tail = cur[d - 1];
      cur[d - 1] = 0;
      size_t i = d - 2;
      while (i != (size_t)-1 && cur[i] == 0)
        i--;
      if (i == (size_t)-1) break;
      cur[i]--;
      cur[i + 1] = (unsigned char)(tail + 1);
    }
  }
  free(cur);
}

dpm_sm_linear *dpm_sm_linear_alloc(dpm_sm_basis_kind kind, size_t size, double ell, uint64_t seed, size_t d,
                                   const double *mu_bar, double v_bar, size_t L, const double *knots)
{
  if (d == 0 || !mu_bar) DPM_ERROR_NULL(GSL_EINVAL, "linear score model: d = 0 or NULL mean");
  if ((unsigned)kind > DPM_SM_BASIS_BUMP) DPM_ERROR_NULL(GSL_EINVAL, "linear score model: unknown basis");
  if (!(isfinite(v_bar) && v_bar > 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "linear score model: data variance %g must be finite and > 0", v_bar);
  for (size_t j = 0; j < d; j++)
    if (!isfinite(mu_bar[j])) DPM_ERROR_NULL(GSL_EDOM, "linear score model: data mean not finite");
  if (kind != DPM_SM_BASIS_POLY && (size == 0 || size > 100000))
    DPM_ERROR_NULL(GSL_EINVAL, "linear score model: %s needs size in [1, 100000] (got %zu)", basis_names[kind],
                   size);
  if (kind != DPM_SM_BASIS_POLY && !(isfinite(ell) && ell > 0.0))
    DPM_ERROR_NULL(GSL_EDOM, "linear score model: feature width %g must be finite and > 0", ell);
  if (kind == DPM_SM_BASIS_POLY && size > 64)
    DPM_ERROR_NULL(GSL_EINVAL, "linear score model: poly degree %zu > 64", size);
  if (L == 0 || (L > 1 && !knots)) DPM_ERROR_NULL(GSL_EINVAL, "linear score model: need knots (L = %zu)", L);
  for (size_t k = 0; L > 1 && k < L; k++)
    if (!isfinite(knots[k]) || (k > 0 && !(knots[k] > knots[k - 1])))
      DPM_ERROR_NULL(GSL_EDOM, "linear score model: knots must be finite and increasing (knot %zu)", k);
  const size_t P = kind == DPM_SM_BASIS_POLY ? n_monomials(d, size, 4096) : 1 + d + size;
  if (P == (size_t)-1 || P > 4096)
    DPM_ERROR_NULL(GSL_EINVAL, "linear score model: more than 4096 features (d = %zu, size %zu)", d, size);
  dpm_sm_linear *Lm = dpm_calloc(1, sizeof *Lm);
  if (!Lm) return NULL;
  Lm->kind = kind;
  Lm->size = size;
  Lm->ell = kind == DPM_SM_BASIS_POLY ? 0.0 : ell;
  Lm->seed = seed;
  Lm->d = d;
  Lm->P = P;
  Lm->L = L;
  Lm->v_bar = v_bar;
  Lm->mu_bar = dpm_malloc(d * sizeof *Lm->mu_bar);
  Lm->knots = dpm_malloc(L * sizeof *Lm->knots);
  Lm->theta = dpm_calloc(L * P * d, sizeof *Lm->theta);
  int ok = Lm->mu_bar && Lm->knots && Lm->theta;
  if (ok) {
    memcpy(Lm->mu_bar, mu_bar, d * sizeof *mu_bar);
    if (L > 1)
      memcpy(Lm->knots, knots, L * sizeof *knots);
    else
      Lm->knots[0] = knots ? knots[0] : 0.0;
  }
  if (ok && kind == DPM_SM_BASIS_POLY) {
    ok = (Lm->alpha = dpm_malloc(P * d)) != NULL;
    if (ok) enumerate_monomials(d, size, Lm->alpha);
  } else if (ok) {
    Lm->omega = dpm_malloc(size * (d + 1) * sizeof *Lm->omega);
    gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
    ok = Lm->omega && r;
    if (ok) {
      Lm->bias = Lm->omega + size * d;
      for (size_t j = 0; j < size; j++) {
        if (kind == DPM_SM_BASIS_RFF) {
          for (size_t i = 0; i < d; i++)
            Lm->omega[j * d + i] = gsl_ran_gaussian_ziggurat(r, 1.0) / ell;
          Lm->bias[j] = 2.0 * M_PI * gsl_rng_uniform(r);
        } else if (d == 1) {
          Lm->omega[j] = size == 1 ? 0.0 : -3.0 + 6.0 * (double)j / (double)(size - 1);
          Lm->bias[j] = 0.0;
        } else {
          for (size_t i = 0; i < d; i++)
            Lm->omega[j * d + i] = gsl_ran_gaussian_ziggurat(r, 1.5);
          Lm->bias[j] = 0.0;
        }
      }
    }
    gsl_rng_free(r);
  }
  if (!ok) {
    dpm_sm_linear_free(Lm);
    return NULL;
  }
  return Lm;
}

dpm_sm_linear *dpm_sm_linear_alloc_for(dpm_sm_basis_kind kind, size_t size, double ell, uint64_t seed,
                                       const dpm_mixture *mix, size_t L, const double *knots)
{
  if (!mix) DPM_ERROR_NULL(GSL_EINVAL, "linear score model: NULL mixture");
  const size_t d = mix->d;
  double *mean = dpm_malloc((d + d * d) * sizeof *mean);
  if (!mean) return NULL;
  double *cov = mean + d, tr = 0.0;
  dpm_mixture_moments(mix, mean, cov, NULL);
  for (size_t j = 0; j < d; j++)
    tr += cov[j * d + j];
  dpm_sm_linear *Lm =
      dpm_sm_linear_alloc(kind, size, ell, seed, d, mean, tr > 0.0 ? tr / (double)d : 1.0, L, knots);
  free(mean);
  return Lm;
}

dpm_sm_linear *dpm_sm_linear_from_spec(const char *opts, const dpm_mixture *mix, size_t L, const double *knots)
{
  if (!opts) DPM_ERROR_NULL(GSL_EINVAL, "linear model: no options (basis=B,size=S)");
  char buf[256];
  if (strlen(opts) >= sizeof buf) DPM_ERROR_NULL(GSL_EINVAL, "linear model: options too long");
  strcpy(buf, opts);
  dpm_sm_basis_kind kind = DPM_SM_BASIS_POLY;
  int have_basis = 0;
  double size = NAN, ell = 0.5, seed = 0.0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '='), *end;
    if (!eq) DPM_ERROR_NULL(GSL_EINVAL, "linear model option '%s': expected key=value", tok);
    *eq = '\0';
    if (strcmp(tok, "basis") == 0) {
      if (dpm_sm_basis_parse(eq + 1, &kind)) return NULL;
      have_basis = 1;
      continue;
    }
    const double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !isfinite(v) || v < 0)
      DPM_ERROR_NULL(GSL_EINVAL, "linear model option %s: '%s' is not a number >= 0", tok, eq + 1);
    if (strcmp(tok, "size") == 0 && v == floor(v) && v <= 100000)
      size = v;
    else if (strcmp(tok, "ell") == 0 && v > 0)
      ell = v;
    else if (strcmp(tok, "seed") == 0 && v == floor(v) && v < 9e15)
      seed = v;
    else
      DPM_ERROR_NULL(GSL_EINVAL, "linear model: bad option '%s=%s' (basis, size, ell, seed)", tok, eq + 1);
  }
  if (!have_basis || isnan(size)) DPM_ERROR_NULL(GSL_EINVAL, "linear model: needs basis=B and size=S");
  return dpm_sm_linear_alloc_for(kind, (size_t)size, ell, (uint64_t)seed, mix, L, knots);
}

void dpm_sm_linear_free(dpm_sm_linear *L)
{
  if (!L) return;
  free(L->mu_bar);
  free(L->knots);
  free(L->theta);
  free(L->alpha);
  free(L->omega);
  free(L);
}

size_t dpm_sm_linear_nfeatures(const dpm_sm_linear *L) { return L ? L->P : 0; }
size_t dpm_sm_linear_nknots(const dpm_sm_linear *L) { return L ? L->L : 0; }
size_t dpm_sm_linear_dim(const dpm_sm_linear *L) { return L ? L->d : 0; }
double *dpm_sm_linear_theta(dpm_sm_linear *L) { return L ? L->theta : NULL; }

/* Features of one point z (d) into phi (P) and, when dphi != NULL, d phi/d z into dphi (P x d). */
static void features_one(const dpm_sm_linear *L, const double *z, double *phi, double *dphi)
{
  const size_t d = L->d, P = L->P;
  if (L->kind == DPM_SM_BASIS_POLY) {
    for (size_t j = 0; j < P; j++) {
      const unsigned char *a = L->alpha + j * d;
      double v = 1.0;
      for (size_t i = 0; i < d; i++)
        v *= gsl_pow_int(z[i], a[i]);
      phi[j] = v;
      if (!dphi) continue;
      for (size_t i = 0; i < d; i++) {
        if (a[i] == 0) {
          dphi[j * d + i] = 0.0;
          continue;
        }
        double g = (double)a[i] * gsl_pow_int(z[i], a[i] - 1);
        for (size_t k = 0; k < d; k++)
          if (k != i) g *= gsl_pow_int(z[k], a[k]);
        dphi[j * d + i] = g;
      }
    }
    return;
  }
  phi[0] = 1.0;
  for (size_t i = 0; i < d; i++)
    phi[1 + i] = z[i];
  if (dphi) {
    memset(dphi, 0, (1 + d) * d * sizeof *dphi);
    for (size_t i = 0; i < d; i++)
      dphi[(1 + i) * d + i] = 1.0;
  }
  const double inv_l2 = 1.0 / (L->ell * L->ell);
  for (size_t j = 0; j < L->size; j++) {
    const double *w = L->omega + j * d;
    double *dp = dphi ? dphi + (1 + d + j) * d : NULL;
    if (L->kind == DPM_SM_BASIS_RFF) {
      double a = L->bias[j];
      for (size_t i = 0; i < d; i++)
        a += w[i] * z[i];
      phi[1 + d + j] = cos(a);
      if (dp) {
        const double sn = -sin(a);
        for (size_t i = 0; i < d; i++)
          dp[i] = sn * w[i];
      }
    } else {
      double r2 = 0.0;
      for (size_t i = 0; i < d; i++)
        r2 += (z[i] - w[i]) * (z[i] - w[i]);
      const double e = exp(-0.5 * r2 * inv_l2);
      phi[1 + d + j] = e;
      if (dp)
        for (size_t i = 0; i < d; i++)
          dp[i] = -e * (z[i] - w[i]) * inv_l2;
    }
  }
}

int dpm_sm_linear_features(const dpm_sm_linear *L, double m, double s, size_t n, const double *x, double *phi,
                           double *dphi)
{
  if (!L || (n > 0 && (!x || !phi))) DPM_ERROR(GSL_EINVAL, "linear score model features: NULL argument");
  if (!dpm_ms_ok(m, s))
    DPM_ERROR(GSL_EDOM, "linear score model features: need finite m > 0 and s > 0 (got m = %g, s = %g)", m, s);
  const size_t d = L->d, P = L->P;
  const double r = sqrt(m * m * L->v_bar + s * s);
  int bad = 0;
#pragma omp parallel for schedule(static) if ((double)n * (double)P * (double)d > DPM_PAR_MIN_WORK)               \
    reduction(|                                                                                                   \
              : bad)
  for (size_t p = 0; p < n; p++) {
    double z[64];
    double *zz = d <= 64 ? z : malloc(d * sizeof *zz);
    if (!zz) {
      bad = 1;
      continue;
    }
    for (size_t i = 0; i < d; i++)
      zz[i] = (x[p * d + i] - m * L->mu_bar[i]) / r;
    double *dp = dphi ? dphi + p * P * d : NULL;
    features_one(L, zz, phi + p * P, dp);
    if (dp)
      for (size_t j = 0; j < P * d; j++)
        dp[j] /= r;
    if (zz != z) free(zz);
  }
  if (bad) DPM_ERROR(GSL_ENOMEM, "linear score model features: out of memory");
  return DPM_SUCCESS;
}

void dpm_sm_linear_hat(const dpm_sm_linear *L, double lambda, size_t *k0, double *a)
{
  *k0 = 0;
  *a = 0.0;
  if (L->L == 1 || !(lambda > L->knots[0])) return;
  if (lambda >= L->knots[L->L - 1]) {
    *k0 = L->L - 2;
    *a = 1.0;
    return;
  }
  size_t k = 0;
  while (k + 2 < L->L && lambda >= L->knots[k + 1])
    k++;
  *k0 = k;
  *a = (lambda - L->knots[k]) / (L->knots[k + 1] - L->knots[k]);
}

/* ---- the model view --------------------------------------------------------------------------------------------
 */

typedef struct {
  dpm_sm_linear *L;
  int own;
  double *buf; /* phi (n x P), dphi (n x P x d), theta_eff (P x d) */
  size_t buf_n;
} lin_state;

static void lin_free(void *state)
{
  lin_state *ls = state;
  if (!ls) return;
  if (ls->own) dpm_sm_linear_free(ls->L);
  free(ls->buf);
  free(ls);
}

/* Scratch for n points and theta(lambda) at (m, s) into *th. */
static int lin_prepare(lin_state *ls, double m, double s, size_t n, double **phi, double **dphi, double **th)
{
  const dpm_sm_linear *L = ls->L;
  const size_t P = L->P, d = L->d;
  if (ls->buf_n < n) {
    free(ls->buf);
    ls->buf_n = 0;
    if (!(ls->buf = dpm_malloc((n * P * (d + 1) + P * d) * sizeof *ls->buf))) return GSL_ENOMEM;
    ls->buf_n = n;
  }
  *phi = ls->buf;
  *dphi = ls->buf + n * P;
  *th = ls->buf + ls->buf_n * P * (d + 1);
  size_t k0;
  double a;
  dpm_sm_linear_hat(L, log(m / s), &k0, &a);
  const double *t0 = L->theta + k0 * P * d;
  for (size_t i = 0; i < P * d; i++)
    (*th)[i] = a > 0.0 ? (1.0 - a) * t0[i] + a * t0[P * d + i] : t0[i];
  return DPM_SUCCESS;
}

static int lin_score(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *score)
{
  lin_state *ls = md->state;
  const size_t P = ls->L->P, d = ls->L->d;
  double *phi, *dphi, *th;
  int st = lin_prepare(ls, m, s, n, &phi, &dphi, &th);
  if (!st) st = dpm_sm_linear_features(ls->L, m, s, n, x, phi, NULL);
  if (st) return st;
  for (size_t p = 0; p < n; p++)
    for (size_t i = 0; i < d; i++) {
      double acc = 0.0;
      for (size_t j = 0; j < P; j++)
        acc += phi[p * P + j] * th[j * d + i];
      score[p * d + i] = -acc / s;
    }
  return DPM_SUCCESS;
}

static int lin_div(dpm_sm_model *md, double m, double s, size_t n, const double *x, double *div)
{
  lin_state *ls = md->state;
  const size_t P = ls->L->P, d = ls->L->d;
  double *phi, *dphi, *th;
  int st = lin_prepare(ls, m, s, n, &phi, &dphi, &th);
  if (!st) st = dpm_sm_linear_features(ls->L, m, s, n, x, phi, dphi);
  if (st) return st;
  for (size_t p = 0; p < n; p++) {
    double acc = 0.0;
    for (size_t j = 0; j < P; j++)
      for (size_t i = 0; i < d; i++)
        acc += th[j * d + i] * dphi[(p * P + j) * d + i];
    div[p] = -acc / s;
  }
  return DPM_SUCCESS;
}

static int lin_jvp(dpm_sm_model *md, double m, double s, size_t n, const double *x, const double *v, double *jv)
{
  lin_state *ls = md->state;
  const size_t P = ls->L->P, d = ls->L->d;
  double *phi, *dphi, *th;
  int st = lin_prepare(ls, m, s, n, &phi, &dphi, &th);
  if (!st) st = dpm_sm_linear_features(ls->L, m, s, n, x, phi, dphi);
  if (st) return st;
  for (size_t p = 0; p < n; p++) {
    for (size_t i = 0; i < d; i++)
      jv[p * d + i] = 0.0;
    for (size_t j = 0; j < P; j++) {
      double g = 0.0; /* grad phi_j . v */
      for (size_t k = 0; k < d; k++)
        g += dphi[(p * P + j) * d + k] * v[p * d + k];
      for (size_t i = 0; i < d; i++)
        jv[p * d + i] -= th[j * d + i] * g / s;
    }
  }
  return DPM_SUCCESS;
}

static const dpm_sm_model_type lin_type = {"linear", lin_score, lin_div, lin_jvp, lin_free};

dpm_sm_model *dpm_sm_linear_model_make(dpm_sm_linear *L, int own)
{
  if (!L) DPM_ERROR_NULL(GSL_EINVAL, "linear score model: NULL model");
  lin_state *ls = dpm_calloc(1, sizeof *ls);
  if (!ls) {
    if (own) dpm_sm_linear_free(L);
    return NULL;
  }
  ls->L = L;
  ls->own = own;
  return dpm_sm_model_alloc(&lin_type, ls, L->d);
}

dpm_sm_model *dpm_sm_linear_model_alloc(dpm_sm_linear *L) { return dpm_sm_linear_model_make(L, 0); }
