/* cli.h — shared plumbing of the dpmlab command line: the command table, option parsing, CSV output with
 * metadata, and turning a library status into one line on stderr and an exit code. */
#ifndef DPM_CLI_H
#define DPM_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "dpmlab.h"

/* Exit codes: 0 success, 1 a runtime/data error (bad file, bad numbers, math domain), 2 a usage error
 * (unknown command or option, missing or malformed option value). */
enum { CLI_OK = 0, CLI_EDATA = 1, CLI_EUSAGE = 2 };

/* One subcommand: run(argc, argv) gets argv[0] = the command name; it returns an exit code. */
typedef struct {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} cli_command;

/* ---- options: "--key value" pairs and "--flag"s, declared up front ------------------------------------ */

typedef enum { OPT_STR, OPT_DOUBLE, OPT_SIZE, OPT_U64, OPT_FLAG } cli_opt_type;

typedef struct {
  const char *name; /* without the dashes, e.g. "data" */
  cli_opt_type type;
  void *value;      /* const char **, double *, size_t *, uint64_t *, int * (flag: set to 1) */
  const char *help; /* one line; "(required)" inside marks a required option for the help text only */
  int seen;         /* set by cli_parse */
} cli_opt;

/* Parse argv[1..] against opts (terminated by a {NULL} entry). "--help"/"-h" prints usage (the command's
 * synopsis line, then one line per option) to stdout and returns -1: the caller exits 0. Unknown options,
 * missing values and malformed numbers (not finite, trailing junk, negative sizes) print one line to stderr
 * and return CLI_EUSAGE. Returns 0 on success. Every command also takes the global option "--threads N"
 * (listed in every usage): the number of OpenMP threads from then on (omp_set_num_threads; N in [1, 4096], else a
 * usage error); without it, all cores (or OMP_NUM_THREADS). The library gives the same bits for any N. */
int cli_parse(int argc, char **argv, cli_opt *opts, const char *synopsis);
/* The thread count used without --threads: the number of cores OpenMP sees (1 without OpenMP). */
int cli_default_threads(void);
/* Error unless option `name` was given: prints "dpmlab CMD: missing --name" and returns CLI_EUSAGE. */
int cli_require(const char *cmd, const cli_opt *opts, const char *name);
int cli_seen(const cli_opt *opts, const char *name);

/* Print "dpmlab CMD: <dpm_error_last()>" (or `what` when the library gave no reason) and return code. The
 * reason is the origin's, with any context callers added in front ("context: reason", see dpm_error_context);
 * cli_parse clears it, so it is never left over from an earlier call. */
int cli_fail(const char *cmd, int code, const char *what);
/* printf-style one-line usage/data error on stderr: "dpmlab CMD: ...". Returns code. */
int cli_errorf(const char *cmd, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- output ------------------------------------------------------------------------------------------- */

/* Open the output (path NULL or "-" = stdout, else a temporary file renamed by dpm_out_close(out, 1)) and, unless
 * no_meta, write the metadata lines "# dpmlab VERSION" and "# command: dpmlab <args>". NULL on error (message
 * printed). */
dpm_out *cli_out_open(const char *cmd, const char *path, int argc, char **argv, int no_meta);
/* Write a header row from a comma-separated list (a literal string) or from a prefix + numbered columns. */
void cli_header_vec(FILE *fp, const char *prefix, size_t d); /* "prefix_1,...,prefix_d" without newline */

/* Load data from a spec, printing the library's reason on failure. */
dpm_mixture *cli_load_data(const char *cmd, const char *spec);

/* Seconds on a monotonic clock (for progress lines). */
double cli_now(void);

/* How Gamma_n is computed (the --quad / --rel-tol / --mc / --seed options shared by variance, trajectory and
 * elbo). */
typedef struct {
  int quad;       /* 1: adaptive cubature (d <= 2) */
  double rel_tol; /* its relative tolerance */
  size_t M;       /* Monte Carlo samples per step */
  uint64_t seed;  /* Monte Carlo seed: step n uses stream (seed, n) */
} cli_gamma_opts;

/* The four option rows of a cli_gamma_opts g, with command-specific help for --quad and --mc. */
#define CLI_GAMMA_OPTIONS(g, quad_help, mc_help)                                                                  \
  {"quad", OPT_FLAG, &(g).quad, quad_help, 0},                                                                    \
      {"rel-tol", OPT_DOUBLE, &(g).rel_tol, "relative tolerance of --quad, in [1e-14, 0.1] (default 1e-10)", 0},  \
      {"mc", OPT_SIZE, &(g).M, mc_help, 0},                                                                       \
  {                                                                                                               \
    "seed", OPT_U64, &(g).seed, "seed of --mc (step n uses stream (seed, n)); default 0", 0                       \
  }

/* Validate the Gamma options after cli_parse: exactly one of --quad / --mc (at most one when optional), M >= 2,
 * rel_tol in [1e-14, 0.1], --rel-tol only with --quad. Returns 0 or a printed usage error. */
int cli_gamma_check(const char *cmd, const cli_opt *opts, const cli_gamma_opts *g, int optional);

/* Gamma_n for n = 1..N (per-n arrays) by adaptive quadrature (d <= 2; se = 0) or by Monte Carlo (se = its
 * standard error; se may be NULL). Prints progress on stderr for long runs. Returns an exit code, message
 * printed. */
int cli_gamma_route(const char *cmd, const dpm_mixture *mix, const dpm_schedule *sch, const cli_gamma_opts *g,
                    double *gamma, double *se);
/* The same for what res asks for: Gamma_n and/or 1 - Gamma_n integrated directly (errors 0 with --quad). */
int cli_gamma_route_result(const char *cmd, const dpm_mixture *mix, const dpm_schedule *sch,
                           const cli_gamma_opts *g, const dpm_analytic_gamma_result *res);

#endif
