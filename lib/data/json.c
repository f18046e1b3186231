/* data_json.c — Gaussian-mixture files q_0 = sum_k w_k N(mu_k, Sigma_k) in JSON (docs/MATH.md §2), read with
 * jansson and validated field by field, written back with %.17g so that load(write(m)) reproduces m bit for
 * bit. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dpm_common.h"
#include "dpm_data.h"

static const char *const allowed_keys = "weights, means, covariances, labels";

/* Pass up the error a setter just raised, its reason prefixed with the file name (the setter raised it). */
static int with_file(const char *what, int status)
{
  dpm_error_context("%s", what);
  return status;
}

/* A JSON number (integer or real) as a double, or an error naming the place (printf-style `where`). */
static int get_number(const json_t *v, double *out, const char *what, const char *where)
{
  if (json_is_integer(v))
    *out = (double)json_integer_value(v);
  else if (json_is_real(v))
    *out = json_real_value(v);
  else
    DPM_ERROR(GSL_EINVAL, "%s: %s: expected a number", what, where);
  if (!isfinite(*out)) DPM_ERROR(GSL_EBADFUNC, "%s: %s: number is not finite", what, where);
  return DPM_SUCCESS;
}

/* Fill v[0..n-1] from a JSON list of exactly n numbers; `where` names the list ("means[2]"). */
static int get_vector(const json_t *a, size_t n, double *v, const char *what, const char *where)
{
  if (!json_is_array(a)) DPM_ERROR(GSL_EINVAL, "%s: %s: expected a list of %zu numbers", what, where, n);
  if (json_array_size(a) != n)
    DPM_ERROR(GSL_EBADLEN, "%s: %s: expected %zu numbers, got %zu", what, where, n, json_array_size(a));
  char place[160];
  for (size_t i = 0; i < n; i++) {
    snprintf(place, sizeof place, "%s[%zu]", where, i);
    int st = get_number(json_array_get(a, i), v + i, what, place);
    if (st) return st;
  }
  return DPM_SUCCESS;
}

static int parse_means(dpm_mixture **out, const json_t *means, const char *what)
{
  if (!means) DPM_ERROR(GSL_EINVAL, "%s: missing \"means\" (a list of points)", what);
  if (!json_is_array(means) || json_array_size(means) == 0)
    DPM_ERROR(GSL_EINVAL, "%s: means: expected a non-empty list of points", what);
  size_t K = json_array_size(means);
  const json_t *m0 = json_array_get(means, 0);
  if (!json_is_array(m0) || json_array_size(m0) == 0)
    DPM_ERROR(GSL_EINVAL, "%s: means[0]: expected a non-empty list of numbers", what);
  size_t d = json_array_size(m0);
  for (size_t k = 1; k < K; k++) {
    const json_t *mk = json_array_get(means, k);
    if (json_is_array(mk) && json_array_size(mk) != d)
      DPM_ERROR(GSL_EBADLEN, "%s: means[%zu]: has %zu coordinates but means[0] has %zu", what, k,
                json_array_size(mk), d);
  }
  dpm_mixture *mix = dpm_mixture_alloc(K, d);
  if (!mix) return GSL_ENOMEM;
  char where[64];
  for (size_t k = 0; k < K; k++) {
    snprintf(where, sizeof where, "means[%zu]", k);
    int st = get_vector(json_array_get(means, k), d, mix->mu + k * d, what, where);
    if (st) {
      dpm_mixture_free(mix);
      return st;
    }
  }
  *out = mix;
  return DPM_SUCCESS;
}

/* The optional per-component lists (weights, covariances, labels) hold one entry per mean. */
static int check_list(const json_t *a, size_t K, const char *key, const char *items, const char *what)
{
  if (!json_is_array(a))
    DPM_ERROR(GSL_EINVAL, "%s: %s: expected a list of %zu %s (one per mean)", what, key, K, items);
  if (json_array_size(a) != K)
    DPM_ERROR(GSL_EBADLEN, "%s: %s: expected a list of %zu %s (one per mean), got %zu", what, key, K, items,
              json_array_size(a));
  return DPM_SUCCESS;
}

static int parse_weights(dpm_mixture *mix, const json_t *weights, const char *what)
{
  int st = check_list(weights, mix->K, "weights", "numbers", what);
  if (st) return st;
  double *w = dpm_malloc(mix->K * sizeof *w);
  if (!w) return GSL_ENOMEM;
  st = get_vector(weights, mix->K, w, what, "weights");
  if (!st && (st = dpm_mixture_set_weights(mix, w)) != 0) st = with_file(what, st);
  free(w);
  return st;
}

/* One covariance: a number (0: point mass, > 0: isotropic), a list of d variances, or a d x d matrix. */
static int parse_cov(dpm_mixture *mix, size_t k, const json_t *c, double *work, const char *what)
{
  size_t d = mix->d;
  char where[96];
  snprintf(where, sizeof where, "covariances[%zu]", k);
  int st;
  if (json_is_number(c)) {
    double v;
    if ((st = get_number(c, &v, what, where)) != 0) return st;
    if (v == 0) return dpm_mixture_set_zero(mix, k);
    if (!(v > 0))
      DPM_ERROR(GSL_EDOM, "%s: %s: variance %.17g must be positive (or 0 for a point mass)", what, where, v);
    st = dpm_mixture_set_iso(mix, k, v);
  } else if (json_is_array(c) && json_array_size(c) == d && json_is_number(json_array_get(c, 0))) {
    if ((st = get_vector(c, d, work, what, where)) != 0) return st;
    st = dpm_mixture_set_diag(mix, k, work);
  } else if (json_is_array(c) && json_array_size(c) == d && json_is_array(json_array_get(c, 0))) {
    char row[128];
    for (size_t i = 0; i < d; i++) {
      snprintf(row, sizeof row, "%s[%zu]", where, i);
      if ((st = get_vector(json_array_get(c, i), d, work + i * d, what, row)) != 0) return st;
    }
    st = dpm_mixture_set_full(mix, k, work);
  } else {
    DPM_ERROR(GSL_EBADLEN, "%s: %s: expected a number, a list of %zu variances or a %zu x %zu matrix", what, where,
              d, d, d);
  }
  return st ? with_file(what, st) : DPM_SUCCESS;
}

static int parse_covariances(dpm_mixture *mix, const json_t *covs, const char *what)
{
  int st = check_list(covs, mix->K, "covariances", "entries", what);
  if (st) return st;
  double *work = dpm_malloc(mix->d * mix->d * sizeof *work);
  if (!work) return GSL_ENOMEM;
  for (size_t k = 0; k < mix->K && !st; k++)
    st = parse_cov(mix, k, json_array_get(covs, k), work, what);
  free(work);
  return st;
}

static int parse_labels(dpm_mixture *mix, const json_t *labels, const char *what)
{
  int st = check_list(labels, mix->K, "labels", "integers", what);
  if (st) return st;
  int *lab = dpm_malloc(mix->K * sizeof *lab);
  if (!lab) return GSL_ENOMEM;
  for (size_t k = 0; k < mix->K; k++) {
    const json_t *v = json_array_get(labels, k);
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
    if (x < 0 || x >= INT_MAX) {
      free(lab);
      DPM_ERROR(GSL_EINVAL, "%s: labels[%zu]: expected an integer in [0, %d)", what, k, INT_MAX);
    }
    lab[k] = (int)x;
  }
  st = dpm_mixture_set_labels(mix, lab);
  free(lab);
  return st ? with_file(what, st) : DPM_SUCCESS;
}

static dpm_mixture *parse_root(const json_t *root, const char *what)
{
  if (!json_is_object(root))
    DPM_ERROR_NULL(GSL_EINVAL, "%s: top level must be an object with keys %s", what, allowed_keys);
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)root, key, val)
  {
    if (strcmp(key, "weights") && strcmp(key, "means") && strcmp(key, "covariances") && strcmp(key, "labels"))
      DPM_ERROR_NULL(GSL_EINVAL, "%s: unknown key \"%s\" (allowed: %s)", what, key, allowed_keys);
  }
  dpm_mixture *mix = NULL;
  if (parse_means(&mix, json_object_get(root, "means"), what)) return NULL;
  const json_t *w = json_object_get(root, "weights"), *c = json_object_get(root, "covariances"),
               *l = json_object_get(root, "labels");
  if ((w && parse_weights(mix, w, what)) || (c && parse_covariances(mix, c, what)) ||
      (l && parse_labels(mix, l, what))) {
    dpm_mixture_free(mix);
    return NULL;
  }
  snprintf(mix->name, sizeof mix->name, "%s", what);
  return mix;
}

static dpm_mixture *load_fail(const char *what, const json_error_t *err)
{
  if (err->line >= 1) DPM_ERROR_NULL(GSL_EINVAL, "%s:%d:%d: %s", what, err->line, err->column, err->text);
  DPM_ERROR_NULL(GSL_EFAILED, "%s: %s", what, err->text);
}

dpm_mixture *dpm_data_load_json(const char *path)
{
  if (!path) DPM_ERROR_NULL(GSL_EINVAL, "no mixture file given");
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (!root) return load_fail(path, &err);
  dpm_mixture *mix = parse_root(root, path);
  json_decref(root);
  return mix;
}

dpm_mixture *dpm_data_load_json_string(const char *text, const char *what)
{
  if (!what) what = "<string>";
  if (!text) DPM_ERROR_NULL(GSL_EINVAL, "%s: no text given", what);
  json_error_t err;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  if (!root) return load_fail(what, &err);
  dpm_mixture *mix = parse_root(root, what);
  json_decref(root);
  return mix;
}

/* ---- writing ------------------------------------------------------------------------------------------- */

/* %.17g reads back as the same double; -0 is written "-0.0" because a JSON parser reads "-0" as the integer 0. */
static void put_num(FILE *fp, double x)
{
  if (x == 0 && signbit(x))
    fputs("-0.0", fp);
  else
    fprintf(fp, "%.17g", x);
}

static void put_list(FILE *fp, const double *v, size_t n)
{
  fputc('[', fp);
  for (size_t i = 0; i < n; i++) {
    if (i) fputs(", ", fp);
    put_num(fp, v[i]);
  }
  fputc(']', fp);
}

int dpm_data_write_json(const dpm_mixture *mix, FILE *fp)
{
  if (!mix || !fp) DPM_ERROR(GSL_EINVAL, "write mixture: NULL %s", mix ? "stream" : "mixture");
  size_t K = mix->K, d = mix->d;
  for (size_t i = 0; i < K * d; i++)
    if (!isfinite(mix->mu[i]) || !isfinite(mix->lambda[i]))
      DPM_ERROR(GSL_EBADFUNC, "write mixture: component %zu has a non-finite mean or variance", i / d);
  fputs("{\n  \"weights\": ", fp);
  put_list(fp, mix->w, K);
  fputs(",\n  \"means\": [", fp);
  for (size_t k = 0; k < K; k++) {
    fputs(k ? ",\n    " : "\n    ", fp);
    put_list(fp, mix->mu + k * d, d);
  }
  fputs("\n  ]", fp);
  if (!dpm_mixture_is_pointset(mix)) {
    fputs(",\n  \"covariances\": [", fp);
    for (size_t k = 0; k < K; k++) {
      fputs(k ? ",\n    " : "\n    ", fp);
      const double *lam = mix->lambda + k * d;
      switch (mix->kind[k]) {
      case DPM_COV_ZERO:
        fputc('0', fp);
        break;
      case DPM_COV_ISO:
        put_num(fp, lam[0]);
        break;
      case DPM_COV_DIAG:
        put_list(fp, lam, d);
        break;
      case DPM_COV_FULL:
        fputc('[', fp);
        for (size_t i = 0; i < d; i++) {
          if (i) fputs(", ", fp);
          put_list(fp, mix->Sigma + (k * d + i) * d, d);
        }
        fputc(']', fp);
        break;
      }
    }
    fputs("\n  ]", fp);
  }
  if (mix->labels) {
    fputs(",\n  \"labels\": [", fp);
    for (size_t k = 0; k < K; k++)
      fprintf(fp, "%s%d", k ? ", " : "", mix->labels[k]);
    fputc(']', fp);
  }
  fputs("\n}\n", fp);
  if (ferror(fp)) DPM_ERROR(GSL_EFAILED, "write mixture: write error");
  return DPM_SUCCESS;
}
