/* train.c — exact least-squares training of the linear score models by denoising score matching (Vincent 2011,
 * eq. 11; docs/MATH.md §4.4): the normal equations of the DSM loss at one noise level or jointly in t with the
 * weightings 1, s_t^2, g_t^2/2 (Song et al. 2021, eq. 7), solved by Cholesky; the JSON model file and its
 * denoiser. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <jansson.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"
#include "sm_internal.h"

enum { FIT_BLOCK = 1024, JOINT_BLOCK = 64 };

/* Solve (G + ridge I) X = Bm for the N x N symmetric G (full, row-major; overwritten by its Cholesky factor) and
 * the N x d right-hand side Bm (overwritten by X). GSL_EDOM when not positive definite. */
static int solve_normal(size_t N, size_t d, double *G, double *Bm, double ridge)
{
  for (size_t i = 0; i < N; i++)
    G[i * N + i] += ridge;
  if (!dpm_cholesky_lower(G, N))
    DPM_ERROR(GSL_EDOM,
              "least squares: the normal equations (%zu unknowns) are not positive definite; add a "
              "ridge or use fewer features",
              N);
  for (size_t c = 0; c < d; c++) {
    for (size_t i = 0; i < N; i++) { /* L y = b */
      double acc = Bm[i * d + c];
      for (size_t k = 0; k < i; k++)
        acc -= G[i * N + k] * Bm[k * d + c];
      Bm[i * d + c] = acc / G[i * N + i];
    }
    for (size_t i = N; i-- > 0;) { /* L^T x = y */
      double acc = Bm[i * d + c];
      for (size_t k = i + 1; k < N; k++)
        acc -= G[k * N + i] * Bm[k * d + c];
      Bm[i * d + c] = acc / G[i * N + i];
    }
  }
  return DPM_SUCCESS;
}

static int fit_checks(const dpm_sm_linear *L, const dpm_mixture *mix, size_t M, double ridge)
{
  if (!L || !mix) DPM_ERROR(GSL_EINVAL, "linear score fit: NULL model or data");
  if (L->d != mix->d)
    DPM_ERROR(GSL_EBADLEN, "linear score fit: model dimension %zu != data dimension %zu", L->d, mix->d);
  if (M < 2) DPM_ERROR(GSL_EINVAL, "linear score fit: need at least 2 draws (got %zu)", M);
  if (!(isfinite(ridge) && ridge >= 0.0)) DPM_ERROR(GSL_EDOM, "linear score fit: ridge %g must be >= 0", ridge);
  return DPM_SUCCESS;
}

int dpm_sm_linear_fit_level(dpm_sm_linear *L, const dpm_mixture *mix, double m, double s, dpm_sm_target target,
                            size_t M, uint64_t seed, double ridge, double *resid)
{
  int st = fit_checks(L, mix, M, ridge);
  if (st) return st;
  if (!dpm_ms_ok(m, s))
    DPM_ERROR(GSL_EDOM, "linear score fit: need finite m > 0 and s > 0 (got m = %g, s = %g)", m, s);
  const size_t d = L->d, P = L->P, B = M < FIT_BLOCK ? M : FIT_BLOCK;
  double *G = dpm_calloc(P * P + P * d + B * (P + 3 * d), sizeof *G);
  dpm_oracle *o = target == DPM_SM_TARGET_ORACLE ? dpm_oracle_alloc(mix) : NULL;
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  st = (G && sw && r && (o || target != DPM_SM_TARGET_ORACLE)) ? DPM_SUCCESS : GSL_ENOMEM;
  double *Bm = G + P * P, *phi = Bm + P * d, *x = phi + B * P, *eps = x + B * d, *tgt = eps + B * d, t2 = 0.0;
  for (size_t b = 0, done = 0; !st && done < M; b++) {
    const size_t n = M - done < B ? M - done : B;
    dpm_rng_stream_set(r, seed, b);
    st = dpm_mixture_sample_t(mix, sw, r, m, s, n, x, NULL, eps);
    if (!st && o) {
      dpm_oracle_result res = {.eps = tgt};
      st = dpm_oracle_eval(o, m, s, n, x, &res);
    } else if (!st)
      memcpy(tgt, eps, n * d * sizeof *tgt);
    if (!st) st = dpm_sm_linear_features(L, m, s, n, x, phi, NULL);
    if (st) break;
    gsl_matrix_view Ph = gsl_matrix_view_array(phi, n, P), Tg = gsl_matrix_view_array(tgt, n, d);
    gsl_matrix_view Gv = gsl_matrix_view_array(G, P, P), Bv = gsl_matrix_view_array(Bm, P, d);
    gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &Ph.matrix, 1.0, &Gv.matrix);
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Ph.matrix, &Tg.matrix, 1.0, &Bv.matrix);
    t2 += dpm_norm2(tgt, n * d);
    done += n;
  }
  if (!st) {
    for (size_t i = 0; i < P; i++)
      for (size_t j = 0; j <= i; j++)
        G[j * P + i] = G[i * P + j] /= (double)M;
    for (size_t i = 0; i < P * d; i++)
      Bm[i] /= (double)M;
    t2 /= (double)M;
    /* residual (1/M) sum |Phi theta - t|^2 = t2 - 2 tr(theta^T B) + tr(theta^T G theta), from G and B before the
     * solve overwrites them */
    double *Gc = resid ? dpm_malloc((P * P + P * d) * sizeof *Gc) : NULL;
    if (Gc) memcpy(Gc, G, (P * P + P * d) * sizeof *Gc);
    st = solve_normal(P, d, G, Bm, ridge);
    if (!st) {
      for (size_t k = 0; k < L->L; k++)
        memcpy(L->theta + k * P * d, Bm, P * d * sizeof *Bm);
      if (resid && Gc) {
        double acc = t2;
        for (size_t c = 0; c < d; c++)
          for (size_t i = 0; i < P; i++) {
            double gt = 0.0;
            for (size_t j = 0; j < P; j++)
              gt += Gc[i * P + j] * Bm[j * d + c];
            acc += Bm[i * d + c] * (gt - 2.0 * Gc[P * P + i * d + c]);
          }
        *resid = fmax(acc, 0.0) / (double)d;
      } else if (resid)
        *resid = NAN;
    }
    free(Gc);
  }
  if (st) dpm_error_context("linear score fit at m = %g, s = %g", m, s);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  dpm_oracle_free(o);
  free(G);
  return st;
}

int dpm_sm_linear_fit_joint(dpm_sm_linear *L, const dpm_mixture *mix, const dpm_process *p, dpm_sm_weighting w,
                            double t0, double t1, size_t n, uint64_t seed, double ridge)
{
  int st = fit_checks(L, mix, n, ridge);
  if (st) return st;
  if (!p) DPM_ERROR(GSL_EINVAL, "linear score fit: NULL process");
  if (!(t0 > 0.0 && t1 > t0 && t1 <= p->t_max))
    DPM_ERROR(GSL_EDOM, "linear score fit: need 0 < t0 < t1 <= t_max = %g (got %g, %g)", p->t_max, t0, t1);
  const size_t d = L->d, P = L->P, K = L->L, N = K * P, nb = (n + JOINT_BLOCK - 1) / JOINT_BLOCK;
  double *G = dpm_calloc(N * N + N * d + P * P + P * d + JOINT_BLOCK * (P + 2 * d), sizeof *G);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  st = (G && sw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  double *Bm = G + N * N, *g = Bm + N * d, *bb = g + P * P, *phi = bb + P * d, *x = phi + JOINT_BLOCK * P,
         *eps = x + JOINT_BLOCK * d, wsum = 0.0;
  for (size_t b = 0; !st && b < nb; b++) {
    const size_t nn = b + 1 < nb ? JOINT_BLOCK : n - b * JOINT_BLOCK;
    dpm_rng_stream_set(r, seed, b);
    const double t = t0 + ((double)b + gsl_rng_uniform(r)) * (t1 - t0) / (double)nb;
    double m, s;
    if ((st = dpm_process_ms(p, t, &m, &s))) break;
    const double lam = dpm_sm_weighting_eval(w, p, t);
    if (!isfinite(lam) || !dpm_ms_ok(m, s)) {
      st = DPM_RAISE(GSL_EDOM, "linear score fit: weight or (m, s) not finite at t = %g", t);
      break;
    }
    if ((st = dpm_mixture_sample_t(mix, sw, r, m, s, nn, x, NULL, eps))) break;
    if ((st = dpm_sm_linear_features(L, m, s, nn, x, phi, NULL))) break;
    memset(g, 0, (P * P + P * d) * sizeof *g);
    gsl_matrix_view Ph = gsl_matrix_view_array(phi, nn, P), E = gsl_matrix_view_array(eps, nn, d);
    gsl_matrix_view Gv = gsl_matrix_view_array(g, P, P), Bv = gsl_matrix_view_array(bb, P, d);
    gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &Ph.matrix, 0.0, &Gv.matrix);
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &Ph.matrix, &E.matrix, 0.0, &Bv.matrix);
    const double wt = lam / (s * s); /* lambda |s_theta + eps/s|^2 = (lambda/s^2) |eps_theta - eps|^2 */
    wsum += wt * (double)nn;
    size_t k0;
    double a;
    dpm_sm_linear_hat(L, log(m / s), &k0, &a);
    const double h[2] = {1.0 - a, a};
    for (int u = 0; u < 2; u++) {
      if (h[u] == 0.0 || k0 + (size_t)u >= K) continue;
      const size_t ku = k0 + (size_t)u;
      for (size_t i = 0; i < P; i++)
        for (size_t c = 0; c < d; c++)
          Bm[(ku * P + i) * d + c] += wt * h[u] * bb[i * d + c];
      for (int v = 0; v < 2; v++) {
        if (h[v] == 0.0 || k0 + (size_t)v >= K) continue;
        const size_t kv = k0 + (size_t)v;
        for (size_t i = 0; i < P; i++)
          for (size_t j = 0; j <= i; j++) {
            const double gij = g[i * P + j] * wt * h[u] * h[v];
            G[(ku * P + i) * N + kv * P + j] += gij;
            if (j < i) G[(ku * P + j) * N + kv * P + i] += gij;
          }
      }
    }
  }
  if (!st) {
    for (size_t i = 0; i < N * N; i++)
      G[i] /= (double)n;
    for (size_t i = 0; i < N * d; i++)
      Bm[i] /= (double)n;
    /* the ridge in the same units as the data term: relative to the mean weight */
    st = solve_normal(N, d, G, Bm, ridge * wsum / (double)n);
    if (!st) memcpy(L->theta, Bm, N * d * sizeof *Bm);
  }
  if (st) dpm_error_context("linear score fit on t in [%g, %g]", t0, t1);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  free(G);
  return st;
}

/* ---- the model file -------------------------------------------------------------------------------------------
 */

static void put_list(FILE *fp, const double *v, size_t n)
{
  fputc('[', fp);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, i ? ", %.17g" : "%.17g", v[i]);
  fputc(']', fp);
}

int dpm_sm_linear_write(const dpm_sm_linear *L, const char *process, const char *weighting, FILE *fp)
{
  if (!L || !fp) DPM_ERROR(GSL_EINVAL, "write linear score model: NULL argument");
  for (size_t i = 0; i < L->L * L->P * L->d; i++)
    if (!isfinite(L->theta[i])) DPM_ERROR(GSL_EBADFUNC, "write linear score model: coefficient %zu not finite", i);
  fprintf(fp, "{\n  \"format\": \"dpmlab-linear-score\",\n  \"version\": 1,\n  \"d\": %zu,\n", L->d);
  fprintf(fp, "  \"basis\": \"%s\",\n  \"size\": %zu,\n  \"ell\": %.17g,\n  \"seed\": %llu,\n",
          dpm_sm_basis_name(L->kind), L->size, L->ell, (unsigned long long)L->seed);
  if (process) fprintf(fp, "  \"process\": \"%s\",\n", process);
  if (weighting) fprintf(fp, "  \"weighting\": \"%s\",\n", weighting);
  fputs("  \"mean\": ", fp);
  put_list(fp, L->mu_bar, L->d);
  fprintf(fp, ",\n  \"var\": %.17g,\n  \"knots\": ", L->v_bar);
  put_list(fp, L->knots, L->L);
  fprintf(fp, ",\n  \"features\": %zu,\n  \"theta\": [", L->P);
  for (size_t k = 0; k < L->L; k++)
    for (size_t j = 0; j < L->P; j++) {
      fputs(k + j ? ",\n    " : "\n    ", fp);
      put_list(fp, L->theta + (k * L->P + j) * L->d, L->d);
    }
  fputs("\n  ]\n}\n", fp);
  return ferror(fp) ? DPM_RAISE(GSL_EFAILED, "write linear score model: write failed") : DPM_SUCCESS;
}

static int get_num(json_t *root, const char *key, double *v, const char *path)
{
  json_t *j = json_object_get(root, key);
  if (!json_is_number(j)) DPM_ERROR(GSL_EINVAL, "%s: field \"%s\" missing or not a number", path, key);
  *v = json_number_value(j);
  if (!isfinite(*v)) DPM_ERROR(GSL_EBADFUNC, "%s: field \"%s\" not finite", path, key);
  return DPM_SUCCESS;
}

static int get_list(json_t *a, size_t n, double *v, const char *path, const char *what)
{
  if (!json_is_array(a) || json_array_size(a) != n)
    DPM_ERROR(GSL_EINVAL, "%s: \"%s\" must be a list of %zu numbers", path, what, n);
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(a, i);
    if (!json_is_number(e) || !isfinite(json_number_value(e)))
      DPM_ERROR(GSL_EINVAL, "%s: \"%s\" entry %zu is not a finite number", path, what, i);
    v[i] = json_number_value(e);
  }
  return DPM_SUCCESS;
}

dpm_sm_linear *dpm_sm_linear_read(const char *path)
{
  if (!path) DPM_ERROR_NULL(GSL_EINVAL, "linear score model: no file given");
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (!root) DPM_ERROR_NULL(GSL_EFAILED, "%s:%d: %s", path, err.line, err.text);
  dpm_sm_linear *L = NULL;
  double *buf = NULL;
  int st = DPM_SUCCESS;
  const char *fmt = json_string_value(json_object_get(root, "format"));
  const char *basis = json_string_value(json_object_get(root, "basis"));
  double dd, size, ell, seed, var, P;
  dpm_sm_basis_kind kind = DPM_SM_BASIS_POLY;
  if (!fmt || strcmp(fmt, "dpmlab-linear-score") != 0)
    st = DPM_RAISE(GSL_EINVAL, "%s: not a dpmlab linear score model (\"format\")", path);
  else if ((st = get_num(root, "d", &dd, path)) || (st = get_num(root, "size", &size, path)) ||
           (st = get_num(root, "ell", &ell, path)) || (st = get_num(root, "seed", &seed, path)) ||
           (st = get_num(root, "var", &var, path)) || (st = get_num(root, "features", &P, path)))
    ;
  else if (!(dd >= 1 && dd <= 4096 && dd == floor(dd) && size >= 0 && size == floor(size) && seed >= 0))
    st = DPM_RAISE(GSL_EINVAL, "%s: bad \"d\", \"size\" or \"seed\"", path);
  else if (!basis || dpm_sm_basis_parse(basis, &kind))
    st = DPM_RAISE(GSL_EINVAL, "%s: unknown \"basis\" %s", path, basis ? basis : "(missing)");
  json_t *kn = json_object_get(root, "knots"), *th = json_object_get(root, "theta");
  const size_t d = (size_t)dd, nk = json_is_array(kn) ? json_array_size(kn) : 0;
  if (!st && nk == 0) st = DPM_RAISE(GSL_EINVAL, "%s: \"knots\" must be a non-empty list", path);
  if (!st && !(buf = dpm_malloc((d + nk) * sizeof *buf))) st = GSL_ENOMEM;
  if (!st && !(st = get_list(json_object_get(root, "mean"), d, buf, path, "mean")) &&
      !(st = get_list(kn, nk, buf + d, path, "knots"))) {
    if (!(L = dpm_sm_linear_alloc(kind, (size_t)size, ell, (uint64_t)seed, d, buf, var, nk, buf + d)))
      st = GSL_EINVAL;
    else if ((double)L->P != P)
      st = DPM_RAISE(GSL_EINVAL, "%s: \"features\" = %g but the basis has %zu", path, P, L->P);
    else if (!json_is_array(th) || json_array_size(th) != nk * L->P)
      st = DPM_RAISE(GSL_EINVAL, "%s: \"theta\" must hold %zu rows (knots x features)", path, nk * L->P);
    else
      for (size_t i = 0; i < nk * L->P && !st; i++) {
        char what[32];
        snprintf(what, sizeof what, "theta[%zu]", i);
        st = get_list(json_array_get(th, i), d, L->theta + i * d, path, what);
      }
  }
  free(buf);
  json_decref(root);
  if (st) {
    dpm_sm_linear_free(L);
    return NULL;
  }
  return L;
}

dpm_denoiser *dpm_sm_denoiser_load(const char *path, size_t d)
{
  dpm_sm_linear *L = dpm_sm_linear_read(path);
  if (!L) return NULL;
  if (L->d != d) {
    dpm_errorf(__FILE__, __LINE__, GSL_EBADLEN, "model file %s: dimension %zu != data dimension %zu", path, L->d,
               d);
    dpm_sm_linear_free(L);
    return NULL;
  }
  dpm_sm_model *md = dpm_sm_linear_model_make(L, 1);
  if (!md) return NULL; /* the model's alloc freed L through the type */
  dpm_denoiser *dn = dpm_sm_model_denoiser_alloc(md, 1);
  if (!dn) dpm_sm_model_free(md);
  return dn;
}
