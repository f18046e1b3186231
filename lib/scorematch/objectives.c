/* objectives.c — the score-matching objectives by Monte Carlo with standard errors (docs/MATH.md §4.4): the Fisher
 * divergence, implicit score matching (Hyvarinen 2005, eq. 4), denoising score matching (Vincent 2011, eq. 11) and
 * sliced score matching (Song, Garg, Shi & Ermon 2019, eq. 7) on common random numbers, so the identities
 * DSM - SM = d/s^2 and Fisher - SM = E|grad log q_t|^2 are checked on differences with small standard errors; and
 * their integrals over t with the weightings 1, s_t^2 and g_t^2/2 (Song, Durkan, Murray & Ermon 2021, eq. 7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>

#include "dpm_internal.h"
#include "dpm_oracle.h"
#include "dpm_rng.h"
#include "dpm_scorematch.h"

enum { BLOCK = 1024, NACC = 9 };

/* The 18 numbers of a dpm_sm_objectives as an array (mean, se pairs) and back. */
static void pack(const dpm_sm_objectives *o, double v[18])
{
  const double t[18] = {o->fisher,
                        o->fisher_se,
                        o->sm,
                        o->sm_se,
                        o->dsm,
                        o->dsm_se,
                        o->ssm,
                        o->ssm_se,
                        o->dsm_minus_sm,
                        o->dsm_minus_sm_se,
                        o->fisher_minus_sm,
                        o->fisher_minus_sm_se,
                        o->ssm_minus_sm,
                        o->ssm_minus_sm_se,
                        o->dsm_minus_fisher,
                        o->dsm_minus_fisher_se,
                        o->score2,
                        o->score2_se};
  memcpy(v, t, sizeof t);
}

static void unpack(const double v[18], size_t M, dpm_sm_objectives *o)
{
  *o = (dpm_sm_objectives){v[0],  v[1],  v[2],  v[3],  v[4],  v[5],  v[6],  v[7],  v[8], v[9],
                           v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17], M};
}

int dpm_sm_objectives_eval(const dpm_mixture *mix, dpm_sm_model *md, double m, double s, size_t M, uint64_t seed,
                           dpm_sm_objectives *out)
{
  if (!mix || !md || !out) DPM_ERROR(GSL_EINVAL, "score-matching objectives: NULL argument");
  if (!dpm_ms_ok(m, s))
    DPM_ERROR(GSL_EDOM, "score-matching objectives: need finite m > 0 and s > 0 (got m = %g, s = %g)", m, s);
  if (M < 2) DPM_ERROR(GSL_EINVAL, "score-matching objectives: need M >= 2 draws (got %zu)", M);
  if (md->d != mix->d)
    DPM_ERROR(GSL_EBADLEN, "score-matching objectives: model dimension %zu != data dimension %zu", md->d, mix->d);
  const size_t d = mix->d, B = M < BLOCK ? M : BLOCK;
  double *buf = dpm_malloc((7 * B * d + B) * sizeof *buf);
  dpm_oracle *o = dpm_oracle_alloc(mix);
  dpm_mixture_sample_workspace *sw = dpm_mixture_sample_alloc(mix);
  gsl_rng *r = dpm_rng_stream_alloc(seed, 0);
  int st = (buf && o && sw && r) ? DPM_SUCCESS : GSL_ENOMEM;
  dpm_welford acc[NACC];
  memset(acc, 0, sizeof acc);
  double *x = buf, *x0 = x + B * d, *eps = x0 + B * d, *v = eps + B * d, *sc = v + B * d, *jv = sc + B * d,
         *sq = jv + B * d, *div = sq + B * d;
  for (size_t b = 0, done = 0; !st && done < M; b++) {
    const size_t n = M - done < B ? M - done : B;
    dpm_rng_stream_set(r, seed, b);
    st = dpm_mixture_sample_t(mix, sw, r, m, s, n, x, x0, eps);
    for (size_t i = 0; i < n * d; i++)
      v[i] = gsl_ran_gaussian_ziggurat(r, 1.0);
    dpm_oracle_result res = {.score = sq};
    if (!st) st = dpm_oracle_eval(o, m, s, n, x, &res);
    if (!st) st = dpm_sm_model_score(md, m, s, n, x, sc);
    if (!st) st = dpm_sm_model_div(md, m, s, n, x, div);
    if (!st) st = dpm_sm_model_jvp(md, m, s, n, x, v, jv);
    if (st) break;
    for (size_t p = 0; p < n; p++) {
      const double *sp = sc + p * d, *qp = sq + p * d, *ep = eps + p * d, *vp = v + p * d, *jp = jv + p * d;
      double fisher = 0.0, s2 = 0.0, dsm = 0.0, q2 = 0.0, vs = 0.0, vjv = 0.0;
      for (size_t j = 0; j < d; j++) {
        fisher += (sp[j] - qp[j]) * (sp[j] - qp[j]);
        s2 += sp[j] * sp[j];
        dsm += (sp[j] + ep[j] / s) * (sp[j] + ep[j] / s);
        q2 += qp[j] * qp[j];
        vs += vp[j] * sp[j];
        vjv += vp[j] * jp[j];
      }
      const double sm = s2 + 2.0 * div[p], ssm = vs * vs + 2.0 * vjv;
      const double vals[NACC] = {fisher, sm, dsm, ssm, dsm - sm, fisher - sm, ssm - sm, dsm - fisher, q2};
      for (int a = 0; a < NACC; a++)
        dpm_welford_add(&acc[a], vals[a]);
    }
    done += n;
  }
  if (st == DPM_SUCCESS) {
    double mv[2 * NACC];
    for (int a = 0; a < NACC; a++) {
      mv[2 * a] = acc[a].mean;
      mv[2 * a + 1] = dpm_welford_se(&acc[a]);
    }
    unpack(mv, M, out);
  } else
    dpm_error_context("score-matching objectives at m = %g, s = %g", m, s);
  gsl_rng_free(r);
  dpm_mixture_sample_free(sw);
  dpm_oracle_free(o);
  free(buf);
  return st;
}

/* ---- weightings and integrals over t ---------------------------------------------------------------------------
 */

static const char *const weight_names[] = {"uniform", "sigma2", "likelihood"};

int dpm_sm_weighting_parse(const char *name, dpm_sm_weighting *w)
{
  for (int i = 0; i < 3; i++)
    if (name && strcmp(name, weight_names[i]) == 0) {
      *w = (dpm_sm_weighting)i;
      return DPM_SUCCESS;
    }
  dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "unknown weighting '%s' (uniform, sigma2, likelihood)",
             name ? name : "(null)");
  return -1;
}

const char *dpm_sm_weighting_name(dpm_sm_weighting w) { return (unsigned)w < 3 ? weight_names[w] : "(unknown)"; }

double dpm_sm_weighting_eval(dpm_sm_weighting w, const dpm_process *p, double t)
{
  double m, s;
  if (dpm_process_ms(p, t, &m, &s)) return NAN;
  switch (w) {
  case DPM_SM_WEIGHT_UNIFORM:
    return 1.0;
  case DPM_SM_WEIGHT_SIGMA2:
    return s * s;
  case DPM_SM_WEIGHT_LIKELIHOOD: {
    const double g = dpm_process_g(p, t);
    return 0.5 * g * g;
  }
  }
  dpm_errorf(__FILE__, __LINE__, GSL_EINVAL, "unknown weighting %d", (int)w);
  return NAN;
}

int dpm_sm_objectives_integrate(const dpm_mixture *mix, dpm_sm_model *md, const dpm_process *p, dpm_sm_weighting w,
                                double t0, double t1, size_t nt, size_t M, uint64_t seed, dpm_sm_objectives *out)
{
  if (!p || !out) DPM_ERROR(GSL_EINVAL, "score-matching integral: NULL argument");
  if (nt == 0) DPM_ERROR(GSL_EINVAL, "score-matching integral: need at least one node");
  if (!(t0 >= 0.0 && t1 > t0 && t1 <= p->t_max))
    DPM_ERROR(GSL_EDOM, "score-matching integral: need 0 <= t0 < t1 <= t_max = %g (got %g, %g)", p->t_max, t0, t1);
  gsl_integration_glfixed_table *gl = gsl_integration_glfixed_table_alloc(nt);
  if (!gl) DPM_ERROR(GSL_ENOMEM, "score-matching integral: no memory for %zu nodes", nt);
  double sum[18] = {0}, var[18] = {0};
  int st = DPM_SUCCESS;
  for (size_t j = 0; j < nt && !st; j++) {
    double t, wj, m, s;
    gsl_integration_glfixed_point(t0, t1, j, &t, &wj, gl);
    const double lam = dpm_sm_weighting_eval(w, p, t);
    if ((st = dpm_process_ms(p, t, &m, &s)) || !isfinite(lam)) {
      st = st ? st : GSL_EDOM;
      break;
    }
    dpm_sm_objectives o;
    if ((st = dpm_sm_objectives_eval(mix, md, m, s, M, seed + j, &o))) {
      dpm_error_context("node t = %g", t);
      break;
    }
    double f[18];
    pack(&o, f);
    for (int a = 0; a < 18; a += 2) {
      sum[a] += wj * lam * f[a];
      var[a] += (wj * lam * f[a + 1]) * (wj * lam * f[a + 1]);
    }
  }
  gsl_integration_glfixed_table_free(gl);
  if (st) return st;
  for (int a = 0; a < 18; a += 2)
    sum[a + 1] = sqrt(var[a]);
  unpack(sum, nt * M, out);
  return DPM_SUCCESS;
}
