/* plot.c — figures through gnuplot: run `gnuplot -c <plotsdir>/<script>.gp DATA OUT` without a shell
 * (posix_spawnp), wait for it and check its exit status, so a broken figure is an error and not a silent blank
 * (the flaw gnuplot_i admits of popen); the script picks the terminal from OUT's extension via plots/style.gp. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpm_common.h"
#include "dpm_plot.h"

extern char **environ;

/* a + b + c as a new string; NULL (ENOMEM raised) on failure */
static char *str3(const char *a, const char *b, const char *c)
{
  size_t na = strlen(a), nb = strlen(b), nc = strlen(c);
  char *s = dpm_malloc(na + nb + nc + 1);
  if (!s) return NULL;
  memcpy(s, a, na);
  memcpy(s + na, b, nb);
  memcpy(s + na + nb, c, nc + 1);
  return s;
}

static const char *plots_dir(void)
{
  const char *dir = getenv("DPM_PLOTS_DIR");
  return dir && *dir ? dir : "plots";
}

static const char *gnuplot_program(void)
{
  const char *prog = getenv("DPM_GNUPLOT");
  return prog && *prog ? prog : "gnuplot";
}

/* The extension of out (".pdf", ".png", ".svg", ".tex") or NULL when it is none of those. */
static const char *output_ext(const char *out)
{
  static const char *const known[] = {".pdf", ".png", ".svg", ".tex"};
  size_t n = strlen(out);
  if (n < 5) return NULL;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(out + n - 4, known[i]) == 0) return known[i];
  return NULL;
}

/* Run gnuplot -c script data out; fills *status with the wait status. Returns 0, or errno when it cannot start. */
static int spawn_gnuplot(const char *script_path, const char *data, const char *out, int *wstatus)
{
  posix_spawn_file_actions_t fa;
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc != 0) return rc;
  /* gnuplot reads the script, never the terminal: stdin from /dev/null; stdout and stderr pass through */
  rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (rc != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  char *argv[] = {(char *)gnuplot_program(), (char *)"-c", (char *)script_path, (char *)data, (char *)out, NULL};
  pid_t pid;
  rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return rc;
  while (waitpid(pid, wstatus, 0) < 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int dpm_plot_run(const char *script, const char *data, const char *out)
{
  if (!script || !*script) DPM_ERROR(GSL_EINVAL, "plot: no script name given");
  if (!data || !*data) DPM_ERROR(GSL_EINVAL, "plot %s: no data path given", script);
  if (!out || !*out) DPM_ERROR(GSL_EINVAL, "plot %s: no output path given", script);
  const char *ext = output_ext(out);
  if (!ext) DPM_ERROR(GSL_EINVAL, "plot %s: output '%s' must end in .pdf, .png, .svg or .tex", script, out);

  char *script_path = str3(plots_dir(), "/", script);
  char *tmp = NULL;
  int status = DPM_SUCCESS;
  if (!script_path) return GSL_ENOMEM;
  char *full = str3(script_path, ".gp", "");
  free(script_path);
  if (!full) return GSL_ENOMEM;
  script_path = full;

  if (access(script_path, R_OK) != 0) {
    int e = errno;
    free(script_path);
    DPM_ERROR(GSL_EFAILED, "plot %s: cannot read script '%s.gp' in %s: %s", script, script, plots_dir(),
              strerror(e));
  }
  if (access(data, R_OK) != 0) {
    int e = errno;
    free(script_path);
    DPM_ERROR(GSL_EFAILED, "plot %s: cannot read data '%s': %s", script, data, strerror(e));
  }

  /* Write to a temporary file beside out (same extension, so the script picks the same terminal) and rename
   * on success, so a failed run never leaves a half-written figure. cairolatex names its graphics file after
   * the .tex file, so that one is written in place and removed on failure. */
  const char *target = out;
  char *reserve = NULL; /* mkstemp reserves the unique prefix; gnuplot writes prefix + ext */
  if (strcmp(ext, ".tex") != 0) {
    size_t n = strlen(out) - 4;
    reserve = dpm_malloc(n + 16);
    tmp = dpm_malloc(n + 20);
    if (!reserve || !tmp) {
      free(reserve);
      free(tmp);
      free(script_path);
      return GSL_ENOMEM;
    }
    memcpy(reserve, out, n);
    memcpy(reserve + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(reserve);
    if (fd < 0) {
      int e = errno;
      free(reserve);
      free(tmp);
      free(script_path);
      DPM_ERROR(GSL_EFAILED, "plot %s: cannot create a temporary file beside '%s': %s", script, out, strerror(e));
    }
    close(fd);
    snprintf(tmp, n + 20, "%s%s", reserve, ext);
    target = tmp;
  }

  int wstatus = 0;
  int rc = spawn_gnuplot(script_path, data, target, &wstatus);
  if (rc != 0) {
    status = DPM_RAISE(GSL_EFAILED, "plot %s: cannot run %s: %s", script, gnuplot_program(), strerror(rc));
  } else if (WIFSIGNALED(wstatus)) {
    status = DPM_RAISE(GSL_EFAILED, "plot %s: gnuplot on %s was killed by signal %d", script, script_path,
                       WTERMSIG(wstatus));
  } else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    status = DPM_RAISE(GSL_EFAILED, "plot %s: gnuplot on %s (data %s) exited with status %d", script, script_path,
                       data, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
  } else {
    struct stat st;
    if (stat(target, &st) != 0 || st.st_size == 0)
      status = DPM_RAISE(GSL_EFAILED, "plot %s: gnuplot on %s wrote nothing to %s", script, script_path, out);
    else if (tmp && rename(tmp, out) != 0)
      status = DPM_RAISE(GSL_EFAILED, "plot %s: cannot rename %s to %s: %s", script, tmp, out, strerror(errno));
  }
  if (status != DPM_SUCCESS) unlink(target);
  if (reserve) unlink(reserve);
  free(reserve);
  free(tmp);
  free(script_path);
  return status;
}

int dpm_plot_figure(const char *script, const char *data, const char *out_stem)
{
  if (!out_stem || !*out_stem) DPM_ERROR(GSL_EINVAL, "plot %s: no output stem given", script ? script : "(null)");
  static const char *const outputs[] = {".pdf", ".png"};
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
    char *out = str3(out_stem, outputs[i], "");
    if (!out) return GSL_ENOMEM;
    int status = dpm_plot_run(script, data, out);
    free(out);
    if (status != DPM_SUCCESS) return status;
  }
  const char *latex = getenv("DPM_CAIROLATEX");
  if (latex && strcmp(latex, "1") == 0) {
    /* cairolatex writes X.tex and its text-free graphics X.pdf: a stem of its own keeps out_stem.pdf intact */
    char *out = str3(out_stem, "-latex", ".tex");
    if (!out) return GSL_ENOMEM;
    int status = dpm_plot_run(script, data, out);
    free(out);
    if (status != DPM_SUCCESS) return status;
  }
  return DPM_SUCCESS;
}
