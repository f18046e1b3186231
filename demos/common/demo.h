/* demo.h — the frame every demo program shares: its command line (--build DIR, --out DIR, --seed S, --quick,
 * --notebooks DIR, --notebook-only, --help), the paths of what it writes (OUT/data/<name>.dat,
 * OUT/data/<name>.values, OUT/figures/<name>.{pdf,png}, notebooks-export/<name>.ipynb), .dat files with a
 * provenance header (columns, seed, git commit), the seeds of sub-tasks from (seed, index) streams, Gamma_n by
 * cubature computed once and cached in OUT/data/cache, rendering through plots/<script>.gp, the notebook written
 * from the demo's prose template demos/<name>.md filled from its values file (so it can be rebuilt from the data
 * alone, --notebook-only), with the standard opening (a code cell that rebuilds and reruns the demo from the
 * repository root, so the notebook runs top to bottom in Jupyter), the steps that end every demo, and one-line
 * failure messages.
 *
 * The template sits beside the demo's source (demos/<name>.c, demos/<name>.md): one stem per demo, found without a
 * table; its directives are HTML comments, so the file also reads as plain markdown; and the build's list of
 * demos (every .c file in demos/) is unaffected. */
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
  int notebook_only;           /* --notebook-only: rebuild the notebook from the data, compute nothing */
  char commit[64];             /* `git rev-parse --short HEAD`, or "unknown" */
  char command[DEMO_PATH_MAX]; /* the command line that regenerates the outputs */
  char data_path[DEMO_PATH_MAX];     /* OUT/data/<name>.dat */
  char figure_stem[DEMO_PATH_MAX];   /* OUT/figures/<name> */
  char png_path[DEMO_PATH_MAX];      /* OUT/figures/<name>.png */
  char notebook_path[DEMO_PATH_MAX]; /* <notebooks>/<name>.ipynb */
  char values_path[DEMO_PATH_MAX];   /* OUT/data/<name>.values: the numbers the notebook's prose quotes */
  char template_path[DEMO_PATH_MAX]; /* demos/<name>.md: the notebook's prose (from the repository root) */
} demo_ctx;

/* Parse the command line and prepare the output folders (DIR/data, DIR/figures, the notebooks folder). Returns
 * 0 to go on; -1 after --help (printed on stdout) and after --notebook-only rebuilt the notebook from
 * OUT/data/<name>.values, demos/<name>.md and the figures already in OUT/figures (the caller exits 0 in both
 * cases); 2 on a usage error and 1 when a folder cannot be made or the notebook cannot be rebuilt (one line on
 * stderr: the caller exits with that code). Installs the library's error handler. summary is the one-line
 * description --help prints. */
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

/* ---- the notebook's values ------------------------------------------------------------------------------ */

/* One entry of a values file (see dpm_notebook.h): key, then n numbers printed %.17g, tab separated. */
void demo_val(FILE *fp, const char *key, size_t n, const double *v);
/* One entry holding the single number x. */
void demo_val1(FILE *fp, const char *key, double x);
/* One entry holding n counts. */
void demo_val_sizes(FILE *fp, const char *key, size_t n, const size_t *v);
/* One entry holding n texts (tabs and line breaks in them become spaces). */
void demo_val_text(FILE *fp, const char *key, size_t n, const char *const *text);

/* Writes the demo's values file: the numbers its template quotes (entries through demo_val*, after the
 * standard ones the frame writes: demo, version, seed, commit, quick). arg is the demo's own results. Status. */
typedef int demo_values_fn(const demo_ctx *ctx, FILE *fp, const void *arg);

/* The notebook <notebooks>/<name>.ipynb from the template demos/<name>.md filled from OUT/data/<name>.values.
 * The template's directives: <!-- run --> the standard opening (where the data and the formulas are, the code
 * cell that rebuilds the demo with make and reruns it from the repository root with the seed of the values file,
 * writing its own notebook into OUT/notebooks so a notebook run in Jupyter never replaces itself, and the
 * provenance); <!-- command CMD --> a code cell run("CMD", show=6) that runs a command line ({build}/dpmlab ...)
 * and prints its first lines, and <!-- command CMD ; quick: OPTIONS --> the same where a quick run (DPMLAB_QUICK)
 * replaces those options of CMD; <!-- figure NAME --> OUT/figures/NAME.png embedded as the output of a cell that
 * shows it again when run, with the markdown block that follows as its caption. Nothing is computed. Status, with
 * the reason naming the template file and line of a bad placeholder. */
int demo_notebook_write(const demo_ctx *ctx);

/* ---- the end of a demo ----------------------------------------------------------------------------------- */

/* The steps that end every demo once its data file ctx->data_path is written: report the file, render
 * plots/<figure>.gp on it to DIR/figures/<figure>.{pdf,png} for each of the nfig figures, write the values file
 * OUT/data/<name>.values with values(ctx, fp, arg), then the notebook (demo_notebook_write). Returns the exit
 * code: 0, or 1 after demo_fail's one-line message naming the step that failed ("rendering the figure(s)",
 * "writing the values", "writing the notebook"). */
int demo_publish(const demo_ctx *ctx, size_t nfig, const char *const *figures, demo_values_fn *values,
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
