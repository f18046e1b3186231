/* rng.c — one random stream per (seed, task index), seeded through splitmix64 (Steele et al. 2014). */
#include "dpm_rng.h"

uint64_t dpm_rng_mix64(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/* GSL's mt19937 state (rng/mt.c): 624 words of 32 bits held in unsigned longs, and the index of the next one. */
typedef struct {
  unsigned long mt[624];
  int mti;
} mt19937_state;

/* gsl_rng_set takes at most 32 bits of seed for mt19937, so with one stream per sample two streams of the same
 * seed would coincide by the birthday bound once about 2^16 indices are in use. Instead the whole 19937-bit state
 * is filled from the 64-bit hash of (seed, index) by splitmix64 (the seeding Steele et al. recommend), so streams
 * coincide only when the 64-bit hashes do (about 2^32 indices). Other generator types fall back to gsl_rng_set. */
void dpm_rng_stream_set(gsl_rng *r, uint64_t seed, uint64_t index)
{
  const uint64_t h = dpm_rng_mix64(dpm_rng_mix64(seed) ^ (index * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
  if (r->type == gsl_rng_mt19937 && gsl_rng_size(r) == sizeof(mt19937_state)) {
    mt19937_state *st = gsl_rng_state(r);
    unsigned long any = 0;
    for (size_t i = 0; i < 624; i++) {
      const uint64_t z = dpm_rng_mix64(h + (uint64_t)i * 0x9E3779B97F4A7C15ULL);
      st->mt[i] = (unsigned long)((z ^ (z >> 32)) & 0xffffffffUL);
      any |= st->mt[i];
    }
    if (!any) st->mt[0] = 0x80000000UL; /* the all-zero state is the one mt19937 cannot leave */
    st->mti = 624;                      /* regenerate the block on the first draw */
    return;
  }
  unsigned long s = (unsigned long)(h ^ (h >> 32));
  if (s == 0) s = 1;
  gsl_rng_set(r, s);
}

gsl_rng *dpm_rng_stream_alloc(uint64_t seed, uint64_t index)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (r) dpm_rng_stream_set(r, seed, index);
  return r;
}
