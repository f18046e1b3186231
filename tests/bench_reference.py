"""The reference side of `make bench` (tests/bench.sh): each of dpmlab's hot paths written the way a strong user
would write it in NumPy float64 and in torch (CPU, float64), plus smalldiffusion's IdealDenoiser algorithm written
in torch, on the same inputs; and the comparison of their values with dpmlab's before any speed is reported.

  bench_reference.py gen DIR [--quick]          the problems as .npy / .json files (fixed seeds) and sizes.json
  bench_reference.py run ROW IMPL DIR REPS OUT  one hot path: prints "seconds=MEDIAN min=MIN reps=R", saves values
  bench_reference.py compare ROW DIR REF OURS   prints "agree=yes|no worst=..." after comparing every column
  bench_reference.py blas                       the BLAS kernel NumPy and torch run on (OpenBLAS's own report),
                                                then "|" and NumPy's DGEMM GFLOP/s (2048^3)

ROW: denoiser2, denoiser784, denoiser3072, oracle, gamma, dp. IMPL: numpy, torch, smalldiffusion (denoisers only).
Best forms: squared distances by the GEMM expansion |x|^2 + |y|^2 - 2 x.y (one BLAS call per chunk), the softmax
streamed over data chunks with a running maximum (online log-sum-exp) so memory stays bounded, the weighted sum
by a second GEMM; the mixture oracle by batched Cholesky factors of C_k = m^2 Sigma_k + s^2 I (one triangular solve
per component over all points); Gamma_n by Monte Carlo vectorised over every (n, sample) pair at once; the DP with
the cost matrix built once and each layer a vectorised min/argmin over it."""
import json
import math
import os
import sys
import time

import numpy as np


def now():
    return time.perf_counter()


# ---- problems ---------------------------------------------------------------------------------------------------

SIZES = {
    "denoiser2": dict(K=20000, d=2, B=2000, sigma=0.1),
    "denoiser784": dict(K=60000, d=784, B=256, sigma=1.0),
    "denoiser3072": dict(K=50000, d=3072, B=64, sigma=1.0),
    "oracle": dict(K=64, d=16, B=100000, m=0.8, s=0.6),
    "gamma": dict(N=1000, M=2000, seed=1),
    "dp": dict(N=1000, K=100),
}
QUICK = {
    "denoiser2": dict(K=2000, d=2, B=200, sigma=0.1),
    "denoiser784": dict(K=3000, d=784, B=64, sigma=1.0),
    "denoiser3072": dict(K=2000, d=3072, B=16, sigma=1.0),
    "oracle": dict(K=16, d=16, B=5000, m=0.8, s=0.6),
    "gamma": dict(N=100, M=500, seed=1),
    "dp": dict(N=100, K=20),
}


def gen(out, quick):
    os.makedirs(out, exist_ok=True)
    sizes = QUICK if quick else SIZES
    rng = np.random.default_rng(12)
    for row in ("denoiser2", "denoiser784", "denoiser3072"):
        z = sizes[row]
        if z["d"] == 2:  # a 2-D point cloud, queries noisy copies of it
            Y = rng.standard_normal((z["K"], 2))
        else:  # image-like: coordinates in [0, 1]
            Y = rng.random((z["K"], z["d"]))
        x = Y[rng.integers(0, z["K"], z["B"])] + z["sigma"] * rng.standard_normal((z["B"], z["d"]))
        np.save(f"{out}/{row}_Y.npy", Y)
        np.save(f"{out}/{row}_X.npy", x)
        if z["d"] == 2:
            np.savetxt(f"{out}/{row}_Y.csv", Y, delimiter=",", fmt="%.17g")
    # the mixture: K full covariances A A^T / d + 0.1 I, means N(0, 4 I), Dirichlet weights
    z = sizes["oracle"]
    K, d = z["K"], z["d"]
    A = rng.standard_normal((K, d, d))
    cov = A @ A.transpose(0, 2, 1) / d + 0.1 * np.eye(d)
    mu = 2.0 * rng.standard_normal((K, d))
    w = rng.dirichlet(np.ones(K))
    with open(f"{out}/oracle_mix.json", "w") as f:
        json.dump({"weights": w.tolist(), "means": mu.tolist(), "covariances": cov.tolist()}, f)
    comp = rng.choice(K, size=z["B"], p=w)
    L = np.linalg.cholesky(cov)
    x0 = mu[comp] + np.einsum("bij,bj->bi", L[comp], rng.standard_normal((z["B"], d)))
    x = z["m"] * x0 + z["s"] * rng.standard_normal((z["B"], d))
    np.save(f"{out}/oracle_X.npy", x)
    with open(f"{out}/sizes.json", "w") as f:
        json.dump(sizes, f)


def sizes_of(dirname):
    with open(f"{dirname}/sizes.json") as f:
        return json.load(f)


# ---- the ideal denoiser -----------------------------------------------------------------------------------------

def denoiser_numpy(Y, x, sigma, chunk=8192):
    """dist^2 and eps*: GEMM expansion, softmax streamed over data chunks (running minimum of D)."""
    B, d = x.shape
    two_s2 = 2.0 * sigma * sigma
    xn = np.einsum("ij,ij->i", x, x)
    M = np.full(B, np.inf)
    S = np.zeros(B)
    G = np.zeros((B, d))
    for k0 in range(0, len(Y), chunk):
        Yc = Y[k0:k0 + chunk]
        D = xn[:, None] + np.einsum("ij,ij->i", Yc, Yc)[None, :] - 2.0 * (x @ Yc.T)
        np.maximum(D, 0.0, out=D)
        Mn = np.minimum(M, D.min(axis=1))
        f = np.exp(-(M - Mn) / two_s2)
        f[np.isinf(M)] = 0.0
        W = np.exp(-(D - Mn[:, None]) / two_s2)
        S = S * f + W.sum(axis=1)
        G = G * f[:, None] + W @ Yc
        M = Mn
    dist2 = M - two_s2 * np.log(S)
    eps = (x - G / S[:, None]) / sigma
    return np.column_stack([dist2, eps])


def denoiser_torch(Y, x, sigma, chunk=8192):
    import torch
    Yt, xt = torch.from_numpy(Y), torch.from_numpy(x)
    B, d = xt.shape
    two_s2 = 2.0 * sigma * sigma
    xn = (xt * xt).sum(1)
    M = torch.full((B,), math.inf, dtype=torch.float64)
    S = torch.zeros(B, dtype=torch.float64)
    G = torch.zeros((B, d), dtype=torch.float64)
    for k0 in range(0, Yt.shape[0], chunk):
        Yc = Yt[k0:k0 + chunk]
        D = torch.addmm((xn[:, None] + (Yc * Yc).sum(1)[None, :]), xt, Yc.T, beta=1.0, alpha=-2.0).clamp_(min=0.0)
        Mn = torch.minimum(M, D.min(1).values)
        f = torch.exp(-(M - Mn) / two_s2)
        f[torch.isinf(M)] = 0.0
        W = torch.exp(-(D - Mn[:, None]) / two_s2)
        S = S * f + W.sum(1)
        G = G * f[:, None] + W @ Yc
        M = Mn
    dist2 = M - two_s2 * torch.log(S)
    eps = (xt - G / S[:, None]) / sigma
    return torch.column_stack([dist2, eps]).numpy()


def denoiser_smalldiffusion(Y, x, sigma):
    """smalldiffusion's IdealDenoiser algorithm (model.py): the full K x B matrix of squared distances by the GEMM
    expansion, softmax over the data axis, the posterior mean by einsum; dist^2 added by a log-sum-exp."""
    import torch
    data, xt = torch.from_numpy(Y), torch.from_numpy(x)
    sq = (xt * xt).sum(1)[None, :] + (data * data).sum(1)[:, None] - 2 * data @ xt.T  # K x B
    logits = -sq / 2 / sigma ** 2
    weights = torch.nn.functional.softmax(logits, dim=0)
    x0 = torch.einsum("ij,i...->j...", weights, data)
    dist2 = -2 * sigma ** 2 * torch.logsumexp(logits, dim=0)
    return torch.column_stack([dist2, (xt - x0) / sigma]).numpy()


# ---- the mixture oracle with full covariances ----------------------------------------------------------------

def oracle_numpy(mix, x, m, s):
    """logq, score, x0, eps, trcov, lap of q_t for full covariances: batched Cholesky of C_k, one triangular
    solve per component over all points, responsibilities by log-sum-exp."""
    import scipy.linalg as sla
    w, mu, cov = np.asarray(mix["weights"]), np.asarray(mix["means"]), np.asarray(mix["covariances"])
    K, d = mu.shape
    B = x.shape[0]
    C = m * m * cov + s * s * np.eye(d)
    L = np.linalg.cholesky(C)
    logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1)
    Cinv = np.linalg.inv(C)
    ell = np.empty((B, K))
    G = np.empty((K, B, d))  # g_k = -C_k^{-1} (x - m mu_k)
    for k in range(K):
        z = x - m * mu[k]
        v = sla.solve_triangular(L[k], z.T, lower=True, check_finite=False)
        ell[:, k] = np.log(w[k]) - 0.5 * (v * v).sum(0) - 0.5 * (d * math.log(2 * math.pi) + logdet[k])
        G[k] = -sla.solve_triangular(L[k].T, v, lower=False, check_finite=False).T
    mx = ell.max(1)
    logq = mx + np.log(np.exp(ell - mx[:, None]).sum(1))
    r = np.exp(ell - logq[:, None])
    score = np.einsum("bk,kbd->bd", r, G)
    # x0_k = mu_k + m Sigma_k C_k^{-1}(x - m mu_k) = mu_k - m Sigma_k g_k;  S_k = Sigma_k - m^2 Sigma_k C_k^-1 Sigma_k
    X0 = mu[:, None, :] - m * np.einsum("kij,kbj->kbi", cov, G)
    x0 = np.einsum("bk,kbd->bd", r, X0)
    trS = np.trace(cov, axis1=1, axis2=2) - m * m * np.einsum("kij,kjl,kli->k", cov, Cinv, cov)
    dev = X0 - x0[None]
    trcov = r @ trS + np.einsum("bk,kb->b", r, (dev * dev).sum(2))
    gdev = G - score[None]
    lap = np.einsum("bk,kb->b", r, (gdev * gdev).sum(2)) - r @ np.trace(Cinv, axis1=1, axis2=2)
    return np.column_stack([logq, score, x0, -s * score, trcov, lap])


def oracle_torch(mix, x, m, s):
    import torch
    w = torch.tensor(mix["weights"], dtype=torch.float64)
    mu = torch.tensor(mix["means"], dtype=torch.float64)
    cov = torch.tensor(mix["covariances"], dtype=torch.float64)
    xt = torch.from_numpy(x)
    K, d = mu.shape
    C = m * m * cov + s * s * torch.eye(d, dtype=torch.float64)
    L = torch.linalg.cholesky(C)
    logdet = 2.0 * torch.log(torch.diagonal(L, dim1=1, dim2=2)).sum(1)
    Cinv = torch.cholesky_inverse(L)
    Z = (xt[None] - m * mu[:, None, :]).transpose(1, 2)  # K x d x B
    V = torch.linalg.solve_triangular(L, Z, upper=False)
    ell = (torch.log(w)[:, None] - 0.5 * (V * V).sum(1) - 0.5 * (d * math.log(2 * math.pi) + logdet)[:, None]).T
    G = -torch.linalg.solve_triangular(L.transpose(1, 2), V, upper=True).transpose(1, 2)  # K x B x d
    logq = torch.logsumexp(ell, 1)
    r = torch.exp(ell - logq[:, None])
    score = torch.einsum("bk,kbd->bd", r, G)
    X0 = mu[:, None, :] - m * torch.einsum("kij,kbj->kbi", cov, G)
    x0 = torch.einsum("bk,kbd->bd", r, X0)
    trS = torch.diagonal(cov, dim1=1, dim2=2).sum(1) - m * m * torch.einsum("kij,kjl,kli->k", cov, Cinv, cov)
    dev = X0 - x0[None]
    trcov = r @ trS + torch.einsum("bk,kb->b", r, (dev * dev).sum(2))
    gdev = G - score[None]
    lap = torch.einsum("bk,kb->b", r, (gdev * gdev).sum(2)) - r @ torch.diagonal(Cinv, dim1=1, dim2=2).sum(1)
    return torch.column_stack([logq, score, x0, -s * score, trcov, lap]).numpy()


# ---- Gamma_n by Monte Carlo (ring8, linear schedule) ----------------------------------------------------------

def linear_schedule(N):
    beta = np.linspace(1e-4, 0.02, N)
    log_ab = np.cumsum(np.log1p(-beta))
    return np.concatenate([[0.0], log_ab])  # log alpha_bar_0..N


def gamma_numpy(N, M, seed, chunk=200):
    """ring8 (r = 4, sd = 0.2): every (n, sample) pair at once, chunk steps at a time; eps = -s score."""
    rng = np.random.default_rng(seed)
    ang = 2 * np.pi * np.arange(8) / 8
    mu = 4.0 * np.column_stack([np.cos(ang), np.sin(ang)])
    var = 0.04
    log_ab = linear_schedule(N)
    g = np.empty(N)
    se = np.empty(N)
    for n0 in range(1, N + 1, chunk):
        ns = np.arange(n0, min(n0 + chunk, N + 1))
        m = np.exp(0.5 * log_ab[ns])[:, None, None]
        s = np.sqrt(-np.expm1(log_ab[ns]))[:, None, None]
        comp = rng.integers(0, 8, (len(ns), M))
        x0 = mu[comp] + math.sqrt(var) * rng.standard_normal((len(ns), M, 2))
        x = m * x0 + s * rng.standard_normal((len(ns), M, 2))
        c = (m * m * var + s * s)[..., None]  # nb x 1 x 1 x 1
        diff = x[:, :, None, :] - m[..., None] * mu[None, None]  # nb x M x 8 x 2
        ell = -0.5 * (diff * diff).sum(-1) / c[..., 0]
        ell -= ell.max(-1, keepdims=True)
        r = np.exp(ell)
        r /= r.sum(-1, keepdims=True)
        score = -(r[..., None] * diff).sum(2) / c[:, :, 0]
        e2 = (s * s * (score * score)).sum(-1) / 2.0
        g[ns - 1] = e2.mean(1)
        se[ns - 1] = e2.std(1, ddof=1) / math.sqrt(M)
    return np.column_stack([g, se])


# ---- the trajectory DP ----------------------------------------------------------------------------------------

def dp_numpy(gamma, N, K):
    log_ab = linear_schedule(N)
    bbar = -np.expm1(log_ab)
    t = np.arange(N + 1)[:, None]
    s_ = np.arange(N + 1)[None, :]
    with np.errstate(all="ignore"):
        la = log_ab[t] - log_ab[s_]
        beta, alpha = -np.expm1(la), np.exp(la)
        g = np.clip(np.concatenate([[np.nan], gamma])[t], 0.0, 1.0)
        C = np.log1p(beta * (1.0 - g) / (alpha * bbar[s_]))  # C[t, s] = J(s -> t)
    C[(s_ >= t) | (s_ < 1)] = np.inf
    prev = np.full(N + 1, np.inf)
    prev[1] = 0.0
    arg = np.zeros((K + 1, N + 1), dtype=np.int64)
    for k in range(2, K + 1):
        V = prev[None, :] + C  # V[t, s]
        arg[k] = V.argmin(1)
        prev = V[np.arange(N + 1), arg[k]]
    tau = [N]
    for k in range(K, 1, -1):
        tau.append(arg[k][tau[-1]])
    return np.array(tau[::-1] + [prev[N]], dtype=float)[:, None]


# ---- driver -----------------------------------------------------------------------------------------------------

def compute(row, impl, dirname):
    z = sizes_of(dirname)[row]
    if row.startswith("denoiser"):
        Y, x = np.load(f"{dirname}/{row}_Y.npy"), np.load(f"{dirname}/{row}_X.npy")
        fn = {"numpy": denoiser_numpy, "torch": denoiser_torch, "smalldiffusion": denoiser_smalldiffusion}[impl]
        return lambda: fn(Y, x, z["sigma"])
    if row == "oracle":
        with open(f"{dirname}/oracle_mix.json") as f:
            mix = json.load(f)
        x = np.load(f"{dirname}/oracle_X.npy")
        fn = {"numpy": oracle_numpy, "torch": oracle_torch}[impl]
        return lambda: fn(mix, x, z["m"], z["s"])
    if row == "gamma":
        return lambda: gamma_numpy(z["N"], z["M"], z["seed"])
    if row == "dp":
        gamma = np.load(f"{dirname}/dp_gamma.npy").ravel()
        return lambda: dp_numpy(gamma, z["N"], z["K"])
    raise SystemExit(f"unknown row {row}")


def run(row, impl, dirname, reps, out):
    if impl == "torch" or impl == "smalldiffusion":
        import torch
        torch.set_num_threads(os.cpu_count())
    fn = compute(row, impl, dirname)
    times = []
    for _ in range(reps):
        t0 = now()
        val = fn()
        times.append(now() - t0)
    times.sort()
    np.save(out, np.asarray(val, dtype=np.float64))
    print(f"seconds={times[len(times) // 2]:.6g} min={times[0]:.6g} reps={reps}")


def compare(row, dirname, ref_path, ours_path):
    """Every column of both outputs. Deterministic rows: the largest error relative to 1 + |value| per column,
    against 1e-9 (float64 computations in different orders agree to ~1e-13; 1e-9 allows the ill-conditioned
    tails of the mixture's second moments). Gamma_n (two independent Monte Carlo runs): every |difference| within 5
    combined standard errors. The DP: the same path, the same cost to 1e-12."""
    ref, ours = np.load(ref_path), np.load(ours_path)
    if ref.ndim == 1:
        ref = ref[:, None]
    if ours.ndim == 1:
        ours = ours[:, None]
    if row == "gamma":  # dpmlab variance columns: n,beta,alpha_bar,gamma,gamma_se,...; or bench_oracle's gamma,se
        if ours.shape[1] > 2:
            ours = ours[:, 3:5]
        z = np.abs(ref[:, 0] - ours[:, 0]) / np.sqrt(ref[:, 1] ** 2 + ours[:, 1] ** 2)
        ok = bool(np.all(z <= 5.0))
        print(f"agree={'yes' if ok else 'no'} worst={z.max():.3g}SE columns=gamma")
        return ok
    if row.startswith("denoiser") and ours.shape[1] != ref.shape[1]:  # CLI: dist2,grad_*,eps_*,proj_*
        d = ref.shape[1] - 1
        ours = np.column_stack([ours[:, 0], ours[:, 1 + d:1 + 2 * d]])
    if ref.shape != ours.shape:
        print(f"agree=no shapes {ref.shape} {ours.shape}")
        return False
    if row == "dp":
        ok = bool(np.all(ref[:-1] == ours[:-1])) and abs(ref[-1, 0] - ours[-1, 0]) <= 1e-12 * abs(ref[-1, 0])
        print(f"agree={'yes' if ok else 'no'} worst={abs(ref[-1, 0] - ours[-1, 0]):.3g} columns=tau,cost")
        return ok
    err = (np.abs(ref - ours) / (1.0 + np.abs(ref))).max(0)
    ok = bool(np.all(err <= 1e-9))
    print(f"agree={'yes' if ok else 'no'} worst={err.max():.3g} columns={ref.shape[1]}")
    return ok


def blas():
    """The BLAS NumPy loaded (OpenBLAS's config string and core name) and torch's."""
    import ctypes
    import torch  # noqa: F401  (loads its own BLAS into the process)
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in p and p.endswith((".so", ".so.0", ".so.3")) or "openblas" in p:
                libs.add(p)
    out = []
    for p in sorted(libs):
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            out.append(f"{os.path.basename(p)}: {lib.openblas_get_corename().decode()} "
                       f"({lib.openblas_get_config().decode()})")
        except (OSError, AttributeError):
            pass
    import numpy
    a = numpy.random.default_rng(0).random((2048, 2048))
    best = min(_timed(lambda: a @ a) for _ in range(3))
    print(("; ".join(out) if out else "unknown") + f"|{2 * 2048 ** 3 / best / 1e9:.2f}")


def _timed(fn):
    t0 = now()
    fn()
    return now() - t0


def main(argv):
    if len(argv) >= 2 and argv[0] == "gen":
        gen(argv[1], "--quick" in argv)
    elif len(argv) == 6 and argv[0] == "run":
        run(argv[1], argv[2], argv[3], int(argv[4]), argv[5])
    elif len(argv) == 5 and argv[0] == "compare":
        return 0 if compare(argv[1], argv[2], argv[3], argv[4]) else 1
    elif argv[:1] == ["blas"]:
        blas()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
