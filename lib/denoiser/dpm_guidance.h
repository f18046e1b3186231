/* dpm_guidance.h — exact guidance as denoiser wrappers, so every sampler of the table uses it unchanged:
 * classifier guidance (Dhariwal & Nichol 2021, eq. 10 as a score), classifier-free guidance (Ho & Salimans 2022,
 * eq. 6), autoguidance (Karras et al. 2024, eq. 2 with a weaker model) and energy guidance with a user energy
 * (docs/MATH.md §4; docs/samplers.md, "Guidance"). Every wrapper forms the guided score and returns
 * eps = -s score, x0 = (x - s eps)/m. */
#ifndef DPM_GUIDANCE_H
#define DPM_GUIDANCE_H

#include <stddef.h>

#include "dpm_data.h"
#include "dpm_denoiser.h"

/* Classifier guidance: score_w(x) = score_base(x) + w grad_x log p_t(y | x), with the exact class posterior of the
 * labelled mixture mix at (m, s) (the oracle's class_grad). With base = the exact denoiser of mix and w = 1 the
 * guided score is exactly grad log q_t(x | y), so a sampler draws the class-conditional q_0(x | y); w > 1
 * sharpens. base (any denoiser of the same dimension) and mix are borrowed. Errors (NULL, raised): NULL
 * argument, an unlabelled mix, y outside [0, nlabels) or a class of zero weight, w not finite, a dimension
 * mismatch, ENOMEM. */
dpm_denoiser *dpm_guidance_classifier_alloc(dpm_denoiser *base, const dpm_mixture *mix, int y, double w);

/* The linear guidance of CFG and autoguidance: eps = (1 + w) eps_main - w eps_guide (so x0 and the score combine
 * with the same weights). Classifier-free: main = the exact denoiser of dpm_guidance_class_mixture(mix, y), guide
 * = the unconditional one. With both exact this equals classifier guidance with weight 1 + w, and it does not draw
 * the tilted law p(x|y)^(1+w) p(x)^(-w) / Z (dpm_guidance_tilt_distance measures by how much). Autoguidance: main
 * = the model, guide = a weaker one (dpm_guidance_weak_mixture); Karras et al.'s weight is 1 + w. Both borrowed.
 * Errors (NULL, raised): NULL argument, dimension mismatch, w not finite, ENOMEM. */
dpm_denoiser *dpm_guidance_combine_alloc(dpm_denoiser *main_dn, dpm_denoiser *guide_dn, double w);

/* The class-conditional q_0(x | y): the components labelled y with their weights renormalised (labels kept).
 * NULL (raised) for an unlabelled mixture, y out of range or a class of zero total weight. */
dpm_mixture *dpm_guidance_class_mixture(const dpm_mixture *mix, int y);

/* A weaker model of mix for autoguidance: q_0 convolved with N(0, extra I) (every covariance Sigma_k + extra I,
 * point masses become Gaussians of variance extra), keeping, when keep is in [1, K), only the keep components of
 * largest weight (ties to the smaller index; weights renormalised). keep = 0 keeps all. extra >= 0 finite. NULL
 * on error (raised). */
dpm_mixture *dpm_guidance_weak_mixture(const dpm_mixture *mix, double extra, size_t keep);

/* A user energy E(x) on data space with its gradient: value (may be NULL) and grad (d, may be NULL) at one point.
 * Returns a status. */
typedef int (*dpm_energy_fn)(void *ctx, size_t d, const double *x, double *value, double *grad);

/* Energy guidance: score_w(x) = score_base(x) - w grad_x E(x / m), i.e. the energy pulled back to the noisy
 * scale x = m x_0 (gradient (1/m) grad E(x/m)). As s -> 0 (m -> 1) the guided score tends to grad log(p e^{-wE}),
 * the tilted data law; at larger t it is a heuristic (not the score of the noised tilted law). base and ctx are
 * borrowed. Errors (NULL, raised): NULL base or energy, w not finite, ENOMEM. */
dpm_denoiser *dpm_guidance_energy_alloc(dpm_denoiser *base, dpm_energy_fn energy, void *ctx, double w);

/* Built-in energies. Quadratic: E(x) = |x - c|^2 / (2 tau^2), ctx a dpm_energy_quadratic (c borrowed, d entries).
 * Mixture: E(x) = -log p(x), ctx a dpm_energy_mixture made by dpm_energy_mixture_alloc (Gaussian components
 * only; point masses have no density: GSL_EDOM). */
typedef struct {
  const double *c;
  double tau;
} dpm_energy_quadratic;
int dpm_energy_quadratic_fn(void *ctx, size_t d, const double *x, double *value, double *grad);

typedef struct dpm_energy_mixture dpm_energy_mixture;
dpm_energy_mixture *dpm_energy_mixture_alloc(const dpm_mixture *mix); /* mix borrowed; NULL on error */
void dpm_energy_mixture_free(dpm_energy_mixture *e);                  /* NULL is a no-op */
int dpm_energy_mixture_fn(void *ctx, size_t d, const double *x, double *value, double *grad);

/* By how much a 1-D sample x (n) misses the tilted law of CFG, p_w(x) = p(x|y)^(1+w) p(x)^(-w) / Z: the tilted
 * density tabulated in log space on ngrid >= 1001 points over the mixture's box (tail 1e-12, widened by 10 %),
 * normalised by the trapezoid rule; w1 = int |F_n - F_w| and ks = sup |F_n - F_w| on that grid (either may be
 * NULL), accurate to O(spacing). GSL_EBADLEN unless d = 1, GSL_EINVAL for n = 0, errors of the class mixture. */
int dpm_guidance_tilt_distance(const dpm_mixture *mix, int y, double w, size_t ngrid, size_t n, const double *x,
                               double *w1, double *ks);

#endif
