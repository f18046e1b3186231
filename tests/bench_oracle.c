/* bench_oracle.c — throughput of the oracle (log q_t and score) and of the smoothed distance on a fixed problem,
 * printed as "name,n,K,d,seconds" rows for tests/bench.sh to compare against a NumPy/SciPy reference run on the
 * same problem in the same session. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dpmlab.h"

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
  dpm_error_install();
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000, K = argc > 2 ? strtoul(argv[2], NULL, 10) : 64,
         d = argc > 3 ? strtoul(argv[3], NULL, 10) : 8;
  int reps = 5;
  char spec[128];
  snprintf(spec, sizeof spec, "sample:of=gauss:d=%zu,n=%zu,seed=1", d, K);
  dpm_mixture *mix = dpm_data_from_spec(spec);
  if (!mix) {
    fprintf(stderr, "bench: %s\n", dpm_error_last());
    return 1;
  }
  /* point set -> isotropic components of variance 0.1, so the general Gaussian path is measured */
  for (size_t k = 0; k < K; k++)
    dpm_mixture_set_iso(mix, k, 0.1);
  double *x = malloc(n * d * sizeof(double)), *logq = malloc(n * sizeof(double)),
         *score = malloc(n * d * sizeof(double));
  gsl_rng *r = dpm_rng_stream_alloc(2, 0);
  dpm_mixture_sample_workspace *msw = dpm_mixture_sample_alloc(mix);
  if (!msw || dpm_mixture_sample_t(mix, msw, r, 0.8, 0.6, n, x, NULL, NULL)) {
    fprintf(stderr, "bench: %s\n", dpm_error_last());
    return 1;
  }
  dpm_mixture_sample_free(msw);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_oracle_result res = {0};
  res.logq = logq;
  res.score = score;
  double best = 1e300;
  for (int i = 0; i < reps; i++) {
    double t0 = now();
    dpm_oracle_eval(o, 0.8, 0.6, n, x, &res);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("oracle_logq_score,%zu,%zu,%zu,%.6g\n", n, K, d, best);
  best = 1e300;
  double *dist2 = malloc(n * sizeof(double));
  for (int i = 0; i < reps; i++) {
    double t0 = now();
    dpm_distance_eval(K, d, mix->mu, 0.6, n, x, dist2, NULL, score, NULL, NULL);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("distance_dist2_eps,%zu,%zu,%zu,%.6g\n", n, K, d, best);
  /* write the problem for the reference implementation */
  FILE *fp = fopen(argc > 4 ? argv[4] : "/tmp/dpm-bench-problem.csv", "w");
  for (size_t k = 0; k < K; k++)
    dpm_csv_write_row(fp, mix->mu + k * d, d);
  fclose(fp);
  fp = fopen(argc > 5 ? argv[5] : "/tmp/dpm-bench-x.csv", "w");
  for (size_t i = 0; i < n; i++)
    dpm_csv_write_row(fp, x + i * d, d);
  fclose(fp);
  fp = fopen(argc > 6 ? argv[6] : "/tmp/dpm-bench-logq.csv", "w");
  dpm_oracle_eval(o, 0.8, 0.6, n, x, &res);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, "%.17g\n", logq[i]);
  fclose(fp);
  gsl_rng_free(r);
  dpm_oracle_free(o);
  dpm_mixture_free(mix);
  free(x);
  free(logq);
  free(score);
  free(dist2);
  return 0;
}
