/* cubature.c — adaptive Gauss-Kronrod cubature of E_{N(0, I_d)} g(u) in d <= 2 as a workspace (QUADPACK qk15
 * lines; a two-level sparse-grid rule in 2-D). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dpm_quad.h"
#include "dpm_internal.h"
/* ---- adaptive Gauss-Kronrod cubature for E_{N(0, I_d)} g(u), d <= 2 ----------------------------------------- */

/* The integrands here are smooth but not uniformly so: where the posterior switches between two components the
 * responsibilities change over a width set by the data (not by the component's own scale), so a fixed
 * Gauss-Hermite rule converges slowly and erratically there. Instead: integrate phi(u) (g(u) - c(u)) over the box
 * [-DPM_QUAD_L, DPM_QUAD_L]^d (outside it the normal mass is 2.3e-19 per axis, negligible against g's polynomial
 * growth) by adaptive bisection, and add the integral of phi c there in closed form. The control variate c is a
 * quadratic in u that g equals in some regime (for Gamma: where one component owns the posterior, or where q_t is
 * nearly Gaussian); the caller offers one or two, and the one with the smaller estimated error on the starting
 * boxes is used, so that the adaptive part only has to resolve what c misses.
 *
 * Rules. In 1-D the 15-point Kronrod rule K15 with its embedded 7-point Gauss rule G7, error |K15 - G7|
 * (QUADPACK's qk15; conservative: it is the error of G7, of degree 13, while K15 has degree 22). In 2-D the
 * two-level combination (sparse-grid) rule C = K15 x G7 + G7 x K15 - G7 x G7 on the 161 nodes with at least one
 * Gauss coordinate, instead of the 225-node tensor K15 x K15. With e_K = K15 - I and e_G = G7 - I,
 * C - I x I = e_K x I + I x e_K - e_G x e_G + e_K x e_G + e_G x e_K: as accurate as K15 along each axis up to the
 * product of the two G7 errors. The error estimate per axis, E_a, is |K15 - G7| along the 7 lines of 15 nodes in
 * that direction combined with the G7 weights of the other axis (the G7 error along axis a, again conservative),
 * plus the product term, bounded by E_0 E_1 / resabs; the rounding floor is QUADPACK's 50 eps resabs. Each box's
 * nodes are evaluated in one batch.
 *
 * Refinement. The boxes are dyadic (halves of halves of [-DPM_QUAD_L, DPM_QUAD_L] along each axis, starting from a
 * CUB_INIT^d grid). While the summed error exceeds the tolerance, the boxes with the largest estimated errors are
 * split in half along the axis with the larger error (no more of them than it takes for their errors to cover the
 * excess). Along a schedule the integrand changes little from one step to the next, so the final boxes of one step
 * can start the next (a warm start: the refinement work is not repeated), with pairs of halves that were far below
 * their share of the tolerance merged back. */

/* CUB_INIT boxes per axis at the start (width 4.5, which the 15-point rules resolve for the normal weight), at
 * level DPM_QUAD_LV0 (2^2 = CUB_INIT pieces of [-DPM_QUAD_L, DPM_QUAD_L]); at most CUB_NPBOX nodes per box,
 * CUB_BATCH boxes per evaluation (CUB_NPMAX points) and CUB_NCV control variates; a budget of CUB_MAXREG boxes. */
enum {
  CUB_INIT = 4,
  DPM_QUAD_LV0 = 2,
  CUB_NPBOX = 161,
  CUB_BATCH = 16,
  CUB_NPMAX = CUB_BATCH * CUB_NPBOX,
  CUB_NCV = 2,
  CUB_MAXREG_1D = 4000,
  CUB_MAXREG_2D = 6000
};

/* The 15-point Kronrod rule on [-1, 1] (nodes in increasing order) with its embedded 7-point Gauss rule (weight 0
 * at the Kronrod-only nodes, the even indices); QUADPACK's qk15 constants. */
static const double k15_x[15] = {-0.991455371120812639206854697526329, -0.949107912342758524526189684047851,
                                 -0.864864423359769072789712788640926, -0.741531185599394439863864773280788,
                                 -0.586087235467691130294144845693013, -0.405845151377397166906606412076961,
                                 -0.207784955007898467600689403773245, 0.0,
                                 0.207784955007898467600689403773245,  0.405845151377397166906606412076961,
                                 0.586087235467691130294144845693013,  0.741531185599394439863864773280788,
                                 0.864864423359769072789712788640926,  0.949107912342758524526189684047851,
                                 0.991455371120812639206854697526329};
static const double k15_wk[15] = {
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518,
    0.140653259715525918745189590510238, 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714, 0.204432940075298892414161999234649,
    0.190350578064785409913256402421014, 0.169004726639267902826583426598550, 0.140653259715525918745189590510238,
    0.104790010322250183839876322541518, 0.063092092629978553290700663189204, 0.022935322010529224963732008058970};
static const double k15_wg[15] = {
    0.0, 0.129484966168869693270611432679082, 0.0, 0.279705391489276667901467771423780,
    0.0, 0.381830050505118944950369775488975, 0.0, 0.417959183673469387755102040816327,
    0.0, 0.381830050505118944950369775488975, 0.0, 0.279705391489276667901467771423780,
    0.0, 0.129484966168869693270611432679082, 0.0};

/* f(ctx, np, u, g, c): the integrand g (np) and the control variates c (ncv x np, variate v at c[v np + p]) at np
 * points u (np x d, standard-normal coordinates). */
typedef dpm_quad_fn cub_fn;

/* A dyadic box: along axis a it is the ix[a]-th of the 2^lv[a] equal pieces of [-DPM_QUAD_L, DPM_QUAD_L]. */
typedef struct {
  int lv[2], ix[2];
  double c[2], h[2]; /* centre, half-widths */
  double val;        /* the rule's value of phi (g - c) over the box */
  double errd[2];    /* truncation error estimate per axis */
  double red, flo;   /* errd[0] + errd[1] (reducible by splitting); rounding floor */
} cub_region;

/* The boxes of the last integration, kept to warm-start the next one (a nearby integrand). */
struct dpm_quad_mesh {
  size_t n, cap;
  double tol; /* the tolerance they were refined to */
  cub_region *leaf;
};
typedef struct dpm_quad_mesh cub_mesh;

struct dpm_quad_workspace {
  size_t d, maxreg, nreg;
  size_t ncv, cv;            /* control variates offered, the one in use */
  size_t np, idx[CUB_NPBOX]; /* nodes per box; node p is node idx[p] of the 15 (1-D) or 15 x 15 grid (2-D: (i, j)
                                = (idx / 15, idx % 15)) */
  size_t nb;                 /* boxes in the current batch */
  cub_region *reg;           /* max-heap on red */
  cub_region *tmp;           /* CUB_NCV x maxreg: the starting boxes under each control variate */
  double *u, *g, *c;         /* the nodes of the current batch (nb np x d), g (nb np), the control variates
                                (ncv x nb np) */
  double f[225], mag[225];   /* phi (g - c) and phi (|g| + |c|) on the 15^d grid */
};
typedef struct dpm_quad_workspace cub_ws;

static void cub_free(cub_ws *c)
{
  if (!c) return;
  free(c->reg);
  free(c->tmp);
  free(c->u);
  free(c->g);
  free(c->c);
  memset(c, 0, sizeof *c);
}

static int cub_init(cub_ws *c, size_t d, size_t ncv)
{
  memset(c, 0, sizeof *c);
  c->d = d;
  c->ncv = ncv;
  c->maxreg = d == 1 ? CUB_MAXREG_1D : CUB_MAXREG_2D;
  if (d == 1)
    for (size_t i = 0; i < 15; i++)
      c->idx[c->np++] = i;
  else
    for (size_t i = 0; i < 15; i++)
      for (size_t j = 0; j < 15; j++)
        if ((i & 1) || (j & 1)) c->idx[c->np++] = i * 15 + j; /* a Gauss node on at least one axis */
  c->reg = dpm_malloc(c->maxreg * sizeof *c->reg);
  c->tmp = dpm_malloc(CUB_NCV * c->maxreg * sizeof *c->tmp);
  c->u = dpm_malloc(CUB_BATCH * c->np * d * sizeof(double));
  c->g = dpm_malloc(CUB_BATCH * c->np * sizeof(double));
  c->c = dpm_malloc(CUB_NCV * CUB_BATCH * c->np * sizeof(double));
  if (!c->reg || !c->tmp || !c->u || !c->g || !c->c) {
    cub_free(c);
    return GSL_ENOMEM;
  }
  return DPM_SUCCESS;
}

/* The null rule of degree 12 on the 15 Kronrod nodes that picks the Legendre coefficient a_13 of the nodes'
 * interpolant (row 13 of the inverse of V_in = sqrt(n + 1/2) P_n(x_i)), scaled by |G7(sqrt(29/2) P_14)| =
 * 1.72922815307175701 so that it reads on the scale of K15 - G7 = -G7(sqrt(29/2) P_14) a_14. */
static const double k15_n13[15] = {
    -0.0454496828660774024322, 0.125947602549685649942,  -0.181142668409196072599,  0.206091422542782787275,
    -0.197976644505288484899,  0.155322878135513320341,  -0.0849019799868539204457, 0.0,
    0.0849019799868539204457,  -0.155322878135513320341, 0.197976644505288484899,   -0.206091422542782787275,
    0.181142668409196072599,   -0.125947602549685649942, 0.0454496828660774024322};

/* One line of 15 values f (stride st) on [-1, 1]: returns K15; *est its error estimate, *res = K15 of mag:
 *   e = max(|K15 - G7|, |N13| / 10)           (the a_14 null rule, guarded against its accidental zeros by a_13)
 *   est = max(e, resasc min(1, (200 e / resasc)^1.5))   (QUADPACK's rescaling, as a floor: a line whose K15 and G7
 *                                              differ by more than ~1e-7 of resasc = K15 |f - K15/2| is not
 *                                              resolved, and then even K15 may be as far off as G7) */
static double cub_line(const double *f, const double *mag, size_t st, double *est, double *res)
{
  double K = 0.0, G = 0.0, N = 0.0, A = 0.0;
  for (size_t i = 0; i < 15; i++) {
    const double v = f[i * st];
    K += k15_wk[i] * v;
    G += k15_wg[i] * v;
    N += k15_n13[i] * v;
    A += k15_wk[i] * mag[i * st];
  }
  const double e = fmax(fabs(K - G), 0.1 * fabs(N)), mean = 0.5 * K;
  double asc = 0.0;
  for (size_t i = 0; i < 15; i++)
    asc += k15_wk[i] * fabs(f[i * st] - mean);
  const double t = asc > 0.0 ? fmin(1.0, 200.0 * e / asc) : 0.0; /* (200 e / resasc)^1.5 capped at 1 */
  *est = fmax(e, asc * t * sqrt(t));
  *res = A;
  return K;
}

static void cub_geom(cub_region *r, size_t d)
{
  for (size_t a = 0; a < d; a++) {
    r->h[a] = ldexp(DPM_QUAD_L, -r->lv[a]);
    r->c[a] = -DPM_QUAD_L + r->h[a] * (2.0 * r->ix[a] + 1.0);
  }
}

/* Evaluate g and the control variates at the nodes of the nb <= CUB_BATCH boxes r[] in one call (into c->g, c->c).
 */
static int cub_eval_nodes(cub_ws *c, cub_fn fn, void *ctx, const cub_region *r, size_t nb)
{
  const size_t np = c->np;
  for (size_t b = 0; b < nb; b++)
    for (size_t p = 0; p < np; p++) {
      const size_t q = c->idx[p], at = b * np + p;
      if (c->d == 1)
        c->u[at] = r[b].c[0] + r[b].h[0] * k15_x[q];
      else {
        c->u[2 * at] = r[b].c[0] + r[b].h[0] * k15_x[q / 15];
        c->u[2 * at + 1] = r[b].c[1] + r[b].h[1] * k15_x[q % 15];
      }
    }
  c->nb = nb;
  return fn(ctx, nb * np, c->u, c->g, c->c);
}

/* The rule on box r, the b-th of the last batch, for the integrand phi (g - c_v) from the node values in c->g,
 * c->c. */
static void cub_rule(cub_ws *c, size_t v, size_t b, cub_region *r)
{
  const size_t d = c->d, np = c->np;
  const double *g = c->g + b * np, *cv = c->c + v * c->nb * np + b * np;
  double ph[2][15];
  for (size_t a = 0; a < d; a++)
    for (size_t i = 0; i < 15; i++) {
      const double x = r->c[a] + r->h[a] * k15_x[i];
      ph[a][i] = DPM_INV_SQRT_2PI * exp(-0.5 * x * x);
    }
  for (size_t p = 0; p < np; p++) {
    const size_t q = c->idx[p];
    const double w = d == 1 ? ph[0][q] : ph[0][q / 15] * ph[1][q % 15];
    c->f[q] = w * (g[p] - cv[p]);
    c->mag[q] = w * (fabs(g[p]) + fabs(cv[p]));
  }
  if (d == 1) {
    double kg, A;
    const double K = cub_line(c->f, c->mag, 1, &kg, &A);
    r->val = r->h[0] * K;
    r->errd[0] = r->red = r->h[0] * kg;
    r->errd[1] = 0.0;
    r->flo = r->h[0] * 50.0 * DBL_EPSILON * A;
    return;
  }
  /* axis-0 lines at the Gauss nodes j of axis 1 (stride 15), axis-1 lines at the Gauss nodes i of axis 0 */
  double V = 0.0, E0 = 0.0, E1 = 0.0, A = 0.0;
  for (size_t j = 1; j < 15; j += 2) {
    double kg, a;
    V += k15_wg[j] * cub_line(c->f + j, c->mag + j, 15, &kg, &a);
    E0 += k15_wg[j] * kg;
    A += k15_wg[j] * a;
  }
  for (size_t i = 1; i < 15; i += 2) {
    double kg, a;
    V += k15_wg[i] * cub_line(c->f + i * 15, c->mag + i * 15, 1, &kg, &a);
    E1 += k15_wg[i] * kg;
    A += k15_wg[i] * a;
    for (size_t j = 1; j < 15; j += 2) { /* - G7 x G7 */
      V -= k15_wg[i] * k15_wg[j] * c->f[i * 15 + j];
      A += k15_wg[i] * k15_wg[j] * c->mag[i * 15 + j];
    }
  }
  /* the product of the two G7 errors: relative errors E0 / resabs and E1 / resabs times resabs (A counts the
   * |values| three times over: twice through the lines, once through G7 x G7) */
  const double resabs = A / 3.0, cross = resabs > 0.0 ? E0 * E1 / resabs : 0.0;
  const double hh = r->h[0] * r->h[1];
  r->val = hh * V;
  r->errd[0] = hh * (E0 + 0.5 * cross);
  r->errd[1] = hh * (E1 + 0.5 * cross);
  r->red = r->errd[0] + r->errd[1];
  r->flo = hh * 50.0 * DBL_EPSILON * A;
}

static void heap_push(cub_ws *c, const cub_region *r)
{
  size_t i = c->nreg++;
  c->reg[i] = *r;
  while (i > 0) {
    const size_t p = (i - 1) / 2;
    if (c->reg[p].red >= c->reg[i].red) break;
    const cub_region t = c->reg[p];
    c->reg[p] = c->reg[i];
    c->reg[i] = t;
    i = p;
  }
}

static cub_region heap_pop(cub_ws *c)
{
  const cub_region top = c->reg[0];
  c->reg[0] = c->reg[--c->nreg];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < c->nreg && c->reg[l].red > c->reg[m].red) m = l;
    if (r < c->nreg && c->reg[r].red > c->reg[m].red) m = r;
    if (m == i) break;
    const cub_region t = c->reg[m];
    c->reg[m] = c->reg[i];
    c->reg[i] = t;
    i = m;
  }
  return top;
}

/* Order that puts the two halves of a dyadic box along axis 0 next to each other: by axis 1's (level, index),
 * then axis 0's level and index. */
static int cub_cmp_ax0(const void *pa, const void *pb)
{
  const cub_region *a = pa, *b = pb;
  if (a->lv[1] != b->lv[1]) return a->lv[1] < b->lv[1] ? -1 : 1;
  if (a->ix[1] != b->ix[1]) return a->ix[1] < b->ix[1] ? -1 : 1;
  if (a->lv[0] != b->lv[0]) return a->lv[0] < b->lv[0] ? -1 : 1;
  return a->ix[0] < b->ix[0] ? -1 : a->ix[0] > b->ix[0];
}

static int cub_cmp_ax1(const void *pa, const void *pb)
{
  const cub_region *a = pa, *b = pb;
  if (a->lv[0] != b->lv[0]) return a->lv[0] < b->lv[0] ? -1 : 1;
  if (a->ix[0] != b->ix[0]) return a->ix[0] < b->ix[0] ? -1 : 1;
  if (a->lv[1] != b->lv[1]) return a->lv[1] < b->lv[1] ? -1 : 1;
  return a->ix[1] < b->ix[1] ? -1 : a->ix[1] > b->ix[1];
}

/* The starting boxes of a warm start: the last mesh's boxes, with pairs of halves merged back where both together
 * were below a tenth of their share of the old tolerance divided by 2^14 (the growth of |K15 - G7| ~ h^15 when
 * the width doubles). Returns the count; the boxes (geometry only) in out. */
static size_t cub_warm_boxes(const cub_ws *c, const cub_mesh *m, cub_region *out)
{
  const size_t d = c->d;
  size_t n = m->n;
  memcpy(out, m->leaf, n * sizeof *out);
  const double lim = 0.1 * m->tol / (double)(n ? n : 1) / 16384.0;
  for (size_t ax = 0; ax < d; ax++) {
    qsort(out, n, sizeof *out, ax == 0 ? cub_cmp_ax0 : cub_cmp_ax1);
    const size_t o = 1 - ax;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
      const cub_region *a = &out[i], *b = i + 1 < n ? &out[i + 1] : NULL;
      if (b && (d == 1 || (a->lv[o] == b->lv[o] && a->ix[o] == b->ix[o])) && a->lv[ax] == b->lv[ax] &&
          a->lv[ax] > DPM_QUAD_LV0 && (a->ix[ax] & 1) == 0 && b->ix[ax] == a->ix[ax] + 1 &&
          a->red + a->flo + b->red + b->flo <= lim) {
        cub_region p = *a;
        p.lv[ax]--;
        p.ix[ax] >>= 1;
        p.red = p.flo = HUGE_VAL; /* not merged again along the other axis in this pass */
        out[kept++] = p;
        i++;
      } else
        out[kept++] = *a;
    }
    n = kept;
  }
  return n;
}

/* E_{N(0, I_d)} g over [-DPM_QUAD_L, DPM_QUAD_L]^d with ncv control variates whose integrals there are cint[v]: to
 * summed error (truncation estimates plus rounding floors) <= max(abs_tol, rel_tol |value|); the refinement also
 * stops when the truncation part is below a tenth of that (the floors cannot be reduced by splitting) or at the
 * box budget. With a mesh, the start is its boxes (warm start) rather than the coarse grid, and the final boxes
 * are stored back (GSL_ENOMEM if they cannot be). */
static int cub_integrate(cub_ws *c, cub_fn fn, void *ctx, const double *cint, double rel_tol, double abs_tol,
                         cub_mesh *mesh, double *value, double *err)
{
  const size_t d = c->d, ncv = c->ncv, M = c->maxreg;
  size_t nstart = 0;
  if (mesh && mesh->n > 0)
    nstart = cub_warm_boxes(c, mesh, c->tmp);
  else
    for (size_t i = 0; i < CUB_INIT; i++)
      for (size_t j = 0; j < (d == 2 ? (size_t)CUB_INIT : 1); j++) {
        cub_region *r = &c->tmp[nstart++];
        memset(r, 0, sizeof *r);
        r->lv[0] = DPM_QUAD_LV0;
        r->ix[0] = (int)i;
        if (d == 2) {
          r->lv[1] = DPM_QUAD_LV0;
          r->ix[1] = (int)j;
        }
      }
  /* the starting boxes under every control variate; keep the variate with the smallest summed error */
  double best = HUGE_VAL;
  c->cv = 0;
  for (size_t i0 = 0; i0 < nstart; i0 += CUB_BATCH) {
    const size_t nb = nstart - i0 < CUB_BATCH ? nstart - i0 : CUB_BATCH;
    for (size_t b = 0; b < nb; b++)
      cub_geom(&c->tmp[i0 + b], d);
    const int st = cub_eval_nodes(c, fn, ctx, &c->tmp[i0], nb);
    if (st != DPM_SUCCESS) return st;
    for (size_t b = 0; b < nb; b++)
      for (size_t v = ncv; v-- > 0;) {
        c->tmp[v * M + i0 + b] = c->tmp[i0 + b];
        cub_rule(c, v, b, &c->tmp[v * M + i0 + b]);
      }
  }
  for (size_t v = 0; v < ncv; v++) {
    double e = 0.0;
    for (size_t i = 0; i < nstart; i++)
      e += c->tmp[v * M + i].red + c->tmp[v * M + i].flo;
    if (e < best) {
      best = e;
      c->cv = v;
    }
  }
  c->nreg = 0;
  for (size_t i = 0; i < nstart; i++)
    heap_push(c, &c->tmp[c->cv * M + i]);
  for (;;) {
    /* Neumaier-compensated sum of the box values */
    double tv = cint[c->cv], comp = 0.0, tr = 0.0, tf = 0.0;
    for (size_t i = 0; i < c->nreg; i++) {
      const double v = c->reg[i].val, t = tv + v;
      comp += fabs(tv) >= fabs(v) ? (tv - t) + v : (v - t) + tv;
      tv = t;
      tr += c->reg[i].red;
      tf += c->reg[i].flo;
    }
    tv += comp;
    const double tol = fmax(abs_tol, rel_tol * fabs(tv));
    const int budget = !(tr + tf <= tol || tr <= 0.1 * tol) && c->nreg + 1 >= M;
    if (tr + tf <= tol || tr <= 0.1 * tol || c->nreg + 1 >= M) {
      *value = tv;
      *err = tr + tf;
      const int done = budget ? DPM_RAISE(GSL_EMAXITER,
                                          "cubature: the budget of %zu boxes stopped refinement at error %g > "
                                          "tolerance %g",
                                          M, tr + tf, tol)
                              : DPM_SUCCESS;
      if (!mesh) return done;
      if (mesh->cap < c->nreg) {
        size_t cap = mesh->cap ? mesh->cap : 64;
        while (cap < c->nreg)
          cap *= 2;
        cub_region *nl = realloc(mesh->leaf, cap * sizeof *nl);
        if (!nl) DPM_ERROR(GSL_ENOMEM, "cubature: cannot keep a mesh of %zu boxes", c->nreg);
        mesh->leaf = nl;
        mesh->cap = cap;
      }
      memcpy(mesh->leaf, c->reg, c->nreg * sizeof *c->reg);
      mesh->n = c->nreg;
      mesh->tol = tol;
      return done;
    }
    /* split the worst boxes: no more than it takes for their errors to cover the excess over the tolerance, at
     * most a sixteenth of them at a time (keeps the O(nreg) sums above cheap), their halves evaluated in one batch
     */
    const size_t nsplit = c->nreg / 16 + 1;
    const double excess = tr + tf - tol;
    double removed = 0.0;
    size_t nh = 0;
    cub_region h[CUB_BATCH];
    while (nh / 2 < nsplit && nh + 2 <= CUB_BATCH && removed < excess && c->nreg + nh + 1 < M) {
      const cub_region r = heap_pop(c);
      removed += r.red;
      const int ax = (d == 2 && r.errd[1] > r.errd[0]) ? 1 : 0;
      for (int s = 0; s < 2; s++) {
        h[nh] = r;
        h[nh].lv[ax] = r.lv[ax] + 1;
        h[nh].ix[ax] = 2 * r.ix[ax] + s;
        cub_geom(&h[nh++], d);
      }
    }
    const int st = cub_eval_nodes(c, fn, ctx, h, nh);
    if (st != DPM_SUCCESS) return st;
    for (size_t b = 0; b < nh; b++) {
      cub_rule(c, c->cv, b, &h[b]);
      heap_push(c, &h[b]);
    }
  }
}

/* The integrals of phi and phi u_1^2 over [-DPM_QUAD_L, DPM_QUAD_L] (for the control variates' closed forms). */
void dpm_quad_box_moments(double *A0, double *A2)
{
  *A0 = erf(DPM_QUAD_L / M_SQRT2);
  *A2 = *A0 - 2.0 * DPM_QUAD_L * DPM_INV_SQRT_2PI * exp(-0.5 * DPM_QUAD_L * DPM_QUAD_L);
}

int dpm_quad_check(size_t d, double rel_tol, const char *what)
{
  if (d < 1 || d > 2)
    DPM_ERROR(GSL_EINVAL, "%s: quadrature is for d = 1 or 2 (got d = %zu); use Monte Carlo", what, d);
  if (!(rel_tol >= 1e-14 && rel_tol <= 0.1))
    DPM_ERROR(GSL_EINVAL, "%s: rel_tol must be in [1e-14, 0.1] (got %g)", what, rel_tol);
  return DPM_SUCCESS;
}

dpm_quad_workspace *dpm_quad_workspace_alloc(size_t d, size_t ncv)
{
  if (d < 1 || d > 2) DPM_ERROR_NULL(GSL_EINVAL, "cubature: d must be 1 or 2 (got %zu)", d);
  if (ncv < 1 || ncv > DPM_QUAD_NCV_MAX)
    DPM_ERROR_NULL(GSL_EINVAL, "cubature: 1 to %d control variates (got %zu)", DPM_QUAD_NCV_MAX, ncv);
  cub_ws *w = dpm_malloc(sizeof *w);
  if (!w) return NULL;
  if (cub_init(w, d, ncv) != DPM_SUCCESS) {
    free(w);
    return NULL;
  }
  return w;
}

void dpm_quad_workspace_free(dpm_quad_workspace *w)
{
  if (!w) return;
  cub_free(w);
  free(w);
}

dpm_quad_mesh *dpm_quad_mesh_alloc(void) { return dpm_calloc(1, sizeof(dpm_quad_mesh)); }

void dpm_quad_mesh_reset(dpm_quad_mesh *m)
{
  if (m) m->n = 0;
}

void dpm_quad_mesh_free(dpm_quad_mesh *m)
{
  if (!m) return;
  free(m->leaf);
  free(m);
}

int dpm_quad_integrate(dpm_quad_workspace *w, dpm_quad_fn fn, void *ctx, const double *cint, double rel_tol,
                       double abs_tol, dpm_quad_mesh *mesh, double *value, double *err)
{
  if (!w || !fn || !cint || !value || !err) DPM_ERROR(GSL_EINVAL, "cubature: NULL workspace, integrand or output");
  return cub_integrate(w, fn, ctx, cint, rel_tol, abs_tol, mesh, value, err);
}
