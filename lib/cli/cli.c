/* cli.c — option parsing, output files and error reporting shared by every dpmlab subcommand. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"

int cli_errorf(const char *cmd, int code, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "dpmlab %s: %s\n", cmd, buf);
  return code;
}

int cli_fail(const char *cmd, int code, const char *what)
{
  const char *r = dpm_error_last();
  return cli_errorf(cmd, code, "%s", r && *r ? r : what);
}

static void print_usage(const cli_opt *opts, const char *synopsis)
{
  printf("%s\n\noptions:\n", synopsis);
  for (const cli_opt *o = opts; o->name; o++) {
    const char *arg = o->type == OPT_FLAG ? "" : o->type == OPT_STR ? " S" : o->type == OPT_DOUBLE ? " X" : " N";
    char left[64];
    snprintf(left, sizeof left, "--%s%s", o->name, arg);
    printf("  %-22s %s\n", left, o->help);
  }
  char threads[96];
  snprintf(threads, sizeof threads,
           "threads to run on; results are the same bits for any N (default: all %d cores)",
           cli_default_threads());
  printf("  %-22s %s\n", "--threads N", threads);
  printf("  %-22s %s\n", "--help", "show this help");
}

int cli_default_threads(void)
{
#ifdef _OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}

/* --threads N: the OpenMP thread count of every parallel region after it (N >= 1). */
static int set_threads(const char *cmd, const char *v)
{
  char *end;
  errno = 0;
  while (*v == ' ')
    v++;
  unsigned long long n = *v == '-' ? 0 : strtoull(v, &end, 10);
  if (*v == '-' || end == v || *end || errno == ERANGE || n < 1 || n > 4096)
    return cli_errorf(cmd, CLI_EUSAGE, "--threads: '%s' must be a whole number of threads in [1, 4096]", v);
#ifdef _OPENMP
  omp_set_num_threads((int)n);
#endif
  return 0;
}

static int parse_value(const char *cmd, cli_opt *o, const char *v)
{
  char *end;
  errno = 0;
  switch (o->type) {
  case OPT_STR:
    *(const char **)o->value = v;
    return 0;
  case OPT_DOUBLE: {
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x))
      return cli_errorf(cmd, CLI_EUSAGE, "--%s: '%s' is not a finite number", o->name, v);
    *(double *)o->value = x;
    return 0;
  }
  case OPT_SIZE:
  case OPT_U64: {
    while (*v == ' ')
      v++;
    if (*v == '-') return cli_errorf(cmd, CLI_EUSAGE, "--%s: '%s' must be a non-negative integer", o->name, v);
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || errno == ERANGE)
      return cli_errorf(cmd, CLI_EUSAGE, "--%s: '%s' is not a non-negative integer", o->name, v);
    if (o->type == OPT_SIZE)
      *(size_t *)o->value = (size_t)x;
    else
      *(uint64_t *)o->value = (uint64_t)x;
    return 0;
  }
  case OPT_FLAG:
    *(int *)o->value = 1;
    return 0;
  }
  return CLI_EUSAGE;
}

int cli_parse(int argc, char **argv, cli_opt *opts, const char *synopsis)
{
  const char *cmd = argv[0];
  dpm_error_clear(); /* a failure of this command reports its own reason, never an earlier one */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_usage(opts, synopsis);
      return -1;
    }
    if (strncmp(a, "--", 2) != 0) return cli_errorf(cmd, CLI_EUSAGE, "unexpected argument '%s' (see --help)", a);
    const char *name = a + 2, *val = NULL;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    cli_opt *o = opts;
    for (; o->name; o++)
      if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) break;
    if (!o->name && nlen == 7 && strncmp(name, "threads", 7) == 0) { /* the global option */
      if (!eq && i + 1 >= argc) return cli_errorf(cmd, CLI_EUSAGE, "--threads needs a value");
      int rc = set_threads(cmd, eq ? eq + 1 : argv[++i]);
      if (rc) return rc;
      continue;
    }
    if (!o->name) return cli_errorf(cmd, CLI_EUSAGE, "unknown option '%.*s' (see --help)", (int)(nlen + 2), a);
    if (o->type == OPT_FLAG) {
      if (eq) return cli_errorf(cmd, CLI_EUSAGE, "--%s takes no value", o->name);
    } else if (eq) {
      val = eq + 1;
    } else {
      if (i + 1 >= argc) return cli_errorf(cmd, CLI_EUSAGE, "--%s needs a value", o->name);
      val = argv[++i];
    }
    int rc = parse_value(cmd, o, val);
    if (rc) return rc;
    o->seen = 1;
  }
  return 0;
}

int cli_seen(const cli_opt *opts, const char *name)
{
  for (const cli_opt *o = opts; o->name; o++)
    if (strcmp(o->name, name) == 0) return o->seen;
  return 0;
}

int cli_require(const char *cmd, const cli_opt *opts, const char *name)
{
  if (cli_seen(opts, name)) return 0;
  return cli_errorf(cmd, CLI_EUSAGE, "missing --%s (see --help)", name);
}

dpm_out *cli_out_open(const char *cmd, const char *path, int argc, char **argv, int no_meta)
{
  dpm_out *out = dpm_out_open(path);
  if (!out) {
    cli_fail(cmd, CLI_EDATA, "cannot open output");
    return NULL;
  }
  if (!no_meta) {
    FILE *fp = dpm_out_file(out);
    fprintf(fp, "# dpmlab %s\n# command: dpmlab", DPM_VERSION);
    for (int i = 0; i < argc; i++)
      fprintf(fp, " %s", argv[i]);
    fputc('\n', fp);
  }
  return out;
}

void cli_header_vec(FILE *fp, const char *prefix, size_t d)
{
  for (size_t i = 0; i < d; i++)
    fprintf(fp, i ? ",%s_%zu" : "%s_%zu", prefix, i + 1);
}

dpm_mixture *cli_load_data(const char *cmd, const char *spec)
{
  dpm_mixture *mix = dpm_data_from_spec(spec);
  if (!mix) cli_fail(cmd, CLI_EDATA, "cannot load data");
  return mix;
}

/* Above this much work Gamma_n takes several seconds: say so on stderr (two lines, before and after). Monte Carlo:
 * N M oracle points; 2-D adaptive quadrature: N K component integrals of ~10^5 points each (1-D ones are cheap).
 */
#define PROGRESS_MC   20000000.0
#define PROGRESS_QUAD 400.0

double cli_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_gamma_check(const char *cmd, const cli_opt *opts, const cli_gamma_opts *g, int optional)
{
  int mc = cli_seen(opts, "mc");
  if (g->quad && mc)
    return cli_errorf(cmd, CLI_EUSAGE, "give %s one of --quad or --mc M", optional ? "at most" : "exactly");
  if (!optional && !g->quad && !mc) return cli_errorf(cmd, CLI_EUSAGE, "give exactly one of --quad or --mc M");
  if (mc && g->M < 2)
    return cli_errorf(cmd, CLI_EUSAGE, "--mc needs M >= 2 samples for a standard error (got %zu)", g->M);
  if (!(g->rel_tol >= 1e-14 && g->rel_tol <= 0.1))
    return cli_errorf(cmd, CLI_EUSAGE, "--rel-tol must be in [1e-14, 0.1] (got %g)", g->rel_tol);
  if (mc && cli_seen(opts, "rel-tol")) return cli_errorf(cmd, CLI_EUSAGE, "--rel-tol goes with --quad");
  return 0;
}

int cli_gamma_route_result(const char *cmd, const dpm_mixture *mix, const dpm_schedule *sch,
                           const cli_gamma_opts *g, const dpm_analytic_gamma_result *res)
{
  int st, loud;
  double t0 = cli_now();
  if (g->quad) {
    if (mix->d > 2)
      return cli_errorf(cmd, CLI_EDATA, "--quad needs data in d <= 2 (the data is %zu-dimensional); use --mc M",
                        mix->d);
    dpm_analytic_gamma_quad *w = dpm_analytic_gamma_quad_alloc(mix, g->rel_tol);
    if (!w) return cli_fail(cmd, CLI_EDATA, "cannot set up the quadrature");
    loud = mix->d == 2 && (double)sch->N * (double)mix->K >= PROGRESS_QUAD;
    if (loud)
      fprintf(stderr, "dpmlab %s: Gamma_n by 2-D quadrature, %zu steps x %zu components ...\n", cmd, sch->N,
              mix->K);
    const dpm_analytic_gamma_result q = {res->gamma, NULL, res->cgamma, NULL};
    st = dpm_analytic_gamma_quad_fill(w, sch, &q);
    dpm_analytic_gamma_quad_free(w);
    for (size_t n = 0; n <= sch->N; n++) {
      if (res->gamma_err) res->gamma_err[n] = 0.0;
      if (res->cgamma_err) res->cgamma_err[n] = 0.0;
    }
  } else {
    dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, g->M);
    if (!w) return cli_fail(cmd, CLI_EDATA, "cannot set up the Monte Carlo estimate");
    loud = (double)sch->N * (double)g->M >= PROGRESS_MC;
    if (loud)
      fprintf(stderr, "dpmlab %s: Gamma_n by Monte Carlo, %zu steps x %zu samples ...\n", cmd, sch->N, g->M);
    st = dpm_analytic_gamma_mc_fill(w, sch, g->seed, res);
    dpm_analytic_gamma_mc_free(w);
  }
  if (loud && !st) fprintf(stderr, "dpmlab %s: Gamma_n done in %.1f s\n", cmd, cli_now() - t0);
  if (!st) return CLI_OK;
  dpm_error_context("Gamma_n by %s", g->quad ? "quadrature" : "Monte Carlo"); /* the origin's reason follows */
  return cli_fail(cmd, CLI_EDATA, "Gamma_n failed");
}

int cli_gamma_route(const char *cmd, const dpm_mixture *mix, const dpm_schedule *sch, const cli_gamma_opts *g,
                    double *gamma, double *se)
{
  const dpm_analytic_gamma_result res = {gamma, se, NULL, NULL};
  return cli_gamma_route_result(cmd, mix, sch, g, &res);
}
