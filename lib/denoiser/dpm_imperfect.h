/* dpm_imperfect.h — imperfect denoisers as wrappers over the denoiser interface, so Analytic-DPM (Bao et al.
 * ICLR 2022, docs/MATH.md §3) and the samplers can be studied with a model that is not the exact E[eps|x]: a
 * controlled relative error, a scaled noise prediction, and the memorising ideal denoiser of a finite sample. */
#ifndef DPM_IMPERFECT_H
#define DPM_IMPERFECT_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#include "dpm_data.h"
#include "dpm_denoiser.h"

/* Relative error: eps-hat(x) = eps(x) + delta(x) with |delta| = eta_err |eps(x)| and the direction of delta a
 * unit vector that is a deterministic function of (seed, s, x) (a splitmix64 hash of their bits seeds a
 * Box-Muller Gaussian vector, normalised), so the model is a function of its input, and over random x the
 * direction is uniform and independent of eps: E|eps-hat|^2 = (1 + eta_err^2) E|eps|^2, i.e. Gamma-hat =
 * (1 + eta_err^2) Gamma in expectation. eps is the inner denoiser's prediction (borrowed; must outlive the
 * wrapper). Not for concurrent use (it owns a scratch buffer). Neither posterior variance nor divergence (the
 * perturbation is not differentiable). NULL on error (NULL inner, eta_err < 0 or not finite, ENOMEM). */
dpm_denoiser *dpm_denoiser_relerr_alloc(dpm_denoiser *inner, double eta_err, uint64_t seed);

/* Scaled noise prediction: eps-hat = c eps (so Gamma-hat = c^2 Gamma exactly in expectation). inner borrowed.
 * Its divergence is c times the inner one (present when the inner denoiser has one); no posterior variance.
 * NULL on error (NULL inner, c not finite). */
dpm_denoiser *dpm_denoiser_scaled_alloc(dpm_denoiser *inner, double c);

/* The smoothed (kernel-widened) ideal denoiser: the inner model's posterior mean evaluated at the inflated noise
 * level s' = sqrt(s^2 + m^2 h^2) and read back at s, x0-hat(x; m, s) = x0-hat_inner(x; m, s'), eps-hat = (x - m
 * x0-hat)/s. In VE coordinates (m = 1) over the ideal denoiser of a point set: eps-hat(x, sigma) = sigma'
 * eps*(x, sigma')/sigma, a softmax mean at temperature sigma' >= h, so as sigma -> 0 DDIM ends at barycentres
 * of nearby points instead of the points (the generalising smoothed model in the spirit of Scarvelis, Borde &
 * Solomon 2023, Closed-form diffusion models; docs/MATH.md §2.10). h = 0 is the inner model. inner borrowed;
 * not for concurrent use (scratch buffer); neither posterior variance nor divergence. NULL on error (NULL
 * inner, h < 0 or not finite, ENOMEM). */
dpm_denoiser *dpm_denoiser_smoothed_alloc(dpm_denoiser *inner, double h);

/* The memorising model: the ideal (exact) denoiser of a finite training sample of n_train points drawn from mix
 * with r — a point-set mixture with equal weights — which the caller then evaluates on the population q_t.
 * Owns its point set. Every op exactly, for the point set's q_t (posterior variance and divergence included).
 * NULL on error (NULL mix or r, n_train = 0, ENOMEM). */
dpm_denoiser *dpm_denoiser_memorise_alloc(const dpm_mixture *mix, size_t n_train, gsl_rng *r);
/* Its training set (a point-set mixture), or NULL when dn is not a memorising denoiser. */
const dpm_mixture *dpm_denoiser_memorise_points(const dpm_denoiser *dn);

#endif
