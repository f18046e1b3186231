/* grid.c — iterative proportional fitting on a grid in 1-D and 2-D ("dynamic Sinkhorn", De Bortoli et al. 2021,
 * §3; Léonard 2014, §2): the Brownian reference's Gaussian one-step kernels applied one step at a time (one axis
 * at a time in 2-D), the potentials at both ends, the time marginals p_t = phi_hat_t phi_t and the plan's
 * cross-covariance (docs/MATH.md §5.5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_bridge.h"
#include "dpm_internal.h"
#include "dpm_oracle.h"

void dpm_bridge_grid_free(dpm_bridge_grid *s)
{
  if (!s) return;
  free(s->x);
  free(s);
}

/* Cell masses of mix at the grid's cell centres (oracle at m = 1, s = 1e-8: the density with 1e-16 I added to each
 * covariance), normalised. */
static int masses(const dpm_mixture *mix, const dpm_bridge_grid *s, double *out)
{
  dpm_oracle *o = dpm_oracle_alloc(mix);
  double *pts = dpm_malloc(s->M * s->dim * sizeof *pts);
  int st = o && pts ? DPM_SUCCESS : GSL_ENOMEM;
  if (!st) {
    for (size_t c = 0; c < s->M; c++) {
      pts[c * s->dim] = s->x[s->dim == 1 ? c : c / s->G];
      if (s->dim == 2) pts[c * 2 + 1] = s->x[c % s->G];
    }
    dpm_oracle_result res = {.logq = out};
    st = dpm_oracle_eval(o, 1.0, 1e-8, s->M, pts, &res);
  }
  if (!st) {
    double mx = -HUGE_VAL, sum = 0.0;
    for (size_t c = 0; c < s->M; c++)
      mx = fmax(mx, out[c]);
    for (size_t c = 0; c < s->M; c++)
      sum += (out[c] = exp(out[c] - mx));
    for (size_t c = 0; c < s->M; c++)
      out[c] /= sum;
  }
  free(pts);
  dpm_oracle_free(o);
  return st;
}

dpm_bridge_grid *dpm_bridge_grid_alloc(const dpm_mixture *mu0, const dpm_mixture *mu1, size_t G, double lo,
                                       double hi, size_t N, double sigma2)
{
  if (!mu0 || !mu1) DPM_ERROR_NULL(GSL_EINVAL, "grid IPF: NULL mixture");
  if (mu0->d != mu1->d || (mu0->d != 1 && mu0->d != 2))
    DPM_ERROR_NULL(GSL_EBADLEN, "grid IPF: needs two laws of dimension 1 or 2 (got %zu and %zu)", mu0->d, mu1->d);
  if (dpm_mixture_is_pointset(mu0) || dpm_mixture_is_pointset(mu1))
    DPM_ERROR_NULL(GSL_EDOM, "grid IPF: needs densities, not point sets");
  for (size_t k = 0; k < mu0->K; k++)
    if (mu0->kind[k] == DPM_COV_ZERO)
      DPM_ERROR_NULL(GSL_EDOM, "grid IPF: component %zu of mu_0 is a point mass", k);
  for (size_t k = 0; k < mu1->K; k++)
    if (mu1->kind[k] == DPM_COV_ZERO)
      DPM_ERROR_NULL(GSL_EDOM, "grid IPF: component %zu of mu_1 is a point mass", k);
  if (G < 3 || N == 0) DPM_ERROR_NULL(GSL_EDOM, "grid IPF: needs G >= 3 points and N >= 1 steps");
  if (!(isfinite(lo) && isfinite(hi) && lo < hi)) DPM_ERROR_NULL(GSL_EDOM, "grid IPF: bad range [%g, %g]", lo, hi);
  if (!(isfinite(sigma2) && sigma2 > 0.0)) DPM_ERROR_NULL(GSL_EDOM, "grid IPF: sigma^2 must be finite and > 0");
  const size_t dim = mu0->d, M = dim == 1 ? G : G * G;
  dpm_bridge_grid *s = dpm_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->x = dpm_malloc((G + G * G + 7 * M) * sizeof(double));
  if (!s->x) {
    free(s);
    return NULL;
  }
  s->dim = dim;
  s->G = G;
  s->N = N;
  s->M = M;
  s->lo = lo;
  s->hi = hi;
  s->sigma2 = sigma2;
  s->dx = (hi - lo) / (double)(G - 1);
  s->K = s->x + G;
  s->mu0 = s->K + G * G;
  s->mu1 = s->mu0 + M;
  s->f = s->mu1 + M;
  s->g = s->f + M;
  s->work = s->g + M;
  for (size_t i = 0; i < G; i++)
    s->x[i] = lo + (double)i * s->dx;
  const double v = sigma2 / (double)N, c = s->dx / sqrt(2.0 * M_PI * v);
  for (size_t i = 0; i < G; i++)
    for (size_t j = 0; j < G; j++) {
      const double dd = s->x[i] - s->x[j];
      s->K[i * G + j] = c * exp(-0.5 * dd * dd / v);
    }
  if (masses(mu0, s, s->mu0) || masses(mu1, s, s->mu1)) {
    dpm_error_context("grid IPF: the end densities");
    dpm_bridge_grid_free(s);
    return NULL;
  }
  for (size_t i = 0; i < M; i++)
    s->f[i] = s->g[i] = 1.0;
  return s;
}

/* out = K in (one step: along the one axis, or along both in 2-D); tmp (M) scratch; in and out must differ. */
static void apply_k(const dpm_bridge_grid *s, const double *in, double *out, double *tmp)
{
  const size_t G = s->G;
  const double *K = s->K;
  if (s->dim == 1) {
#pragma omp parallel for schedule(static) if (G * G > 65536)
    for (size_t i = 0; i < G; i++) {
      double acc = 0.0;
      for (size_t j = 0; j < G; j++)
        acc += K[i * G + j] * in[j];
      out[i] = acc;
    }
    return;
  }
  /* tmp = (K (x) I) in: along the first axis; out = (I (x) K) tmp: along the second (rows contiguous) */
#pragma omp parallel for schedule(static) if (G * G * G > 65536)
  for (size_t i = 0; i < G; i++) {
    double *t = tmp + i * G;
    for (size_t b = 0; b < G; b++)
      t[b] = 0.0;
    for (size_t a = 0; a < G; a++) {
      const double k = K[i * G + a];
      const double *r = in + a * G;
      for (size_t b = 0; b < G; b++)
        t[b] += k * r[b];
    }
  }
#pragma omp parallel for schedule(static) if (G * G * G > 65536)
  for (size_t i = 0; i < G; i++)
    for (size_t b = 0; b < G; b++) {
      double acc = 0.0;
      const double *t = tmp + i * G, *kb = K + b * G;
      for (size_t c = 0; c < G; c++)
        acc += kb[c] * t[c];
      out[i * G + b] = acc;
    }
}

/* out = K^n in (n >= 0); w scratch of 2 M; out may not alias in. */
static void apply_kn(const dpm_bridge_grid *s, size_t n, const double *in, double *out, double *w)
{
  const size_t M = s->M;
  if (n == 0) {
    memcpy(out, in, M * sizeof *out);
    return;
  }
  double *a = w, *tmp = w + M;
  memcpy(a, in, M * sizeof *a);
  for (size_t k = 0; k < n; k++) {
    apply_k(s, a, out, tmp);
    if (k + 1 < n) memcpy(a, out, M * sizeof *a);
  }
}

int dpm_bridge_grid_iterate(dpm_bridge_grid *s, double *err)
{
  if (!s) DPM_ERROR(GSL_EINVAL, "grid IPF: NULL problem");
  const size_t M = s->M;
  double *phi = s->work, *w = s->work + M;
  apply_kn(s, s->N, s->g, phi, w); /* phi_0 = K^N g */
  for (size_t i = 0; i < M; i++)
    s->f[i] = phi[i] > 0.0 ? s->mu0[i] / phi[i] : 0.0;
  apply_kn(s, s->N, s->f, phi, w); /* phi_hat_N = K^N f */
  double e = 0.0;
  for (size_t i = 0; i < M; i++) {
    e += fabs(phi[i] * s->g[i] - s->mu1[i]);
    s->g[i] = phi[i] > 0.0 ? s->mu1[i] / phi[i] : 0.0;
  }
  for (size_t i = 0; i < M; i++)
    if (!isfinite(s->f[i]) || !isfinite(s->g[i]))
      DPM_ERROR(GSL_EBADFUNC, "grid IPF: potential not finite at cell %zu (widen the grid's range)", i);
  s->iters++;
  if (err) *err = e;
  return DPM_SUCCESS;
}

/* mean and covariance of cell masses p (sum Z) on the grid */
static void grid_moments(const dpm_bridge_grid *s, const double *p, double *mean, double *cov)
{
  const size_t dim = s->dim, G = s->G;
  double Z = 0.0, m[2] = {0, 0}, c[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < s->M; i++) {
    const double x0 = s->x[dim == 1 ? i : i / G], x1 = dim == 2 ? s->x[i % G] : 0.0;
    Z += p[i];
    m[0] += p[i] * x0;
    m[1] += p[i] * x1;
    c[0] += p[i] * x0 * x0;
    c[1] += p[i] * x0 * x1;
    c[3] += p[i] * x1 * x1;
  }
  for (size_t j = 0; j < 2; j++)
    m[j] /= Z;
  c[0] = c[0] / Z - m[0] * m[0];
  c[1] = c[1] / Z - m[0] * m[1];
  c[3] = c[3] / Z - m[1] * m[1];
  c[2] = c[1];
  if (mean) memcpy(mean, m, dim * sizeof *mean);
  if (cov) {
    if (dim == 1)
      cov[0] = c[0];
    else
      memcpy(cov, c, 4 * sizeof *cov);
  }
}

int dpm_bridge_grid_marginal(const dpm_bridge_grid *s, size_t k, double *p, double *mean, double *cov)
{
  if (!s) DPM_ERROR(GSL_EINVAL, "grid IPF: NULL problem");
  if (k > s->N) DPM_ERROR(GSL_EDOM, "grid IPF: time index %zu > N = %zu", k, s->N);
  const size_t M = s->M;
  double *w = dpm_malloc(4 * M * sizeof *w);
  if (!w) return GSL_ENOMEM;
  double *fh = w, *ph = w + M, *sc = w + 2 * M;
  apply_kn(s, k, s->f, fh, sc);
  apply_kn(s, s->N - k, s->g, ph, sc);
  double Z = 0.0;
  for (size_t i = 0; i < M; i++)
    Z += (fh[i] *= ph[i]);
  grid_moments(s, fh, mean, cov);
  if (p)
    for (size_t i = 0; i < M; i++)
      p[i] = fh[i] / Z;
  free(w);
  return DPM_SUCCESS;
}

int dpm_bridge_grid_cross_cov(const dpm_bridge_grid *s, double *C)
{
  if (!s || !C) DPM_ERROR(GSL_EINVAL, "grid IPF: NULL argument");
  const size_t M = s->M, dim = s->dim, G = s->G;
  double *w = dpm_malloc(4 * M * sizeof *w);
  if (!w) return GSL_ENOMEM;
  double *gx = w, *kg = w + M, *sc = w + 2 * M;
  double m0[2], m1[2], c[4];
  /* the end marginals' means: X_0 ~ f K^N g, X_1 ~ g K^N f */
  apply_kn(s, s->N, s->g, kg, sc);
  for (size_t i = 0; i < M; i++)
    gx[i] = s->f[i] * kg[i];
  grid_moments(s, gx, m0, NULL);
  double Z = 0.0;
  for (size_t i = 0; i < M; i++)
    Z += gx[i];
  apply_kn(s, s->N, s->f, kg, sc);
  for (size_t i = 0; i < M; i++)
    gx[i] = s->g[i] * kg[i];
  grid_moments(s, gx, m1, NULL);
  /* E[X_0,a X_1,b] = sum_i f_i x_a(i) (K^N (g x_b))_i / Z */
  for (size_t b = 0; b < dim; b++) {
    for (size_t i = 0; i < M; i++)
      gx[i] = s->g[i] * s->x[dim == 1 ? i : (b == 0 ? i / G : i % G)];
    apply_kn(s, s->N, gx, kg, sc);
    for (size_t a = 0; a < dim; a++) {
      double acc = 0.0;
      for (size_t i = 0; i < M; i++)
        acc += s->f[i] * s->x[dim == 1 ? i : (a == 0 ? i / G : i % G)] * kg[i];
      c[a * dim + b] = acc / Z - m0[a] * m1[b];
    }
  }
  memcpy(C, c, dim * dim * sizeof *C);
  free(w);
  return DPM_SUCCESS;
}

int dpm_bridge_grid_set_masses(dpm_bridge_grid *s, const double *mu0, const double *mu1)
{
  if (!s || !mu0 || !mu1) DPM_ERROR(GSL_EINVAL, "grid IPF: NULL argument");
  const size_t M = s->M;
  const double *in[2] = {mu0, mu1};
  for (int e = 0; e < 2; e++) {
    double sum = 0.0;
    for (size_t i = 0; i < M; i++) {
      if (!(isfinite(in[e][i]) && in[e][i] >= 0.0))
        DPM_ERROR(GSL_EDOM, "grid IPF: cell mass %zu of mu_%d is negative or not finite", i, e);
      sum += in[e][i];
    }
    if (!(sum > 0.0 && isfinite(sum))) DPM_ERROR(GSL_EDOM, "grid IPF: the cell masses of mu_%d sum to %g", e, sum);
  }
  for (int e = 0; e < 2; e++) {
    double sum = 0.0, *out = e ? s->mu1 : s->mu0;
    for (size_t i = 0; i < M; i++)
      sum += in[e][i];
    for (size_t i = 0; i < M; i++)
      out[i] = in[e][i] / sum;
  }
  for (size_t i = 0; i < M; i++)
    s->f[i] = s->g[i] = 1.0;
  s->iters = 0;
  return DPM_SUCCESS;
}

int dpm_bridge_grid_cond(const dpm_bridge_grid *s, size_t nt, const double *xt, double *mean, double *cov)
{
  if (!s || !xt || !mean || !cov) DPM_ERROR(GSL_EINVAL, "grid IPF conditional: NULL argument");
  if (!s->iters) DPM_ERROR(GSL_EINVAL, "grid IPF conditional: no iteration yet");
  const size_t M = s->M, dim = s->dim, G = s->G, nv = dim == 1 ? 3 : 6;
  /* h_alpha = K^(N-1) (g y^alpha): 1, y_1, (y_2,) y_1^2, (y_1 y_2, y_2^2) */
  double *h = dpm_malloc((nv + 3) * M * sizeof *h);
  if (!h) return GSL_ENOMEM;
  double *in = h + nv * M, *sc = in + M;
  for (size_t v = 0; v < nv; v++) {
    for (size_t c = 0; c < M; c++) {
      const double y0 = s->x[dim == 1 ? c : c / G], y1 = dim == 2 ? s->x[c % G] : 0.0;
      double m = 1.0;
      if (dim == 1)
        m = v == 0 ? 1.0 : v == 1 ? y0 : y0 * y0;
      else
        m = v == 0 ? 1.0 : v == 1 ? y0 : v == 2 ? y1 : v == 3 ? y0 * y0 : v == 4 ? y0 * y1 : y1 * y1;
      in[c] = s->g[c] * m;
    }
    apply_kn(s, s->N - 1, in, h + v * M, sc);
  }
  const double var = s->sigma2 / (double)s->N;
  int bad = 0;
  size_t badi = 0;
#pragma omp parallel num_threads(nt *M *nv > DPM_PAR_MIN_WORK ? dpm_omp_max_threads() : 1)
  {
    double *k = dpm_malloc(2 * G * sizeof *k);
    if (!k) {
#pragma omp atomic write
      bad = 1;
    }
#pragma omp for schedule(static)
    for (size_t i = 0; i < nt; i++) {
      if (!k) continue;
      const double *x = xt + i * dim;
      for (size_t a = 0; a < dim; a++)
        for (size_t j = 0; j < G; j++) {
          const double t = s->x[j] - x[a];
          k[a * G + j] = exp(-0.5 * t * t / var);
        }
      double acc[6] = {0, 0, 0, 0, 0, 0};
      for (size_t c = 0; c < M; c++) {
        const double w = dim == 1 ? k[c] : k[c / G] * k[G + c % G];
        if (w == 0.0) continue;
        for (size_t v = 0; v < nv; v++)
          acc[v] += w * h[v * M + c];
      }
      if (!(acc[0] > 0.0)) {
#pragma omp critical(dpm_bridge_grid_cond)
        if (!bad) {
          bad = 2;
          badi = i;
        }
        continue;
      }
      double *me = mean + i * dim, *co = cov + i * dim * dim;
      me[0] = acc[1] / acc[0];
      if (dim == 1)
        co[0] = acc[2] / acc[0] - me[0] * me[0];
      else {
        me[1] = acc[2] / acc[0];
        co[0] = acc[3] / acc[0] - me[0] * me[0];
        co[1] = co[2] = acc[4] / acc[0] - me[0] * me[1];
        co[3] = acc[5] / acc[0] - me[1] * me[1];
      }
    }
    free(k);
  }
  free(h);
  if (bad == 1) return GSL_ENOMEM;
  if (bad == 2)
    DPM_ERROR(GSL_EDOM, "grid IPF conditional: test point %zu is too far outside the grid [%g, %g]", badi, s->lo,
              s->hi);
  return DPM_SUCCESS;
}
