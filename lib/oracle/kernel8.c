/* kernel8.c — an 8 x 24 register-blocked product kernel for AVX-512 (docs/MATH.md §2.11): the ideal denoiser's
 * large-d route forms x.y for a tile of queries against the set, and the dense queries' sums of e_y y, with it.
 *
 * 24 accumulators of 8 doubles hold an 8 x 24 block of C; each step k loads three vectors of V's row k (masked
 * to nl lanes) and broadcasts U[r][k] of the 8 rows, 24 fused multiply-adds. The operands need no packing when
 * one of them is read along its rows (the set Y, row-major, as U; or as V, with the lanes along d): the route
 * packs only the small tile of queries. On the 2-core benchmark machine this runs at 165-175 GFLOP/s against
 * 95 for OpenBLAS's DGEMM on the kernel the environment selects (tests/bench.sh reports both). */
#include "dpm_kernel_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

int dpm_ukr8_available(void)
{
  static int have = -1; /* benign race: every thread computes the same value */
  if (have < 0) {
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f") ? 1 : 0;
  }
  return have;
}

#define UKR_TARGET __attribute__((target("avx512f,fma")))

/* One row r of C: acc r0..r2 += b v0..v2 */
#define UKR_ROW(i)                                                                                                \
  do {                                                                                                            \
    const __m512d b = _mm512_set1_pd(u##i[k]);                                                                    \
    c##i##0 = _mm512_fmadd_pd(b, v0, c##i##0);                                                                    \
    if (nvk > 1) c##i##1 = _mm512_fmadd_pd(b, v1, c##i##1);                                                       \
    if (nvk > 2) c##i##2 = _mm512_fmadd_pd(b, v2, c##i##2);                                                       \
  } while (0)

/* Store row i of C (masked on its last vector), adding what is there when add. */
#define UKR_STORE(i)                                                                                              \
  do {                                                                                                            \
    double *c = C + (i)*ldc;                                                                                      \
    if (nvk == 1) {                                                                                               \
      if (add) c##i##0 = _mm512_add_pd(c##i##0, _mm512_maskz_loadu_pd(last, c));                                  \
      _mm512_mask_storeu_pd(c, last, c##i##0);                                                                    \
    } else {                                                                                                      \
      if (add) c##i##0 = _mm512_add_pd(c##i##0, _mm512_loadu_pd(c));                                              \
      _mm512_storeu_pd(c, c##i##0);                                                                               \
    }                                                                                                             \
    if (nvk == 2) {                                                                                               \
      if (add) c##i##1 = _mm512_add_pd(c##i##1, _mm512_maskz_loadu_pd(last, c + 8));                              \
      _mm512_mask_storeu_pd(c + 8, last, c##i##1);                                                                \
    } else if (nvk == 3) {                                                                                        \
      if (add) c##i##1 = _mm512_add_pd(c##i##1, _mm512_loadu_pd(c + 8));                                          \
      _mm512_storeu_pd(c + 8, c##i##1);                                                                           \
      if (add) c##i##2 = _mm512_add_pd(c##i##2, _mm512_maskz_loadu_pd(last, c + 16));                             \
      _mm512_mask_storeu_pd(c + 16, last, c##i##2);                                                               \
    }                                                                                                             \
  } while (0)

/* The kernel for NV vectors of lanes (the last masked to `last`); NV a constant, so the unused accumulators and
 * branches fold away. */
#define UKR_DEFINE(NAME, NV)                                                                                      \
  UKR_TARGET static void NAME(size_t kc, const double *U, size_t ldu, const double *V, size_t ldv, __mmask8 last, \
                              double *C, size_t ldc, int add)                                                     \
  {                                                                                                               \
    enum { nvk = NV };                                                                                            \
    __m512d c00 = _mm512_setzero_pd(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, c20 = c00,          \
            c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00, c50 = c00,    \
            c51 = c00, c52 = c00, c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;               \
    const double *u0 = U, *u1 = U + ldu, *u2 = U + 2 * ldu, *u3 = U + 3 * ldu, *u4 = U + 4 * ldu,                 \
                 *u5 = U + 5 * ldu, *u6 = U + 6 * ldu, *u7 = U + 7 * ldu;                                         \
    for (size_t k = 0; k < kc; k++) {                                                                             \
      const double *v = V + k * ldv;                                                                              \
      const __m512d v0 = NV == 1 ? _mm512_maskz_loadu_pd(last, v) : _mm512_loadu_pd(v);                           \
      const __m512d v1 = NV == 2 ? _mm512_maskz_loadu_pd(last, v + 8) : NV > 2 ? _mm512_loadu_pd(v + 8) : v0;     \
      const __m512d v2 = NV == 3 ? _mm512_maskz_loadu_pd(last, v + 16) : v0;                                      \
      UKR_ROW(0);                                                                                                 \
      UKR_ROW(1);                                                                                                 \
      UKR_ROW(2);                                                                                                 \
      UKR_ROW(3);                                                                                                 \
      UKR_ROW(4);                                                                                                 \
      UKR_ROW(5);                                                                                                 \
      UKR_ROW(6);                                                                                                 \
      UKR_ROW(7);                                                                                                 \
    }                                                                                                             \
    UKR_STORE(0);                                                                                                 \
    UKR_STORE(1);                                                                                                 \
    UKR_STORE(2);                                                                                                 \
    UKR_STORE(3);                                                                                                 \
    UKR_STORE(4);                                                                                                 \
    UKR_STORE(5);                                                                                                 \
    UKR_STORE(6);                                                                                                 \
    UKR_STORE(7);                                                                                                 \
  }

UKR_DEFINE(ukr8x8, 1)
UKR_DEFINE(ukr8x16, 2)
UKR_DEFINE(ukr8x24, 3)

void dpm_ukr8(size_t kc, const double *U, size_t ldu, const double *V, size_t ldv, size_t nl, double *C,
              size_t ldc, int add)
{
  const size_t nv = (nl + 7) / 8;
  const __mmask8 last = (__mmask8)(0xFFu >> (8 * nv - nl));
  if (nv >= 3)
    ukr8x24(kc, U, ldu, V, ldv, last, C, ldc, add);
  else if (nv == 2)
    ukr8x16(kc, U, ldu, V, ldv, last, C, ldc, add);
  else
    ukr8x8(kc, U, ldu, V, ldv, last, C, ldc, add);
}

#else /* no AVX-512 build: the route uses CBLAS */

int dpm_ukr8_available(void) { return 0; }

void dpm_ukr8(size_t kc, const double *U, size_t ldu, const double *V, size_t ldv, size_t nl, double *C,
              size_t ldc, int add)
{
  for (size_t r = 0; r < 8; r++)
    for (size_t l = 0; l < nl; l++) {
      double acc = 0.0;
      for (size_t k = 0; k < kc; k++)
        acc = __builtin_fma(U[r * ldu + k], V[k * ldv + l], acc);
      C[r * ldc + l] = add ? C[r * ldc + l] + acc : acc;
    }
}

#endif
