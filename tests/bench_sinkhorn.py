#!/usr/bin/env python3
"""Log-domain Sinkhorn, dpmlab against POT (Flamary et al. 2021): the same 2 000 x 2 000 problem (cost |x - y|^2, reg =
2 sigma^2, uniform weights), the same algorithm and stopping rule (POT's sinkhorn_log: |gamma^T 1 - b|_2 < 1e-9 checked
every 10 iterations), each timed as a whole process (start-up, reading the points, solving, writing the cost),
interleaved, median of 3. POT runs in its strongest configuration here: the NumPy backend and, when torch is installed,
the torch float64 backend (multi-threaded log-sum-exp); the faster of the two is the reference. The costs (transport
part <gamma, C>) are compared first. Prints

    ROW|<hot path>|<size>|<dpmlab s>|<reference s>|<ratio>|<target>|<agree yes/no>

Usage: python3 tests/bench_sinkhorn.py --dpmlab build/dpmlab [--n 2000] [--sigma2 0.5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import math
import random
import shutil
import tempfile
import time

REF = r"""
import sys, numpy as np, ot
backend = sys.argv[3]
x = np.loadtxt(sys.argv[1], delimiter=","); y = np.loadtxt(sys.argv[2], delimiter=",")
reg = float(sys.argv[4])
M = ot.dist(x, y)                                  # squared Euclidean
a = np.full(len(x), 1.0 / len(x)); b = np.full(len(y), 1.0 / len(y))
if backend == "torch":
    import torch
    M, a, b = (torch.from_numpy(v) for v in (M, a, b))
G = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=100000, stopThr=1e-9)
cost = float((G * M).sum())
print(repr(cost))
"""


def run(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dpmlab", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--sigma2", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    reg = 2 * args.sigma2
    rng = random.Random(0)
    n = args.n
    # a ring of 8 Gaussians (radius 4, sd 0.4) to N(0, I): the DSB 2-D toy's pair, as point clouds
    x = []
    for _ in range(n):
        ang = 2 * math.pi * rng.randrange(8) / 8
        x.append((4 * math.cos(ang) + rng.gauss(0, 0.4), 4 * math.sin(ang) + rng.gauss(0, 0.4)))
    y = [(rng.gauss(0, 1), rng.gauss(0, 1)) for _ in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        fx, fy = os.path.join(tmp, "x.csv"), os.path.join(tmp, "y.csv")
        for path, pts in ((fx, x), (fy, y)):
            with open(path, "w") as f:
                f.writelines(f"{a!r},{b!r}\n" for a, b in pts)
        ours = [args.dpmlab, "bridge", "--from", fx, "--to", fy, "--sigma2", repr(args.sigma2), "--method",
                "sinkhorn", "--tol", "1e-9"]
        # POT and NumPy as Debian installs them (make bench-deps), else this interpreter's
        py = "/usr/bin/python3" if shutil.which("/usr/bin/python3") else sys.executable
        backends = ["numpy"]
        if subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            backends.append("torch")
        refs = {bk: [py, "-c", REF, fx, fy, bk, repr(reg)] for bk in backends}
        # costs first
        _, out = run(ours)
        c_ours = json.loads(out)["cost"]
        agree = True
        for bk, cmd in refs.items():
            _, out = run(cmd)
            c_ref = float(out)
            rel = abs(c_ours - c_ref) / abs(c_ref)
            print(f"# cost: dpmlab {c_ours:.12g}, POT[{bk}] {c_ref:.12g}, relative difference {rel:.2g}",
                  file=sys.stderr)
            agree &= rel < 1e-7
        times = {"dpmlab": []} | {bk: [] for bk in refs}
        for _ in range(args.repeats):  # interleaved
            times["dpmlab"].append(run(ours)[0])
            for bk, cmd in refs.items():
                times[bk].append(run(cmd)[0])
        med = {k: statistics.median(v) for k, v in times.items()}
        best = min(refs, key=lambda k: med[k])
        for k, v in med.items():
            print(f"# median {k}: {v:.3f} s", file=sys.stderr)
        ratio = med[best] / med["dpmlab"]
        print(f"ROW|sinkhorn_log (POT {best})|{n}x{n}|{med['dpmlab']:.3f}|{med[best]:.3f}|{ratio:.2f}|>=3|"
              f"{'yes' if agree else 'no'}")


if __name__ == "__main__":
    main()
