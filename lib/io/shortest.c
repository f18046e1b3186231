/* shortest.c — the shortest decimal that reads back as a given double, by the Schubfach algorithm (R. Giulietti,
 * "The Schubfach way to render doubles", 2020), and its text in dpm_format_double's %g layout.
 *
 * A finite positive double is x = c 2^q (c < 2^53). Every real in its rounding interval R = [x - u/2, x + w/2]
 * (u = w = 2^q except at a power of two above the smallest normal, where the gap below is u = 2^q / 2; the ends
 * belong to R when c is even) reads back as x. With k = floor(log10 of R's width), R holds at most one multiple of
 * 10^(k+1) and at least one multiple of 10^k. So the answer is the multiple of 10^(k+1) in R, if there is exactly
 * one, else whichever of s = floor(x / 10^k) and s + 1 lies in R, the closer of the two if both do (the even one
 * on a tie). The products x / 10^k and the ends of R over 10^k are needed to two bits after the point: they are
 * formed from c 2^(q + 2) and a 126-bit approximation g of 10^-k from above, rounded to odd (rop), which the paper
 * proves to decide every comparison exactly for every double.
 *
 * The table of g (617 entries) is computed exactly with big integers on first use: 10^m for m >= 0 by repeated
 * multiplication by 10, floor(2^L / 10^m) by repeated division of 2^L by 10 (the floors nest). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "dpm_shortest_internal.h"

typedef unsigned __int128 u128;

/* ---- the table of powers of ten ------------------------------------------------------------------------------
 */

enum {
  K_COUNT = DPM_SHORTEST_K_MAX - DPM_SHORTEST_K_MIN + 1,
  BIG_LIMBS = 40,  /* 32-bit limbs, least significant first: 1280 bits */
  BIG_POW2 = 1120, /* 2^1120 > 2^(125 + bitlength(10^292)) = 2^1096 */
};

static uint64_t g_table[K_COUNT][2];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int big_bitlength(const uint32_t *a)
{
  for (int i = BIG_LIMBS; i-- > 0;)
    if (a[i]) return 32 * i + 32 - __builtin_clz(a[i]);
  return 0;
}

static void big_mul10(uint32_t *a)
{
  uint64_t carry = 0;
  for (int i = 0; i < BIG_LIMBS; i++) {
    const uint64_t v = (uint64_t)a[i] * 10 + carry;
    a[i] = (uint32_t)v;
    carry = v >> 32;
  }
}

static void big_div10(uint32_t *a)
{
  uint64_t rem = 0;
  for (int i = BIG_LIMBS; i-- > 0;) {
    const uint64_t v = rem << 32 | a[i];
    a[i] = (uint32_t)(v / 10);
    rem = v % 10;
  }
}

/* floor(a / 2^s) for s >= 0, a < 2^(s + 128); a * 2^-s for s < 0, a < 2^(128 + s). */
static u128 big_shift(const uint32_t *a, int s)
{
  if (s < 0) {
    u128 v = 0;
    for (int j = 3; j >= 0; j--)
      v = v << 32 | a[j];
    return v << -s;
  }
  const int li = s / 32, off = s % 32;
  u128 v = 0;
  for (int j = 3; j >= 0; j--)
    v = v << 32 | (li + j < BIG_LIMBS ? a[li + j] : 0);
  v >>= off;
  if (off && li + 4 < BIG_LIMBS) v |= (u128)a[li + 4] << (128 - off);
  return v;
}

static void table_store(int k, u128 floor_value)
{
  const u128 g = floor_value + 1;
  g_table[k - DPM_SHORTEST_K_MIN][0] = (uint64_t)(g >> 63);
  g_table[k - DPM_SHORTEST_K_MIN][1] = (uint64_t)g & (UINT64_MAX >> 1);
}

static void table_init(void)
{
  uint32_t a[BIG_LIMBS];
  int bitlength[1 - DPM_SHORTEST_K_MIN]; /* of 10^m, m = 0..-K_MIN */
  /* k = -m <= 0: 10^m exactly, its top 126 bits (shifted up when it has fewer) */
  memset(a, 0, sizeof a);
  a[0] = 1;
  for (int m = 0; m <= -DPM_SHORTEST_K_MIN; m++) {
    if (m) big_mul10(a);
    bitlength[m] = big_bitlength(a);
    table_store(-m, big_shift(a, bitlength[m] - 126));
  }
  /* k = e > 0: floor(2^N / 10^e) with N = 125 + bitlength(10^e) = 125 - floor(log2 10^-e), from floor(2^L / 10^e)
   */
  memset(a, 0, sizeof a);
  a[BIG_POW2 / 32] = 1u << BIG_POW2 % 32;
  for (int e = 1; e <= DPM_SHORTEST_K_MAX; e++) {
    big_div10(a);
    table_store(e, big_shift(a, BIG_POW2 - (125 + bitlength[e])));
  }
}

void dpm_shortest_table_entry(int k, uint64_t *g1, uint64_t *g0)
{
  pthread_once(&g_once, table_init);
  *g1 = g_table[k - DPM_SHORTEST_K_MIN][0];
  *g0 = g_table[k - DPM_SHORTEST_K_MIN][1];
}

/* ---- the decimal
 * ------------------------------------------------------------------------------------------------ */

/* g cp / 2^126 (g = g1 2^63 + g0, cp < 2^63), truncated, with its lowest bit set when the truncation dropped a
 * nonzero part (rounding to odd). */
static inline uint64_t rop(uint64_t g1, uint64_t g0, uint64_t cp)
{
  const uint64_t x1 = (uint64_t)((u128)g0 * cp >> 64);
  const u128 y = (u128)g1 * cp;
  const uint64_t z = ((uint64_t)y >> 1) + x1;
  const uint64_t vbp = (uint64_t)(y >> 64) + (z >> 63);
  return vbp | (((z & (UINT64_MAX >> 1)) + (UINT64_MAX >> 1)) >> 63);
}

void dpm_shortest_decimal(double x, uint64_t *f, int *e)
{
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  const uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
  const int biased = (int)(bits >> 52 & 0x7ff);
  uint64_t c;
  int q;
  if (biased) {
    c = frac | UINT64_C(1) << 52;
    q = biased - 1075;
    /* an integer below 2^53: its own digits (every shorter decimal is at least 1 away, beyond half an ulp) */
    if (q < 0 && q > -53 && (c & ((UINT64_C(1) << -q) - 1)) == 0) {
      *f = c >> -q;
      *e = 0;
      return;
    }
  } else {
    c = frac;
    q = -1074;
  }
  pthread_once(&g_once, table_init);
  const uint64_t out = c & 1; /* an odd c excludes the ends of the interval */
  const uint64_t cb = c << 2, cbr = cb + 2;
  uint64_t cbl;
  int k;
  if (c != UINT64_C(1) << 52 || q == -1074) {
    cbl = cb - 2;
    k = dpm_flog10_pow2(q);
  } else { /* a power of two: the gap below is half the gap above */
    cbl = cb - 1;
    k = dpm_flog10_three_quarters_pow2(q);
  }
  const int h = q + dpm_flog2_pow10(-k) + 2; /* 2..5 */
  const uint64_t g1 = g_table[k - DPM_SHORTEST_K_MIN][0], g0 = g_table[k - DPM_SHORTEST_K_MIN][1];
  const uint64_t vb = rop(g1, g0, cb << h), vbl = rop(g1, g0, cbl << h), vbr = rop(g1, g0, cbr << h);
  const uint64_t s = vb >> 2; /* floor(x / 10^k) */
  if (s >= 10) {              /* the one multiple of 10^(k+1) in the interval, if only one of the two is in */
    const uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
    const int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
    if (upin != wpin) {
      *f = upin ? sp10 : tp10;
      *e = k;
      return;
    }
  }
  const uint64_t t = s + 1;
  const int uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
  *e = k;
  if (uin != win) {
    *f = uin ? s : t;
    return;
  }
  /* both: the closer one, the even one on a tie (vb is 4 x / 10^k rounded to odd, 2 (s + t) the midpoint) */
  const uint64_t mid = (s + t) << 1;
  *f = vb < mid || (vb == mid && (s & 1) == 0) ? s : t;
}

/* ---- the text
 * ---------------------------------------------------------------------------------------------------- */

static const char two_digits[201] = "00010203040506070809"
                                    "10111213141516171819"
                                    "20212223242526272829"
                                    "30313233343536373839"
                                    "40414243444546474849"
                                    "50515253545556575859"
                                    "60616263646566676869"
                                    "70717273747576777879"
                                    "80818283848586878889"
                                    "90919293949596979899";

size_t dpm_shortest_format(char *out, double x)
{
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  char *p = out;
  if (bits >> 63) *p++ = '-';
  const uint64_t mag = bits & (UINT64_MAX >> 1);
  if (mag >= UINT64_C(0x7ff) << 52) {
    memcpy(p, mag == UINT64_C(0x7ff) << 52 ? "inf" : "nan", 3);
    return (size_t)(p + 3 - out);
  }
  if (mag == 0) {
    *p++ = '0';
    return (size_t)(p - out);
  }
  uint64_t f;
  int e;
  dpm_shortest_decimal(x, &f, &e);
  /* the digits of f, two at a time from the end, then its trailing zeros dropped */
  char dig[24];
  char *const end = dig + sizeof dig;
  char *d = end;
  while (f >= 100) {
    const uint64_t r = f % 100;
    f /= 100;
    d -= 2;
    memcpy(d, two_digits + 2 * r, 2);
  }
  if (f >= 10) {
    d -= 2;
    memcpy(d, two_digits + 2 * f, 2);
  } else {
    *--d = (char)('0' + f);
  }
  const int len = (int)(end - d);
  int n = len;
  while (d[n - 1] == '0')
    n--;
  int X = e + len - 1; /* x = d.ddd 10^X */
  const int P = n > 15 ? n : 15;
  if (X < -4 || X >= P) { /* d.ddde+XX */
    *p++ = d[0];
    if (n > 1) {
      *p++ = '.';
      memcpy(p, d + 1, (size_t)(n - 1));
      p += n - 1;
    }
    *p++ = 'e';
    if (X < 0) {
      *p++ = '-';
      X = -X;
    } else {
      *p++ = '+';
    }
    if (X >= 100) {
      *p++ = (char)('0' + X / 100);
      X %= 100;
    }
    memcpy(p, two_digits + 2 * X, 2);
    p += 2;
  } else if (X < 0) { /* 0.000ddd */
    *p++ = '0';
    *p++ = '.';
    memset(p, '0', (size_t)(-X - 1));
    p += -X - 1;
    memcpy(p, d, (size_t)n);
    p += n;
  } else if (n <= X + 1) { /* ddd000 */
    memcpy(p, d, (size_t)n);
    p += n;
    memset(p, '0', (size_t)(X + 1 - n));
    p += X + 1 - n;
  } else { /* ddd.ddd */
    memcpy(p, d, (size_t)(X + 1));
    p += X + 1;
    *p++ = '.';
    memcpy(p, d + X + 1, (size_t)(n - X - 1));
    p += n - X - 1;
  }
  return (size_t)(p - out);
}
