/* likelihood_internal.h — what the likelihood module's files share (not installed): the per-thread workspace,
 * the field (eps-hat and the divergence term at one point, docs/MATH.md §4.3) and the map rho = log sigma -> t. */
#ifndef DPM_LIKELIHOOD_INTERNAL_H
#define DPM_LIKELIHOOD_INTERNAL_H

#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_rng.h>

#include "dpm_likelihood.h"
#include "dpm_oracle.h"

/* One thread's resources: its data oracle, its model (or NULL: the exact field), the ODE workspace and scratch. */
typedef struct {
  dpm_oracle *o;
  dpm_oracle_field
      *diag;    /* the exact field of axis-aligned data in one pass (NULL: full covariances, or a model) */
  int use_diag; /* 1 (default): the exact divergence of the data through diag when there is one */
  dpm_denoiser *dn;
  gsl_odeiv2_step *step;
  gsl_odeiv2_control *con;
  gsl_odeiv2_evolve *evo;
  const gsl_odeiv2_step_type *step_type; /* the type step was made for */
  gsl_rng *r;
  size_t d, cap;     /* cap: probes (and finite-difference pairs) per point the scratch holds */
  size_t bcap;       /* points per block the scratch holds */
  size_t step_dim;   /* the dimension step and evo were made for */
  double *score;     /* d */
  double *hess;      /* bcap x d x d */
  double *probes;    /* bcap x cap x d: the probes of each point of the block */
  const double *pv;  /* the probes of the point lik_field works on */
  double *fdx;       /* (2 cap + 1) x d: shifted points */
  double *fde;       /* (2 cap + 1) x d: eps-hat at them */
  double *bx, *beps; /* bcap x d: the block's points and eps-hat */
  double *bdiv;      /* bcap: the block's divergence terms */
  double *k;         /* 6 bcap (d + 1): fixed-step stages and a spare state */
  /* the solve in progress */
  const dpm_process *p;
  double t_lo, t_hi; /* t is clamped into [t_lo, t_hi] against rounding in t(rho) */
  dpm_lik_div div;   /* route of the divergence */
  int hvp_fd;        /* Hutchinson on exact data by differences along the probe */
  size_t M;          /* probes in use */
  size_t B;          /* points in the block being solved */
  unsigned long nfe; /* right-hand sides of the current solve */
  int status;        /* first error inside the right-hand side */
} lik_thread;

struct dpm_likelihood {
  const dpm_mixture *mix;
  size_t d;
  int nthreads;
  int model; /* 1: th[i].dn is a model */
  lik_thread *th;
};

/* Make sure thread th's scratch holds blocks of B points with M probes each (allocating only when it grows, so at
 * most a few times per run). Status. */
int lik_thread_reserve(lik_thread *th, size_t M, size_t B);

/* The field at (m, s) and x (d): eps-hat (d) and sdiv = s div_x eps-hat = -s^2 div_x score, by th->div (exact:
 * the oracle's Laplacian, the model's divergence op, or central differences with step h = eps_mach^(1/3) s per
 * axis; Hutchinson: the mean of v^T (.) v over the th->M probes at th->pv, by the oracle's Hessian or central
 * differences along v with |h v| = eps_mach^(1/3) s). Status (reason set). */
int lik_field(lik_thread *th, double m, double s, const double *x, double *eps, double *sdiv);

/* The process at rho = log sigma: t (clamped into [th->t_lo, th->t_hi]), m, s, a and w = dt/drho = 2 s^2/g^2.
 * Status. */
int lik_at_rho(const lik_thread *th, double rho, double *t, double *m, double *s, double *a, double *w);

/* Common argument checks of the entry points; on success t0 and T (the resolved end) and rho0, rhoT. */
int lik_check(const dpm_likelihood *w, const dpm_process *p, double t0, double T_in, double *T, double *rho0,
              double *rhoT);

/* A job on point i with thread th's resources. */
typedef int (*lik_job)(lik_thread *th, size_t i, void *ctx);

/* Run job(i) for i < n, one point per task over the workspace's threads (dynamic schedule); on failure the
 * status of the first failing point with its reason, "WHAT: point i: reason". */
int lik_run_points(dpm_likelihood *w, size_t n, lik_job job, void *ctx, const char *what);

/* Route the exact field of the data of every thread of w through the kernel (on = 1, the default when the data
 * has no full covariance) or through the oracle (on = 0): the tests compare the two. */
void lik_set_kernel(dpm_likelihood *w, int on);

/* log N(x; 0, s^2 I) in d dimensions. */
double lik_log_gauss(size_t d, double s, const double *x);

#endif
