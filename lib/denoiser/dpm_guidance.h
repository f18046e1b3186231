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

/* Energy guidance at the posterior mean (the DPS form, Chung et al. 2023, Alg. 1 with an energy in place of the
 * measurement loss): score_w(x) = score_base(x) - w grad_x E(x0-hat(x)), x0-hat = E[x_0|x] of the model mix, with
 * the exact Jacobian d x0-hat/dx = (m/s^2) Cov[x_0|x] (Tweedie's second-order identity, docs/MATH.md §2.4-2.5):
 * eps_w = eps_base + w (m/s) Cov[x_0|x] grad E(x0-hat). As s -> 0, Cov -> (s/m)^2 I near a Gaussian component and
 * score_w -> grad log(p e^{-wE}), the tilted data law; at larger t the guidance fades with m/s^2 and is a
 * heuristic (E(E[x_0|x]) is not the noised tilted log-density -log E[e^{-wE(x_0)}|x]). base, mix and ctx are
 * borrowed. Errors (NULL, raised): NULL argument, dimension mismatch, w not finite, ENOMEM. */
dpm_denoiser *dpm_guidance_energy_alloc(dpm_denoiser *base, const dpm_mixture *mix, dpm_energy_fn energy,
                                        void *ctx, double w);

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

/* The exact law energy guidance with a quadratic energy aims at: p(x) e^{-w |x - c|^2 / (2 tau^2)} / Z, again a
 * mixture (product of Gaussians): with a = w / tau^2, component k becomes N(c + (I + a Sigma_k)^{-1}(mu_k - c),
 * (Sigma_k^{-1} + a I)^{-1}) with weight proportional to w_k N(mu_k; c, Sigma_k + I/a) (point masses stay, weight
 * times e^{-a |mu_k - c|^2 / 2}); labels kept. Its exact denoiser samples the tilted law, the ground truth for
 * dpm_guidance_energy_alloc. w = 0 returns a copy. Errors (NULL, raised): NULL argument, tau <= 0, w < 0 or not
 * finite, ENOMEM. */
dpm_mixture *dpm_guidance_tilt_quadratic(const dpm_mixture *mix, const double *c, double tau, double w);

/* By how much a 1-D sample x (n) misses the tilted law of CFG, p_w(x) = p(x|y)^(1+w) p(x)^(-w) / Z: the tilted
 * density tabulated in log space on ngrid >= 1001 points over the mixture's box (tail 1e-12, widened by 10 %),
 * normalised by the trapezoid rule; w1 = int |F_n - F_w| and ks = sup |F_n - F_w| on that grid (either may be
 * NULL), accurate to O(spacing). GSL_EBADLEN unless d = 1, GSL_EINVAL for n = 0, errors of the class mixture. */
int dpm_guidance_tilt_distance(const dpm_mixture *mix, int y, double w, size_t ngrid, size_t n, const double *x,
                               double *w1, double *ks);

#endif
