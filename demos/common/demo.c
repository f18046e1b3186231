/* demo.c — the frame every demo program shares (see demo.h): command line, output paths, provenance headers,
 * sub-task seeds from (seed, index) streams, the Gamma_n cache, rendering through gnuplot, the values file and
 * the notebook filled from it and the demo's prose template (with the standard opening, a cell that reruns the
 * demo), and the steps that end every demo. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

extern char **environ;

/* vsnprintf into buf[DEMO_PATH_MAX]; an error naming `what` when the result does not fit */
static int vformat(char *buf, const char *what, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 0)))
#endif
    ;
static int vformat(char *buf, const char *what, const char *fmt, va_list ap)
{
  int n = vsnprintf(buf, DEMO_PATH_MAX, fmt, ap);
  if (n < 0 || n >= DEMO_PATH_MAX)
    DPM_ERROR(GSL_EINVAL, "%s too long (%d characters, at most %d)", what, n, DEMO_PATH_MAX - 1);
  return DPM_SUCCESS;
}

int demo_pathf(char *buf, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int st = vformat(buf, "path", fmt, ap);
  va_end(ap);
  return st;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
  char buf[DEMO_PATH_MAX];
  if (demo_pathf(buf, "%s", path) != DPM_SUCCESS) return GSL_EINVAL;
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        DPM_ERROR(GSL_EFAILED, "cannot make folder %s: %s", buf, strerror(errno));
      *p = c;
      if (c == '\0') break;
    }
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) DPM_ERROR(GSL_EFAILED, "%s is not a folder", path);
  return DPM_SUCCESS;
}

/* `git rev-parse --short HEAD` into out, or "unknown" on any failure (no git, not a repository, no commit). */
static void git_commit(char *out, size_t n)
{
  snprintf(out, n, "unknown");
  int fd[2];
  if (pipe(fd) != 0) return;
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) {
    close(fd[0]);
    close(fd[1]);
    return;
  }
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclose(&fa, fd[0]);
  posix_spawn_file_actions_addclose(&fa, fd[1]);
  char *argv[] = {(char *)"git", (char *)"rev-parse", (char *)"--short", (char *)"HEAD", NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd[1]);
  if (rc != 0) {
    close(fd[0]);
    return;
  }
  char buf[64];
  size_t len = 0;
  ssize_t k;
  while (len < sizeof buf - 1 &&
         ((k = read(fd[0], buf + len, sizeof buf - 1 - len)) > 0 || (k < 0 && errno == EINTR)))
    if (k > 0) len += (size_t)k;
  close(fd[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  buf[len] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || buf[0] == '\0') return;
  for (const char *p = buf; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return;
  snprintf(out, n, "%s", buf);
}

static void usage(const char *name, const char *summary, FILE *fp)
{
  fprintf(
      fp,
      "usage: %s [--build DIR] [--out DIR] [--seed S] [--quick] [--notebooks DIR] [--notebook-only]\n"
      "%s\n"
      "  --build DIR      build folder holding the programs (default build)\n"
      "  --out DIR        output folder: data in DIR/data, figures in DIR/figures (default: the build folder)\n"
      "  --seed S         random seed, a non-negative integer (default 1)\n"
      "  --quick          small sizes that run in seconds (checks the pipeline, not the numbers)\n"
      "  --notebooks DIR  folder of the notebook (default notebooks-export; with --quick DIR/notebooks of\n"
      "                   the output folder, so a quick run never replaces an exported notebook)\n"
      "  --notebook-only  rebuild the notebook from the data of an earlier run (DIR/data/%s.values, the\n"
      "                   figures in DIR/figures) and the prose of demos/%s.md; compute nothing\n"
      "  --help           this text\n",
      name, summary, name, name);
}

/* the value of option `opt` at argv[*i] ("--opt VALUE" or "--opt=VALUE"), or NULL when argv[*i] is not it */
static const char *option_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
  size_t n = strlen(opt);
  const char *a = argv[*i];
  if (strncmp(a, opt, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

int demo_init(demo_ctx *ctx, const char *name, const char *summary, int argc, char **argv)
{
  dpm_error_install();
  memset(ctx, 0, sizeof *ctx);
  ctx->name = name;
  ctx->build = "build";
  ctx->out = NULL;
  ctx->notebooks = NULL;
  ctx->seed = 1;
  for (int i = 1; i < argc; i++) {
    int missing = 0;
    const char *v;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(name, summary, stdout);
      return -1;
    } else if ((v = option_value(argc, argv, &i, "--build", &missing)) != NULL) {
      if (!*v) return fprintf(stderr, "%s: --build: empty folder name\n", name), 2;
      ctx->build = v;
    } else if (strcmp(argv[i], "--quick") == 0) {
      ctx->quick = 1;
    } else if (strcmp(argv[i], "--notebook-only") == 0) {
      ctx->notebook_only = 1;
    } else if ((v = option_value(argc, argv, &i, "--out", &missing)) != NULL) {
      if (!*v) return fprintf(stderr, "%s: --out: empty folder name\n", name), 2;
      ctx->out = v;
    } else if ((v = option_value(argc, argv, &i, "--notebooks", &missing)) != NULL) {
      if (!*v) return fprintf(stderr, "%s: --notebooks: empty folder name\n", name), 2;
      ctx->notebooks = v;
    } else if ((v = option_value(argc, argv, &i, "--seed", &missing)) != NULL) {
      char *end;
      errno = 0;
      unsigned long long s = strtoull(v, &end, 10);
      if (!*v || *v == '-' || *v == '+' || *end || errno == ERANGE)
        return fprintf(stderr, "%s: --seed: '%s' is not a non-negative integer\n", name, v), 2;
      ctx->seed = (uint64_t)s;
    } else if (missing) {
      return fprintf(stderr, "%s: %s needs a value (see --help)\n", name, argv[i]), 2;
    } else {
      return fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", name, argv[i]), 2;
    }
  }
  git_commit(ctx->commit, sizeof ctx->commit);
  if (!ctx->out) ctx->out = ctx->build;
  static char quick_notebooks[DEMO_PATH_MAX];
  int st = DPM_SUCCESS;
  if (!ctx->notebooks) {
    ctx->notebooks = "notebooks-export";
    if (ctx->quick) {
      st = demo_pathf(quick_notebooks, "%s/notebooks", ctx->out);
      ctx->notebooks = quick_notebooks;
    }
  }
  /* the command that regenerates the outputs, for the provenance header */
  char opts[DEMO_PATH_MAX] = "";
  if (!st && strcmp(ctx->build, "build") != 0) st = demo_pathf(opts, " --build %s", ctx->build);
  if (!st && strcmp(ctx->out, ctx->build) != 0)
    st = demo_pathf(opts + strlen(opts), " --out %s", ctx->out); /* both parts fit: each is < DEMO_PATH_MAX/2 */
  if (!st)
    st = demo_pathf(ctx->command, "%s/demos/%s%s --seed %llu%s", ctx->build, name, opts,
                    (unsigned long long)ctx->seed, ctx->quick ? " --quick" : "");
  if (!st) st = demo_pathf(ctx->data_path, "%s/data/%s.dat", ctx->out, name);
  if (!st) st = demo_pathf(ctx->figure_stem, "%s/figures/%s", ctx->out, name);
  if (!st) st = demo_pathf(ctx->png_path, "%s/figures/%s.png", ctx->out, name);
  if (!st) st = demo_pathf(ctx->notebook_path, "%s/%s.ipynb", ctx->notebooks, name);
  if (!st) st = demo_pathf(ctx->values_path, "%s/data/%s.values", ctx->out, name);
  if (!st) st = demo_pathf(ctx->template_path, "demos/%s.md", name);
  char dir[DEMO_PATH_MAX];
  if (!st) st = demo_pathf(dir, "%s/data", ctx->out);
  if (!st) st = make_dirs(dir);
  if (!st) st = demo_pathf(dir, "%s/figures", ctx->out);
  if (!st) st = make_dirs(dir);
  if (!st) st = make_dirs(ctx->notebooks);
  if (st) return demo_fail(ctx, "set-up");
  if (ctx->notebook_only) return demo_notebook_write(ctx) ? demo_fail(ctx, "rebuilding the notebook") : -1;
  return 0;
}

dpm_out *demo_dat_open(const demo_ctx *ctx, const char *path, const char *description)
{
  dpm_out *out = dpm_out_open(path);
  if (!out) return NULL;
  FILE *fp = dpm_out_file(out);
  fprintf(fp, "# dpmlab %s demo %s: %s\n", DPM_VERSION, ctx->name, description);
  fprintf(fp, "# command: %s\n", ctx->command);
  fprintf(fp, "# seed: %llu  commit: %s\n", (unsigned long long)ctx->seed, ctx->commit);
  return out;
}

void demo_dat_block(FILE *fp, const char *block, const char *columns)
{
  fprintf(fp, "\n\n# %s: %s\n", block, columns);
}

void demo_dat_row(FILE *fp, size_t n, const double *v)
{
  for (size_t i = 0; i < n; i++)
    fprintf(fp, i ? " %.17g" : "%.17g", v[i]);
  fputc('\n', fp);
}

int demo_dat_close(dpm_out *out, int commit) { return dpm_out_close(out, commit); }

int demo_render(const demo_ctx *ctx, const char *script, const char *data, const char *figure)
{
  char stem[DEMO_PATH_MAX];
  int st = demo_pathf(stem, "%s/figures/%s", ctx->out, figure);
  if (st) return st;
  demo_progress(ctx, "rendering plots/%s.gp -> %s.{pdf,png}", script, stem);
  return dpm_plot_figure(script, data, stem);
}

/* The opening code cell: helpers, then make and the demo itself, from the repository root. */
static const char RUN_CELL[] =
    "# Run from the repository root, one folder up from this notebook. DPMLAB_BUILD names the build folder\n"
    "# (default build), DPMLAB_OUT the folder for data and figures (default: the build folder); DPMLAB_QUICK=1\n"
    "# asks for the small sizes of --quick. The rerun below writes its own notebook into OUT/notebooks, never\n"
    "# over this one.\n"
    "import os, shlex, subprocess\n"
    "from IPython.display import Image\n"
    "\n"
    "ROOT = os.path.abspath(\"..\")\n"
    "BUILD = os.environ.get(\"DPMLAB_BUILD\", \"build\")\n"
    "OUT = os.environ.get(\"DPMLAB_OUT\", BUILD)\n"
    "QUICK = \"--quick\" if os.environ.get(\"DPMLAB_QUICK\") else \"\"\n"
    "\n"
    "\n"
    "def run(command, show=None, quick=None):\n"
    "    \"\"\"Run a command line from the repository root ({build}, {out}, {quick} filled in); raise if it "
    "fails.\n"
    "    In quick mode the options in `quick` (\"--opt value ...\") replace those of the command.\"\"\"\n"
    "    args = shlex.split(command.format(build=BUILD, out=OUT, quick=QUICK))\n"
    "    if QUICK and quick:\n"
    "        q = shlex.split(quick)\n"
    "        for opt, value in zip(q[::2], q[1::2]):\n"
    "            if opt in args:\n"
    "                args[args.index(opt) + 1] = value\n"
    "            else:\n"
    "                args += [opt, value]\n"
    "    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)\n"
    "    if r.returncode != 0:\n"
    "        raise RuntimeError(f\"{shlex.join(args)} failed (exit status {r.returncode}):\\n{r.stderr}\")\n"
    "    lines = r.stdout.splitlines()\n"
    "    if show is not None and len(lines) > show:\n"
    "        lines = lines[:show] + [f\"... ({len(lines)} lines)\"]\n"
    "    print(\"\\n\".join(lines))\n"
    "\n"
    "\n"
    "def figure(name):\n"
    "    \"\"\"The figure the demo just wrote, read back from its output folder.\"\"\"\n"
    "    return Image(filename=os.path.join(ROOT, OUT, \"figures\", name + \".png\"))\n"
    "\n"
    "\n"
    "run(\"make --no-print-directory -s BUILD={build} {build}/demos/%s\")\n"
    "run(\"{build}/demos/%s --build {build} --out {out} --notebooks {out}/notebooks --seed %s {quick}\")";

/* ---- the values file ---------------------------------------------------------------------------------------- */

void demo_val(FILE *fp, const char *key, size_t n, const double *v)
{
  fputs(key, fp);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, "\t%.17g", v[i]);
  fputc('\n', fp);
}

void demo_val1(FILE *fp, const char *key, double x) { demo_val(fp, key, 1, &x); }

void demo_val_sizes(FILE *fp, const char *key, size_t n, const size_t *v)
{
  fputs(key, fp);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, "\t%zu", v[i]);
  fputc('\n', fp);
}

void demo_val_text(FILE *fp, const char *key, size_t n, const char *const *text)
{
  fputs(key, fp);
  for (size_t i = 0; i < n; i++) {
    fputc('\t', fp);
    for (const char *c = text[i]; *c; c++)
      fputc(*c == '\t' || *c == '\n' || *c == '\r' ? ' ' : *c, fp);
  }
  fputc('\n', fp);
}

/* Write OUT/data/<name>.values: the standard entries, then the demo's own. */
static int write_values(const demo_ctx *ctx, demo_values_fn *values, const void *arg)
{
  dpm_out *out = dpm_out_open(ctx->values_path);
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  fprintf(fp,
          "# dpmlab %s demo %s: the numbers its notebook quotes (key, then tab-separated values), filled into "
          "demos/%s.md\n",
          DPM_VERSION, ctx->name, ctx->name);
  const char *text[1] = {ctx->name};
  demo_val_text(fp, "demo", 1, text);
  text[0] = DPM_VERSION;
  demo_val_text(fp, "version", 1, text);
  fprintf(fp, "seed\t%llu\n", (unsigned long long)ctx->seed);
  text[0] = ctx->commit;
  demo_val_text(fp, "commit", 1, text);
  fprintf(fp, "quick\t%d\n", ctx->quick);
  int st = values(ctx, fp, arg);
  int cst = dpm_out_close(out, st == DPM_SUCCESS);
  return st ? st : cst;
}

/* ---- the notebook ------------------------------------------------------------------------------------------- */

typedef struct {
  const demo_ctx *ctx;
  const dpm_notebook_values *v;
} directive_arg;

/* A standard value of the values file (demo_values_fn's list), or an error naming it. */
static const char *standard_value(const directive_arg *a, const char *key)
{
  const char *s = dpm_notebook_values_get(a->v, key, 0);
  if (!s) DPM_ERROR_NULL(GSL_EINVAL, "%s: no '%s'", a->ctx->values_path, key);
  return s;
}

/* <!-- run -->: where the data and formulas are, the cell that reruns the demo, the provenance. */
static int opening(const directive_arg *a, dpm_notebook *nb)
{
  const demo_ctx *ctx = a->ctx;
  const char *seed = standard_value(a, "seed"), *commit = standard_value(a, "commit");
  const char *version = standard_value(a, "version"), *quick = standard_value(a, "quick");
  if (!seed || !commit || !version || !quick) return GSL_EINVAL;
  for (const char *c = seed; *c || c == seed; c++)
    if (!(*c >= '0' && *c <= '9')) DPM_ERROR(GSL_EINVAL, "%s: seed '%s' is not a number", ctx->values_path, seed);
  int st = dpm_notebook_markdown(nb,
                                 "Every number and figure below is regenerated by the next cell, which builds the "
                                 "demo and runs it from the repository root (`make figures` runs every demo); "
                                 "*Run All* reruns everything and shows the figures it just drew. The data behind "
                                 "the figure is in `%s/data/%s.dat`; the figure is drawn by `plots/%s.gp`. The "
                                 "formulas are in the repository's formula reference, `docs/MATH.md`. This text "
                                 "is `demos/%s.md` filled from the numbers in `%s/data/%s.values`.",
                                 "build", ctx->name, ctx->name, ctx->name, "build", ctx->name);
  char *cell = NULL;
  if (!st) {
    size_t n = sizeof RUN_CELL + 2 * strlen(ctx->name) + strlen(seed);
    cell = malloc(n);
    if (!cell)
      st = DPM_RAISE(GSL_ENOMEM, "notebook: out of memory");
    else
      snprintf(cell, n, RUN_CELL, ctx->name, ctx->name, seed);
  }
  if (!st) st = dpm_notebook_code(nb, cell);
  free(cell);
  if (!st)
    st = dpm_notebook_markdown(
        nb, "*Provenance:* dpmlab %s, seed %s, commit `%s`%s.", version, seed, commit,
        strcmp(quick, "0") != 0 ? ", quick mode (small sizes: the numbers are not the published ones)" : "");
  return st;
}

/* <!-- command CMD [; quick: OPTIONS] -->: run("CMD", show=6[, quick="OPTIONS"]). */
static int command_cell(dpm_notebook *nb, const char *args)
{
  static const char QUICK_SEP[] = " ; quick: ";
  char cmd[DEMO_PATH_MAX], cell[2 * DEMO_PATH_MAX + 64];
  const char *q = strstr(args, QUICK_SEP);
  int st = demo_pathf(cmd, "%.*s", (int)(q ? (size_t)(q - args) : strlen(args)), args);
  if (st) return st;
  if (!*cmd) DPM_ERROR(GSL_EINVAL, "command: no command line");
  if (strpbrk(args, "\"\\")) DPM_ERROR(GSL_EINVAL, "command '%s': no quotes or backslashes", args);
  if (q)
    snprintf(cell, sizeof cell, "run(\"%s\", show=6, quick=\"%s\")", cmd, q + sizeof QUICK_SEP - 1);
  else
    snprintf(cell, sizeof cell, "run(\"%s\", show=6)", cmd);
  return dpm_notebook_code(nb, cell);
}

/* <!-- figure NAME -->: OUT/figures/NAME.png, shown again by figure("NAME"), captioned by the next block. */
static int figure_cell(const demo_ctx *ctx, dpm_notebook *nb, const char *name, const char *caption)
{
  char png[DEMO_PATH_MAX], source[DEMO_PATH_MAX];
  if (!*name || strpbrk(name, "\"\\/ ")) DPM_ERROR(GSL_EINVAL, "figure: bad figure name '%s'", name);
  int st = demo_pathf(png, "%s/figures/%s.png", ctx->out, name);
  if (!st) st = demo_pathf(source, "figure(\"%s\")", name);
  return st ? st : dpm_notebook_figure_code(nb, png, source, caption);
}

static int directive(void *arg, dpm_notebook *nb, const char *name, const char *args, const char *next,
                     int *used_next)
{
  const directive_arg *a = arg;
  if (strcmp(name, "run") == 0) return opening(a, nb);
  if (strcmp(name, "command") == 0) return command_cell(nb, args);
  if (strcmp(name, "figure") == 0) {
    *used_next = 1;
    return figure_cell(a->ctx, nb, args, next);
  }
  DPM_ERROR(GSL_EINVAL, "unknown directive '%s' (run, command, figure, cell)", name);
}

int demo_notebook_write(const demo_ctx *ctx)
{
  dpm_notebook_values *v = dpm_notebook_values_read(ctx->values_path);
  if (!v) return GSL_EFAILED;
  dpm_notebook *nb = dpm_notebook_alloc();
  directive_arg a = {ctx, v};
  int st = nb ? dpm_notebook_template(nb, ctx->template_path, v, directive, &a) : GSL_ENOMEM;
  if (!st) st = dpm_notebook_write(nb, ctx->notebook_path);
  dpm_notebook_free(nb);
  dpm_notebook_values_free(v);
  if (!st) demo_progress(ctx, "wrote %s", ctx->notebook_path);
  return st;
}

int demo_publish(const demo_ctx *ctx, size_t nfig, const char *const *figures, demo_values_fn *values,
                 const void *arg)
{
  demo_progress(ctx, "wrote %s", ctx->data_path);
  for (size_t i = 0; i < nfig; i++)
    if (demo_render(ctx, figures[i], ctx->data_path, figures[i]))
      return demo_fail(ctx, nfig > 1 ? "rendering the figures" : "rendering the figure");
  if (write_values(ctx, values, arg)) return demo_fail(ctx, "writing the values");
  demo_progress(ctx, "wrote %s", ctx->values_path);
  if (demo_notebook_write(ctx)) return demo_fail(ctx, "writing the notebook");
  return 0;
}

void demo_progress(const demo_ctx *ctx, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", ctx->name);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int demo_fail(const demo_ctx *ctx, const char *what)
{
  const char *reason = dpm_error_last();
  fprintf(stderr, "%s: %s: %s\n", ctx->name, what, reason && *reason ? reason : "failed");
  return 1;
}

uint64_t demo_seed(const demo_ctx *ctx, uint64_t index)
{
  gsl_rng *r = dpm_rng_stream_alloc(ctx->seed, index);
  if (!r) return dpm_rng_mix64(ctx->seed ^ dpm_rng_mix64(index)); /* ENOMEM: the same mix, without the stream */
  /* mt19937 gives 32 bits per draw */
  const uint64_t hi = gsl_rng_get(r), lo = gsl_rng_get(r);
  gsl_rng_free(r);
  return (hi << 32) | (lo & 0xffffffffu);
}

/* The cache file's first line: everything its numbers depend on. */
static int gamma_key(char *buf, const char *spec, const char *schedule, size_t N, double rel_tol)
{
  return demo_pathf(buf, "# dpmlab %s gamma_quad spec=%s schedule=%s N=%zu rel_tol=%.17g", DPM_VERSION, spec,
                    schedule, N, rel_tol);
}

/* Read a cache file: the key line, then N lines "n gamma err". 0 when it exists and matches in full. */
static int gamma_read(const char *path, const char *key, size_t N, double *gamma, double *err)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  char line[DEMO_PATH_MAX];
  int ok = fgets(line, sizeof line, fp) != NULL;
  if (ok) {
    line[strcspn(line, "\n")] = '\0';
    ok = strcmp(line, key) == 0;
  }
  for (size_t n = 1; n <= N && ok; n++) {
    unsigned long long k;
    ok = fscanf(fp, "%llu %lf %lf", &k, &gamma[n], &err[n]) == 3 && k == n;
  }
  fclose(fp);
  return ok ? 0 : -1;
}

int demo_gamma_quad(const demo_ctx *ctx, dpm_analytic_gamma_quad *q, const char *spec, const char *schedule,
                    const dpm_schedule *sch, double rel_tol, double *gamma, double *err)
{
  char key[DEMO_PATH_MAX], path[DEMO_PATH_MAX], name[256];
  /* the file name: the key with everything but letters, digits, '.' and '-' made '_' */
  snprintf(name, sizeof name, "gamma_%s_%s_N%zu_tol%g", spec, schedule, sch->N, rel_tol);
  for (char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
          *c == '-'))
      *c = '_';
  int st = gamma_key(key, spec, schedule, sch->N, rel_tol);
  if (!st) st = demo_pathf(path, "%s/data/cache", ctx->out);
  if (!st) st = make_dirs(path);
  if (!st) st = demo_pathf(path, "%s/data/cache/%s.dat", ctx->out, name);
  if (st) return st;
  if (gamma_read(path, key, sch->N, gamma, err) == 0) {
    gamma[0] = err[0] = NAN;
    demo_progress(ctx, "%s, %s schedule: Gamma_n read from %s", spec, schedule, path);
    return DPM_SUCCESS;
  }
  demo_progress(ctx, "%s, %s schedule: Gamma_n by adaptive cubature (relative tolerance %g), n = 1..%zu", spec,
                schedule, rel_tol, sch->N);
  st = dpm_analytic_gamma_quad_schedule(q, sch, gamma, err);
  if (st) return st;
  dpm_out *out = dpm_out_open(path);
  if (!out) return GSL_EFAILED;
  FILE *fp = dpm_out_file(out);
  fprintf(fp, "%s\n", key);
  for (size_t n = 1; n <= sch->N; n++)
    fprintf(fp, "%zu %.17g %.17g\n", n, gamma[n], err[n]);
  return dpm_out_close(out, 1);
}
