"""Reverse-mode steady-state gradients (qdiss) vs central finite differences with QuTiP.

    uv run python benchmarks/gradients.py                  # P = 3, 10, 30 on a 5-qubit ring
    uv run python benchmarks/gradients.py --qubits 4 --P 3 10 --repeats 2

Model: a ring of N qubits (n = 2^N), H = Σ_i (hx_i σx_i + hy_i σy_i + hz_i σz_i)
+ Σ_<ij> (Jx_b σx_iσx_j + Jy_b σy_iσy_j + Jz_b σz_iσz_j), L_i = √γ σ⁻_i, with 6N real parameters
(fields, then bond couplings) at fixed pseudo-random nominal values. The figure of merit is
f = Re tr(σx_1σx_2 ρ_ss). The benchmark differentiates f with respect to the first P parameters:

- qdiss: ``jax.grad`` through ``qdiss.steady_state`` (one forward solve + one adjoint solve,
  implicit differentiation), timed after compilation; compile time reported separately;
- QuTiP: central differences (f(θ + h e_p) − f(θ − h e_p))/2h, h = ``--step``, i.e. 2P + 1
  calls of ``qutip.steadystate`` (direct sparse LU), Qobj construction included.

Prints one JSON line per measurement and a table with the time ratio QuTiP-FD / qdiss-grad and
the agreement max_p |g_qdiss − g_FD| / max_p |g_FD|.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

SX = np.array([[0, 1], [1, 0]], dtype=np.complex128)
SY = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
SZ = np.array([[1, 0], [0, -1]], dtype=np.complex128)
SM = np.array([[0, 0], [1, 0]], dtype=np.complex128)  # basis (e, g): σ⁻ = |g⟩⟨e|


def site(op: np.ndarray, i: int, N: int) -> np.ndarray:
    out = np.ones((1, 1), dtype=np.complex128)
    for j in range(N):
        out = np.kron(out, op if j == i else np.eye(2, dtype=np.complex128))
    return out


def ring_model(N: int, gamma: float, seed: int):
    """Constant operators (numpy), nominal parameters and the builder ``build(theta, xp)``."""
    paulis = [[site(s, i, N) for i in range(N)] for s in (SX, SY, SZ)]
    terms = [paulis[a][i] for i in range(N) for a in range(3)]  # fields hx_i, hy_i, hz_i
    bonds = [(i, (i + 1) % N) for i in range(N)]
    terms += [paulis[a][i] @ paulis[a][j] for i, j in bonds for a in range(3)]
    terms = np.stack(terms)
    jumps = np.sqrt(gamma) * np.stack([site(SM, i, N) for i in range(N)])
    rng = np.random.default_rng(seed)
    theta0 = rng.uniform(-1.0, 1.0, size=len(terms))
    observable = paulis[0][0] @ paulis[0][1]

    def build(theta, xp):
        H = xp.einsum("p,pij->ij", theta.astype(terms.dtype), terms)
        return H, jumps

    return terms, jumps, theta0, observable, build


def qutip_fd(build, theta0, P_, observable, dims, step, repeats):
    import qutip

    qdims = [list(dims), list(dims)]

    def f(theta):
        H, Ls = build(theta, np)
        rho = qutip.steadystate(
            qutip.Qobj(H, dims=qdims), [qutip.Qobj(L, dims=qdims) for L in Ls], method="direct"
        )
        return float(np.real(np.trace(observable @ rho.full())))

    times, grad = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        f(theta0)  # the value itself: 2P + 1 solves in all
        g = np.empty(P_)
        for p in range(P_):
            e = np.zeros_like(theta0)
            e[p] = step
            g[p] = (f(theta0 + e) - f(theta0 - e)) / (2 * step)
        times.append(time.perf_counter() - t0)
        grad = g
    return grad, times


def qdiss_grad(build, theta0, P_, observable, dims, solver, repeats):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    import qdiss

    obs = jnp.asarray(observable)
    rest = jnp.asarray(theta0[P_:])

    def fom(x):
        H, Ls = build(jnp.concatenate([x, rest]), jnp)
        sol = qdiss.steady_state(qdiss.Lindbladian(H, jnp.asarray(Ls), dims=dims), solver)
        return jnp.real(jnp.trace(obs @ sol.rho))

    x0 = jnp.asarray(theta0[:P_])
    forward = eqx.filter_jit(fom)
    grad = eqx.filter_jit(jax.grad(fom))
    out = {}
    for name, fn in (("forward", forward), ("grad", grad)):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(x0))
        first = time.perf_counter() - t0
        warm = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            val = jax.block_until_ready(fn(x0))
            warm.append(time.perf_counter() - t0)
        out[name] = (np.asarray(val), first, statistics.median(warm))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qubits", type=int, default=5, help="ring size N (n = 2^N)")
    ap.add_argument("--P", type=int, nargs="*", default=[3, 10, 30], help="parameter counts")
    ap.add_argument("--solvers", nargs="*", default=["DenseLU", "SparseLU", "Krylov"])
    ap.add_argument("--step", type=float, default=1e-5, help="finite-difference step")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the JSON lines here")
    args = ap.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    import qdiss

    N = args.qubits
    _, _, theta0, observable, build = ring_model(N, args.gamma, args.seed)
    dims = (2,) * N
    if max(args.P) > len(theta0):
        ap.error(f"--P at most {len(theta0)} for {N} qubits")
    out_file = open(args.out, "w") if args.out else None  # noqa: SIM115

    def emit(rec):
        line = json.dumps(rec, default=float)
        print(line, flush=True)
        if out_file is not None:
            out_file.write(line + "\n")

    info = P.machine_info()
    info.update(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), model=f"ring-{N}")
    emit(info)
    rows = []
    for P_ in args.P:
        g_fd, fd_times = qutip_fd(build, theta0, P_, observable, dims, args.step, args.repeats)
        fd_s = statistics.median(fd_times)
        emit(dict(kind="qutip-fd", P=P_, n=2**N, solves=2 * P_ + 1, run_s=fd_s))
        scale = np.max(np.abs(g_fd)) or 1.0
        for sname in args.solvers:
            solver = getattr(qdiss, sname)()
            res = qdiss_grad(build, theta0, P_, observable, dims, solver, args.repeats)
            g, g_first, g_run = res["grad"]
            _, f_first, f_run = res["forward"]
            rec = dict(
                kind="qdiss-grad",
                P=P_,
                n=2**N,
                solver=sname,
                forward_s=f_run,
                grad_s=g_run,
                grad_compile_s=max(g_first - g_run, 0.0),
                grad_over_forward=g_run / f_run,
                qutip_fd_s=fd_s,
                speedup_vs_qutip_fd=fd_s / g_run,
                max_rel_diff_vs_fd=float(np.max(np.abs(g - g_fd)) / scale),
                loadavg_1min=round(os.getloadavg()[0], 2),
            )
            emit(rec)
            rows.append(rec)

    print(f"\n## Gradient of Re tr(σx1σx2 ρ_ss), ring of {N} qubits (n = {2**N})\n")
    print(
        "| P | solver | qdiss grad s | grad/forward | compile s | QuTiP FD s (2P+1 solves) | "
        "QuTiP FD / qdiss grad | max rel. diff vs FD |"
    )
    print("|" + "---|" * 8)
    for r in rows:
        print(
            f"| {r['P']} | {r['solver']} | {r['grad_s']:.3g} | {r['grad_over_forward']:.2f} | "
            f"{r['grad_compile_s']:.2g} | {r['qutip_fd_s']:.3g} | "
            f"{r['speedup_vs_qutip_fd']:.1f}× | {r['max_rel_diff_vs_fd']:.1e} |"
        )
    if out_file is not None:
        out_file.close()


if __name__ == "__main__":
    main()
