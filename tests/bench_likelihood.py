#!/usr/bin/env python3
"""bench_likelihood.py — times `dpmlab likelihood` (the probability-flow ODE with the exact divergence, VP,
docs/MATH.md §4.3) on 1000 points of a 2-D Gaussian mixture at rtol 1e-8 against the strongest Python reference:
SciPy's solve_ivp (RK45 and DOP853, the faster counts) on the same augmented ODE [x, delta] in rho = log sigma, all
points in one vectorised system (faster than a solve per point, which pays Python's per-step cost 1000 times), with
a vectorised NumPy oracle for the score and the Laplacian of the same mixture. dpmlab runs rk8pd with --block 32
(32 points per task solved as one system: one oracle call per step for all of them).
Whole processes, interleaved, medians of 3. The values are checked first: both answers within their error
allowance of the exact log q_t0 and of each other. Prints one line per row:
ROW|<hot path>|<size>|<dpmlab s>|<reference s>|<ratio>|<target>|<agree yes/no>

Usage: python3 tests/bench_likelihood.py --dpmlab build/dpmlab [--n 1000] [--rtol 1e-8]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.integrate import solve_ivp

BETA_MIN, BETA_MAX, T0, T1 = 0.1, 20.0, 1e-5, 1.0  # the vp process of dpmlab (docs/MATH.md §1.2)


def vp_B(t):
    return BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t


def vp_sigma(t):
    return np.sqrt(np.expm1(vp_B(t)))


def vp_t_of_sigma(sig):
    B = np.log1p(sig * sig)
    return 2.0 * B / (BETA_MIN + np.sqrt(BETA_MIN**2 + 2.0 * (BETA_MAX - BETA_MIN) * B))


class Mixture:
    """An isotropic Gaussian mixture: weights w (K), means mu (K x d), variances v (K)."""

    def __init__(self, spec_json):
        j = json.loads(spec_json)
        self.w = np.asarray(j["weights"], float)
        self.mu = np.asarray(j["means"], float)
        cov = j["covariances"]
        self.v = np.array([c if np.isscalar(c) else (c[0] if np.ndim(c) == 1 else c[0][0]) for c in cov], float)
        self.d = self.mu.shape[1]

    def eval(self, m, s, x):
        """log q_t, score and Laplacian of log q_t at x (n x d) for x_t = m x0 + s eps."""
        C = m * m * self.v + s * s  # K
        u = x[:, None, :] - m * self.mu[None, :, :]  # n x K x d
        u2 = np.einsum("nkd,nkd->nk", u, u)
        logc = np.log(self.w) - 0.5 * self.d * np.log(2 * np.pi * C) - 0.5 * u2 / C
        lmax = logc.max(axis=1, keepdims=True)
        r = np.exp(logc - lmax)
        z = r.sum(axis=1, keepdims=True)
        logq = (lmax + np.log(z))[:, 0]
        r /= z
        score = -np.einsum("nk,nkd->nd", r / C, u)
        lap = np.einsum("nk,nk->n", r, u2 / C**2 - self.d / C) - np.einsum("nd,nd->n", score, score)
        return logq, score, lap


def reference(mix, x, rtol, atol, method):
    """log p_t0(x) by the augmented flow in rho = log sigma, all points in one system (exact prior q_T)."""
    n, d = x.shape
    r0, r1 = np.log(vp_sigma(T0)), np.log(vp_sigma(T1))

    def rhs(rho, y):
        t = min(max(vp_t_of_sigma(np.exp(rho)), T0), T1)
        B = vp_B(t)
        m, s = np.exp(-0.5 * B), np.sqrt(-np.expm1(-B))
        beta = BETA_MIN + t * (BETA_MAX - BETA_MIN)
        a, w = -0.5 * beta, 2.0 * s * s / beta
        X = y[: n * d].reshape(n, d)
        _, score, lap = mix.eval(m, s, X)
        dx = w * a * X - s * s * score
        dl = w * d * a - s * s * lap
        return np.concatenate([dx.ravel(), dl])

    y0 = np.concatenate([x.ravel(), np.zeros(n)])
    sol = solve_ivp(rhs, (r0, r1), y0, method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(sol.message)
    yT = sol.y[:, -1]
    xT = yT[: n * d].reshape(n, d)
    BT = vp_B(T1)
    lqT, _, _ = mix.eval(np.exp(-0.5 * BT), np.sqrt(-np.expm1(-BT)), xT)
    return lqT + yT[n * d :]


def run_dpmlab(args, pts, rtol, atol):
    out = subprocess.run(
        [args.dpmlab, "likelihood", "--data", args.data, "--process", "vp", "--at", pts, "--rtol", str(rtol),
         "--atol", str(atol), "--method", "rk8pd", "--block", str(args.block)],
        check=True, capture_output=True, text=True).stdout
    a = np.loadtxt(out.splitlines()[1:], delimiter=",", ndmin=2)
    return a[:, 0], a[:, 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dpmlab", required=True)
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--block", type=int, default=32, help="dpmlab's --block (points per task, one system)")
    args = ap.parse_args()
    rtol, atol = args.rtol, args.rtol * 1e-2
    with tempfile.TemporaryDirectory() as tmp:
        spec = subprocess.run([args.dpmlab, "data", "--data", args.data], check=True, capture_output=True,
                              text=True).stdout
        mix = Mixture(spec)
        pts = os.path.join(tmp, "x.csv")
        with open(pts, "w") as f:
            f.write(subprocess.run([args.dpmlab, "data", "--data", args.data, "--s", "0.001", "--n", str(args.n),
                                    "--seed", "1"], check=True, capture_output=True, text=True).stdout)
        x = np.loadtxt(pts, delimiter=",", skiprows=1, ndmin=2)

        # values first: both within their allowance of the truth and of each other (the global error of a solve
        # is at most its step count times the local tolerance; 1e3 rtol (1 + |log q|) covers a few hundred steps)
        logp, logq = run_dpmlab(args, pts, rtol, atol)
        allow = 1e3 * rtol * (1.0 + np.abs(logq))
        ref = {m: reference(mix, x, rtol, atol, m) for m in ("RK45", "DOP853")}
        agree = bool(np.all(np.abs(logp - logq) <= allow))
        for m in ref:
            agree &= bool(np.all(np.abs(ref[m] - logq) <= allow) and np.all(np.abs(ref[m] - logp) <= 2 * allow))

        times = {"dpmlab": [], "RK45": [], "DOP853": []}
        for _ in range(args.reps):  # interleaved
            t = time.perf_counter()
            run_dpmlab(args, pts, rtol, atol)
            times["dpmlab"].append(time.perf_counter() - t)
            for m in ("RK45", "DOP853"):
                t = time.perf_counter()
                subprocess.run([sys.executable, os.path.abspath(__file__), "--reference-only", m, args.data, pts,
                                str(rtol), str(atol), args.dpmlab], check=True)
                times[m].append(time.perf_counter() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        best = min(("RK45", "DOP853"), key=lambda m: med[m])
        print("ROW|likelihood vp exact divergence (rk8pd, --block %d vs SciPy %s)|%d points, %s, rtol %g|%.3f|%.3f|%.1f"
              "|>=10|%s" % (args.block, best, args.n, args.data, rtol, med["dpmlab"], med[best],
                            med[best] / med["dpmlab"], "yes" if agree else "no"))


def reference_only():
    """The reference as a whole process: python3 bench_likelihood.py --reference-only METHOD DATA PTS RTOL ATOL BIN"""
    _, _, method, data, pts, rtol, atol, binary = sys.argv
    spec = subprocess.run([binary, "data", "--data", data], check=True, capture_output=True, text=True).stdout
    x = np.loadtxt(pts, delimiter=",", skiprows=1, ndmin=2)
    reference(Mixture(spec), x, float(rtol), float(atol), method)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--reference-only":
        reference_only()
    else:
        main()
