/* data_builtin.c — data specs "name[:key=value,...]" for the built-in toy sets of q_0 (docs/MATH.md §2: Gaussian
 * mixtures and finite point sets), plus dispatch of ".json" / ".csv" / ".npy" paths to the file loaders. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "dpm_common.h"
#include "dpm_data.h"
#include "dpm_rng.h"

#define MAX_POINTS  10000000UL  /* n of a point set */
#define MAX_DIM     1000000UL   /* d of gauss */
#define MAX_DOUBLES 100000000UL /* n d of a drawn point set (800 MB) */
#define PI          3.14159265358979323846

static const char *const help_text =
    "gmm1d[:sep=4,sd=0.5,w=0.3]     1-D bimodal mixture w N(-sep/2, sd^2) + (1-w) N(sep/2, sd^2); labels left 0, "
    "right 1\n"
    "ring8[:r=4,sd=0.2]             8 isotropic Gaussians, means r (cos 2 pi k/8, sin 2 pi k/8), equal weights; "
    "label k = 0..7\n"
    "grid25[:spacing=2,sd=0.1]      5 x 5 isotropic Gaussians on a grid centred at 0, equal weights; label 5 row "
    "+ column (0..24, row 0 lowest y, column 0 lowest x)\n"
    "swissroll[:n=1000,noise=0,seed=0]  2-D swiss roll point set: t ~ U(1.5 pi, 4.5 pi), (t cos t - 2, t sin t - "
    "2/(3 pi))/7 + noise N(0, I)\n"
    "moons[:n=1000,noise=0.05,seed=0]  two interleaved half circles (scikit-learn make_moons, shifted by (-0.5, "
    "-0.25) to be centred) + noise N(0, I); labels outer 0, inner 1\n"
    "checkerboard[:n=1000,seed=0]   n uniform points on the 8 black squares of a 4 x 4 board on [-2,2]^2 (the "
    "square [-2,-1]^2 is black)\n"
    "gauss[:d=2,sd=1]               N(0, sd^2 I) in R^d\n"
    "circle[:n=64,d=2,r=1]          n equally spaced points r (cos 2 pi i/n, sin 2 pi i/n, 0, ..., 0) on a circle "
    "in R^d (d 2..64)\n"
    "sphere[:n=256,k=2,d=3,r=1,seed=0]  n points uniform on the sphere S^k of radius r in the first k + 1 "
    "coordinates of R^d (k + 1 <= d <= 64)\n"
    "sample:of=SPEC[,n=1000,seed=0] n i.i.d. draws of the mixture SPEC as a point set (labels carried over); "
    "options n and seed belong to sample, every other option to SPEC\n"
    "FILE.json                      a mixture file {\"weights\", \"means\", \"covariances\", \"labels\"}\n"
    "FILE.csv                       a point set, one point per line\n"
    "FILE.npy                       a point set, a NumPy float64 array (K x d, C order)\n";

const char *dpm_data_builtin_help(void) { return help_text; }

/* ---- options ------------------------------------------------------------------------------------------- */

typedef enum {
  OPT_POS,    /* real > 0 */
  OPT_NONNEG, /* real >= 0 */
  OPT_UNIT,   /* real in (0, 1) */
  OPT_COUNT,  /* integer in [1, max] */
  OPT_SEED    /* unsigned 64-bit integer */
} opt_type;

typedef struct {
  const char *key;
  opt_type type;
  double def; /* default (real or count) */
  double max; /* OPT_COUNT: largest allowed */
  double val; /* parsed value */
  uint64_t u; /* OPT_SEED value */
  int seen;
} opt;

/* Parse one value into o, or raise an error naming the set and the option. */
static int parse_value(const char *set, opt *o, const char *v)
{
  char *end;
  if (!*v || isspace((unsigned char)*v)) DPM_ERROR(GSL_EINVAL, "%s: option '%s': empty value", set, o->key);
  if (o->type == OPT_SEED) {
    if (*v == '-' || *v == '+')
      DPM_ERROR(GSL_EINVAL, "%s: option '%s': malformed value '%s' (expected an unsigned integer)", set, o->key,
                v);
    errno = 0;
    unsigned long long u = strtoull(v, &end, 10);
    if (*end || end == v)
      DPM_ERROR(GSL_EINVAL, "%s: option '%s': malformed value '%s' (expected an unsigned integer)", set, o->key,
                v);
    if (errno == ERANGE)
      DPM_ERROR(GSL_EDOM, "%s: option '%s': value '%s' out of range (at most 2^64 - 1)", set, o->key, v);
    o->u = (uint64_t)u;
    return DPM_SUCCESS;
  }
  errno = 0;
  double x = strtod(v, &end);
  if (*end || end == v)
    DPM_ERROR(GSL_EINVAL, "%s: option '%s': malformed value '%s' (expected a number)", set, o->key, v);
  if (!isfinite(x) || errno == ERANGE)
    DPM_ERROR(GSL_EDOM, "%s: option '%s': value '%s' is not a finite number", set, o->key, v);
  switch (o->type) {
  case OPT_POS:
    if (!(x > 0)) DPM_ERROR(GSL_EDOM, "%s: option '%s' must be > 0 (got %s)", set, o->key, v);
    break;
  case OPT_NONNEG:
    if (!(x >= 0)) DPM_ERROR(GSL_EDOM, "%s: option '%s' must be >= 0 (got %s)", set, o->key, v);
    break;
  case OPT_UNIT:
    if (!(x > 0 && x < 1)) DPM_ERROR(GSL_EDOM, "%s: option '%s' must lie in (0, 1) (got %s)", set, o->key, v);
    break;
  case OPT_COUNT:
    if (x != floor(x)) DPM_ERROR(GSL_EINVAL, "%s: option '%s' must be an integer (got %s)", set, o->key, v);
    if (x < 1 || x > o->max)
      DPM_ERROR(GSL_EDOM, "%s: option '%s' must lie in [1, %.0f] (got %s)", set, o->key, o->max, v);
    break;
  default:
    break;
  }
  o->val = x;
  return DPM_SUCCESS;
}

static void option_list(const opt *opts, size_t nopt, char *buf, size_t cap)
{
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < nopt && len < cap; i++) {
    int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", opts[i].key);
    if (w < 0) break;
    len += (size_t)w;
  }
}

/* Split the option string `args` (modified in place: commas become NULs) into key=value tokens and parse each
 * into opts. Errors name the set and the option. */
static int parse_options(const char *set, char *args, opt *opts, size_t nopt)
{
  for (size_t i = 0; i < nopt; i++) {
    opts[i].val = opts[i].def;
    opts[i].u = 0;
    opts[i].seen = 0;
  }
  if (!args) return DPM_SUCCESS;
  char *tok = args;
  while (tok) {
    char *next = strchr(tok, ',');
    if (next) *next++ = '\0';
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok) {
      char names[256];
      option_list(opts, nopt, names, sizeof names);
      DPM_ERROR(GSL_EINVAL, "%s: malformed option '%s' (expected key=value; options: %s)", set, tok,
                nopt ? names : "none");
    }
    *eq = '\0';
    size_t i = 0;
    while (i < nopt && strcmp(opts[i].key, tok) != 0)
      i++;
    if (i == nopt) {
      char names[256];
      option_list(opts, nopt, names, sizeof names);
      DPM_ERROR(GSL_EINVAL, "%s: unknown option '%s' (options: %s)", set, tok, nopt ? names : "none");
    }
    if (opts[i].seen) DPM_ERROR(GSL_EINVAL, "%s: option '%s' given twice", set, tok);
    opts[i].seen = 1;
    int st = parse_value(set, &opts[i], eq + 1);
    if (st) return st;
    tok = next;
  }
  return DPM_SUCCESS;
}

/* ---- the sets ------------------------------------------------------------------------------------------ */

static dpm_mixture *make_gmm1d(const opt *o)
{
  double sep = o[0].val, sd = o[1].val, w = o[2].val;
  dpm_mixture *mix = dpm_mixture_alloc(2, 1);
  if (!mix) return NULL;
  double m0 = -0.5 * sep, m1 = 0.5 * sep, wt[2] = {w, 1.0 - w};
  int lab[2] = {0, 1};
  if (dpm_mixture_set_mean(mix, 0, &m0) || dpm_mixture_set_mean(mix, 1, &m1) ||
      dpm_mixture_set_iso(mix, 0, sd * sd) || dpm_mixture_set_iso(mix, 1, sd * sd) ||
      dpm_mixture_set_weights(mix, wt) || dpm_mixture_set_labels(mix, lab)) {
    dpm_mixture_free(mix);
    return NULL;
  }
  return mix;
}

/* An equal-weight mixture of isotropic Gaussians N(c_k, sd^2 I) in R^2, label k. */
static dpm_mixture *make_iso2(size_t K, const double *c, double sd)
{
  dpm_mixture *mix = dpm_mixture_alloc(K, 2);
  if (!mix) return NULL;
  int *lab = dpm_malloc(K * sizeof *lab);
  int bad = !lab;
  for (size_t k = 0; k < K && !bad; k++) {
    lab[k] = (int)k;
    bad = dpm_mixture_set_mean(mix, k, c + 2 * k) || dpm_mixture_set_iso(mix, k, sd * sd);
  }
  if (!bad) bad = dpm_mixture_set_labels(mix, lab);
  free(lab);
  if (bad) {
    dpm_mixture_free(mix);
    return NULL;
  }
  return mix;
}

static dpm_mixture *make_ring8(const opt *o)
{
  double r = o[0].val, c[16];
  for (int k = 0; k < 8; k++) {
    double th = 2.0 * PI * k / 8.0;
    c[2 * k] = r * cos(th);
    c[2 * k + 1] = r * sin(th);
  }
  return make_iso2(8, c, o[1].val);
}

static dpm_mixture *make_grid25(const opt *o)
{
  double h = o[0].val, c[50];
  for (int row = 0; row < 5; row++)
    for (int col = 0; col < 5; col++) {
      c[2 * (5 * row + col)] = h * (col - 2);
      c[2 * (5 * row + col) + 1] = h * (row - 2);
    }
  return make_iso2(25, c, o[1].val);
}

static dpm_mixture *make_gauss(const opt *o)
{
  size_t d = (size_t)o[0].val;
  dpm_mixture *mix = dpm_mixture_alloc(1, d);
  if (!mix) return NULL;
  if (dpm_mixture_set_iso(mix, 0, o[1].val * o[1].val)) {
    dpm_mixture_free(mix);
    return NULL;
  }
  return mix;
}

/* A point set of n points in R^2 drawn by fill(r, i, n, noise, xy, label) with the stream (seed, 0). */
typedef void (*point_fn)(gsl_rng *r, size_t i, size_t n, double noise, double *xy, int *label);

static dpm_mixture *make_points(size_t n, uint64_t seed, double noise, point_fn fill, int labelled)
{
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_mixture *mix = r ? dpm_mixture_alloc(n, 2) : NULL;
  int *lab = mix && labelled ? dpm_malloc(n * sizeof *lab) : NULL;
  if (!r || !mix || (labelled && !lab)) {
    if (!r) DPM_RAISE(GSL_ENOMEM, "out of memory (random stream)");
    gsl_rng_free(r);
    dpm_mixture_free(mix);
    free(lab);
    return NULL;
  }
  int dummy;
  for (size_t i = 0; i < n; i++)
    fill(r, i, n, noise, mix->mu + 2 * i, lab ? lab + i : &dummy);
  gsl_rng_free(r);
  if (lab && dpm_mixture_set_labels(mix, lab)) {
    dpm_mixture_free(mix);
    mix = NULL;
  }
  free(lab);
  return mix;
}

/* Point sets on low-dimensional manifolds embedded in R^d (Permenter & Yuan's manifold hypothesis, docs/MATH.md
 * §2.10): n points equally spaced on a circle of radius r in the first two coordinates, or n points uniform on
 * the sphere S^k of radius r (normalised N(0, I_{k+1}) draws, stream (seed, 0)) in the first k + 1 coordinates. */
static dpm_mixture *make_manifold(size_t n, size_t k, size_t d, double rad, uint64_t seed, int sphere)
{
  if (d > 64 || k + 1 > d)
    DPM_ERROR_NULL(GSL_EINVAL, "%s: needs %s <= d <= 64 (got k = %zu, d = %zu)", sphere ? "sphere" : "circle",
                   sphere ? "k + 1" : "2", k, d);
  gsl_rng *r = sphere ? dpm_rng_stream_alloc(seed, 0) : NULL;
  if (sphere && !r) DPM_ERROR_NULL(GSL_ENOMEM, "out of memory (random stream)");
  dpm_mixture *mix = dpm_mixture_alloc(n, d);
  if (mix)
    for (size_t i = 0; i < n; i++) {
      double *p = mix->mu + i * d;
      memset(p, 0, d * sizeof *p);
      if (sphere) {
        gsl_ran_dir_nd(r, k + 1, p);
      } else {
        p[0] = cos(2.0 * PI * (double)i / (double)n);
        p[1] = sin(2.0 * PI * (double)i / (double)n);
      }
      for (size_t j = 0; j <= k; j++)
        p[j] *= rad;
    }
  gsl_rng_free(r);
  return mix;
}

/* Swiss roll: t ~ U(1.5 pi, 4.5 pi), (t cos t, t sin t) centred by its exact mean (2, 2/(3 pi)) and divided by 7
 * (per-coordinate standard deviation about 0.95), then noise N(0, noise^2 I) in those units. */
static void fill_swissroll(gsl_rng *r, size_t i, size_t n, double noise, double *xy, int *label)
{
  (void)i;
  (void)n;
  (void)label;
  double t = 1.5 * PI * (1.0 + 2.0 * gsl_rng_uniform(r));
  xy[0] = (t * cos(t) - 2.0) / 7.0;
  xy[1] = (t * sin(t) - 2.0 / (3.0 * PI)) / 7.0;
  if (noise > 0) {
    xy[0] += noise * gsl_ran_gaussian_ziggurat(r, 1.0);
    xy[1] += noise * gsl_ran_gaussian_ziggurat(r, 1.0);
  }
}

/* Two moons as scikit-learn's make_moons: the first floor(n/2) points on the outer arc (cos th, sin th), the
 * rest on the inner arc (1 - cos th, 1 - sin th - 0.5), th evenly spaced on [0, pi] within each arc; shifted by
 * (-0.5, -0.25) so the set is centred; plus noise N(0, noise^2 I). */
static void fill_moons(gsl_rng *r, size_t i, size_t n, double noise, double *xy, int *label)
{
  size_t nout = n / 2, nin = n - nout;
  int inner = i >= nout;
  size_t j = inner ? i - nout : i, m = inner ? nin : nout;
  double th = m > 1 ? PI * (double)j / (double)(m - 1) : 0.0;
  if (!inner) {
    xy[0] = cos(th) - 0.5;
    xy[1] = sin(th) - 0.25;
  } else {
    xy[0] = 1.0 - cos(th) - 0.5;
    xy[1] = 1.0 - sin(th) - 0.5 - 0.25;
  }
  *label = inner;
  if (noise > 0) {
    xy[0] += noise * gsl_ran_gaussian_ziggurat(r, 1.0);
    xy[1] += noise * gsl_ran_gaussian_ziggurat(r, 1.0);
  }
}

/* Checkerboard: a black square chosen uniformly among the 8 with (column + row) even (column, row = 0..3 from
 * the lower left, square [c - 2, c - 1] x [r - 2, r - 1]), then a uniform point inside it. */
static void fill_checkerboard(gsl_rng *r, size_t i, size_t n, double noise, double *xy, int *label)
{
  (void)i;
  (void)n;
  (void)noise;
  (void)label;
  unsigned long sq = gsl_rng_uniform_int(r, 8); /* row = sq / 2, column = 2 (sq % 2) + (row % 2) */
  unsigned long row = sq / 2, col = 2 * (sq % 2) + (row % 2);
  xy[0] = (double)col - 2.0 + gsl_rng_uniform(r);
  xy[1] = (double)row - 2.0 + gsl_rng_uniform(r);
}

/* n i.i.d. draws of the mixture `inner` as a point set; component labels carried over. */
static dpm_mixture *make_sample(const char *inner, size_t n, uint64_t seed)
{
  dpm_mixture *src = dpm_data_from_spec(inner);
  if (!src) {
    dpm_error_context("sample: of=%s", inner);
    return NULL;
  }
  if (n > MAX_DOUBLES / src->d) {
    DPM_RAISE(GSL_EDOM, "sample: option 'n': %zu points in R^%zu is too large (n d at most %lu)", n, src->d,
              MAX_DOUBLES);
    dpm_mixture_free(src);
    return NULL;
  }
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  dpm_mixture *mix = r ? dpm_mixture_alloc(n, src->d) : NULL;
  size_t *comp = mix ? dpm_malloc(n * sizeof *comp) : NULL;
  int *lab = comp && src->labels ? dpm_malloc(n * sizeof *lab) : NULL;
  dpm_mixture_sample_workspace *smp = comp ? dpm_mixture_sample_alloc(src) : NULL;
  int bad = !r || !mix || !comp || (src->labels && !lab) || !smp;
  if (!r) DPM_RAISE(GSL_ENOMEM, "out of memory (random stream)");
  if (!bad) bad = dpm_mixture_sample(src, smp, r, n, mix->mu, comp);
  dpm_mixture_sample_free(smp);
  if (!bad) {
    if (lab) {
      for (size_t i = 0; i < n; i++)
        lab[i] = src->labels[comp[i]];
      bad = dpm_mixture_set_labels(mix, lab);
    }
  }
  gsl_rng_free(r);
  free(comp);
  free(lab);
  dpm_mixture_free(src);
  if (bad) {
    dpm_mixture_free(mix);
    return NULL;
  }
  return mix;
}

/* ---- dispatch ------------------------------------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  if (n < m) return 0;
  for (size_t i = 0; i < m; i++)
    if (tolower((unsigned char)s[n - m + i]) != suffix[i]) return 0;
  return 1;
}

static const char *const known =
    "gmm1d, ring8, grid25, swissroll, moons, checkerboard, gauss, circle, sphere, sample";
static const char *const known_names[] = {"gmm1d",        "ring8", "grid25", "swissroll", "moons",
                                          "checkerboard", "gauss", "circle", "sphere",    "sample"};

/* 1 when spec reads "NAME:..." with NAME a built-in set (so "sample:of=x.json" is not taken for a file). */
static int has_builtin_prefix(const char *spec)
{
  const char *colon = strchr(spec, ':');
  if (!colon) return 0;
  size_t len = (size_t)(colon - spec);
  for (size_t i = 0; i < sizeof known_names / sizeof known_names[0]; i++)
    if (strlen(known_names[i]) == len && strncmp(spec, known_names[i], len) == 0) return 1;
  return 0;
}

/* The option string of sample: the tokens n= and seed= are sample's; every other token, re-joined with commas
 * in order, is the inner spec and must start with "of=". Writes the inner spec into `inner`, sample's own
 * options into `own` (both of the size of args). */
static int split_sample(char *args, char *inner, char *own)
{
  size_t li = 0, lo = 0;
  inner[0] = own[0] = '\0';
  char *tok = args;
  while (tok) {
    char *next = strchr(tok, ',');
    if (next) *next++ = '\0';
    int mine = strncmp(tok, "n=", 2) == 0 || strncmp(tok, "seed=", 5) == 0;
    char *dst = mine ? own : inner;
    size_t *len = mine ? &lo : &li;
    if (*len) dst[(*len)++] = ',';
    size_t tl = strlen(tok);
    memcpy(dst + *len, tok, tl + 1);
    *len += tl;
    tok = next;
  }
  if (strncmp(inner, "of=", 3) != 0)
    DPM_ERROR(GSL_EINVAL, "sample: the option 'of=SPEC' must come first (got '%s')", inner[0] ? inner : "nothing");
  memmove(inner, inner + 3, strlen(inner + 3) + 1);
  if (!inner[0]) DPM_ERROR(GSL_EINVAL, "sample: option 'of': empty value");
  return DPM_SUCCESS;
}

static dpm_mixture *from_builtin(char *name, char *args)
{
  dpm_mixture *mix = NULL;
  if (strcmp(name, "gmm1d") == 0) {
    opt o[] = {
        {"sep", OPT_NONNEG, 4.0, 0, 0, 0, 0}, {"sd", OPT_POS, 0.5, 0, 0, 0, 0}, {"w", OPT_UNIT, 0.3, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 3) == 0) mix = make_gmm1d(o);
  } else if (strcmp(name, "ring8") == 0) {
    opt o[] = {{"r", OPT_NONNEG, 4.0, 0, 0, 0, 0}, {"sd", OPT_POS, 0.2, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 2) == 0) mix = make_ring8(o);
  } else if (strcmp(name, "grid25") == 0) {
    opt o[] = {{"spacing", OPT_NONNEG, 2.0, 0, 0, 0, 0}, {"sd", OPT_POS, 0.1, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 2) == 0) mix = make_grid25(o);
  } else if (strcmp(name, "gauss") == 0) {
    opt o[] = {{"d", OPT_COUNT, 2.0, (double)MAX_DIM, 0, 0, 0}, {"sd", OPT_POS, 1.0, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 2) == 0) mix = make_gauss(o);
  } else if (strcmp(name, "swissroll") == 0 || strcmp(name, "moons") == 0) {
    int moons = name[0] == 'm';
    opt o[] = {{"n", OPT_COUNT, 1000.0, (double)MAX_POINTS, 0, 0, 0},
               {"noise", OPT_NONNEG, moons ? 0.05 : 0.0, 0, 0, 0, 0},
               {"seed", OPT_SEED, 0, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 3) == 0)
      mix = make_points((size_t)o[0].val, o[2].u, o[1].val, moons ? fill_moons : fill_swissroll, moons);
  } else if (strcmp(name, "circle") == 0) {
    opt o[] = {{"n", OPT_COUNT, 64.0, (double)MAX_POINTS, 0, 0, 0},
               {"d", OPT_COUNT, 2.0, 64.0, 0, 0, 0},
               {"r", OPT_POS, 1.0, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 3) == 0)
      mix = make_manifold((size_t)o[0].val, 1, (size_t)o[1].val, o[2].val, 0, 0);
  } else if (strcmp(name, "sphere") == 0) {
    opt o[] = {{"n", OPT_COUNT, 256.0, (double)MAX_POINTS, 0, 0, 0},
               {"k", OPT_COUNT, 2.0, 63.0, 0, 0, 0},
               {"d", OPT_COUNT, 3.0, 64.0, 0, 0, 0},
               {"r", OPT_POS, 1.0, 0, 0, 0, 0},
               {"seed", OPT_SEED, 0, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 5) == 0)
      mix = make_manifold((size_t)o[0].val, (size_t)o[1].val, (size_t)o[2].val, o[3].val, o[4].u, 1);
  } else if (strcmp(name, "checkerboard") == 0) {
    opt o[] = {{"n", OPT_COUNT, 1000.0, (double)MAX_POINTS, 0, 0, 0}, {"seed", OPT_SEED, 0, 0, 0, 0, 0}};
    if (parse_options(name, args, o, 2) == 0)
      mix = make_points((size_t)o[0].val, o[1].u, 0.0, fill_checkerboard, 0);
  } else if (strcmp(name, "sample") == 0) {
    if (!args) DPM_ERROR_NULL(GSL_EINVAL, "sample: needs the option 'of=SPEC' (e.g. sample:of=ring8,n=500)");
    size_t cap = strlen(args) + 1;
    char *inner = dpm_malloc(cap), *own = dpm_malloc(cap);
    opt o[] = {{"n", OPT_COUNT, 1000.0, (double)MAX_POINTS, 0, 0, 0}, {"seed", OPT_SEED, 0, 0, 0, 0, 0}};
    if (inner && own && split_sample(args, inner, own) == 0 && parse_options(name, own[0] ? own : NULL, o, 2) == 0)
      mix = make_sample(inner, (size_t)o[0].val, o[1].u);
    free(inner);
    free(own);
  } else {
    DPM_RAISE(GSL_EINVAL, "unknown data set '%s' (known: %s; or a .json / .csv / .npy file)", name, known);
  }
  return mix;
}

dpm_mixture *dpm_data_from_spec(const char *spec)
{
  if (!spec || !*spec) {
    DPM_RAISE(GSL_EINVAL, "empty data spec (known: %s; or a .json / .csv / .npy file)", known);
    return NULL;
  }
  dpm_mixture *mix;
  int builtin = has_builtin_prefix(spec);
  if (!builtin && ends_with(spec, ".json"))
    mix = dpm_data_load_json(spec);
  else if (!builtin && (ends_with(spec, ".csv") || ends_with(spec, ".npy"))) /* dpm_csv_read reads both */
    mix = dpm_data_load_csv(spec);
  else {
    char *copy = dpm_malloc(strlen(spec) + 1);
    if (!copy) return NULL;
    strcpy(copy, spec);
    char *colon = strchr(copy, ':');
    char *args = NULL;
    if (colon) {
      *colon = '\0';
      args = colon + 1;
      if (!*args) args = NULL; /* "name:" == "name" */
    }
    mix = from_builtin(copy, args);
    free(copy);
  }
  if (mix) snprintf(mix->name, sizeof mix->name, "%s", spec);
  return mix;
}
