/* bench_oracle.c — the in-process side of `make bench` (tests/bench.sh): the machine's limits (exp throughput,
 * scalar and libmvec; DGEMM GFLOP/s; the ideal denoiser's product kernel's GFLOP/s) and dpmlab's hot paths timed
 * inside one process on inputs given as .npy files, each writing its values (.npy) for tests/bench_reference.py to
 * compare before any ratio is printed.
 *
 *   bench_oracle limits
 *   bench_oracle distance Y.npy X.npy SIGMA REPS OUT.npy      dist2, eps (the ideal denoiser, docs/MATH.md §2.11)
 *   bench_oracle oracle MIX.json X.npy M S REPS OUT.npy       logq, score, x0, eps, trcov, lap (docs/MATH.md §2)
 *   bench_oracle gamma SPEC N M SEED REPS OUT.npy             Gamma_n and its standard error, linear schedule
 *   bench_oracle dp GAMMA.npy N K REPS OUT.npy                the optimal trajectory tau_1..tau_K and its cost
 *   bench_oracle scale OUT.dat                                the ideal denoiser's time against K, d and B
 *   bench_oracle time FILE CMD [ARGS...]                      CMD's wall time and peak memory appended to FILE
 *
 * Each prints one line "seconds=MEDIAN min=MIN reps=R threads=T" (the compute only: files are read before and
 * written after the timed region), then the output file holds the values of the last repetition. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <gsl/gsl_cblas.h>

#include "dpmlab.h"
#include "dpm_kernel_internal.h"
#include "timing.h"

extern double exp(double) __attribute__((__simd__("notinbranch")));

static void report(double *t, int reps)
{
  const double med = timing_median(t, (size_t)reps); /* t sorted: t[0] the minimum */
  int nt = 1;
#ifdef _OPENMP
  nt = omp_get_max_threads();
#endif
  printf("seconds=%.6g min=%.6g reps=%d threads=%d\n", med, t[0], reps, nt);
}

static double *load(const char *path, size_t *rows, size_t *cols)
{
  double *v = NULL;
  if (dpm_csv_read(path, &v, rows, cols, NULL)) {
    fprintf(stderr, "bench_oracle: %s\n", dpm_error_last());
    exit(1);
  }
  return v;
}

static void save(const char *path, const double *v, size_t rows, size_t cols)
{
  FILE *fp = fopen(path, "wb");
  if (!fp || dpm_npy_write(fp, v, rows, cols) || fclose(fp)) {
    fprintf(stderr, "bench_oracle: cannot write %s\n", path);
    exit(1);
  }
}

static void die(const char *what)
{
  fprintf(stderr, "bench_oracle %s: %s\n", what, dpm_error_last());
  exit(1);
}

/* ---- the machine's limits ---------------------------------------------------------------------------------- */

__attribute__((noinline)) static double exp_scalar(size_t n, const double *a)
{
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += exp(a[i]);
  return s;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
__attribute__((noinline)) static double
exp_vector(size_t n, const double *a)
{
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; i++)
    s += exp(a[i]);
  return s;
}

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);

/* The ideal denoiser's product kernel (lib/oracle/kernel8.c) at its own best, on the shape the route gives it:
 * 64 packed queries against 16 384 points of d = 784, points in chunks of 240 over the threads, d in 4 blocks.
 * GFLOP/s, or 0 where the CPU lacks it. */
static double kernel_rate(void)
{
  if (!dpm_ukr8_available()) return 0.0;
  const size_t nq = 64, K = 16384, d = 784, nch = 240, nkb = 4;
  double *Y = malloc(K * d * sizeof *Y), *Xp = malloc(d * nq * sizeof *Xp);
  for (size_t i = 0; i < K * d; i++)
    Y[i] = sin((double)i);
  for (size_t i = 0; i < d * nq; i++)
    Xp[i] = cos((double)i);
  double best = 1e300;
  for (int r = 0; r < 5; r++) {
    const double t0 = timing_now();
#pragma omp parallel
    {
      double *C = malloc(nch * nq * sizeof *C);
#pragma omp for schedule(dynamic, 1)
      for (size_t j0 = 0; j0 < K; j0 += nch)
        for (size_t b = 0; b < nkb; b++) {
          const size_t p0 = b * d / nkb, p1 = (b + 1) * d / nkb;
          for (size_t j = j0; j < j0 + nch && j + DPM_UKR_ROWS <= K; j += DPM_UKR_ROWS)
            for (size_t q = 0; q < nq; q += DPM_UKR_LANES)
              dpm_ukr8(p1 - p0, Y + j * d + p0, d, Xp + p0 * nq + q, nq,
                       nq - q < DPM_UKR_LANES ? nq - q : DPM_UKR_LANES, C + (j - j0) * nq + q, nq, b > 0);
        }
      free(C);
    }
    best = fmin(best, timing_now() - t0);
  }
  free(Y);
  free(Xp);
  return 2.0 * (double)K * (double)d * (double)nq / best / 1e9; /* K a multiple of the kernel's rows */
}

static int limits(void)
{
  const size_t n = 1 << 16;
  double *a = malloc(n * sizeof *a), sink = 0.0;
  for (size_t i = 0; i < n; i++)
    a[i] = -40.0 * (double)i / (double)n;
  double best_s = 1e300, best_v = 1e300;
  for (int r = 0; r < 30; r++) {
    double t0 = timing_now();
    sink += exp_scalar(n, a);
    double t1 = timing_now();
    sink += exp_vector(n, a);
    double t2 = timing_now();
    best_s = fmin(best_s, t1 - t0);
    best_v = fmin(best_v, t2 - t1);
  }
  /* DGEMM: 2048^3 with OpenBLAS's own threads (all cores) and with one */
  const int N = 2048;
  double *A = malloc((size_t)N * N * sizeof *A), *B = malloc((size_t)N * N * sizeof *B),
         *C = malloc((size_t)N * N * sizeof *C);
  for (size_t i = 0; i < (size_t)N * N; i++) {
    A[i] = sin((double)i);
    B[i] = cos((double)i);
  }
#ifdef _OPENMP
  const int all = omp_get_num_procs(); /* every core (the pool starts empty, see blas_pool_off) */
#else
  const int all = openblas_get_num_threads();
#endif
  double g[2];
  for (int k = 0; k < 2; k++) {
    openblas_set_num_threads(k == 0 ? all : 1);
    double best = 1e300;
    for (int r = 0; r < 3; r++) {
      double t0 = timing_now();
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0, A, N, B, N, 0.0, C, N);
      best = fmin(best, timing_now() - t0);
    }
    g[k] = 2.0 * N * (double)N * N / best / 1e9;
  }
  openblas_set_num_threads(all);
  printf("exp_scalar_ns=%.3f exp_vector_ns=%.3f dgemm_gflops=%.2f dgemm_gflops_1=%.2f blas_threads=%d "
         "kernel_gflops=%.2f sink=%g\n",
         best_s / (double)n * 1e9, best_v / (double)n * 1e9, g[0], g[1], all, kernel_rate(), sink);
  free(a);
  free(A);
  free(B);
  free(C);
  return 0;
}

/* ---- hot paths ------------------------------------------------------------------------------------------------
 */

static int bench_distance(char **argv)
{
  size_t K, d, n, d2;
  double *Y = load(argv[0], &K, &d), *x = load(argv[1], &n, &d2);
  const double sigma = atof(argv[2]);
  const int reps = atoi(argv[3]);
  if (d != d2) {
    fprintf(stderr, "bench_oracle distance: dimensions %zu and %zu\n", d, d2);
    return 1;
  }
  double *dist2 = malloc(n * sizeof *dist2), *eps = malloc(n * d * sizeof *eps), *t = malloc((size_t)reps * 8);
  for (int r = 0; r < reps; r++) {
    double t0 = timing_now();
    if (dpm_distance_eval(K, d, Y, sigma, n, x, dist2, NULL, eps, NULL, NULL)) die("distance");
    t[r] = timing_now() - t0;
  }
  report(t, reps);
  double *out = malloc(n * (d + 1) * sizeof *out);
  for (size_t i = 0; i < n; i++) {
    out[i * (d + 1)] = dist2[i];
    memcpy(out + i * (d + 1) + 1, eps + i * d, d * sizeof(double));
  }
  save(argv[4], out, n, d + 1);
  return 0;
}

static int bench_oracle(char **argv)
{
  dpm_mixture *mix = dpm_data_from_spec(argv[0]);
  if (!mix) die("oracle");
  size_t n, d;
  double *x = load(argv[1], &n, &d);
  const double m = atof(argv[2]), s = atof(argv[3]);
  const int reps = atoi(argv[4]);
  const size_t cols = 3 * d + 3;
  double *buf = malloc(n * cols * sizeof *buf), *t = malloc((size_t)reps * 8);
  dpm_oracle_result res;
  memset(&res, 0, sizeof res);
  res.logq = buf;
  res.score = buf + n;
  res.x0 = buf + n + n * d;
  res.eps = buf + n + 2 * n * d;
  res.trcov = buf + n + 3 * n * d;
  res.lap = buf + 2 * n + 3 * n * d;
  dpm_oracle *o = dpm_oracle_alloc(mix);
  if (!o) die("oracle");
  for (int r = 0; r < reps; r++) {
    double t0 = timing_now();
    if (dpm_oracle_eval(o, m, s, n, x, &res)) die("oracle");
    t[r] = timing_now() - t0;
  }
  report(t, reps);
  double *out = malloc(n * cols * sizeof *out);
  for (size_t i = 0; i < n; i++) { /* the columns of `dpmlab oracle`: logq, score, x0, eps, trcov, lap */
    double *row = out + i * cols;
    row[0] = res.logq[i];
    memcpy(row + 1, res.score + i * d, d * sizeof(double));
    memcpy(row + 1 + d, res.x0 + i * d, d * sizeof(double));
    memcpy(row + 1 + 2 * d, res.eps + i * d, d * sizeof(double));
    row[1 + 3 * d] = res.trcov[i];
    row[2 + 3 * d] = res.lap[i];
  }
  save(argv[5], out, n, cols);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
  return 0;
}

static int bench_gamma(char **argv)
{
  dpm_mixture *mix = dpm_data_from_spec(argv[0]);
  const size_t N = strtoul(argv[1], NULL, 10), M = strtoul(argv[2], NULL, 10);
  const uint64_t seed = strtoull(argv[3], NULL, 10);
  const int reps = atoi(argv[4]);
  dpm_schedule *sch = dpm_schedule_alloc_by_name("linear", N);
  if (!mix || !sch) die("gamma");
  double *g = malloc((N + 1) * sizeof *g), *se = malloc((N + 1) * sizeof *se), *t = malloc((size_t)reps * 8);
  for (int r = 0; r < reps; r++) {
    double t0 = timing_now();
    dpm_analytic_gamma_mc *w = dpm_analytic_gamma_mc_alloc(mix, M);
    if (!w || dpm_analytic_gamma_mc_schedule(w, sch, seed, g, se)) die("gamma");
    dpm_analytic_gamma_mc_free(w);
    t[r] = timing_now() - t0;
  }
  report(t, reps);
  double *out = malloc(N * 2 * sizeof *out);
  for (size_t k = 1; k <= N; k++) {
    out[(k - 1) * 2] = g[k];
    out[(k - 1) * 2 + 1] = se[k];
  }
  save(argv[5], out, N, 2);
  dpm_schedule_free(sch);
  dpm_mixture_free(mix);
  return 0;
}

static int bench_dp(char **argv)
{
  size_t rows, cols;
  double *gin = load(argv[0], &rows, &cols);
  const size_t N = strtoul(argv[1], NULL, 10), K = strtoul(argv[2], NULL, 10);
  const int reps = atoi(argv[3]);
  if (rows * cols != N) {
    fprintf(stderr, "bench_oracle dp: %zu gamma values for N = %zu\n", rows * cols, N);
    return 1;
  }
  dpm_schedule *sch = dpm_schedule_alloc_by_name("linear", N);
  double *gamma = malloc((N + 1) * sizeof *gamma), total = NAN, *t = malloc((size_t)reps * 8);
  gamma[0] = NAN;
  memcpy(gamma + 1, gin, N * sizeof(double));
  size_t *tau = malloc(K * sizeof *tau);
  for (int r = 0; r < reps; r++) {
    double t0 = timing_now();
    dpm_analytic_dp *dp = dpm_analytic_dp_alloc(N, K);
    if (!dp || dpm_analytic_dp_solve(dp, sch, gamma, DPM_COST_J, K, tau, &total)) die("dp");
    dpm_analytic_dp_free(dp);
    t[r] = timing_now() - t0;
  }
  report(t, reps);
  double *out = malloc((K + 1) * sizeof *out);
  for (size_t k = 0; k < K; k++)
    out[k] = (double)tau[k];
  out[K] = total;
  save(argv[4], out, K + 1, 1);
  dpm_schedule_free(sch);
  return 0;
}

/* uniform [0, 1) numbers from a fixed 64-bit LCG: the same problems on every machine */
static void fill(double *v, size_t n, uint64_t *state)
{
  for (size_t i = 0; i < n; i++) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    v[i] = (double)(*state >> 11) * 0x1p-53;
  }
}

static double time_distance(size_t K, size_t d, size_t B, double sigma)
{
  uint64_t st = 42;
  double *Y = malloc(K * d * sizeof *Y), *x = malloc(B * d * sizeof *x), *dist2 = malloc(B * sizeof *dist2),
         *eps = malloc(B * d * sizeof *eps), t[5];
  fill(Y, K * d, &st);
  fill(x, B * d, &st);
  for (int r = 0; r < 5; r++) {
    double t0 = timing_now();
    if (dpm_distance_eval(K, d, Y, sigma, B, x, dist2, NULL, eps, NULL, NULL)) die("scale");
    t[r] = timing_now() - t0;
  }
  const double med = timing_median(t, 5);
  free(Y);
  free(x);
  free(dist2);
  free(eps);
  return med;
}

/* Blocks for plots/bench_scaling.gp: the median of 5 times against K, d and B on the large-d route (the others
 * fixed at K = 16000, d = 256, B = 256) and against K on the small-d route (d = 2, B = 4000); sigma = 1. */
static int scale(const char *path)
{
  FILE *fp = fopen(path, "w");
  if (!fp) return 1;
  static const size_t Ks[5] = {8000, 16000, 32000, 64000, 128000}, ds[5] = {64, 128, 256, 512, 1024},
                      Bs[5] = {64, 128, 256, 512, 1024}, K2[5] = {5000, 10000, 20000, 40000, 80000};
  fprintf(fp, "# the ideal denoiser's median time of 5 (seconds) against one size, the others fixed\n");
  const char *names[4] = {"Ksweep", "dsweep", "Bsweep", "K2sweep"};
  for (int s = 0; s < 4; s++) {
    fprintf(fp, "\n\n# %s: %s seconds\n", names[s], s == 1 ? "d" : s == 2 ? "B" : "K");
    for (int i = 0; i < 5; i++) {
      const size_t K = s == 0   ? Ks[i]
                       : s == 3 ? K2[i]
                                : 16000,
                   d = s == 1   ? ds[i]
                       : s == 3 ? 2
                                : 256,
                   B = s == 2   ? Bs[i]
                       : s == 3 ? 4000
                                : 256;
      const double sec = time_distance(K, d, B, 1.0);
      fprintf(fp, "%zu %.6g\n", s == 0 || s == 3 ? K : s == 1 ? d : B, sec);
      fprintf(stderr, "scale %s: K = %zu, d = %zu, B = %zu: %.4f s\n", names[s], K, d, B, sec);
    }
  }
  return fclose(fp) != 0;
}

/* As the command line does (lib/cli/main.c): OpenBLAS's pool empty unless the environment asks for one; the
 * limits below start the threads they measure with openblas_set_num_threads. */
static int pool_set_here = 0; /* 1: OPENBLAS_NUM_THREADS was set by blas_pool_off, not by the environment */
__attribute__((constructor(101))) static void blas_pool_off(void)
{
  pool_set_here = getenv("OPENBLAS_NUM_THREADS") == NULL;
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
}

/* ---- whole-process timing ------------------------------------------------------------------------------------
 * bench_oracle time FILE CMD [ARGS...]: run CMD (PATH searched) with this process's stdin, stdout and stderr and
 * the environment it was given (OPENBLAS_NUM_THREADS as before blas_pool_off), append "SECONDS MAXRSS_KIB" to
 * FILE (wall time by the monotonic clock in microseconds — /usr/bin/time's %e has 10 ms steps, the size of the
 * small rows' differences — and the peak resident set of CMD and its descendants, from wait4), and exit with
 * CMD's status. */
static int time_cmd(char **argv)
{
  if (pool_set_here) unsetenv("OPENBLAS_NUM_THREADS");
  const double t0 = timing_now();
  const pid_t pid = fork();
  if (pid < 0) {
    perror("bench_oracle time: fork");
    return 125;
  }
  if (pid == 0) {
    execvp(argv[1], argv + 1);
    fprintf(stderr, "bench_oracle time: cannot run %s\n", argv[1]);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) != pid) {
    perror("bench_oracle time: wait4");
    return 125;
  }
  const double sec = timing_now() - t0;
  FILE *fp = fopen(argv[0], "a");
  if (!fp || fprintf(fp, "%.6f %ld\n", sec, ru.ru_maxrss) < 0 || fclose(fp) != 0) {
    fprintf(stderr, "bench_oracle time: cannot append to %s\n", argv[0]);
    return 125;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int main(int argc, char **argv)
{
  dpm_error_install();
  if (argc >= 4 && strcmp(argv[1], "time") == 0) return time_cmd(argv + 2);
  if (argc >= 2 && strcmp(argv[1], "limits") == 0) return limits();
  if (argc == 7 && strcmp(argv[1], "distance") == 0) return bench_distance(argv + 2);
  if (argc == 8 && strcmp(argv[1], "oracle") == 0) return bench_oracle(argv + 2);
  if (argc == 8 && strcmp(argv[1], "gamma") == 0) return bench_gamma(argv + 2);
  if (argc == 7 && strcmp(argv[1], "dp") == 0) return bench_dp(argv + 2);
  if (argc == 3 && strcmp(argv[1], "scale") == 0) return scale(argv[2]);
  fprintf(stderr, "usage: bench_oracle limits | distance Y X SIGMA REPS OUT | oracle MIX X M S REPS OUT | "
                  "gamma SPEC N M SEED REPS OUT | dp GAMMA N K REPS OUT | scale OUT | time FILE CMD [ARGS]\n");
  return 2;
}
