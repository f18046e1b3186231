/* error.c — the one error path: format a one-line reason, raise it through gsl_error, remember it per thread. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dpm_common.h"

static _Thread_local char last_reason[1024];

static void record_handler(const char *reason, const char *file, int line, int gsl_errno)
{
  (void)file;
  (void)line;
  (void)gsl_errno;
  if (reason != last_reason) {
    size_t n = strlen(reason);
    if (n >= sizeof last_reason) n = sizeof last_reason - 1;
    memmove(last_reason, reason, n);
    last_reason[n] = '\0';
  }
}

void dpm_error_install(void) { gsl_set_error_handler(record_handler); }

const char *dpm_error_last(void) { return last_reason; }

void dpm_error_clear(void) { last_reason[0] = '\0'; }

void dpm_error_context(const char *fmt, ...)
{
  char ctx[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  /* "<context>: <reason>", cut at the buffer's end */
  const size_t n = strlen(ctx), room = sizeof last_reason - 1;
  const size_t keep = last_reason[0] ? (n + 2 < room ? room - n - 2 : 0) : 0;
  const size_t old = strnlen(last_reason, keep);
  if (last_reason[0] && n + 2 < room) {
    memmove(last_reason + n + 2, last_reason, old);
    memcpy(last_reason, ctx, n);
    last_reason[n] = ':';
    last_reason[n + 1] = ' ';
    last_reason[n + 2 + old] = '\0';
  } else {
    memcpy(last_reason, ctx, n < room ? n : room);
    last_reason[n < room ? n : room] = '\0';
  }
  for (char *p = last_reason; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
}

int dpm_errorf(const char *file, int line, int status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_reason, sizeof last_reason, fmt, ap);
  va_end(ap);
  /* one line: fold any newline a caller let through */
  for (char *p = last_reason; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  gsl_error(last_reason, file, line, status);
  return status;
}

double dpm_logsumexp(const double *v, size_t n, size_t stride)
{
  double mx = -HUGE_VAL;
  for (size_t i = 0; i < n; i++)
    if (v[i * stride] > mx) mx = v[i * stride];
  if (!isfinite(mx)) return mx; /* all -inf, or some +inf / NaN */
  double acc = 0.0;
  for (size_t i = 0; i < n; i++)
    acc += exp(v[i * stride] - mx);
  return mx + log(acc);
}

void *dpm_malloc(size_t nbytes)
{
  void *p = malloc(nbytes ? nbytes : 1);
  if (!p) DPM_RAISE(GSL_ENOMEM, "out of memory (%zu bytes)", nbytes);
  return p;
}

void *dpm_malloc_large(size_t nbytes)
{
  const size_t line = 64, huge = (size_t)1 << 21;
  const size_t align = nbytes >= huge ? huge : line, round = ((nbytes ? nbytes : 1) + align - 1) / align * align;
  void *p = round >= nbytes ? aligned_alloc(align, round) : NULL;
  if (!p) DPM_RAISE(GSL_ENOMEM, "out of memory (%zu bytes)", nbytes);
#ifdef MADV_HUGEPAGE
  else if (align == huge)
    (void)madvise(p, round, MADV_HUGEPAGE); /* advice only: no error without huge pages */
#endif
  return p;
}

void *dpm_calloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) DPM_RAISE(GSL_ENOMEM, "out of memory (%zu x %zu bytes)", n, size);
  return p;
}
