/* mixfit.c — the score of a mixture with learnable means fitted by score matching (docs/MATH.md §4.4): the DSM
 * objective (Vincent 2011, eq. 11) or the Fisher divergence to the exact score, on fixed draws, minimised over the
 * means by GSL's Nelder–Mead simplex. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_multimin.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"

enum { FIT_BLOCK = 1024 };

typedef struct {
  dpm_mixture *mix; /* the model: its means are the parameters */
  size_t M, d, K;
  double m, s;
  const double *x, *tgt; /* draws and the target score at them (-eps/s, or the exact score) */
  double *sc;            /* M x d scratch */
  int failed;
} fit_problem;

/* (1/M) sum |s_mu(x) - target|^2, with the means read from v (K x d); GSL_NAN when the model cannot be built. */
static double objective(const gsl_vector *v, void *params)
{
  fit_problem *fp = params;
  for (size_t k = 0; k < fp->K; k++)
    if (dpm_mixture_set_mean(fp->mix, k, gsl_vector_const_ptr(v, k * fp->d))) {
      fp->failed = 1;
      return GSL_NAN;
    }
  dpm_oracle *o = dpm_oracle_alloc(fp->mix);
  dpm_oracle_result res = {.score = fp->sc};
  const int st = o ? dpm_oracle_eval(o, fp->m, fp->s, fp->M, fp->x, &res) : GSL_ENOMEM;
  dpm_oracle_free(o);
  if (st) {
    fp->failed = 1;
    return GSL_NAN;
  }
  double acc = 0.0;
  for (size_t i = 0; i < fp->M * fp->d; i++)
    acc += (fp->sc[i] - fp->tgt[i]) * (fp->sc[i] - fp->tgt[i]);
  return acc / (double)fp->M;
}

int dpm_sm_mixture_fit_means(const dpm_mixture *init, const dpm_mixture *data, double m, double s,
                             dpm_sm_target target, size_t M, uint64_t seed, double step, double tol, size_t maxit,
                             dpm_mixture **fitted, double *loss)
{
  if (!init || !data || !fitted) DPM_ERROR(GSL_EINVAL, "mixture fit: NULL argument");
  *fitted = NULL;
  if (init->d != data->d)
    DPM_ERROR(GSL_EBADLEN, "mixture fit: model dimension %zu != data dimension %zu", init->d, data->d);
  if (M < 2) DPM_ERROR(GSL_EINVAL, "mixture fit: need M >= 2 draws (got %zu)", M);
  if (!dpm_ms_ok(m, s)) DPM_ERROR(GSL_EDOM, "mixture fit: need finite m > 0 and s > 0 (got m = %g, s = %g)", m, s);
  if (!(step > 0.0 && isfinite(step) && tol > 0.0 && isfinite(tol)))
    DPM_ERROR(GSL_EDOM, "mixture fit: step %g and tolerance %g must be finite and > 0", step, tol);
  const size_t d = data->d, K = init->K, np = K * d;
  fit_problem fp = {.M = M, .d = d, .K = K, .m = m, .s = s};
  double *buf = dpm_malloc(4 * M * d * sizeof *buf);
  fp.mix = dpm_mixture_clone(init);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(data);
  dpm_oracle *o = target == DPM_SM_TARGET_ORACLE ? dpm_oracle_alloc(data) : NULL;
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  gsl_vector *v = gsl_vector_alloc(np), *ss = gsl_vector_alloc(np);
  gsl_multimin_fminimizer *mn = gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, np);
  int st = (buf && fp.mix && sw && r && v && ss && mn && (o || target != DPM_SM_TARGET_ORACLE)) ? DPM_SUCCESS
                                                                                                : GSL_ENOMEM;
  double *x = buf, *eps = x + M * d, *tgt = eps + M * d;
  fp.sc = tgt + M * d;
  for (size_t b = 0, done = 0; !st && done < M; b++) { /* the draws, as dpm_sm_objectives_eval makes them */
    const size_t n = M - done < FIT_BLOCK ? M - done : FIT_BLOCK;
    dpm_rng_stream_set(r, seed, b);
    st = dpm_mixture_sample_t(data, sw, r, m, s, n, x + done * d, NULL, eps + done * d);
    done += n;
  }
  if (!st && o) {
    dpm_oracle_result res = {.score = tgt};
    st = dpm_oracle_eval(o, m, s, M, x, &res);
  } else if (!st)
    for (size_t i = 0; i < M * d; i++)
      tgt[i] = -eps[i] / s;
  fp.x = x;
  fp.tgt = tgt;
  size_t it = 0;
  if (!st) {
    memcpy(v->data, init->mu, np * sizeof(double));
    gsl_vector_set_all(ss, step);
    gsl_multimin_function f = {.n = np, .f = objective, .params = &fp};
    gsl_multimin_fminimizer_set(mn, &f, v, ss);
    int test = GSL_CONTINUE;
    while (test == GSL_CONTINUE && it < maxit && !fp.failed) {
      it++;
      if (gsl_multimin_fminimizer_iterate(mn)) break;
      test = gsl_multimin_test_size(gsl_multimin_fminimizer_size(mn), tol);
    }
    if (fp.failed)
      st = DPM_RAISE(GSL_EFAILED, "mixture fit: the model's score failed at some means (%s)", dpm_error_last());
    else {
      /* leave the model at the best vertex */
      (void)objective(gsl_multimin_fminimizer_x(mn), &fp);
      if (loss) *loss = mn->fval;
      *fitted = fp.mix;
      fp.mix = NULL;
      if (test == GSL_CONTINUE)
        st = DPM_RAISE(GSL_EMAXITER, "mixture fit: simplex size %g > %g after %zu iterations",
                       gsl_multimin_fminimizer_size(mn), tol, it);
    }
  }
  if (st && st != GSL_EMAXITER) dpm_error_context("mixture fit at m = %g, s = %g", m, s);
  gsl_multimin_fminimizer_free(mn);
  gsl_vector_free(v);
  gsl_vector_free(ss);
  gsl_rng_free(r);
  dpm_oracle_free(o);
  dpm_mixture_sample_free(sw);
  dpm_mixture_free(fp.mix);
  free(buf);
  return st;
}
