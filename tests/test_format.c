/* test_format.c — shortest round-trip printing of doubles (dpm_format_double, Schubfach in lib/io/shortest.c):
 * the table of powers of ten checked entry by entry against big-integer products (and directly in 128-bit
 * arithmetic where 10^m fits), the floor-logarithm shortcuts checked exactly; then, for ten million random bit
 * patterns, that the text reads back as the same bits, and for 200 000 random patterns and the special sets
 * (every power of two, every power of ten and their neighbours, integers to 10^6, 2^53 +- 64, the limits, random
 * 1..17-digit decimals) that it reads back, that no decimal with one digit fewer does, that it is the correctly
 * rounded decimal of its length whenever that reads back, and that its layout is the one the files had before
 * (the old loop, kept here as the reference); truncation by a small cap as snprintf; CSV rows as the same text.
 *
 * `test_format --bench` times the old loop against the new code, interleaved (10^6 doubles, a 200 000 x 5 CSV
 * write to /dev/null), and prints the medians. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>

#include "dpmlab.h"
#include "dpm_shortest_internal.h"
#include "testutil.h"
#include "timing.h"

typedef unsigned __int128 u128;

/* ---- the reference: the loop dpm_format_double ran before ------------------------------------------------------
 */

static int old_format(char *buf, size_t cap, double x)
{
  if (!isfinite(x)) return snprintf(buf, cap, "%g", x);
  char tmp[40];
  int len = 0;
  const int p0 = fabs(x) < DBL_MIN ? 1 : 15;
  for (int p = p0; p <= 17; p++) {
    len = snprintf(tmp, sizeof tmp, "%.*g", p, x);
    if (p == 17 || strtod(tmp, NULL) == x) break;
  }
  if (cap > 0) snprintf(buf, cap, "%s", tmp);
  return len;
}

static void old_csv_write_row(FILE *fp, const double *v, size_t n)
{
  char tmp[40];
  for (size_t i = 0; i < n; i++) {
    if (i) putc(',', fp);
    const int len = old_format(tmp, sizeof tmp, v[i]);
    fwrite(tmp, 1, (size_t)len, fp);
  }
  putc('\n', fp);
}

/* ---- big integers: 64-bit limbs, least significant first (another layout than the library's) -----------------
 */

enum { LIMBS = 24 }; /* 1536 bits */

typedef struct {
  uint64_t w[LIMBS];
} big;

static big big_u128(u128 v)
{
  big a = {{0}};
  a.w[0] = (uint64_t)v;
  a.w[1] = (uint64_t)(v >> 64);
  return a;
}

static void big_mul_small(big *a, uint64_t m)
{
  u128 carry = 0;
  for (int i = 0; i < LIMBS; i++) {
    const u128 v = (u128)a->w[i] * m + carry;
    a->w[i] = (uint64_t)v;
    carry = v >> 64;
  }
  assert_true(carry == 0);
}

static big big_mul(const big *a, const big *b)
{
  big r = {{0}};
  for (int i = 0; i < LIMBS; i++) {
    if (!a->w[i]) continue;
    u128 carry = 0;
    for (int j = 0; i + j < LIMBS; j++) {
      const u128 v = (u128)a->w[i] * b->w[j] + r.w[i + j] + carry;
      r.w[i + j] = (uint64_t)v;
      carry = v >> 64;
    }
    assert_true(carry == 0);
  }
  return r;
}

static void big_shl(big *a, int s)
{
  for (; s >= 64; s -= 64) {
    assert_int_equal(a->w[LIMBS - 1], 0);
    memmove(a->w + 1, a->w, (LIMBS - 1) * sizeof a->w[0]);
    a->w[0] = 0;
  }
  if (s == 0) return;
  assert_int_equal(a->w[LIMBS - 1] >> (64 - s), 0);
  for (int i = LIMBS - 1; i > 0; i--)
    a->w[i] = a->w[i] << s | a->w[i - 1] >> (64 - s);
  a->w[0] <<= s;
}

static int big_cmp(const big *a, const big *b)
{
  for (int i = LIMBS; i-- > 0;)
    if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
  return 0;
}

static int big_bits(const big *a)
{
  for (int i = LIMBS; i-- > 0;)
    if (a->w[i]) return 64 * i + 64 - __builtin_clzll(a->w[i]);
  return 0;
}

/* t 5^i 2^j as a big integer (i, j >= 0) */
static big big_term(uint64_t t, int i, int j)
{
  big a = big_u128(t);
  for (; i > 0; i--)
    big_mul_small(&a, 5);
  big_shl(&a, j);
  return a;
}

/* sign of 10^k - t 2^p, exactly */
static int cmp_pow10_pow2(int k, uint64_t t, int p)
{
  /* 10^k = 5^k 2^k; move negative exponents to the other side */
  int l5 = k > 0 ? k : 0, r5 = k < 0 ? -k : 0;
  int l2 = k, r2 = p;
  const int low = l2 < r2 ? l2 : r2;
  l2 -= low;
  r2 -= low;
  const big l = big_term(1, l5, l2), r = big_term(t, r5, r2);
  return big_cmp(&l, &r);
}

/* ---- the table and the logarithm shortcuts
 * ---------------------------------------------------------------------- */

/* floor(log10 2^q) and floor(log10 (3/4) 2^q) over the doubles' q, floor(log2 10^m) over the table's m, exactly,
 * and the shift h = q + floor(log2 10^-k) + 2 within 2..5 (so the products (4 c + 2) 2^h stay below 2^63). */
static void test_logarithms(void **state)
{
  (void)state;
  for (int q = -1074; q <= 971; q++) {
    const int k = dpm_flog10_pow2(q);
    assert_true(cmp_pow10_pow2(k, 1, q) <= 0 && cmp_pow10_pow2(k + 1, 1, q) > 0);
    const int k3 = dpm_flog10_three_quarters_pow2(q);
    assert_true(cmp_pow10_pow2(k3, 3, q - 2) <= 0 && cmp_pow10_pow2(k3 + 1, 3, q - 2) > 0);
    const int h = q + dpm_flog2_pow10(-k) + 2, h3 = q + dpm_flog2_pow10(-k3) + 2;
    assert_true(h >= 2 && h <= 5 && h3 >= 2 && h3 <= 5);
    assert_true(k >= DPM_SHORTEST_K_MIN && k <= DPM_SHORTEST_K_MAX);
    if (q > -1074) assert_true(k3 >= DPM_SHORTEST_K_MIN && k3 <= DPM_SHORTEST_K_MAX);
  }
  for (int m = -DPM_SHORTEST_K_MAX; m <= -DPM_SHORTEST_K_MIN; m++) {
    const int b = dpm_flog2_pow10(m);
    assert_true(cmp_pow10_pow2(m, 1, b) >= 0 && cmp_pow10_pow2(m, 1, b + 1) < 0);
  }
}

/* Every entry g: Q = g - 1 in [2^125, 2^126) and Q = floor(10^m 2^(125 - b)), b = floor(log2 10^m), m = -k, shown
 * by Q 2^s <= 10^m < (Q + 1) 2^s (s = b - 125 >= 0), Q = 10^m 2^-s (s < 0), Q 10^-m <= 2^-s < (Q + 1) 10^-m (m <
 * 0), with 10^|m| built as 5^|m| 2^|m| by multiplications by 5; where 10^m fits in 127 bits, Q again directly. */
static void test_table_exact(void **state)
{
  (void)state;
  for (int k = DPM_SHORTEST_K_MIN; k <= DPM_SHORTEST_K_MAX; k++) {
    uint64_t g1, g0;
    dpm_shortest_table_entry(k, &g1, &g0);
    assert_true(g0 < UINT64_C(1) << 63);
    const u128 g = (u128)g1 << 63 | g0, Q = g - 1;
    assert_true(Q >> 125 == 1);
    const int m = -k, b = dpm_flog2_pow10(m), s = b - 125;
    const big Qb = big_u128(Q), Q1b = big_u128(Q + 1);
    if (m >= 0) {
      const big p = big_term(1, m, m);
      assert_int_equal(big_bits(&p), b + 1);
      if (s >= 0) {
        big lo = Qb, hi = Q1b;
        big_shl(&lo, s);
        big_shl(&hi, s);
        assert_true(big_cmp(&lo, &p) <= 0 && big_cmp(&p, &hi) < 0);
      } else {
        big exact = p;
        big_shl(&exact, -s);
        assert_true(big_cmp(&Qb, &exact) == 0);
      }
      if (m <= 38) { /* 10^38 < 2^127 */
        u128 p10 = 1;
        for (int i = 0; i < m; i++)
          p10 *= 10;
        assert_true(Q == (s >= 0 ? p10 >> s : p10 << -s));
      }
    } else {
      const big p = big_term(1, -m, -m); /* 10^-m */
      big two = big_u128(1);
      big_shl(&two, -s);
      const big lo = big_mul(&Qb, &p), hi = big_mul(&Q1b, &p);
      assert_true(big_cmp(&lo, &two) <= 0 && big_cmp(&two, &hi) < 0);
    }
  }
}

/* ---- the checks on one value
 * ------------------------------------------------------------------------------------- */

/* The significant digits of a printed decimal (no leading or trailing zeros) into dig, NUL-terminated; *X the
 * decimal exponent of the first (text = 0.d1d2... 10^(X+1)). Returns their count, 0 for a zero. */
static int text_digits(const char *text, char *dig, int *X)
{
  const char *p = text;
  if (*p == '-') p++;
  int n = 0, before_point = -1, lead = 0, seen = 0;
  for (; *p && *p != 'e'; p++) {
    if (*p == '.') {
      before_point = seen;
      continue;
    }
    seen++;
    if (n == 0 && *p == '0') {
      lead++;
      continue;
    }
    dig[n++] = *p;
  }
  if (before_point < 0) before_point = seen;
  while (n > 0 && dig[n - 1] == '0')
    n--;
  dig[n] = '\0';
  *X = before_point - lead - 1 + (*p == 'e' ? atoi(p + 1) : 0);
  return n;
}

static int reads_back(const char *text, double x)
{
  const double y = strtod(text, NULL);
  return memcmp(&y, &x, sizeof x) == 0;
}

typedef struct {
  long checked, layout_differs, not_nearest;
} counts;

/* Every property for one finite x; NULL when all hold, else a description (in msg). */
static const char *check_value(double x, counts *cnt, char *msg, size_t cap)
{
  char text[64], ref[64], dig[40], rdig[40];
  const int len = dpm_format_double(text, sizeof text, x);
  cnt->checked++;
  if (len != (int)strlen(text)) return snprintf(msg, cap, "%a: length %d for %s", x, len, text), msg;
  if (!reads_back(text, x)) return snprintf(msg, cap, "%a printed %s, which reads back otherwise", x, text), msg;
  if (x == 0) return strcmp(text, signbit(x) ? "-0" : "0") ? (snprintf(msg, cap, "zero as %s", text), msg) : NULL;
  int X;
  const int n = text_digits(text, dig, &X);
  if (n < 1 || n > 17) return snprintf(msg, cap, "%a printed %s (%d digits)", x, text, n), msg;
  /* minimality: the (n-1)-digit decimals around x (D' - 2 .. D' + 3 units of 10^(X-n+2), D' the first n-1
   * digits) do not read back, and the lowest and highest of them bracket x */
  if (n >= 2) {
    uint64_t Dp = 0;
    for (int i = 0; i < n - 1; i++)
      Dp = 10 * Dp + (uint64_t)(dig[i] - '0');
    const double ax = fabs(x);
    for (int64_t j = -2; j <= 3; j++) {
      const int64_t cand = (int64_t)Dp + j;
      if (cand <= 0) continue;
      char t[64];
      snprintf(t, sizeof t, "%" PRId64 "e%d", cand, X - n + 2);
      const double y = strtod(t, NULL);
      if (y == ax) return snprintf(msg, cap, "%a printed %s, but %s (fewer digits) reads back", x, text, t), msg;
      if (j == -2 && !(y < ax)) return snprintf(msg, cap, "%a: %s does not lie below it", x, t), msg;
      if (j == 3 && !(y > ax)) return snprintf(msg, cap, "%a: %s does not lie above it", x, t), msg;
    }
  }
  /* closest: the correctly rounded n-digit decimal, when it reads back, is the one printed */
  snprintf(ref, sizeof ref, "%.*e", n - 1, x);
  int rX;
  if (reads_back(ref, x)) {
    const int rn = text_digits(ref, rdig, &rX);
    if (rn != n || rX != X || strcmp(rdig, dig))
      return snprintf(msg, cap, "%a printed %s, the nearest %d-digit decimal %s reads back", x, text, n, ref), msg;
  } else {
    /* only where the gap below x is half the gap above: a power of two */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & ((UINT64_C(1) << 52) - 1)) != 0 || fabs(x) < DBL_MIN)
      return snprintf(msg, cap, "%a printed %s, the nearest %s does not read back", x, text, ref), msg;
    cnt->not_nearest++;
  }
  /* layout: the old loop's text wherever %.{max(15, n)}g (%.{n}g for a subnormal) reads back */
  const int P = fabs(x) < DBL_MIN ? n : n > 15 ? n : 15;
  snprintf(ref, sizeof ref, "%.*g", P, x);
  char old[64];
  old_format(old, sizeof old, x);
  if (reads_back(ref, x)) {
    if (strcmp(text, old) || strcmp(text, ref))
      return snprintf(msg, cap, "%a printed %s, the old loop %s, %%.%dg %s", x, text, old, P, ref), msg;
  } else {
    const int on = text_digits(old, rdig, &rX);
    if (!(on > n) || !reads_back(old, x))
      return snprintf(msg, cap, "%a printed %s, the old loop %s", x, text, old), msg;
    cnt->layout_differs++;
  }
  return NULL;
}

static uint64_t splitmix(uint64_t i)
{
  uint64_t z = i * UINT64_C(0x9e3779b97f4a7c15) + UINT64_C(0x2545f4914f6cdd1d);
  z = (z ^ z >> 30) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ z >> 27) * UINT64_C(0x94d049bb133111eb);
  return z ^ z >> 31;
}

/* A random bit pattern; every fourth a subnormal (or zero). */
static double random_double(uint64_t i)
{
  uint64_t bits = splitmix(i);
  if (i % 4 == 3) bits &= UINT64_C(0x800fffffffffffff);
  double x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

/* Runs check_value over n values value(i, arg) on every thread; fails with the first problem found. */
static counts check_all(double (*value)(uint64_t, const void *), const void *arg, long n, int both_signs)
{
  counts total = {0, 0, 0};
  char first[256] = "";
#pragma omp parallel
  {
    counts c = {0, 0, 0};
    char msg[256];
#pragma omp for schedule(static, 4096)
    for (long i = 0; i < n; i++) {
      const double x = value((uint64_t)i, arg);
      if (!isfinite(x)) continue;
      for (int sgn = 0; sgn <= both_signs; sgn++) {
        const char *bad = check_value(sgn ? -x : x, &c, msg, sizeof msg);
        if (bad) {
#pragma omp critical(format_first)
          if (!first[0]) snprintf(first, sizeof first, "%s", bad);
        }
      }
    }
#pragma omp critical(format_total)
    {
      total.checked += c.checked;
      total.layout_differs += c.layout_differs;
      total.not_nearest += c.not_nearest;
    }
  }
  if (first[0]) fail_msg("%s", first);
  return total;
}

static double value_random(uint64_t i, const void *arg)
{
  (void)arg;
  return random_double(i + (UINT64_C(1) << 40));
}

/* ---- the tests
 * --------------------------------------------------------------------------------------------------- */

/* Ten million random bit patterns (a quarter subnormal) read back bit for bit. */
static void test_round_trip_random(void **state)
{
  (void)state;
  const long n = 10000000;
  long bad = 0, count = 0;
  double first = 0;
#pragma omp parallel for reduction(+ : bad, count) schedule(static, 65536)
  for (long i = 0; i < n; i++) {
    const double x = random_double((uint64_t)i);
    if (!isfinite(x)) continue;
    char text[40];
    dpm_format_double(text, sizeof text, x);
    count++;
    if (!reads_back(text, x)) {
      bad++;
#pragma omp critical(format_first)
      first = x;
    }
  }
  if (bad) fail_msg("%ld of %ld do not read back, e.g. %a", bad, count, first);
  assert_true(count > 9900000);
}

/* Every property on 200 000 random bit patterns (random signs; a quarter subnormal). */
static void test_random_full(void **state)
{
  (void)state;
  const counts c = check_all(value_random, NULL, 200000, 0);
  assert_true(c.checked > 199000);
  assert_int_equal(c.layout_differs, 0); /* a power of two is not hit at random */
}

static double value_power_of_two(uint64_t i, const void *arg)
{
  (void)arg;
  const double x = ldexp(1.0, (int)(i / 3) - 1074);
  return i % 3 == 0 ? x : nextafter(x, i % 3 == 1 ? 0.0 : HUGE_VAL);
}

static double value_power_of_ten(uint64_t i, const void *arg)
{
  (void)arg;
  char t[16];
  snprintf(t, sizeof t, "1e%d", (int)(i / 3) - 323);
  const double x = strtod(t, NULL);
  return i % 3 == 0 ? x : nextafter(x, i % 3 == 1 ? 0.0 : HUGE_VAL);
}

static double value_integer(uint64_t i, const void *arg)
{
  (void)arg;
  return (double)i;
}

static double value_near_2_53(uint64_t i, const void *arg)
{
  (void)arg;
  return 9007199254740992.0 + ((double)i - 64);
}

static double value_small_subnormal(uint64_t i, const void *arg)
{
  (void)arg;
  return (double)i * DBL_TRUE_MIN;
}

static const double limits[] = {DBL_MAX,
                                DBL_MIN,
                                DBL_TRUE_MIN,
                                0.0,
                                1.0,
                                0.1,
                                1e23,
                                5e-324,
                                1e-323,
                                2.5e-323,
                                0x1.fffffffffffffp-1023,
                                0x1.0000000000001p-1022,
                                1e15,
                                1e16,
                                1e17,
                                123456789012345.0,
                                1234567890123456.0,
                                1e-4,
                                1e-5,
                                9.999999999999999e-5};

static double value_table(uint64_t i, const void *arg) { return ((const double *)arg)[i]; }

/* Every power of two 2^-1074..2^1023 and power of ten 1e-323..1e308 with both neighbours, the integers 0..10^6,
 * 2^53 - 64 .. 2^53 + 64 (spacing 1, then 2), the limits and -0, each also negated (but the integers), and the
 * 50 000 smallest subnormals (1..5 significant digits). Counts
 * where the old loop printed one digit more (the nearest decimal of the shortest length falls in the short
 * half-gap below a power of two and does not read back): only at powers of two. */
static void test_special_sets(void **state)
{
  (void)state;
  const counts p2 = check_all(value_power_of_two, NULL, 3 * 2098, 1);
  const counts p10 = check_all(value_power_of_ten, NULL, 3 * 632, 1);
  const counts in = check_all(value_integer, NULL, 1000001, 0);
  const counts n53 = check_all(value_near_2_53, NULL, 129, 1);
  const counts sub = check_all(value_small_subnormal, NULL, 50000, 0);
  const counts lim = check_all(value_table, limits, sizeof limits / sizeof limits[0], 1);
  assert_int_equal(
      p10.layout_differs + in.layout_differs + n53.layout_differs + sub.layout_differs + lim.layout_differs, 0);
  /* negatives and positives alike; the count is reported by the test's output */
  assert_true(p2.layout_differs % 2 == 0 && p2.layout_differs > 0);
  print_message("powers of two printed with one digit fewer than before: %ld (of %d, both signs)\n",
                p2.layout_differs / 2, 2098);
  char text[8];
  assert_int_equal(dpm_format_double(text, sizeof text, -0.0), 2);
  assert_string_equal(text, "-0");
  assert_int_equal(dpm_format_double(text, sizeof text, 0.0), 1);
  assert_string_equal(text, "0");
}

typedef struct {
  int k;
} kdigits;

/* A random k-digit decimal (first digit nonzero) with an exponent across the whole range, read by strtod. */
static double value_decimal(uint64_t i, const void *arg)
{
  const int k = ((const kdigits *)arg)->k;
  const uint64_t r = splitmix(i + ((uint64_t)k << 48));
  uint64_t D = 1 + r % 9;
  uint64_t r2 = splitmix(r);
  for (int j = 1; j < k; j++) {
    D = 10 * D + r2 % 10;
    r2 /= 10;
    if (j == 15) r2 = splitmix(r2);
  }
  char t[48];
  snprintf(t, sizeof t, "%" PRIu64 "e%d", D, (int)(splitmix(r ^ 1) % 650) - 340);
  return strtod(t, NULL);
}

/* Decimals of 1..17 digits print back with as many digits or fewer (and every other property holds). */
static void test_short_decimals(void **state)
{
  (void)state;
  for (int k = 1; k <= 17; k++) {
    const kdigits arg = {k};
    check_all(value_decimal, &arg, 10000, 0);
    for (uint64_t i = 0; i < 10000; i++) {
      const double x = value_decimal(i, &arg);
      if (x == 0 || !isfinite(x)) continue;
      char text[40], dig[40];
      int X;
      dpm_format_double(text, sizeof text, x);
      const int n = text_digits(text, dig, &X);
      if (n > k) fail_msg("a %d-digit decimal read as %a printed as %s", k, x, text);
    }
  }
}

/* Non-finite values as %g prints them; a small cap truncates as snprintf (NUL within cap, nothing written past
 * it, nothing at all with cap 0) and the full length is returned. */
static void test_cap(void **state)
{
  (void)state;
  const double xs[] = {
      -1.2345678901234567e-308, 0.1, -0.0, 5e-324, 123456.0, 1e21, -INFINITY, INFINITY, NAN, -NAN};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    char full[64], ref[64];
    const int len = dpm_format_double(full, sizeof full, xs[i]);
    if (!isfinite(xs[i])) {
      snprintf(ref, sizeof ref, "%g", xs[i]);
      assert_string_equal(full, ref);
    }
    assert_int_equal(dpm_format_double(NULL, 0, xs[i]), len);
    for (size_t cap = 0; cap <= (size_t)len + 2; cap++) {
      char buf[64];
      memset(buf, 'Z', sizeof buf);
      memset(ref, 'Z', sizeof ref);
      const int r = dpm_format_double(buf, cap, xs[i]);
      const int rr = snprintf(ref, cap, "%s", full);
      assert_int_equal(r, rr);
      assert_memory_equal(buf, ref, sizeof buf);
    }
  }
}

/* A CSV row is the values' dpm_format_double texts joined by commas (a row longer than the writer's block
 * included), and reads back bit for bit. */
static void test_csv_row(void **state)
{
  (void)state;
  enum { N = 3000 };
  double *v = malloc(N * sizeof *v);
  assert_non_null(v);
  for (int i = 0; i < N; i++)
    v[i] = random_double((uint64_t)i + 77);
  v[5] = NAN;
  v[6] = -INFINITY;
  for (size_t n = 0; n <= N; n += n < 10 ? 1 : 997) {
    char *got = NULL, *want = NULL;
    size_t got_len = 0, want_len = 0;
    FILE *g = open_memstream(&got, &got_len), *w = open_memstream(&want, &want_len);
    assert_true(g && w);
    dpm_csv_write_row(g, v, n);
    for (size_t i = 0; i < n; i++) {
      char t[40];
      dpm_format_double(t, sizeof t, v[i]);
      fprintf(w, i ? ",%s" : "%s", t);
    }
    fputc('\n', w);
    fclose(g);
    fclose(w);
    assert_int_equal(got_len, want_len);
    assert_string_equal(got, want);
    char *p = got;
    for (size_t i = 0; i < n; i++) {
      const double y = strtod(p, &p);
      if (isfinite(v[i])) assert_memory_equal(&y, &v[i], sizeof y);
      p++;
    }
    free(got);
    free(want);
  }
  free(v);
}

/* ---- --bench
 * ----------------------------------------------------------------------------------------------------- */

static volatile size_t sink;

static double time_format(int (*fmt)(char *, size_t, double), const double *x, size_t n)
{
  char buf[40];
  size_t total = 0;
  const double t0 = timing_now();
  for (size_t i = 0; i < n; i++)
    total += (size_t)fmt(buf, sizeof buf, x[i]) + (size_t)buf[0];
  const double t = timing_now() - t0;
  sink = total;
  return t;
}

static double time_rows(void (*row)(FILE *, const double *, size_t), const double *x, size_t rows, size_t cols)
{
  FILE *fp = fopen("/dev/null", "w");
  if (!fp) return NAN;
  const double t0 = timing_now();
  for (size_t i = 0; i < rows; i++)
    row(fp, x + i * cols, cols);
  fflush(fp);
  const double t = timing_now() - t0;
  fclose(fp);
  return t;
}

static void printf17_row(FILE *fp, const double *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    fprintf(fp, i ? ",%.17g" : "%.17g", v[i]);
  putc('\n', fp);
}

static int bench(void)
{
  enum { N = 1000000, ROWS = 200000, COLS = 5, REPS = 7 };
  double *bits = malloc(N * sizeof *bits), *unif = malloc(N * sizeof *unif);
  double *csv = malloc(ROWS * COLS * sizeof *csv);
  if (!bits || !unif || !csv) return 1;
  gsl_rng *r = dpm_rng_stream_alloc(2020, 0);
  for (size_t i = 0, j = 0; i < N; i++) {
    do /* plain random bit patterns (4 j + 1 is never masked to a subnormal) */
      bits[i] = random_double(4 * j++ + 1);
    while (!isfinite(bits[i]));
    unif[i] = gsl_ran_gaussian(r, 1.0);
  }
  for (size_t i = 0; i < ROWS * COLS; i++)
    csv[i] = gsl_ran_gaussian(r, 1.0) * exp(gsl_ran_gaussian(r, 3.0));
  gsl_rng_free(r);
  double t[6][REPS];
  for (int k = 0; k < REPS; k++) {
    t[0][k] = time_format(old_format, bits, N);
    t[1][k] = time_format(dpm_format_double, bits, N);
    t[2][k] = time_format(old_format, unif, N);
    t[3][k] = time_format(dpm_format_double, unif, N);
  }
  double c[3][REPS];
  for (int k = 0; k < REPS; k++) {
    c[0][k] = time_rows(old_csv_write_row, csv, ROWS, COLS);
    c[1][k] = time_rows(dpm_csv_write_row, csv, ROWS, COLS);
    c[2][k] = time_rows(printf17_row, csv, ROWS, COLS);
  }
  const double m0 = timing_median(t[0], REPS), m1 = timing_median(t[1], REPS), m2 = timing_median(t[2], REPS),
               m3 = timing_median(t[3], REPS);
  const double c0 = timing_median(c[0], REPS), c1 = timing_median(c[1], REPS), c2 = timing_median(c[2], REPS);
  printf("10^6 random bit patterns: old %.3f s, new %.3f s (%.1fx)\n", m0, m1, m0 / m1);
  printf("10^6 standard normals:    old %.3f s, new %.3f s (%.1fx)\n", m2, m3, m2 / m3);
  printf("200000 x 5 CSV to /dev/null: old %.3f s, new %.3f s (%.1fx), fprintf %%.17g %.3f s (%.1fx the new)\n",
         c0, c1, c0 / c1, c2, c2 / c1);
  printf("(medians of %d, interleaved)\n", REPS);
  free(bits);
  free(unif);
  free(csv);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 2 && strcmp(argv[1], "--bench") == 0) return bench();
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logarithms),
      cmocka_unit_test(test_table_exact),
      cmocka_unit_test(test_round_trip_random),
      cmocka_unit_test(test_random_full),
      cmocka_unit_test(test_special_sets),
      cmocka_unit_test(test_short_decimals),
      cmocka_unit_test(test_cap),
      cmocka_unit_test(test_csv_row),
  };
  return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
