/* dpm_shortest_internal.h — shortest round-trip decimals of doubles (Schubfach, lib/io/shortest.c), for
 * dpm_format_double and dpm_csv_write_row and for the test that checks them (tests/test_format.c). Not installed.
 */
#ifndef DPM_SHORTEST_INTERNAL_H
#define DPM_SHORTEST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Decimal exponents k of the table of powers of ten: 10^-k for k in [DPM_SHORTEST_K_MIN, DPM_SHORTEST_K_MAX]
 * (floor(log10(2^q)) over the exponents q of the doubles, -1074..971). */
#define DPM_SHORTEST_K_MIN (-324)
#define DPM_SHORTEST_K_MAX 292

/* The longest text dpm_shortest_format writes ("-1.2345678901234567e-308" is 24 bytes). */
#define DPM_SHORTEST_MAX 32

/* floor(log10(2^e)) for |e| <= 2620, floor(log10(3/4 2^e)) for |e| <= 2936, floor(log2(10^e)) for |e| <= 1233
 * (the test checks them exactly over the ranges the algorithm uses). The shifts of negative products are
 * arithmetic (floor) on every compiler the project supports. */
static inline int dpm_flog10_pow2(int e) { return (int)(((int64_t)e * 315653) >> 20); }
static inline int dpm_flog10_three_quarters_pow2(int e) { return (int)(((int64_t)e * 631305 - 261663) >> 21); }
static inline int dpm_flog2_pow10(int e) { return (int)(((int64_t)e * 1741647) >> 19); }

/* The table entry for k: g = floor(10^-k 2^(125 - floor(log2 10^-k))) + 1, 2^125 < g <= 2^126, as g1 = g >> 63 and
 * g0 = g mod 2^63. Computed exactly on first use (thread-safe). */
void dpm_shortest_table_entry(int k, uint64_t *g1, uint64_t *g0);

/* For a finite x != 0: the decimal f 10^e (f may end in zeros) with the fewest significant digits that reads
 * back (round to nearest, ties to even) as |x|, the closest to |x| among those, an even last digit on a tie. */
void dpm_shortest_decimal(double x, uint64_t *f, int *e);

/* Write x as dpm_format_double prints it (shortest round-trip digits in %g layout with precision max(15, n) for
 * n digits; "inf", "-inf", "nan", "-nan" as glibc prints them) into out, at most DPM_SHORTEST_MAX bytes, no NUL.
 * Returns the length. */
size_t dpm_shortest_format(char *out, double x);

#endif
