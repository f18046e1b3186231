/* dpm_rng.h — random streams: one GSL generator per (seed, task index), never per thread, so a result is the
 * same bits for any number of threads. */
#ifndef DPM_RNG_H
#define DPM_RNG_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

/* A new generator (gsl_rng_mt19937) seeded from a 64-bit mix (splitmix64) of (seed, index). NULL on ENOMEM.
 * Free with gsl_rng_free. */
gsl_rng *dpm_rng_stream_alloc(uint64_t seed, uint64_t index);

/* Re-seed an existing generator for (seed, index); can't fail. For mt19937 the whole state is filled from the
 * 64-bit hash of (seed, index), so distinct indices give distinct streams up to about 2^32 indices of one seed
 * (gsl_rng_set alone would keep 32 bits: coincidences from about 2^16). */
void dpm_rng_stream_set(gsl_rng *r, uint64_t seed, uint64_t index);

/* splitmix64 mixing of one word: a bijection with good avalanche, used for seeding and for deterministic
 * per-(x, t) perturbations. */
uint64_t dpm_rng_mix64(uint64_t x);

#endif
