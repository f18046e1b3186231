/* test_parse_double.c — the decimal-to-double parser (Clinger's fast path + Eisel–Lemire, Lemire 2021, with strtod
 * behind them) gives strtod's bits, end pointer and errno on every input: its table of 128-bit powers of ten
 * recomputed exactly with big integers, over a million random 17-, 16- and short-digit strings with exponents
 * across the whole range, subnormals, exact halfway cases and their neighbours, signs, leading zeros, overflow,
 * underflow and malformed text; and the CSV reader built on it, errors included.
 *
 * `test_parse_double --table` prints the table in the form lib/data/parse_double.c holds it (its generator). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpmlab.h"
#include "parse_double.h"
#include "testutil.h"

/* ---- exact table: big integers in 32-bit limbs, least significant first ----------------------------------------
 */

enum { BIG_LIMBS = 48, BIG_SHIFT = 1504 }; /* 2^1504 / 10^342 still has > 128 bits; 10^308 < 2^1024 */

typedef struct {
  uint32_t w[BIG_LIMBS];
} big;

static size_t big_bits(const big *a)
{
  for (size_t i = BIG_LIMBS; i-- > 0;)
    if (a->w[i]) return 32 * i + (size_t)(32 - __builtin_clz(a->w[i]));
  return 0;
}

static int big_bit(const big *a, size_t i) { return (int)(a->w[i / 32] >> (i % 32) & 1u); }

static void big_mul_small(big *a, uint32_t m)
{
  uint64_t carry = 0;
  for (size_t i = 0; i < BIG_LIMBS; i++) {
    const uint64_t t = (uint64_t)a->w[i] * m + carry;
    a->w[i] = (uint32_t)t;
    carry = t >> 32;
  }
  assert_true(carry == 0);
}

static void big_div_small(big *a, uint32_t m) /* a = floor(a / m) */
{
  uint64_t rem = 0;
  for (size_t i = BIG_LIMBS; i-- > 0;) {
    const uint64_t t = rem << 32 | a->w[i];
    a->w[i] = (uint32_t)(t / m);
    rem = t % m;
  }
}

/* The 128 leading bits of a (a != 0), truncated, as {high, low}; bits below the value's end are zeros (the value
 * times a power of two). */
static void big_top128(const big *a, uint64_t out[2])
{
  const size_t nb = big_bits(a);
  out[0] = out[1] = 0;
  for (size_t k = 0; k < 128; k++) {
    const int bit = k < nb ? big_bit(a, nb - 1 - k) : 0;
    if (k < 64)
      out[0] |= (uint64_t)bit << (63 - k);
    else
      out[1] |= (uint64_t)bit << (127 - k);
  }
}

/* Every entry of the table: 10^q by repeated multiplication for q >= 0; floor(2^BIG_SHIFT / 10^n) by n nested
 * exact divisions by 10 (floor(floor(a / b) / c) = floor(a / (b c))) for q = -n < 0, whose leading 128 bits are
 * floor(10^q 2^k) for the k that gives 128 bits, since BIG_SHIFT leaves more than 128. */
static void make_table(uint64_t (*t)[2])
{
  big a;
  memset(&a, 0, sizeof a);
  a.w[0] = 1;
  for (int q = 0; q <= DPM_POW10_MAX; q++) {
    big_top128(&a, t[q - DPM_POW10_MIN]);
    big_mul_small(&a, 10);
  }
  memset(&a, 0, sizeof a);
  a.w[BIG_SHIFT / 32] = 1u << (BIG_SHIFT % 32);
  for (int n = 1; n <= -DPM_POW10_MIN; n++) {
    big_div_small(&a, 10);
    assert_true(big_bits(&a) > 128);
    big_top128(&a, t[-n - DPM_POW10_MIN]);
  }
}

enum { NPOW = DPM_POW10_MAX - DPM_POW10_MIN + 1 };

static void test_table_exact(void **state)
{
  (void)state;
  uint64_t(*t)[2] = malloc(NPOW * sizeof *t);
  make_table(t);
  for (int i = 0; i < NPOW; i++)
    if (t[i][0] != dpm_pow10_128[i][0] || t[i][1] != dpm_pow10_128[i][1])
      fail_msg("10^%d: table %016llx %016llx, exact %016llx %016llx", i + DPM_POW10_MIN,
               (unsigned long long)dpm_pow10_128[i][0], (unsigned long long)dpm_pow10_128[i][1],
               (unsigned long long)t[i][0], (unsigned long long)t[i][1]);
  /* two entries known by hand: 10^0 = 2^127 / 2^127 and 10^-1 = 0.1 = 0xcccc... truncated */
  assert_true(dpm_pow10_128[-DPM_POW10_MIN][0] == UINT64_C(0x8000000000000000));
  assert_true(dpm_pow10_128[-DPM_POW10_MIN][1] == 0);
  assert_true(dpm_pow10_128[-1 - DPM_POW10_MIN][0] == UINT64_C(0xcccccccccccccccc));
  assert_true(dpm_pow10_128[-1 - DPM_POW10_MIN][1] == UINT64_C(0xcccccccccccccccc));
  free(t);
}

static void print_table(void)
{
  uint64_t(*t)[2] = malloc(NPOW * sizeof *t);
  make_table(t);
  printf("const uint64_t dpm_pow10_128[DPM_POW10_MAX - DPM_POW10_MIN + 1][2] = {\n");
  for (int i = 0; i < NPOW; i++)
    printf("    {0x%016llx, 0x%016llx}, /* 1e%d */\n", (unsigned long long)t[i][0], (unsigned long long)t[i][1],
           i + DPM_POW10_MIN);
  printf("};\n");
  free(t);
}

/* ---- agreement with strtod ------------------------------------------------------------------------------------
 */

static size_t n_checked, n_fast;

/* dpm_parse_double(s) equals strtod(s): bits, end, errno (set to a sentinel before each call); when the path
 * without strtod decides, its value and end are strtod's too. Returns 1 when that path decided. */
static int check_one(const char *s)
{
  char *e1, *e2, *e3 = (char *)1;
  errno = 12345;
  const double a = dpm_parse_double(s, &e1);
  const int err1 = errno;
  errno = 12345;
  const double b = strtod(s, &e2);
  const int err2 = errno;
  if (memcmp(&a, &b, sizeof a) != 0 || e1 != e2 || err1 != err2)
    fail_msg("\"%s\": parsed %a (end +%td, errno %d), strtod %a (end +%td, errno %d)", s, a, e1 - s, err1, b,
             e2 - s, err2);
  double c = -1.0;
  errno = 12345;
  const int fast = dpm_parse_double_fast(s, &c, &e3);
  if (errno != 12345) fail_msg("\"%s\": the fast path touched errno", s);
  if (fast && (memcmp(&c, &b, sizeof c) != 0 || e3 != e2))
    fail_msg("\"%s\": fast path %a (end +%td), strtod %a (end +%td)", s, c, e3 - s, b, e2 - s);
  if (!fast && (c != -1.0 || e3 != (char *)1)) fail_msg("\"%s\": the fast path gave up but wrote its outputs", s);
  n_checked++;
  n_fast += (size_t)fast;
  return fast;
}

static uint64_t rand64(gsl_rng *r) { return (uint64_t)gsl_rng_get(r) << 32 ^ (uint64_t)gsl_rng_get(r); }

static double rand_double(gsl_rng *r) /* any finite double: random bits, exponent field uniform */
{
  for (;;) {
    const uint64_t b = rand64(r);
    double x;
    memcpy(&x, &b, sizeof x);
    if (isfinite(x)) return x;
  }
}

/* Random doubles over the whole exponent range (and subnormals) printed with 17, 16 and 1..15 significant digits
 * in %e and %g form: the 17-digit ones are the text the library writes, the shorter ones are not exactly doubles
 * and round somewhere inside an ulp. */
static void test_random_doubles(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(2026, 0);
  char s[64];
  size_t normal = 0, decided = 0;
  for (int i = 0; i < 600000; i++) {
    double x = rand_double(r);
    if (i % 10 == 9) { /* a subnormal */
      uint64_t b = rand64(r) & UINT64_C(0x800fffffffffffff);
      memcpy(&x, &b, sizeof x);
    }
    const int prec = i % 3 == 0 ? 17 : i % 3 == 1 ? 16 : 1 + (int)gsl_rng_uniform_int(r, 15);
    snprintf(s, sizeof s, i % 2 ? "%.*e" : "%.*g", i % 2 ? prec - 1 : prec, x);
    const int fast = check_one(s);
    if (prec >= 16 && fabs(x) >= 1e-307 && fabs(x) <= 1e308) { /* normal, away from both ends */
      normal++;
      decided += (size_t)fast;
    }
  }
  gsl_rng_free(r);
  /* Undecided needs the 9 guard bits all ones and a carry out of a 128-bit word (about 2^-9 2^-55 of inputs) or
   * an exact tie in 128 bits: at one in a thousand the fast path would be broken, not unlucky. */
  assert_true(normal > 300000);
  if (normal - decided > normal / 1000) fail_msg("fast path undecided on %zu of %zu", normal - decided, normal);
}

/* Random digit strings of 1..19 digits (and 20..25, strtod's) with a point anywhere or none, leading zeros,
 * signs, exponent spellings, and decimal exponents over [-360, 360]: past both ends of the normal range, so
 * overflow (ERANGE, +-HUGE_VAL), underflow to subnormals and to zero are all met. */
static void test_random_decimals(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(2026, 1);
  char s[96];
  for (int i = 0; i < 500000; i++) {
    int n = 0;
    const unsigned sign = (unsigned)gsl_rng_uniform_int(r, 3);
    if (sign) s[n++] = sign == 1 ? '-' : '+';
    const int zeros = gsl_rng_uniform_int(r, 4) == 0 ? (int)gsl_rng_uniform_int(r, 4) : 0;
    for (int k = 0; k < zeros; k++)
      s[n++] = '0';
    const int digits = i % 50 == 0 ? 20 + (int)gsl_rng_uniform_int(r, 6) : 1 + (int)gsl_rng_uniform_int(r, 19);
    const int point = (int)gsl_rng_uniform_int(r, (unsigned long)digits + 2) - 1; /* -1: no point */
    for (int k = 0; k < digits; k++) {
      if (k == point) s[n++] = '.';
      s[n++] = (char)('0' + (k == 0 && zeros == 0 ? 1 + gsl_rng_uniform_int(r, 9) : gsl_rng_uniform_int(r, 10)));
    }
    if (point == digits) s[n++] = '.';
    if (gsl_rng_uniform_int(r, 8) != 0) {
      const int e = (int)gsl_rng_uniform_int(r, 721) - 360;
      n += snprintf(s + n, sizeof s - (size_t)n, "%s%s%d", gsl_rng_uniform_int(r, 2) ? "e" : "E",
                    e >= 0 && gsl_rng_uniform_int(r, 2) ? "+" : "", e);
    }
    s[n] = '\0';
    check_one(s);
  }
  gsl_rng_free(r);
}

/* Exact halfway points between adjacent doubles that have at most 19 significant digits (integers m 2^j with m
 * odd and 54..64 bits: round half to even decides), the same written with a decimal exponent, and their
 * neighbours one unit in the last printed digit either side. */
static void test_halfway(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(2026, 2);
  char s[64];
  for (int i = 0; i < 60000; i++) {
    const int bits = 54 + (int)gsl_rng_uniform_int(r, 11); /* 54..64 */
    const uint64_t top = UINT64_C(1) << (bits - 1);        /* 2^(bits-1) <= v < 2^bits */
    const int unit = bits - 53;                            /* doubles here are 2^unit apart */
    uint64_t v = top | (rand64(r) & (top - 1));            /* random */
    v = (v >> unit << unit) | (UINT64_C(1) << (unit - 1)); /* the midpoint above a double */
    for (int dv = -1; dv <= 1; dv++) {
      const uint64_t w = v + (uint64_t)(int64_t)dv;
      snprintf(s, sizeof s, "%llu", (unsigned long long)w);
      check_one(s);
      snprintf(s, sizeof s, "%llue-3", (unsigned long long)w); /* not halfway any more: 10^-3 is inexact */
      check_one(s);
      char digits[32]; /* d.ddd...eN, the same value in scientific form */
      snprintf(digits, sizeof digits, "%llu", (unsigned long long)w);
      snprintf(s, sizeof s, "%c.%se%zu", digits[0], digits + 1, strlen(digits) - 1);
      check_one(s);
    }
  }
  /* halfway cases with a power of five: 5^k m 2^j is exact for small k; 2^53 + 1 and friends by hand */
  static const char *fixed[] = {"9007199254740993",     "9007199254740995",
                                "9007199254740993.0",   "900719925474099.3e1",
                                "9007199254740992.5",   "18014398509481986",
                                "18014398509481990",    "1.8014398509481986e16",
                                "9223372036854776833",  "9223372036854776832",
                                "9223372036854775808",  "18446744073709551615",
                                "18446744073709551616", "2.5e-1",
                                "7.2057594037927933e16"};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    check_one(fixed[i]);
  gsl_rng_free(r);
}

/* The edges: zero in every spelling, the extremes of the range, overflow and underflow ('1e400', '1e-400'),
 * the normal/subnormal boundary, long exponents, and text that is not a plain decimal (strtod's to handle). */
static void test_edges(void **state)
{
  (void)state;
  static const char *cases[] = {"0",
                                "-0",
                                "+0",
                                "0.0",
                                "-0.0",
                                "00000",
                                "0e0",
                                "0e500",
                                "-0e-500",
                                "0.000e99999999999",
                                ".0",
                                "0.",
                                "1e400",
                                "-1e400",
                                "1e-400",
                                "-1e-400",
                                "1e308",
                                "1.7976931348623157e308",
                                "1.7976931348623158e308",
                                "1.7976931348623159e308",
                                "2e308",
                                "2.2250738585072014e-308",
                                "2.2250738585072011e-308",
                                "2.225073858507201e-308",
                                "4.9406564584124654e-324",
                                "5e-324",
                                "2.4703282292062327e-324",
                                "2.4703282292062328e-324",
                                "3e-324",
                                "1e-323",
                                "1e-320",
                                "1e-310",
                                "1e-307",
                                "1e-342",
                                "1e-343",
                                "1e-341",
                                "123456789e-350",
                                "1234567890123456789e-342",
                                "1234567890123456789e-343",
                                "1e308",
                                "1e309",
                                "0.1e309",
                                "10e307",
                                "1e22",
                                "1e23",
                                "9.999999999999999e22",
                                "1e-22",
                                "1e-23",
                                "4503599627370496.5",
                                "4503599627370497.5",
                                "1e1000000000000",
                                "1e-1000000000000",
                                "1e99999",
                                "1.e5",
                                ".5e-3",
                                "+.5",
                                "-.5",
                                "00000000000000000000000001.5",
                                "0.00000000000000000000000000000000000000000000001",
                                "1234567890123456789",
                                "12345678901234567890",
                                "0.1234567890123456789",
                                "99999999999999999999e-20",
                                "1e",
                                "1e+",
                                "1e-",
                                "1ex",
                                "1.5e+x",
                                "-",
                                "+",
                                ".",
                                "-.",
                                "e5",
                                "",
                                " 1",
                                "\t2.5",
                                "x",
                                "--1",
                                "+-1",
                                "1..2",
                                "1.2.3",
                                "1,5",
                                "0x1p3",
                                "0X1.8P1",
                                "-0x10",
                                "inf",
                                "-inf",
                                "Infinity",
                                "nan",
                                "NAN(123)",
                                "1e5x",
                                "12abc",
                                "1.5 ",
                                "1.5\n",
                                "1.5,2",
                                "7_000",
                                "١٢"};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    check_one(cases[i]);
  char *end;
  const char *t = "abc";
  (void)dpm_parse_double(t, &end); /* end may be NULL; no number: end = p */
  assert_ptr_equal(end, t);
  assert_true(dpm_parse_double("2.5", NULL) == 2.5);
}

/* Every power of ten and every table exponent with the first, a middle and the last significand of 1..19 digits:
 * each entry of the table is used at least once. */
static void test_every_exponent(void **state)
{
  (void)state;
  char s[64];
  static const char *mant[] = {"1",
                               "9",
                               "5",
                               "123456789",
                               "999999999999999999",
                               "1999999999999999999",
                               "9999999999999999999",
                               "1844674407370955161",
                               "4503599627370497",
                               "17976931348623157"};
  for (int q = DPM_POW10_MIN - 25; q <= DPM_POW10_MAX + 5; q++)
    for (size_t m = 0; m < sizeof mant / sizeof *mant; m++) {
      snprintf(s, sizeof s, "%se%d", mant[m], q);
      check_one(s);
      snprintf(s, sizeof s, "-%se%d", mant[m], q);
      check_one(s);
    }
}

/* ---- the CSV reader on top
 * -------------------------------------------------------------------------------------- */

static int read_text(const char *text, double **v, size_t *r, size_t *c)
{
  const char *path = dpm_test_tmpfile(".csv", text);
  int st = dpm_csv_read(path, v, r, c, NULL);
  unlink(path);
  return st;
}

/* A CSV of random 17-digit, short and edge numbers (two per row, spaces around some) reads back as strtod reads
 * each field; '1e-400' underflows to 0 and is accepted as before, '1e400' is refused as out of range, malformed
 * fields as not numbers, with the line and field named. */
static void test_csv_reader(void **state)
{
  (void)state;
  gsl_rng *r = dpm_rng_stream_alloc(2026, 3);
  const size_t rows = 20000;
  char *text = malloc(rows * 64), *p = text;
  double *want = malloc(2 * rows * sizeof *want);
  for (size_t i = 0; i < 2 * rows; i++) {
    char tok[40];
    const double x = gsl_rng_uniform(r) * 8.0 - 4.0;
    if (i % 7 == 3)
      snprintf(tok, sizeof tok, "%.*g", 1 + (int)(i % 6), x);
    else if (i == 11)
      snprintf(tok, sizeof tok, "1e-400");
    else if (i == 13)
      snprintf(tok, sizeof tok, "-5e-324");
    else
      snprintf(tok, sizeof tok, "%.17g", i % 5 == 1 ? rand_double(r) : x);
    want[i] = strtod(tok, NULL);
    p += sprintf(p, i % 2 ? " %s\n" : "%s ,", tok);
  }
  gsl_rng_free(r);
  double *v;
  size_t rr, cc;
  assert_int_equal(read_text(text, &v, &rr, &cc), 0);
  assert_int_equal(rr, rows);
  assert_int_equal(cc, 2);
  for (size_t i = 0; i < 2 * rows; i++)
    if (memcmp(&v[i], &want[i], sizeof(double)) != 0) fail_msg("field %zu: read %a, strtod %a", i, v[i], want[i]);
  assert_true(v[11] == 0.0);
  free(v);
  free(text);
  free(want);
  static const struct {
    const char *text, *needle;
    int status;
  } bad[] = {{"1,2\n3,1e400\n", ":2: field 2 is out of the range of a double", GSL_EBADFUNC},
             {"1,2\n-1e309,1\n", ":2: field 1 is out of the range of a double", GSL_EBADFUNC},
             {"1,2\n3,nan\n", ":2: field 2 is not finite", GSL_EBADFUNC},
             {"1,2\n3,1e\n", ":2: field 2 is not a number", GSL_EINVAL},
             {"1,2\n3,1.5x\n", ":2: field 2 is not a number", GSL_EINVAL},
             {"1,2\n--3,1\n", ":2: field 1 is not a number", GSL_EINVAL},
             {"1,2\n3,.\n", ":2: field 2 is not a number", GSL_EINVAL}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    double *w = (double *)1;
    dpm_error_clear();
    const int st = read_text(bad[i].text, &w, &rr, &cc);
    dpm_test_assert_raised(st, bad[i].status, bad[i].needle, "dpm_csv_read", __FILE__, __LINE__);
    assert_null(w);
  }
}

static void test_count(void **state)
{
  (void)state;
  assert_true(n_checked >= 1000000); /* the contract's million, counted over the tests above */
  print_message("%zu strings, %zu decided without strtod\n", n_checked, n_fast);
}

int main(int argc, char **argv)
{
  if (argc == 2 && strcmp(argv[1], "--table") == 0) {
    print_table();
    return 0;
  }
  dpm_error_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_exact),    cmocka_unit_test(test_edges),
      cmocka_unit_test(test_every_exponent), cmocka_unit_test(test_halfway),
      cmocka_unit_test(test_random_doubles), cmocka_unit_test(test_random_decimals),
      cmocka_unit_test(test_csv_reader),     cmocka_unit_test(test_count),
  };
  return cmocka_run_group_tests_name("parse_double", tests, NULL, NULL);
}
