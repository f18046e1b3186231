"""Cross-check of dpmlab's samplers against the reference implementations, step for step: k-diffusion's
sample_euler, sample_heun, sample_dpm_2, sample_lms and sample_dpmpp_2m on EDM, and the official DPM-Solver
(singlestep_fixed orders 2 and 3, multistep orders 2 and 3 with dpmsolver++) on VP's linear schedule, each run on the
exact denoiser of a Gaussian mixture in torch float64 from the same start points and the same explicit grid that
`dpmlab sample --init START.csv --grid GRID` walks. Prints the largest difference per method relative to the largest
|x| and fails unless every pair that should agree does so to rounding (--tol, default 1e-10) and every documented
difference is larger than that. Then measures the global order of the official multistep order-3 update and of
dpmlab's dpmpp-3m on the lambda-uniform grid against a DOP853 solve of the probability-flow ODE, and fails unless the
last two successive error ratios give the order docs/samplers.md states to within 0.3 ("Cross-check against the
reference implementations" there).

usage: crosscheck_samplers.py [--k-diffusion DIR] [--dpm-solver DIR] [--dpmlab BIN] [--tol X]
  DIR of k-diffusion: a checkout holding k_diffusion/sampling.py (or $KDIFFUSION_DIR)
  DIR of DPM-Solver: a checkout holding dpm_solver_pytorch.py (or $DPM_SOLVER_DIR)
  BIN: the dpmlab command (or $DPMLAB, default build/dpmlab)
"""
import argparse
import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
from scipy.integrate import solve_ivp

torch.set_default_dtype(torch.float64)

# The mixtures, as dpmlab's built-in specs (lib/data/builtin.c) and the same parameters here: means, isotropic
# variances, weights.
MIXTURES = {
    "gmm1d:sep=4,sd=0.5,w=0.3": ([[-2.0], [2.0]], [0.25, 0.25], [0.3, 0.7]),
    "ring8:r=4,sd=0.2": ([[4 * math.cos(2 * math.pi * k / 8), 4 * math.sin(2 * math.pi * k / 8)] for k in range(8)],
                         [0.04] * 8, [1 / 8] * 8),
}


class Mixture:
    """The exact posterior of x0 given x = m x0 + s z under sum_k pi_k N(mu_k, v_k I): E[x0|x] and E[z|x] (MATH.md
    §2), each written without cancellation: x0 = sum_k r_k (mu_k + m v_k (x - m mu_k)/C_k),
    eps = sum_k r_k s (x - m mu_k)/C_k, C_k = m^2 v_k + s^2."""

    def __init__(self, mu, var, w):
        self.mu = torch.tensor(mu)
        self.var = torch.tensor(var)
        self.logw = torch.log(torch.tensor(w))
        self.d = self.mu.shape[1]

    def posterior(self, x, m, s):
        m = torch.as_tensor(m).reshape(-1, 1)
        s = torch.as_tensor(s).reshape(-1, 1)
        C = m * m * self.var[None, :] + s * s  # n x K
        diff = x[:, None, :] - m[:, :, None] * self.mu[None, :, :]  # n x K x d
        ell = self.logw[None, :] - 0.5 * self.d * torch.log(C) - 0.5 * (diff * diff).sum(-1) / C
        r = torch.softmax(ell, dim=1)[:, :, None]
        x0 = (r * (self.mu[None] + (m * self.var[None, :] / C)[:, :, None] * diff)).sum(1)
        eps = (r * (s / C)[:, :, None] * diff).sum(1)
        return x0, eps


def load_module(name, path, package=None):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    if package:
        mod.__package__ = package
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def load_kdiffusion(root):
    """k_diffusion/sampling.py alone: its package's utils needs image libraries, so only the one helper sampling.py
    uses (append_dims) is provided; torchsde, torchdiffeq and tqdm are stubbed when missing (the samplers checked
    here do not use them)."""
    for mod in ("torchsde", "torchdiffeq"):
        try:
            importlib.import_module(mod)
        except ImportError:
            stub = types.ModuleType(mod)
            stub.odeint = None
            stub.BrownianInterval = None
            sys.modules[mod] = stub
    try:
        importlib.import_module("tqdm.auto")
    except ImportError:
        tq = types.ModuleType("tqdm")
        tqa = types.ModuleType("tqdm.auto")
        tqa.trange = lambda n, disable=None: range(n)
        tqa.tqdm = lambda it, **kw: it
        sys.modules["tqdm"], sys.modules["tqdm.auto"] = tq, tqa
    pkg = types.ModuleType("k_diffusion")
    pkg.__path__ = []
    utils = types.ModuleType("k_diffusion.utils")

    def append_dims(x, target_dims):
        return x[(...,) + (None,) * (target_dims - x.ndim)]

    utils.append_dims = append_dims
    pkg.utils = utils
    sys.modules["k_diffusion"], sys.modules["k_diffusion.utils"] = pkg, utils
    return load_module("k_diffusion.sampling", os.path.join(root, "k_diffusion", "sampling.py"), "k_diffusion")


def write_csv(path, x):
    with open(path, "w") as f:
        f.write(",".join("x_%d" % (j + 1) for j in range(x.shape[1])) + "\n")
        for row in x.tolist():
            f.write(",".join(repr(v) for v in row) + "\n")


def write_grid(path, times):
    with open(path, "w") as f:
        for t in times:
            f.write(repr(float(t)) + "\n")


class Dpmlab:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp

    def sample(self, spec, process, sampler, x_start, times, named=None):
        """From x_start along the grid file of times, or along the built-in grid named (then times is K)."""
        start, grid = os.path.join(self.tmp, "start.csv"), os.path.join(self.tmp, "grid.txt")
        write_csv(start, x_start.numpy())
        if named:
            grid_args = ["--grid", named, "--steps", str(times)]
        else:
            write_grid(grid, times)
            grid_args = ["--grid", grid]
        out = subprocess.run([self.binary, "sample", "--data", spec, "--process", process, "--sampler", sampler,
                              "--init", start] + grid_args, check=True, capture_output=True, text=True).stdout
        return torch.tensor(np.loadtxt(out.splitlines()[1:], delimiter=",", ndmin=2))


def rel_diff(a, b):
    return float((a - b).abs().max() / b.abs().max())


class Report:
    def __init__(self, tol):
        self.tol, self.failed = tol, 0

    def row(self, process, spec, grid, ours, ref, a, b, expect_equal=True):
        d = rel_diff(a, b)
        ok = (d < self.tol) == expect_equal  # a documented difference must be one, not rounding
        if not ok:
            self.failed += 1
        verdict = ("ok" if expect_equal else "differs, as documented") if ok else "FAIL"
        print("%-4s %-6s %-24s %-13s %-45s %9.2e  %s" % (process, spec.split(":")[0], grid, ours, ref, d, verdict))
        return d


def check_kdiffusion(kd, dl, rep, starts):
    """EDM (m = 1, s = sigma, t = sigma): the reference's sigmas are dpmlab's grid file as they are."""
    pairs = [("ode-euler", "sample_euler"), ("edm-heun", "sample_heun"), ("dpm-solver-2", "sample_dpm_2"),
             ("lms", "sample_lms"), ("dpmpp-2m", "sample_dpmpp_2m")]
    for spec, mix in starts:
        x_T = starts[(spec, mix)] * 80.0
        grids = {"karras K=12 to 0": kd.get_sigmas_karras(12, 0.002, 80.0, 7.0),
                 "karras K=11 to 0.002": kd.get_sigmas_karras(12, 0.002, 80.0, 7.0)[:-1],
                 "karras K=6 to 0": kd.get_sigmas_karras(6, 0.002, 80.0, 7.0),
                 "karras K=5 to 0.002": kd.get_sigmas_karras(6, 0.002, 80.0, 7.0)[:-1]}
        for gname, sigmas in grids.items():
            sigmas = sigmas.to(torch.float64)

            def model(x, sigma):
                return mix.posterior(x, torch.ones_like(sigma), sigma)[0]

            for ours, ref in pairs:
                b = getattr(kd, ref)(model, x_T.clone(), sigmas, disable=True)
                a = dl.sample(spec, "edm", ours, x_T, sigmas.tolist())
                # dpmlab lowers the last multistep step to first order on grids of fewer than 10 steps (the official
                # DPM-Solver's lower_order_final); k-diffusion's 2M does so only into sigma = 0
                expect = not (ours == "dpmpp-2m" and len(sigmas) - 1 < 10 and sigmas[-1] > 0)
                rep.row("edm", spec, gname, ours, "k-diffusion " + ref, a, b, expect)


class DpmSolver3Doubled:
    """The official multistep order-3 dpmsolver++ update with its D2 term doubled (dpmlab's dpmpp-3m)."""

    @staticmethod
    def patch(cls):
        def third(self, x, model_prev_list, t_prev_list, t, solver_type="dpmsolver"):
            ns = self.noise_schedule
            model_prev_2, model_prev_1, model_prev_0 = model_prev_list
            t_prev_2, t_prev_1, t_prev_0 = t_prev_list
            lambda_prev_2, lambda_prev_1, lambda_prev_0, lambda_t = (ns.marginal_lambda(t_prev_2),
                                                                     ns.marginal_lambda(t_prev_1),
                                                                     ns.marginal_lambda(t_prev_0),
                                                                     ns.marginal_lambda(t))
            sigma_prev_0, sigma_t = ns.marginal_std(t_prev_0), ns.marginal_std(t)
            alpha_t = torch.exp(ns.marginal_log_mean_coeff(t))
            h_1, h_0, h = lambda_prev_1 - lambda_prev_2, lambda_prev_0 - lambda_prev_1, lambda_t - lambda_prev_0
            r0, r1 = h_0 / h, h_1 / h
            D1_0 = (1. / r0) * (model_prev_0 - model_prev_1)
            D1_1 = (1. / r1) * (model_prev_1 - model_prev_2)
            D1 = D1_0 + (r0 / (r0 + r1)) * (D1_0 - D1_1)
            D2 = (1. / (r0 + r1)) * (D1_0 - D1_1)
            phi_1 = torch.expm1(-h)
            phi_2 = phi_1 / h + 1.
            phi_3 = phi_2 / h - 0.5
            return ((sigma_t / sigma_prev_0) * x - (alpha_t * phi_1) * model_prev_0 + (alpha_t * phi_2) * D1
                    - 2. * (alpha_t * phi_3) * D2)

        sub = type("DPM_Solver_3M_doubled", (cls,), {"multistep_dpm_solver_third_update": third})
        return sub


class Official:
    def __init__(self, ds):
        self.ds = ds
        self.ns = ds.NoiseScheduleVP("linear", continuous_beta_0=0.1, continuous_beta_1=20.0)
        self.doubled = DpmSolver3Doubled.patch(ds.DPM_Solver)

    def lambda_grid(self, K, t_T=1.0, t_0=1e-3):
        return self.ds.DPM_Solver(lambda x, t: x, self.ns).get_time_steps("logSNR", t_T, t_0, K, "cpu")

    def run(self, mix, x_T, times, algorithm, method, order, doubled=False):
        ns = self.ns

        def model_fn(x, t):
            return mix.posterior(x, ns.marginal_alpha(t), ns.marginal_std(t))[1]

        cls = self.doubled if doubled else self.ds.DPM_Solver
        solver = cls(model_fn, ns, algorithm_type=algorithm)
        grid, K, own = torch.tensor(times), len(times) - 1, solver.get_time_steps

        def get_time_steps(skip_type, t_T, t_0, N, device):  # the outer grid ours, the inner points of a step theirs
            return grid if (t_T, t_0, N) == (times[0], times[-1], K) else own(skip_type, t_T, t_0, N, device)

        solver.get_time_steps = get_time_steps
        steps = K * order if method == "singlestep_fixed" else K
        return solver.sample(x_T.clone(), steps=steps, t_start=float(times[0]), t_end=float(times[-1]), order=order,
                             method=method, skip_type="logSNR", lower_order_final=True)


def check_dpm_solver(off, dl, rep, starts):
    """VP, linear beta 0.1..20, t from 1 to 1e-3 on the official logSNR grid, written to dpmlab's grid file."""
    for spec, mix in starts:
        x_T = starts[(spec, mix)]
        for K in (12, 6):
            times = off.lambda_grid(K).tolist()
            gname = "logSNR K=%d" % K
            runs = [("dpm-solver-2", "singlestep_fixed 2 dpmsolver", ("dpmsolver", "singlestep_fixed", 2, False), 1),
                    ("dpm-solver-3", "singlestep_fixed 3 dpmsolver", ("dpmsolver", "singlestep_fixed", 3, False), 1),
                    ("dpmpp-2m", "multistep 2 dpmsolver++", ("dpmsolver++", "multistep", 2, False), 1),
                    ("dpmpp-3m", "multistep 3 dpmsolver++", ("dpmsolver++", "multistep", 3, False), 0),
                    ("dpmpp-3m", "multistep 3 dpmsolver++, 2 D2", ("dpmsolver++", "multistep", 3, True), 1)]
            for ours, ref, args, expect in runs:
                b = off.run(mix, x_T, times, *args)
                a = dl.sample(spec, "vp", ours, x_T, times)
                rep.row("vp", spec, gname, ours, "DPM-Solver " + ref, a, b, bool(expect))
            # dpmlab's own lambda grid is the official logSNR grid to rounding
            rep.row("vp", spec, "--grid lambda --steps %d" % K, "dpmpp-3m", "dpmlab on the official logSNR grid",
                    dl.sample(spec, "vp", "dpmpp-3m", x_T, K, "lambda"), dl.sample(spec, "vp", "dpmpp-3m", x_T, times))


def measure_orders(off, dl, spec, mix, x_T):
    """Global error at t = 1e-3 against DOP853 on y = x/s in lambda (dy/dlambda = e^lambda x0, MATH.md §4) with
    rtol 1e-13, and the slope log2(e_K / e_2K) for K = 10, 20, ..., 160 on the logSNR grid."""
    ns = off.ns
    lam0 = float(ns.marginal_lambda(torch.tensor(1.0)))
    lam1 = float(ns.marginal_lambda(torch.tensor(1e-3)))
    n, d = x_T.shape

    def rhs(lam, y):
        t = ns.inverse_lambda(torch.tensor(lam))
        m, s = ns.marginal_alpha(t), ns.marginal_std(t)
        x = torch.tensor(y).reshape(n, d) * s
        x0 = mix.posterior(x, m, s)[0]
        return (math.exp(lam) * x0).reshape(-1).numpy()

    s_T = float(ns.marginal_std(torch.tensor(1.0)))
    sol = solve_ivp(rhs, (lam0, lam1), (x_T / s_T).reshape(-1).numpy(), method="DOP853", rtol=1e-13, atol=1e-13)
    exact = torch.tensor(sol.y[:, -1]).reshape(n, d) * ns.marginal_std(torch.tensor(1e-3))
    methods = [("official 3M (dpmsolver++)", lambda ts: off.run(mix, x_T, ts, "dpmsolver++", "multistep", 3)),
               ("official 3M, D2 doubled", lambda ts: off.run(mix, x_T, ts, "dpmsolver++", "multistep", 3, True)),
               ("dpmlab dpmpp-3m", lambda ts: dl.sample(spec, "vp", "dpmpp-3m", x_T, ts)),
               ("official 2M (dpmsolver++)", lambda ts: off.run(mix, x_T, ts, "dpmsolver++", "multistep", 2)),
               ("official singlestep 3 (dpmsolver)",
                lambda ts: off.run(mix, x_T, ts, "dpmsolver", "singlestep_fixed", 3))]
    Ks = (20, 40, 80, 160, 320, 640, 1280)
    print("\nglobal error max|x_K - x_exact| at t = 1e-3 on the logSNR grid (%s), and log2 of successive ratios" %
          spec.split(":")[0])
    print("%-34s" % "K" + "".join("%11d" % K for K in Ks))
    slopes = {}
    for name, fn in methods:
        errs = [float((fn(off.lambda_grid(K).tolist()) - exact).abs().max()) for K in Ks]
        sl = [math.log2(errs[j] / errs[j + 1]) for j in range(len(errs) - 1)]
        slopes[name] = sl
        print("%-34s" % name + "".join("%11.3e" % e for e in errs))
        print("%-34s" % "  slope" + " " * 11 + "".join("%11.2f" % v for v in sl))
    return slopes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k-diffusion", default=os.environ.get("KDIFFUSION_DIR"))
    ap.add_argument("--dpm-solver", default=os.environ.get("DPM_SOLVER_DIR"))
    ap.add_argument("--dpmlab", default=os.environ.get("DPMLAB", "build/dpmlab"))
    ap.add_argument("--tol", type=float, default=1e-10)
    args = ap.parse_args()
    if not args.k_diffusion or not args.dpm_solver:
        ap.error("need --k-diffusion DIR and --dpm-solver DIR (or KDIFFUSION_DIR, DPM_SOLVER_DIR): checkouts of "
                 "github.com/crowsonkb/k-diffusion and github.com/LuChengTHU/dpm-solver")
    kd = load_kdiffusion(args.k_diffusion)
    off = Official(load_module("dpm_solver_pytorch", os.path.join(args.dpm_solver, "dpm_solver_pytorch.py")))
    gen = torch.Generator().manual_seed(20221207)
    starts = {}
    for spec, (mu, var, w) in MIXTURES.items():
        mix = Mixture(mu, var, w)
        starts[(spec, mix)] = torch.randn(16, mix.d, generator=gen)
    rep = Report(args.tol)
    with tempfile.TemporaryDirectory() as tmp:
        dl = Dpmlab(args.dpmlab, tmp)
        print("max |x_dpmlab - x_ref| / max |x_ref| over 16 start points (pass < %.0e)" % args.tol)
        check_kdiffusion(kd, dl, rep, starts)
        check_dpm_solver(off, dl, rep, starts)
        (spec, mix), x_T = next(iter(starts.items()))
        slopes = measure_orders(off, dl, spec, mix, x_T[:8])
    # the measured orders (asymptotic: the last two ratios) must be the ones docs/samplers.md states
    expect = {"official 3M (dpmsolver++)": 2, "official 3M, D2 doubled": 3, "dpmlab dpmpp-3m": 3,
              "official 2M (dpmsolver++)": 2, "official singlestep 3 (dpmsolver)": 3}
    for name, p in expect.items():
        if not all(abs(v - p) < 0.3 for v in slopes[name][-2:]):
            print("FAIL: %s: slopes %s, expected %d" % (name, ", ".join("%.2f" % v for v in slopes[name]), p))
            rep.failed += 1
    print("\n%s" % ("all agree" if not rep.failed else "%d FAILED" % rep.failed))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
