/* dpm_common.h — status codes, the one error path, and small numerical helpers shared by every module. */
#ifndef DPM_COMMON_H
#define DPM_COMMON_H

#include <stddef.h>
#include <gsl/gsl_errno.h>

#define DPM_VERSION "0.1.0"

/* Status codes are GSL's: DPM_SUCCESS == GSL_SUCCESS, then GSL_EINVAL (bad argument), GSL_EDOM (outside the
 * domain, e.g. s <= 0), GSL_EBADLEN (inconsistent dimensions), GSL_ENOMEM, GSL_EFAILED (I/O), GSL_ENOTSQR,
 * GSL_EBADFUNC (NaN/Inf met). */
#define DPM_SUCCESS GSL_SUCCESS

/* Raise an error with a formatted one-line reason (names the problem and where), through gsl_error so a single
 * breakpoint on gsl_error catches every error, then return the status from the calling function. */
#define DPM_ERROR(status, ...) return dpm_errorf(__FILE__, __LINE__, (status), __VA_ARGS__)
/* The same for functions that return a pointer: raise, then return NULL. */
#define DPM_ERROR_NULL(status, ...)                                                                               \
  do {                                                                                                            \
    dpm_errorf(__FILE__, __LINE__, (status), __VA_ARGS__);                                                        \
    return NULL;                                                                                                  \
  } while (0)
/* Raise without returning; the expression's value is the status (for `st = DPM_RAISE(...); goto done;`). */
#define DPM_RAISE(status, ...) dpm_errorf(__FILE__, __LINE__, (status), __VA_ARGS__)

int dpm_errorf(const char *file, int line, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The reason given with the most recent error raised in this thread (through dpm_errorf or, once
 * dpm_error_install() ran, through any gsl_error). Never NULL; "" when none. */
const char *dpm_error_last(void);

/* Forget the last reason (dpm_error_last() is "" again). A program calls it before an operation whose own
 * failure it wants to tell apart from an earlier one. Can't fail. */
void dpm_error_clear(void);

/* Add context to the reason of the error being passed up, without replacing it: the reason becomes
 * "<context>: <reason>". Raise at the origin only; a caller that only passes a status up adds context with this
 * instead of raising again (which would replace the origin's reason). Does not call gsl_error. Can't fail. */
void dpm_error_context(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Install a GSL error handler that records the reason (see dpm_error_last) instead of aborting. Programs call
 * this once at start-up; the library never installs it itself. */
void dpm_error_install(void);

/* log(sum_i exp(v[i * stride])) for i < n, exact for n = 0 (-inf), for all -inf inputs (-inf) and any +inf. */
double dpm_logsumexp(const double *v, size_t n, size_t stride);

/* Allocation wrappers: return NULL on failure (after raising GSL_ENOMEM). */
void *dpm_malloc(size_t nbytes);
void *dpm_calloc(size_t n, size_t size);
/* A large scratch or data buffer that free() releases: 64-byte aligned (a cache line, an AVX-512 vector); from
 * 2 MiB on aligned to a 2 MiB huge page and advised for transparent huge pages, which on a kernel in "madvise"
 * mode turns a first touch of thousands of 4 KiB pages (each a fault, costly under a hypervisor) into a few. */
void *dpm_malloc_large(size_t nbytes);

#endif
