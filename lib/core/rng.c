/* rng.c — one random stream per (seed, task index), seeded through splitmix64 (Steele et al. 2014). */
#include "dpm_rng.h"

uint64_t dpm_rng_mix64(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

void dpm_rng_stream_set(gsl_rng *r, uint64_t seed, uint64_t index)
{
  uint64_t h = dpm_rng_mix64(dpm_rng_mix64(seed) ^ (index * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
  unsigned long s = (unsigned long)(h ^ (h >> 32));
  if (s == 0) s = 1; /* mt19937 treats 0 as its default seed; keep streams distinct */
  gsl_rng_set(r, s);
}

gsl_rng *dpm_rng_stream_alloc(uint64_t seed, uint64_t index)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (r) dpm_rng_stream_set(r, seed, index);
  return r;
}
