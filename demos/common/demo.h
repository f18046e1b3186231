/* demo.h — the frame every demo program shares: its command line (--build DIR, --out DIR, --seed S, --quick,
 * --notebooks DIR, --help), the paths of what it writes (OUT/data/<name>.dat, OUT/figures/<name>.{pdf,png},
 * notebooks-export/<name>.ipynb), .dat files with a provenance header (columns, seed, git commit), the seeds of
 * sub-tasks from (seed, index) streams, Gamma_n by cubature computed once and cached in OUT/data/cache, rendering
 * through plots/<script>.gp, the notebook's standard opening (a code cell that rebuilds and reruns the demo from
 * the repository root, so the notebook runs top to bottom in Jupyter) and closing, markdown built piece by piece,
 * the steps that end every demo, and one-line failure messages. */
#ifndef DPM_DEMO_H
#define DPM_DEMO_H

#include <stdint.h>
#include <stdio.h>

#include "dpmlab.h"
#include "dpm_analytic.h"

#define DEMO_PATH_MAX 1024

typedef struct {
  const char *name;            /* the demo's name: build/demos/<name>, plots/<name>.gp, <notebooks>/<name>.ipynb */
  const char *build;           /* --build DIR: where the binaries are (default "build") */
  const char *out;             /* --out DIR: where data and figures go (default: the build folder) */
  const char *notebooks;       /* --notebooks DIR (default "notebooks-export"; with --quick OUT/notebooks) */
  uint64_t seed;               /* --seed S (default 1) */
  int quick;                   /* --quick: small sizes, seconds (checks the pipeline, not the numbers) */
  char commit[64];             /* `git rev-parse --short HEAD`, or "unknown" */
  char command[DEMO_PATH_MAX]; /* the command line that regenerates the outputs */
  char data_path[DEMO_PATH_MAX];     /* OUT/data/<name>.dat */
  char figure_stem[DEMO_PATH_MAX];   /* OUT/figures/<name> */
  char png_path[DEMO_PATH_MAX];      /* OUT/figures/<name>.png */
  char notebook_path[DEMO_PATH_MAX]; /* <notebooks>/<name>.ipynb */
} demo_ctx;

/* Parse the command line and prepare the output folders (DIR/data, DIR/figures, the notebooks folder). Returns
 * 0 to go on; -1 after --help (printed on stdout: the caller exits 0); 2 on a usage error and 1 when a folder
 * cannot be made (one line on stderr in both cases: the caller exits with that code). Installs the library's
 * error handler. summary is the one-line description --help prints. */
int demo_init(demo_ctx *ctx, const char *name, const char *summary, int argc, char **argv);

/* snprintf into buf[DEMO_PATH_MAX]; returns 0, or an error (status, reason set) when the result is truncated. */
int demo_pathf(char *buf, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The seed of a sub-task that itself draws from (seed, n) streams (a Monte Carlo estimate, a noisy model): the
 * first 64 bits of the stream (ctx->seed, index), so sub-tasks never share streams the way seed + offset would. */
uint64_t demo_seed(const demo_ctx *ctx, uint64_t index);

/* Gamma_n, n = 1..N, of the data set `spec` on the schedule named `schedule` (sch, N steps) by the cubature
 * workspace q (relative tolerance rel_tol), into the per-n arrays gamma and err: read from
 * OUT/data/cache/gamma_<spec>_<schedule>_N<N>_tol<rel_tol>.dat when that file exists and its header names the
 * same (version, spec, schedule, N, rel_tol), else computed and written there atomically (%.17g: read back to the
 * bit). `make figures` empties the cache first, so each run computes each Gamma_n once for all demos. Status. */
int demo_gamma_quad(const demo_ctx *ctx, dpm_analytic_gamma_quad *q, const char *spec, const char *schedule,
                    const dpm_schedule *sch, double rel_tol, double *gamma, double *err);

/* ---- data files ------------------------------------------------------------------------------------------ */

/* Open a .dat file (written atomically: it appears only on demo_dat_close(out, 1)) and write its header:
 *   # dpmlab VERSION demo NAME: description
 *   # command: build/demos/NAME --seed S
 *   # seed: S  commit: C
 * NULL on error (reason set). */
dpm_out *demo_dat_open(const demo_ctx *ctx, const char *path, const char *description);
/* Start a data block named `block` (selectable in gnuplot with `index 'block'`): two blank lines, then the
 * comment line "# block: columns" that names each column. */
void demo_dat_block(FILE *fp, const char *block, const char *columns);
/* One row of n numbers, %.17g, space separated. */
void demo_dat_row(FILE *fp, size_t n, const double *v);
/* Close: commit != 0 renames the file into place; 0 removes it. Returns a status. */
int demo_dat_close(dpm_out *out, int commit);

/* ---- figures and notebooks ------------------------------------------------------------------------------- */

/* Render plots/<script>.gp on data to OUT/figures/<figure>.{pdf,png} (dpm_plot_figure). */
int demo_render(const demo_ctx *ctx, const char *script, const char *data, const char *figure);

/* A new notebook with the standard opening: "# title", what the demo shows (markdown), the code cell that
 * rebuilds the demo (make) and reruns it from the repository root, one folder up from the notebook, failing on
 * any error (environment: DPMLAB_BUILD the build folder, default build; DPMLAB_OUT the output folder, default
 * the build folder; DPMLAB_QUICK=1 adds --quick), and the provenance (seed, commit, version). The code cell
 * defines run(command, show=None), which runs a command line from the repository root with {build}, {out} and
 * {quick} filled in and raises on a non-zero exit, and figure(name), which shows OUT/figures/<name>.png. NULL on
 * error. */
dpm_notebook *demo_notebook_begin(const demo_ctx *ctx, const char *title, const char *what);
/* A code cell run("COMMAND", show=6) with the command printf-formatted (write "{build}/dpmlab ..." for the
 * command line; at most DEMO_PATH_MAX - 1 characters, else an error with the reason set): it prints the first
 * lines of the output. Returns a status. */
int demo_notebook_command(dpm_notebook *nb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The figure OUT/figures/<figure>.png embedded as the output of a cell that shows it again when the notebook is
 * run (figure("<figure>")), followed by the caption. Status. */
int demo_notebook_figure(const demo_ctx *ctx, dpm_notebook *nb, const char *figure, const char *caption);
/* The end of a notebook: st is the status of building it; when it is DPM_SUCCESS, write the notebook to
 * <notebooks>/<name>.ipynb (and say so). Frees nb in every case. Returns st, or else the status of the write. */
int demo_notebook_finish(const demo_ctx *ctx, dpm_notebook *nb, int st);

/* Markdown built piece by piece (tables with text labels, rows written in loops), from `demo_md b = {0}`. Once
 * an allocation or a format fails, further demo_md_add calls do nothing and demo_md_emit reports GSL_ENOMEM. */
typedef struct {
  char *s;
  size_t len, cap;
  int failed;
} demo_md;

/* Append printf-formatted text. */
void demo_md_add(demo_md *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* End a table's header row and write its alignment row: `lead` (the leading columns, e.g. "| :--- |") followed
 * by n right-aligned columns. */
void demo_md_rule(demo_md *b, const char *lead, size_t n);
/* Add the text to nb as one markdown cell (GSL_ENOMEM instead when building it failed), then free it and leave b
 * empty for reuse. Returns a status. */
int demo_md_emit(dpm_notebook *nb, demo_md *b);

/* ---- the end of a demo ----------------------------------------------------------------------------------- */

/* Writes the demo's notebook (ending in demo_notebook_finish); arg is the demo's own results. Returns a status. */
typedef int demo_notebook_fn(const demo_ctx *ctx, const void *arg);

/* The steps that end every demo once its data file ctx->data_path is written: report the file, render
 * plots/<figure>.gp on it to DIR/figures/<figure>.{pdf,png} for each of the nfig figures, then write the notebook
 * with notebook(ctx, arg). Returns the exit code: 0, or 1 after demo_fail's one-line message naming the step
 * that failed ("rendering the figure(s)", "writing the notebook"). */
int demo_publish(const demo_ctx *ctx, size_t nfig, const char *const *figures, demo_notebook_fn *notebook,
                 const void *arg);

/* ---- messages -------------------------------------------------------------------------------------------- */

/* Progress on stderr: "NAME: message". */
void demo_progress(const demo_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* One line on stderr, "NAME: what: <the library's reason>", and the exit code 1. */
int demo_fail(const demo_ctx *ctx, const char *what);

#endif
