/* parse_double.h — decimal text to double, correctly rounded and the same bits as strtod: the exact fast path of
 * Clinger (1990) and the Eisel–Lemire algorithm (Lemire 2021, "Number parsing at a gigabyte per second", Softw.
 * Pract. Exper. 51(8)), strtod for the rare cases they cannot decide. Private to the library: the CSV reader
 * uses it, other readers may. */
#ifndef DPM_PARSE_DOUBLE_H
#define DPM_PARSE_DOUBLE_H

#include <stdint.h>

/* The 128 most significant bits of 10^q for q = DPM_POW10_MIN..DPM_POW10_MAX, truncated (rounded down) and
 * normalised so the top bit is set: entry [q - DPM_POW10_MIN] = {high 64 bits, low 64 bits} of
 * floor(10^q 2^k) with k the one integer for which 2^127 <= 10^q 2^k < 2^128. */
enum { DPM_POW10_MIN = -342, DPM_POW10_MAX = 308 };
extern const uint64_t dpm_pow10_128[DPM_POW10_MAX - DPM_POW10_MIN + 1][2];

/* Parse a number at p exactly as strtod(p, end) does in the C locale: the same double, bit for bit (sign of zero,
 * subnormals, overflow to +-HUGE_VAL, underflow to zero), the same *end (p itself when there is no number; end may
 * be NULL), and errno set to ERANGE in exactly the cases where strtod sets it (errno is otherwise untouched).
 * Thread-safe, no allocation. It is dpm_parse_double_fast when that decides, strtod otherwise. */
double dpm_parse_double(const char *p, char **end);

/* The conversion without strtod: for a plain decimal [+-]digits[.digits][(e|E)[+-]digits] (no leading blank) with
 * at most 19 significant digits whose value is zero or a normal double, store strtod's result in *out and its end
 * in *end (when end is not NULL) and return 1 — Clinger's exact path when the significand is at most 2^53 and
 * |exponent| <= 22, Eisel–Lemire otherwise. Return 0, touching nothing, for every other input (more digits, hex,
 * inf/nan spellings, malformed text, subnormal or out-of-range values) and for the rare products too close to a
 * rounding boundary (or exactly halfway) for 128 bits of 10^q to decide. */
int dpm_parse_double_fast(const char *p, double *out, char **end);

#endif
