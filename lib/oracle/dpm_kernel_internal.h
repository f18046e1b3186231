/* dpm_kernel_internal.h — the product kernel of the ideal denoiser's large-d route (lib/oracle/kernel8.c) and the
 * route's switch between it and CBLAS (lib/oracle/distance.c). Internal to the library and its tests. */
#ifndef DPM_KERNEL_INTERNAL_H
#define DPM_KERNEL_INTERNAL_H

#include <stddef.h>

enum { DPM_UKR_ROWS = 8, DPM_UKR_LANES = 24 };

/* 1 when this CPU runs dpm_ukr8 (x86-64 with AVX-512F), 0 otherwise; decided once. */
int dpm_ukr8_available(void);

/* C[r ldc + l] = (add ? C[r ldc + l] : 0) + sum_{k < kc} U[r ldu + k] V[k ldv + l] for the 8 rows r < 8 and the
 * nl lanes l < nl (1 <= nl <= 24): 8 x nl dot products of length kc, each summed in k order with one fused
 * multiply-add per term, so an element's bits depend on its own row and lanes only (never on the others, nor on
 * who calls). V's rows are read at lanes < nl only. Only where dpm_ukr8_available(). */
void dpm_ukr8(size_t kc, const double *U, size_t ldu, const double *V, size_t ldv, size_t nl, double *C,
              size_t ldc, int add);

/* The large-d route's products: 1 by this kernel where the CPU has it (the default), 0 by CBLAS (OpenBLAS's
 * DGEMM); returns the previous setting. For tests, which check both; not thread-safe against running calls. */
int dpm_distance_use_kernel(int on);

#endif
