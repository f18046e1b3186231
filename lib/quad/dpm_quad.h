/* dpm_quad.h — adaptive cubature of Gaussian expectations E_{N(0, I_d)} g(u) for d = 1, 2, as a workspace
 * (alloc / integrate / free), with control variates and warm starts along a family of nearby integrands. */
#ifndef DPM_QUAD_H
#define DPM_QUAD_H

#include <stddef.h>

/* The integration box is [-DPM_QUAD_L, DPM_QUAD_L]^d (outside it the normal mass is 2.3e-19 per axis). */
#define DPM_QUAD_L 9.0

enum {
  DPM_QUAD_NCV_MAX = 2,           /* control variates a workspace can hold */
  DPM_QUAD_NPOINTS_MAX = 16 * 161 /* points in one call of the integrand */
};

/* The integrand: g (np values) and the ncv control variates c (ncv x np, variate v at c[v np + p]) at np points u
 * (np x d, standard-normal coordinates). Returns a status; a non-success status stops the integration and is
 * returned by dpm_quad_integrate. */
typedef int (*dpm_quad_fn)(void *ctx, size_t np, const double *u, double *g, double *c);

typedef struct dpm_quad_workspace dpm_quad_workspace;
/* The final boxes of an integration, kept to warm-start the next one. */
typedef struct dpm_quad_mesh dpm_quad_mesh;

/* d = 1 or 2, 1 <= ncv <= DPM_QUAD_NCV_MAX. NULL on error. */
dpm_quad_workspace *dpm_quad_workspace_alloc(size_t d, size_t ncv);
void dpm_quad_workspace_free(dpm_quad_workspace *w); /* NULL is a no-op */

dpm_quad_mesh *dpm_quad_mesh_alloc(void);   /* empty; NULL on ENOMEM */
void dpm_quad_mesh_reset(dpm_quad_mesh *m); /* forget the boxes (the next integration starts cold); can't fail */
void dpm_quad_mesh_free(dpm_quad_mesh *m);  /* NULL is a no-op */

/* E_{N(0, I_d)} g over the box, with the control variate whose estimated error on the starting boxes is the
 * smallest (cint[v] its integral against phi over the box, known in closed form by the caller): to a summed error
 * (truncation estimates plus rounding floors) <= max(abs_tol, rel_tol |value|). With a mesh, start from its boxes
 * and store the final ones there. Returns GSL_EMAXITER (with *value and *err set) when the box budget stops the
 * refinement before the tolerance is met; the integrand's status when it fails. */
int dpm_quad_integrate(dpm_quad_workspace *w, dpm_quad_fn fn, void *ctx, const double *cint, double rel_tol,
                       double abs_tol, dpm_quad_mesh *mesh, double *value, double *err);

/* The integrals of phi and phi u_1^2 over [-DPM_QUAD_L, DPM_QUAD_L] (for the control variates' closed forms). */
void dpm_quad_box_moments(double *A0, double *A2);

/* GSL_EINVAL unless d is 1 or 2 and rel_tol in [1e-14, 0.1]; the message starts with what. */
int dpm_quad_check(size_t d, double rel_tol, const char *what);

#endif
