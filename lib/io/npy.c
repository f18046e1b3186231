/* npy.c — NumPy's .npy array format (format versions 1.0, 2.0 and 3.0 of numpy.lib.format, NEP 1), float64 only:
 * a point matrix read from or written to a file without any text, so a Python user passes arrays as they are.
 * Reading goes straight into the final buffer in large blocks (no second copy), each block byte-swapped if needed
 * and checked finite while it is still in cache; a large buffer is asked for transparent huge pages, as NumPy
 * does for its own arrays, because first-touch page faults otherwise cost more than the copy itself. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_io.h"

/* The file: the 6 magic bytes "\x93NUMPY", the major and minor version bytes, the header length (little-endian
 * uint16 for version 1, uint32 for versions 2 and 3), the header (a Python dict literal with the keys 'descr',
 * 'fortran_order' and 'shape', padded with spaces and a newline so the data starts at a multiple of 64 bytes),
 * then the data in the order the header says. Accepted here: descr '<f8' (or '=f8'/'f8', and '>f8' byte-swapped),
 * fortran_order False, shape (n,) (n points in 1-D) or (n, d). */

enum {
  NPY_MAX_HEADER = 1 << 20,
  NPY_BLOCK = 1 << 20 /* values per read: 8 MiB, so a block is checked while still in cache */
};

/* Index of the first non-finite value of v[0, n), or n. A double is NaN or Inf exactly when its 11 exponent bits
 * are all ones: tested on the bits, branch-free, so the loop vectorises. */
static size_t first_nonfinite(const double *v, size_t n)
{
  const uint64_t mask = UINT64_C(0x7ff0000000000000);
  for (size_t i0 = 0; i0 < n; i0 += 1024) {
    const size_t i1 = n - i0 < 1024 ? n : i0 + 1024;
    unsigned bad = 0;
    for (size_t i = i0; i < i1; i++) {
      uint64_t b;
      memcpy(&b, v + i, sizeof b);
      bad |= (b & mask) == mask;
    }
    if (bad)
      for (size_t i = i0; i < i1; i++)
        if (!isfinite(v[i])) return i;
  }
  return n;
}

static int host_little_endian(void)
{
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static void swap8(double *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char b[8], t;
    memcpy(b, v + i, 8);
    for (int j = 0; j < 4; j++) {
      t = b[j];
      b[j] = b[7 - j];
      b[7 - j] = t;
    }
    memcpy(v + i, b, 8);
  }
}

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

/* a quoted Python string at p into out (cap bytes); returns the character after it or NULL */
static const char *parse_quoted(const char *p, char *out, size_t cap)
{
  const char q = *p;
  if (q != '\'' && q != '"') return NULL;
  const char *e = strchr(p + 1, q);
  if (!e || (size_t)(e - p - 1) >= cap) return NULL;
  memcpy(out, p + 1, (size_t)(e - p - 1));
  out[e - p - 1] = '\0';
  return e + 1;
}

/* Parse the header dict: descr into descr, fortran_order into *fortran (-1 if absent), the shape into shape[]
 * (*ndim entries, *ndim = -1 if absent). Returns 0, or -1 when the text is not such a dict. */
static int parse_header(const char *h, char *descr, size_t dcap, int *fortran, size_t shape[4], int *ndim)
{
  *fortran = -1;
  *ndim = -1;
  descr[0] = '\0';
  const char *p = skip_ws(h);
  if (*p++ != '{') return -1;
  for (;;) {
    p = skip_ws(p);
    if (*p == '}') return 0;
    char key[32];
    if (!(p = parse_quoted(p, key, sizeof key))) return -1;
    p = skip_ws(p);
    if (*p++ != ':') return -1;
    p = skip_ws(p);
    if (strcmp(key, "descr") == 0) {
      if (!(p = parse_quoted(p, descr, dcap))) return -1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (strncmp(p, "True", 4) == 0) {
        *fortran = 1;
        p += 4;
      } else if (strncmp(p, "False", 5) == 0) {
        *fortran = 0;
        p += 5;
      } else {
        return -1;
      }
    } else if (strcmp(key, "shape") == 0) {
      if (*p++ != '(') return -1;
      int nd = 0;
      for (;;) {
        p = skip_ws(p);
        if (*p == ')') {
          p++;
          break;
        }
        if (!(*p >= '0' && *p <= '9')) return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE) return -1;
        if (nd < 4) shape[nd] = (size_t)v;
        nd++;
        p = skip_ws(end);
        if (*p == ',')
          p++;
        else if (*p != ')')
          return -1;
      }
      *ndim = nd;
    } else {
      return -1;
    }
    p = skip_ws(p);
    if (*p == ',')
      p++;
    else if (*p != '}')
      return -1;
  }
}

int dpm_npy_read_stream(FILE *fp, const char *what, double **data, size_t *rows, size_t *cols)
{
  *data = NULL;
  *rows = *cols = 0;
  unsigned char pre[10];
  size_t got = fread(pre, 1, 8, fp);
  if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
    DPM_ERROR(GSL_EINVAL, "%s: not a .npy file (no \\x93NUMPY magic at the start)", what);
  const int major = pre[6];
  size_t hlen;
  if (major == 1) {
    if (fread(pre + 8, 1, 2, fp) != 2) DPM_ERROR(GSL_EINVAL, "%s: truncated .npy header", what);
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if (major == 2 || major == 3) {
    unsigned char l[4];
    if (fread(l, 1, 4, fp) != 4) DPM_ERROR(GSL_EINVAL, "%s: truncated .npy header", what);
    hlen = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
  } else {
    DPM_ERROR(GSL_EINVAL, "%s: .npy format version %d.%d is not supported (1.0, 2.0, 3.0 are)", what, major,
              pre[7]);
  }
  if (hlen > NPY_MAX_HEADER) DPM_ERROR(GSL_EINVAL, "%s: .npy header of %zu bytes is too long", what, hlen);
  char *h = dpm_malloc(hlen + 1);
  if (!h) return GSL_ENOMEM;
  if (fread(h, 1, hlen, fp) != hlen) {
    free(h);
    DPM_ERROR(GSL_EINVAL, "%s: truncated .npy header (%zu bytes announced)", what, hlen);
  }
  h[hlen] = '\0';
  char descr[32];
  int fortran, ndim;
  size_t shape[4] = {0, 0, 0, 0};
  const int bad =
      parse_header(h, descr, sizeof descr, &fortran, shape, &ndim) != 0 || fortran < 0 || ndim < 0 || !descr[0];
  free(h);
  if (bad) DPM_ERROR(GSL_EINVAL, "%s: malformed .npy header (need 'descr', 'fortran_order' and 'shape')", what);
  int swap;
  if (strcmp(descr, "<f8") == 0 || strcmp(descr, "=f8") == 0 || strcmp(descr, "f8") == 0)
    swap = !host_little_endian() && descr[0] == '<';
  else if (strcmp(descr, ">f8") == 0)
    swap = host_little_endian();
  else
    DPM_ERROR(GSL_EINVAL, "%s: .npy dtype '%s' is not float64 ('<f8'); save a.astype('<f8')", what, descr);
  if (fortran) DPM_ERROR(GSL_EINVAL, "%s: .npy array is in Fortran order; save np.ascontiguousarray(a)", what);
  if (ndim != 1 && ndim != 2)
    DPM_ERROR(GSL_EBADLEN, "%s: .npy array has %d dimensions; need a 1-D (n,) or 2-D (n, d) array", what, ndim);
  const size_t n = shape[0], d = ndim == 2 ? shape[1] : 1;
  if (n == 0 || d == 0) DPM_ERROR(GSL_EINVAL, "%s: no data rows (.npy shape has a zero)", what);
  if (n > SIZE_MAX / 8 / d) DPM_ERROR(GSL_ENOMEM, "%s: .npy shape (%zu, %zu) is too large", what, n, d);
  const size_t want = n * d;
  double *v = dpm_malloc_large(want * sizeof(double));
  if (!v) DPM_ERROR(GSL_ENOMEM, "%s: out of memory for a (%zu, %zu) array", what, n, d);
  for (size_t i0 = 0; i0 < want; i0 += NPY_BLOCK) {
    const size_t m = want - i0 < NPY_BLOCK ? want - i0 : NPY_BLOCK, have = fread(v + i0, sizeof(double), m, fp);
    if (have != m) {
      free(v);
      DPM_ERROR(GSL_EINVAL, "%s: truncated .npy data (%zu of %zu values)", what, i0 + have, want);
    }
    if (swap) swap8(v + i0, m);
    const size_t nf = first_nonfinite(v + i0, m);
    if (nf < m) {
      const size_t r = (i0 + nf) / d, c = (i0 + nf) % d;
      free(v);
      DPM_ERROR(GSL_EBADFUNC, "%s: element [%zu, %zu] is not finite (NaN or Inf)", what, r, c);
    }
  }
  if (getc(fp) != EOF) {
    free(v);
    DPM_ERROR(GSL_EINVAL, "%s: bytes after the (%zu, %zu) array of the .npy header", what, n, d);
  }
  *data = v;
  *rows = n;
  *cols = d;
  return DPM_SUCCESS;
}

int dpm_npy_write(FILE *fp, const double *data, size_t rows, size_t cols)
{
  char dict[128];
  int len =
      snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
  /* pad with spaces so that magic (6) + version (2) + length (2) + header ends on a multiple of 64, '\n' last */
  size_t total = 10 + (size_t)len + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t hlen = (size_t)len + pad + 1;
  unsigned char pre[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
  fwrite(pre, 1, 10, fp);
  fwrite(dict, 1, (size_t)len, fp);
  for (size_t i = 0; i < pad; i++)
    putc(' ', fp);
  putc('\n', fp);
  if (host_little_endian()) {
    fwrite(data, sizeof(double), rows * cols, fp);
  } else {
    for (size_t i = 0; i < rows * cols; i++) {
      double t = data[i];
      swap8(&t, 1);
      fwrite(&t, sizeof t, 1, fp);
    }
  }
  if (ferror(fp)) DPM_ERROR(GSL_EFAILED, "error writing the .npy array");
  return DPM_SUCCESS;
}
