/* data_csv.c — a CSV (or NumPy .npy) point file as a finite point set: q_0 = (1/K) sum_k delta_{y_k}, the Dirac
 * special case of the mixture in docs/MATH.md §2. */
#include <stdlib.h>
#include <string.h>

#include "dpm_common.h"
#include "dpm_data.h"
#include "dpm_io.h"

dpm_mixture *dpm_data_load_csv(const char *path)
{
  double *data = NULL;
  size_t rows = 0, cols = 0;
  char *header = NULL;
  if (dpm_csv_read(path, &data, &rows, &cols, &header)) return NULL; /* the reason names file:line */
  free(header);
  dpm_mixture *mix = NULL;
  if (rows == 0 || cols == 0)
    DPM_RAISE(GSL_EINVAL, "%s: no points", path);
  else
    mix = dpm_mixture_alloc(rows, cols);
  if (mix) {
    /* the parsed matrix becomes the means as it is: the mixture's own K x d block was calloc'd and never
     * touched, so the file's points are held once (no copy, no second resident K x d array) */
    free(mix->mu);
    mix->mu = data;
    data = NULL;
    snprintf(mix->name, sizeof mix->name, "%s", path);
  }
  free(data);
  return mix;
}
