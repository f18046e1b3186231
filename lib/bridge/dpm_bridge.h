/* dpm_bridge.h — the Schrödinger bridge with ground truth (De Bortoli et al. 2021; Janati et al. 2020; Bunne et
 * al. 2023): the Gaussian-to-Gaussian closed form, exact iterative proportional fitting (IPF) in the Gaussian
 * family, and log-domain Sinkhorn between point sets with the dynamic bridge built on its plan. One convention
 * throughout (docs/MATH.md §5): the reference is dX = sigma dW on [0, 1]; the static problem is entropic optimal
 * transport with cost |x - y|^2 and penalty 2 sigma^2 KL(pi | mu_0 x mu_1). Matrices are row-major. */
#ifndef DPM_BRIDGE_H
#define DPM_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "dpm_data.h"

/* ---- Gaussian <-> Gaussian closed form (docs/MATH.md §5.2) -------------------------------------------------- */

/* The bridge between mu_0 = N(m0, S0) and mu_1 = N(m1, S1) in R^d for the reference dX = sigma dW: read-only
 * after dpm_bridge_gauss_alloc. */
typedef struct {
  size_t d;
  double sigma2;    /* sigma^2 > 0 */
  double *m0, *m1;  /* d */
  double *S0, *S1;  /* d x d, symmetric positive-definite */
  double *D;        /* D_sigma = (4 S0^{1/2} S1 S0^{1/2} + sigma^4 I)^{1/2}, symmetric */
  double *C;        /* C_sigma = 1/2 (S0^{1/2} D S0^{-1/2} - sigma^2 I) = Cov(X_0, X_1), not symmetric */
  double OT;        /* OT_sigma = min E|X_0 - X_1|^2 + 2 sigma^2 KL(pi | mu_0 x mu_1) */
  double transport; /* E|X_0 - X_1|^2 under the optimal coupling (OT without the entropy term) */
} dpm_bridge_gauss;

/* The closed form for mu_0 = N(m0, S0), mu_1 = N(m1, S1), sigma2 = sigma^2 (all copied). NULL (raised) on: a NULL
 * argument or d = 0 (GSL_EINVAL), a non-finite entry (GSL_EBADFUNC), sigma2 not finite or <= 0 (GSL_EDOM), S0 or
 * S1 not symmetric positive-definite (GSL_EDOM, naming which), ENOMEM. */
dpm_bridge_gauss *dpm_bridge_gauss_alloc(size_t d, const double *m0, const double *S0, const double *m1,
                                         const double *S1, double sigma2);
void dpm_bridge_gauss_free(dpm_bridge_gauss *g); /* NULL is a no-op */

/* The time marginal N(mu_t, Sigma_t) of the bridge at t in [0, 1]: mean (d) and Sigma (d x d), either may be NULL.
 * mu_t = (1 - t) m0 + t m1, Sigma_t = (1 - t)^2 S0 + t^2 S1 + t (1 - t)(C + C^T + sigma^2 I). Errors: t outside
 * [0, 1] or NaN (GSL_EDOM), NULL g (GSL_EINVAL). */
int dpm_bridge_gauss_marginal(const dpm_bridge_gauss *g, double t, double *mean, double *Sigma);

/* The drift of the bridge's SDE dX = b(t, X) dt + sigma dW at time t for n points x (n x d) into b (n x d; may
 * not alias x): b(t, x) = (m1 - m0) + A_t (x - mu_t), A_t = S_t^T Sigma_t^{-1}, S_t^T = t S1 - (1 - t) S0 + (1 -
 * t) C^T - t C - sigma^2 t I. A (d x d, may be NULL) receives A_t. Allocates O(d^2) scratch once per call. Errors:
 * as dpm_bridge_gauss_marginal; ENOMEM. */
int dpm_bridge_gauss_drift(const dpm_bridge_gauss *g, double t, size_t n, const double *x, double *b, double *A);

/* n bridge paths by Euler–Maruyama on the closed-form drift over the uniform grid t_k = k/K, k = 0..K, from X_0 ~
 * N(m0, S0): paths ((K + 1) x n x d, index (k n + i) d) . Path i uses the random stream (seed, i), so the paths
 * are the same bits for any number of threads. The scheme's bias in the law of X_1 is O(1/K). Errors: K = 0 or
 * n = 0 or NULL (GSL_EINVAL); ENOMEM. */
int dpm_bridge_gauss_sample(const dpm_bridge_gauss *g, size_t n, size_t K, uint64_t seed, double *paths);

/* The closed form's quantities as one scalar formula in d = 1 (used as an independent check of the matrix code):
 * D = sqrt(4 s0 s1 + sigma^4), C = (D - sigma^2)/2, OT_sigma as in dpm_bridge_gauss. Any output may be NULL. */
void dpm_bridge_gauss_scalar(double m0, double s0, double m1, double s1, double sigma2, double *D, double *C,
                             double *OT);

/* ---- exact IPF in the Gaussian family (docs/MATH.md §5.3) --------------------------------------------------- */

/* A Gaussian reference kernel X_1 | X_0 = x ~ N(a x, q I), a > 0, q > 0: the Brownian reference has a = 1,
 * q = sigma^2; the discretised Ornstein–Uhlenbeck chain of De Bortoli et al. 2021 with steps gamma_k,
 * x_{k+1} = (1 - gamma_k) x_k + sqrt(2 gamma_k) z_k, composes to a = prod (1 - gamma_k), q = sum_k 2 gamma_k
 * prod_{j>k} (1 - gamma_j)^2. Its static Schrödinger problem is the Brownian one with sigma^2 = q/a for the pair
 * (X_0, X_1) (docs/MATH.md §5.3). */
typedef struct {
  double a, q;
} dpm_bridge_kernel;

/* The Brownian kernel of variance sigma2 (a = 1, q = sigma2). */
dpm_bridge_kernel dpm_bridge_kernel_brownian(double sigma2);
/* The DSB reference chain of n steps gamma[0..n-1], each in (0, 1): its end-to-end kernel. Errors (status, *k
 * untouched): n = 0 or NULL (GSL_EINVAL), a step outside (0, 1) (GSL_EDOM). */
int dpm_bridge_kernel_dsb(size_t n, const double *gamma, dpm_bridge_kernel *k);

/* The state of exact Gaussian IPF: the joint law of (X_0, X_1) = N((mx, my), [[Sxx, Sxy], [Sxy^T, Syy]]). */
typedef struct {
  size_t d;
  double *mx, *my;         /* d */
  double *Sxx, *Sxy, *Syy; /* d x d */
  double *work;            /* scratch, 4 d^2 + d */
} dpm_bridge_ipf_gauss;

/* pi^0: X_0 ~ N(m0, S0), X_1 = a X_0 + sqrt(q) Z. NULL (raised) on a NULL argument, d = 0, a or q not finite and
 * positive, S0 not symmetric positive-definite; ENOMEM. */
dpm_bridge_ipf_gauss *dpm_bridge_ipf_gauss_alloc(size_t d, const double *m0, const double *S0,
                                                 dpm_bridge_kernel k);
void dpm_bridge_ipf_gauss_free(dpm_bridge_ipf_gauss *s); /* NULL is a no-op */

/* One half-step of IPF (the Riccati recursion): side 1 projects onto the X_1-marginal N(m, S) keeping X_0 | X_1,
 *   G = Sxy Syy^{-1}, Sxy <- G S, Sxx <- Sxx - G Sxy^T + G S G^T, mx <- mx + G (m - my), (my, Syy) <- (m, S);
 * side 0 is the same with the roles of X_0 and X_1 exchanged. Errors: side not 0 or 1, NULL (GSL_EINVAL), the
 * conditioned marginal not positive-definite (GSL_EDOM). */
int dpm_bridge_ipf_gauss_step(dpm_bridge_ipf_gauss *s, int side, const double *m, const double *S);

/* Frobenius distance |Sxy - C| of the current cross-covariance Cov(X_0, X_1) to C (d x d). */
double dpm_bridge_ipf_gauss_err(const dpm_bridge_ipf_gauss *s, const double *C);

/* ---- log-domain Sinkhorn between weighted point sets (docs/MATH.md §5.4) ------------------------------------ */

/* Parameters. reg = 2 sigma^2 > 0 (POT's reg); tol: stop when |gamma^T 1 - b|_2 < tol, checked, as POT's
 * sinkhorn_log does, at iterations 0, 10, 20, ... after the u-update (the row marginal is then exact); max_iter:
 * the budget of the last (target-reg) stage; eps_scaling: 0 runs the plain iteration at reg (POT's algorithm);
 * S > 0 first runs S stages at reg_s = reg r^{S - s}, s = 0..S-1, r = (reg_0/reg)^{1/S} with reg_0 = max cost,
 * each to max(tol, 1e-4) (warm-started in the dual potentials f = reg u, g = reg v), then the target stage. */
typedef struct {
  double reg;
  double tol;
  size_t max_iter;
  size_t eps_scaling;
} dpm_bridge_sinkhorn_params;

/* Defaults: reg = 2 (sigma^2 = 1), tol = 1e-9, max_iter = 100000, eps_scaling = 0. */
dpm_bridge_sinkhorn_params dpm_bridge_sinkhorn_default(void);

/* A Sinkhorn problem between x (n x d, weights a) and y (m x d, weights b): holds the cost matrix |x_i - y_j|^2
 * (and its transpose, so both log-sum-exp passes read memory contiguously), the log-potentials u (n), v (m) and
 * the results of the last solve. */
typedef struct {
  size_t n, m, d;
  double *x, *y, *a, *b; /* copies; a, b normalised */
  double *cost, *costT;  /* n x m and m x n */
  double *u, *v;         /* log-potentials: gamma_ij = exp(-cost_ij / reg + u_i + v_j) */
  double *f, *g;         /* dual potentials f = reg u, g = reg v (filled by solve) */
  double reg;            /* of the last solve */
  size_t iters;          /* iterations of the last solve, all stages */
  double marginal_err;   /* |gamma^T 1 - b|_2 at the end */
  double transport;      /* sum gamma_ij |x_i - y_j|^2: the cost without the entropy term */
  double entropic;       /* transport + reg KL(gamma | a b^T): the entropic cost */
  double *work;          /* scratch */
} dpm_bridge_sinkhorn;

/* Set up the problem (copies x, y; a, b may be NULL for uniform weights). NULL (raised) on NULL points, n, m or
 * d = 0, a non-finite coordinate (GSL_EBADFUNC), a weight not finite and > 0 or a zero sum (GSL_EDOM); ENOMEM. */
dpm_bridge_sinkhorn *dpm_bridge_sinkhorn_alloc(size_t n, size_t m, size_t d, const double *x, const double *y,
                                               const double *a, const double *b);
void dpm_bridge_sinkhorn_free(dpm_bridge_sinkhorn *s); /* NULL is a no-op */

/* Solve from zero potentials (v = log b - LSE_i(M_ij + u_i), u = log a - LSE_j(M_ij + v_j), M = -cost/reg) and
 * fill u, v, f, g, iters, marginal_err, transport, entropic. Each log-sum-exp is one contiguous pass for the max
 * and one for a vectorised exp; rows (columns) are shared among OpenMP threads whole, so the result is the same
 * bits for any number of threads. Errors: bad parameters (reg or tol not finite and > 0, max_iter = 0:
 * GSL_EDOM), GSL_EMAXITER when the last stage ends above tol (the state is still filled), GSL_EBADFUNC when an
 * iterate is not finite. */
int dpm_bridge_sinkhorn_solve(dpm_bridge_sinkhorn *s, const dpm_bridge_sinkhorn_params *p);

/* The plan gamma (n x m) of the last solve. */
void dpm_bridge_sinkhorn_plan(const dpm_bridge_sinkhorn *s, double *plan);

/* Moments of the plan: the means of X (d) and Y (d) and the cross-covariance Cov(X, Y) (d x d) under gamma (any
 * may be NULL). */
void dpm_bridge_sinkhorn_moments(const dpm_bridge_sinkhorn *s, double *mx, double *my, double *cxy);

/* The time marginal of the dynamic bridge (the plan composed with Brownian bridges of variance sigma2 = reg/2):
 * X_t = (1 - t) x_i + t y_j + sigma sqrt(t (1 - t)) Z, (i, j) ~ gamma; its exact mean (d) and covariance (d x d)
 * (either may be NULL). Errors: t outside [0, 1] (GSL_EDOM). */
int dpm_bridge_sinkhorn_marginal(const dpm_bridge_sinkhorn *s, double t, double *mean, double *Sigma);

/* n_paths paths of the dynamic bridge on the uniform grid t_k = k/K, k = 0..K: (i, j) ~ gamma, then the Brownian
 * bridge from x_i to y_j of variance sigma2 = reg/2 sampled step by step (exact transitions). paths ((K + 1) x
 * n_paths x d, index (k n_paths + p) d); ends (n_paths x 2, may be NULL) the chosen (i, j). Path p uses the stream
 * (seed, p): same bits for any number of threads. Errors: n_paths or K = 0, NULL, no solve yet (GSL_EINVAL);
 * ENOMEM. */
int dpm_bridge_sinkhorn_paths(const dpm_bridge_sinkhorn *s, size_t n_paths, size_t K, uint64_t seed, double *paths,
                              size_t *ends);

/* ---- grid IPF in 1-D and 2-D: dynamic Sinkhorn (docs/MATH.md §5.5) ---------------------------------------------
 */

/* IPF on a uniform grid of G points per axis on [lo, hi]^dim (dim = 1 or 2) for the Brownian reference observed at
 * t_k = k/N, k = 0..N: the one-step kernel K_ab = dx^dim N(x_b; x_a, sigma^2/N I) (separable in 2-D, applied one
 * axis at a time), the potentials f at t = 0 and g at t = 1, the end-to-end plan gamma_ab = f_a (K^N)_ab g_b and
 * the time marginals p_k = phi_hat_k phi_k, phi_hat_k = K^k f, phi_k = K^(N-k) g (K is symmetric). mu0 and mu1 are
 * cell masses (density x dx^dim, normalised) of the two end laws. */
typedef struct {
  size_t dim, G, N, M; /* M = G^dim cells */
  double lo, hi, dx, sigma2;
  double *x;         /* G coordinates per axis */
  double *K;         /* G x G one-axis kernel dx N(x_b; x_a, sigma^2/N) */
  double *mu0, *mu1; /* M cell masses */
  double *f, *g;     /* M potentials */
  size_t iters;      /* full iterations done */
  double *work;      /* scratch: 3 M */
} dpm_bridge_grid;

/* The grid problem between two mixtures with densities (every component with a positive-definite covariance) of
 * dimension dim = 1 or 2, evaluated at the cell centres by the oracle (cell masses normalised). g starts at 1.
 * NULL (raised) on: NULL, dim not 1 or 2 or different dimensions (GSL_EBADLEN), a point mass (GSL_EDOM), G < 3, N
 * = 0, lo >= hi or not finite, sigma2 not finite and > 0 (GSL_EDOM); ENOMEM. */
dpm_bridge_grid *dpm_bridge_grid_alloc(const dpm_mixture *mu0, const dpm_mixture *mu1, size_t G, double lo,
                                       double hi, size_t N, double sigma2);
void dpm_bridge_grid_free(dpm_bridge_grid *s); /* NULL is a no-op */

/* One full IPF iteration: f = mu0 / K^N g (the X_0 marginal made exact), then g = mu1 / K^N f; *err (may be NULL)
 * receives the L1 error |gamma^T 1 - mu1|_1 of the X_1 marginal before the g-update. Errors: a potential not
 * finite (GSL_EBADFUNC: the domain is too small for the data). */
int dpm_bridge_grid_iterate(dpm_bridge_grid *s, double *err);

/* The time marginal at t_k, k = 0..N: cell masses p (M, may be NULL) normalised to 1, its mean (dim) and
 * covariance (dim x dim) (either may be NULL). Errors: k > N (GSL_EDOM); ENOMEM. */
int dpm_bridge_grid_marginal(const dpm_bridge_grid *s, size_t k, double *p, double *mean, double *cov);

/* Cov(X_0, X_1) (dim x dim) of the end-to-end plan. ENOMEM. */
int dpm_bridge_grid_cross_cov(const dpm_bridge_grid *s, double *C);

/* Replace the end laws by given cell masses mu0, mu1 (M each, >= 0, finite, positive sums; normalised on the way
 * in) and restart IPF (f = g = 1, iters = 0): for laws known only through their density on the grid, such as the
 * benchmark's target (docs/MATH.md §5.7). Errors: NULL (GSL_EINVAL), a negative or non-finite mass or a zero sum
 * (GSL_EDOM, naming which end). */
int dpm_bridge_grid_set_masses(dpm_bridge_grid *s, const double *mu0, const double *mu1);

/* The conditional plan of the current potentials out of sample: for x (not necessarily a cell centre) the law of
 * X_1 given X_0 = x puts mass proportional to sum_c k(x, x_c) (K^(N-1))_cb g_b on cell b, with k(x, .) the first
 * step's kernel dx^dim N(.; x, sigma^2/N I) evaluated off the grid (on a cell centre it is the grid plan's own
 * row, gamma_ab / sum_b gamma_ab). Its mean (nt x dim) and covariance (nt x dim x dim) at the points xt (nt x
 * dim), from the six (three in 1-D) vectors K^(N-1)(g y^alpha), |alpha| <= 2. Errors: NULL (GSL_EINVAL), no
 * iteration yet (GSL_EINVAL), a point where the kernel row underflows on every cell (GSL_EDOM: the point is far
 * outside the domain); ENOMEM. */
int dpm_bridge_grid_cond(const dpm_bridge_grid *s, size_t nt, const double *xt, double *mean, double *cov);

/* ---- mean-matching IPF without networks (docs/MATH.md §5.6) --------------------------------------------------
 */

/* The DSB algorithm (De Bortoli et al. 2021, Algorithm 1 and Proposition 3) with affine least squares in place of
 * networks, for the Brownian reference observed at N steps h = 1/N: particles of the forward chain X_{k+1} =
 * F_k(X_k) + sigma sqrt(h) Z from mu_0 fit the backward means B_{k+1}(x) ~ x + F_k(x_k) - F_k(x) on the pairs
 * (x_k, x_{k+1} = x); particles of the backward chain X_k = B_{k+1}(X_{k+1}) + sigma sqrt(h) Z from mu_1 fit
 * F_k(x) ~ x + B_{k+1}(x_{k+1}) - B_{k+1}(x) on (x = x_k, x_{k+1}). Both kernels keep the reference's variance
 * sigma^2 h (the fixed-variance approximation: the true reversal of a Gaussian chain has variance sigma^2 h (1 +
 * O(h)), an O(h) bias overall). Affine maps are exact for Gaussian ends. Each simulation draws its particles in
 * blocks of 256 with the stream (seed, (2 n + direction) 2^32 + block). */
typedef struct {
  size_t d, N, M;
  double sigma2;
  uint64_t seed;
  const dpm_mixture *mu0, *mu1; /* borrowed: alive as long as the workspace */
  double *FA, *Fc;              /* F_k(x) = FA_k x + Fc_k, k = 0..N-1 (N d^2, N d); F = identity at start */
  double *BA, *Bc;              /* B_{k+1}(x) = BA_k x + Bc_k, k = 0..N-1 */
  double *X;                    /* (N + 1) x M x d particles of the last simulation */
  size_t iters;                 /* full iterations done */
  double *work;
  /* the nonparametric part (dpm_bridge_mm_alloc_bumps): S bumps per axis, nb = S^d in all (0: affine only) */
  size_t S, nb;
  double ridge;
  double *FK, *BK;  /* N x nb x d bump coefficients of F_k and B_{k+1} */
  double *Flo, *Fh; /* N x d: the bump grid of F_k, centres lo + s h per axis, width h */
  double *Blo, *Bh; /* N x d: the same for B_{k+1} */
  double *phi;      /* scratch: d S + 2 nb */
} dpm_bridge_mm;

/* Set up and run the first forward simulation (the reference from mu_0) and the first backward fit. NULL (raised)
 * on NULL or mismatched dimensions (GSL_EBADLEN), N = 0, M < 4 (d + 1), sigma2 not finite and > 0 (GSL_EDOM);
 * ENOMEM. */
dpm_bridge_mm *dpm_bridge_mm_alloc(const dpm_mixture *mu0, const dpm_mixture *mu1, size_t N, size_t M,
                                   double sigma2, uint64_t seed);
void dpm_bridge_mm_free(dpm_bridge_mm *s); /* NULL is a no-op */

/* The same with a nonparametric regressor (docs/MATH.md §5.6): each map is affine plus a sum of nb = S^d Gaussian
 * bumps on a tensor grid of S centres per axis spanning the fitted particles' range at that step (width = the
 * spacing), fitted by ridge least squares min (1/M) sum_i |T_i - A x_i - c - K^T phi(x_i)|^2 + ridge |K|^2 (the
 * affine part is not penalised) through the normal equations and Cholesky. S = 0 is the affine regressor: the
 * same arithmetic as dpm_bridge_mm_alloc, so the same bits. NULL (raised) as dpm_bridge_mm_alloc, and on S = 1,
 * S^d > 256, ridge not finite or < 0 (GSL_EDOM). */
dpm_bridge_mm *dpm_bridge_mm_alloc_bumps(const dpm_mixture *mu0, const dpm_mixture *mu1, size_t N, size_t M,
                                         double sigma2, uint64_t seed, size_t S, double ridge);

/* One full iteration: the backward simulation from mu_1 with the current B, the forward fit F, the forward
 * simulation from mu_0 with it and the next backward fit. C (d x d, may be NULL) receives Cov(X_0, X_N) of that
 * forward simulation: the estimate of exact IPF's cross-covariance after s->iters full iterations. Errors: a
 * singular least-squares system (GSL_EDOM), a non-finite particle (GSL_EBADFUNC); ENOMEM. */
int dpm_bridge_mm_iterate(dpm_bridge_mm *s, double *C);

/* The conditional plan of the fitted forward chain out of sample: from each x_i (nt x d) R chains X_0 = x_i,
 * X_{k+1} = F_k(X_k) + sigma sqrt(h) Z with the current maps F (the last forward fit), and the mean (nt x d) and
 * covariance (nt x d x d, divisor R) of their end points X_N: the estimate of pi(. | x_i). Test point i uses the
 * random stream (seed, i) and test points are shared among OpenMP threads whole, so the result is the same bits
 * for any number of threads. Errors: NULL or R < 2 (GSL_EINVAL), a non-finite end point (GSL_EBADFUNC); ENOMEM. */
int dpm_bridge_mm_cond(const dpm_bridge_mm *s, size_t nt, const double *xt, size_t R, uint64_t seed, double *mean,
                       double *cov);

/* ---- non-Gaussian ground truth: mixture potentials (Gushchin et al. 2023; docs/MATH.md §5.7) ------------------
 */

/* For the cost 1/2 |x - y|^2 with eps = sigma^2 (our convention), a target built as Y | X = x ~ pi(y | x) with
 * pi(y | x) proportional to N(y; x, eps I) psi(y), psi = sum_k p_k N(mu_k, Sigma_k) a Gaussian mixture (the
 * "potential"), makes pi the entropic OT plan between the law of X and the law of Y, in closed form:
 *   pi(y | x) = sum_k w_k(x) N(Sigma~_k (Sigma_k^{-1} mu_k + x/eps), Sigma~_k), Sigma~_k = (Sigma_k^{-1} +
 * I/eps)^{-1}, w_k(x) proportional to p_k N(x; mu_k, Sigma_k + eps I). pot is the mixture psi (every component
 * with a positive-definite covariance). For n points x (n x d) this fills (any may be NULL) w (n x K), the
 * component means m (n x K x d), Sigma~ (K x d x d, the same for every x), and the conditional mean (n x d) and
 * covariance (n x d x d) of the mixture. Errors: NULL pot, a point mass in pot, eps not finite and > 0 (GSL_EDOM);
 * ENOMEM. */
int dpm_bridge_gmmpot_cond(const dpm_mixture *pot, double eps, size_t n, const double *x, double *w, double *m,
                           double *Stilde, double *mean, double *cov);

/* n pairs (x_i, y_i): x_i ~ mu0 and y_i ~ pi(. | x_i), pair i from the stream (seed, i). Errors: as
 * dpm_bridge_gmmpot_cond, mu0->d != pot->d (GSL_EBADLEN); ENOMEM. */
int dpm_bridge_gmmpot_sample(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t n, uint64_t seed,
                             double *x, double *y);

/* The squared Bures–Wasserstein distance between N(m1, S1) and N(m2, S2): |m1 - m2|^2 + tr S1 + tr S2 -
 * 2 tr (S1^{1/2} S2 S1^{1/2})^{1/2}, and BW2-UVP = 100 BW^2 / (1/2 tr S2) (the second argument the truth). Status
 * (GSL_EDOM for a covariance that is not positive semi-definite); ENOMEM. */
int dpm_bridge_bw2(size_t d, const double *m1, const double *S1, const double *m2, const double *S2, double *bw2,
                   double *uvp);

/* The benchmark's default potential in R^d: psi = (1/K) sum_k N(mu_k, 0.5 I) with K = 4 components at +-2 e_1,
 * +-2 e_2 (K = 2 at +-2 in d = 1), so the plan is non-Gaussian along two axes in any d. NULL (raised) for d = 0
 * or d > 4096 (GSL_EDOM); ENOMEM. Free with dpm_mixture_free. */
dpm_mixture *dpm_bridge_gmmpot_default(size_t d);

/* Scores of an estimated conditional plan against the closed form (Gushchin et al. 2023, §4; docs/MATH.md §5.7):
 * for nt test points x_i ~ mu_0, uvp_cond = the mean over i of BW2-UVP(N(m^_i, S^_i), N(m_i, S_i)) between the
 * estimate's and the true conditional law's means and covariances (with its standard error over the test points,
 * and bw2_cond the mean BW^2), and uvp_marg = BW2-UVP of the target marginal pushed from the same test points (the
 * mixture of the conditionals over i, by the law of total covariance, estimate against truth). */
typedef struct {
  size_t nt;
  double uvp_cond, uvp_cond_se, bw2_cond;
  double uvp_marg, bw2_marg;
} dpm_bridge_bench_score;

/* Score given conditional moments: mean (nt x d) and cov (nt x d x d) of the estimated pi^(. | x_i) at the test
 * points xt (nt x d), against pot's closed-form plan at eps. Errors: NULL or nt < 2 (GSL_EINVAL), as
 * dpm_bridge_gmmpot_cond, a covariance not positive semi-definite (GSL_EDOM); ENOMEM. */
int dpm_bridge_bench_score_moments(const dpm_mixture *pot, double eps, size_t nt, const double *xt,
                                   const double *mean, const double *cov, dpm_bridge_bench_score *sc);

/* The exact plan scored from samples: M draws of pi(. | x_i) per test point (test point i uses the stream (seed,
 * i): the same bits for any number of threads), their empirical mean and covariance (divisor M) scored as above.
 * The score is pure sampling error: for a Gaussian conditional N(m, s I) in R^d, E[BW2-UVP] = (200/M)(1 + (d +
 * 1)/4) + O(M^-2). Errors: M < 2 (GSL_EDOM), as dpm_bridge_bench_score_moments; ENOMEM. */
int dpm_bridge_bench_exact(const dpm_mixture *pot, double eps, size_t nt, const double *xt, size_t M,
                           uint64_t seed, dpm_bridge_bench_score *sc);

/* Sinkhorn's conditional plan out of sample (the entropic plan's barycentric extension, Pooladian & Niles-Weed
 * 2021): pi^(y_j | x) proportional to b_j exp((g_j - |x - y_j|^2)/reg) with the dual potential g of the last
 * solve; its mean (nt x d) and covariance (nt x d x d) at the points xt (nt x d). Rows shared among threads whole
 * (same bits for any number). Errors: NULL or no solve yet (GSL_EINVAL); ENOMEM. */
int dpm_bridge_sinkhorn_cond(const dpm_bridge_sinkhorn *s, size_t nt, const double *xt, double *mean, double *cov);

/* The benchmark for Sinkhorn: n + nt pairs from dpm_bridge_gmmpot_sample(mu0, pot, eps, seed) (pair i from the
 * stream (seed, i)); Sinkhorn at reg = 2 eps (p's tol, max_iter, eps_scaling; p may be NULL for the defaults)
 * between the first n sources and the first n targets (uniform weights), its conditional plan at the last nt
 * sources scored by dpm_bridge_bench_score_moments. iters (may be NULL) receives Sinkhorn's iterations. Errors:
 * n < 2 or nt < 2 (GSL_EDOM), the sampler's, Sinkhorn's (GSL_EMAXITER included), the score's; ENOMEM. */
int dpm_bridge_bench_sinkhorn(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t n, size_t nt,
                              uint64_t seed, const dpm_bridge_sinkhorn_params *p, dpm_bridge_bench_score *sc,
                              size_t *iters);

/* The benchmark for grid IPF (dim = d = 1 or 2; docs/MATH.md §5.5, §5.7): the solver sees the two laws on a
 * uniform grid of G points per axis over the box holding all but 1e-14 of mu0 and of pot (dpm_mixture_box): mu0's
 * cell masses from its density, the target's from the closed form p_1(y) = psi(y) int mu0(x) N(y; x, eps I) /
 * Z(x) dx, Z(x) = sum_k p_k N(x; mu_k, Sigma_k + eps I), as the Riemann sum over the same cells. iters full
 * iterations of grid IPF with N reference steps at sigma^2 = eps, then its conditional plan
 * (dpm_bridge_grid_cond) at the test points, the sources of pairs n..n+nt-1 of dpm_bridge_gmmpot_sample(mu0, pot,
 * eps, seed) (the same as dpm_bridge_bench_sinkhorn's; the first n pairs are not used: the grid sees the laws, not
 * samples), scored by dpm_bridge_bench_score_moments. marginal_err (may be NULL) receives the last iteration's L1
 * error of the X_1 marginal. Every sum of the grid is a Riemann sum of Gaussians of variance at least v =
 * min(eps/N, the smallest variance of mu0, of the target's components Sigma~_k): its error is of order
 * exp(-2 pi^2 v/dx^2) (Poisson summation), plus the truncated tails and IPF's unconverged part. Errors: d not 1 or
 * 2 (GSL_EBADLEN), n < 2 or nt < 2 (GSL_EDOM), the grid's, the sampler's, the score's; ENOMEM. */
int dpm_bridge_bench_grid(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t G, size_t N,
                          size_t iters, size_t n, size_t nt, uint64_t seed, dpm_bridge_bench_score *sc,
                          double *marginal_err);

/* Parameters of mean-matching IPF on the benchmark: chain steps N, particles M, bump grid S per axis (0: the
 * affine regressor) and its ridge, full iterations, and draws R of the fitted chain per test point. */
typedef struct {
  size_t N, M, S, iters, draws;
  double ridge;
} dpm_bridge_bench_mm_params;

/* Defaults: N = 20, M = 20000, S = 0 (affine), ridge = 0, iters = 10, draws = 1000. */
dpm_bridge_bench_mm_params dpm_bridge_bench_mm_default(void);

/* The benchmark for mean-matching IPF (docs/MATH.md §5.6, §5.7): n + nt pairs from dpm_bridge_gmmpot_sample(mu0,
 * pot, eps, seed); the solver runs between mu0 (sampled exactly) and the point set of the first n targets (each
 * backward simulation resamples them), with particle streams from seed + 2, for p->iters full iterations; its
 * conditional plan at the last nt sources by simulating the fitted forward chain p->draws times from each
 * (dpm_bridge_mm_cond with the streams (seed + 3, i)), scored by dpm_bridge_bench_score_moments. The score has the
 * exact plan's sampling floor at M = p->draws draws, plus the regressor's bias, the fixed-variance O(1/N) bias and
 * the n-sample error. Errors: n < 2, nt < 2 (GSL_EDOM), the solver's (its refusals: bad N, M, S, ridge), the
 * score's; ENOMEM. */
int dpm_bridge_bench_mm(const dpm_mixture *mu0, const dpm_mixture *pot, double eps, size_t n, size_t nt,
                        uint64_t seed, const dpm_bridge_bench_mm_params *p, dpm_bridge_bench_score *sc);

/* ---- iterative Markovian fitting in the Gaussian family (Shi et al. 2023, DSBM; docs/MATH.md §5.8)
 * -------------- */

/* One IMF iteration between the Gaussians of g (its m0, S0, m1, S1, sigma2; its C is not used): from a coupling
 * with cross-covariance C (d x d), the reciprocal projection (the coupling composed with Brownian bridges) and its
 * Markovian projection, the SDE dX = [(m1 - mu_t)... ] with the linear drift b(t, x) = (m1 - m0) + A_t (x - mu_t),
 * A_t = S_t^T Sigma_t^{-1} built from C exactly as the closed form's drift (docs/MATH.md §5.2, §5.8); the new
 * coupling's cross-covariance is K(1) for dK/dt = K A_t^T, K(0) = S0, integrated by GSL's rk8pd to relative
 * tolerance rtol. Cnext (d x d) may alias C. The fixed point is C_sigma. Errors: NULL (GSL_EINVAL), rtol not in
 * (0, 0.1] (GSL_EDOM), Sigma_t not positive-definite for this C (GSL_EDOM), the integrator's; ENOMEM. */
int dpm_bridge_imf_gauss_step(const dpm_bridge_gauss *g, const double *C, double *Cnext, double rtol);

#endif
