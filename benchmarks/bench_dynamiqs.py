"""Where dynamiqs does a job qdiss does itself (issue 13 §5): measured in the same run.

    uv run python benchmarks/bench_dynamiqs.py            # the default (a few minutes on 2 cores)
    uv run python benchmarks/bench_dynamiqs.py --quick    # smaller sizes

1. **Linear Lindblad trajectories**: ``qdiss.evolve(L, ρ₀, times)`` (diffrax Tsit5 on the real
   view of ρ, L applied matrix-free) against ``dq.mesolve(H, jump_ops, ρ₀, times)`` (dynamiqs'
   Tsit5) at the same tolerances, on a driven damped cavity and on two coupled Kerr
   oscillators: compile (first call) and warm run times (median of ``--repeats``, the two codes
   timed alternately so that a shared machine's load weighs on both alike), the error of
   the final state against the propagator expm(S·t)vec(ρ₀) of the dense superoperator, and
   the reverse-mode gradient of a final expectation value.
2. **Operator construction** (``dq.destroy``, ``dq.tensor``): the two-mode annihilation operators
   of ``qdiss.models.kerr`` built with NumPy (as the models do) and with dynamiqs: equality, the
   time per call, and the import time that using dynamiqs in the models would add to
   ``import qdiss`` (qdiss does not import dynamiqs today), measured in fresh subprocesses.

One JSON line per measurement, then a table. Timings include no host transfer
(``block_until_ready``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)
import dynamiqs as dq  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402

import qdiss  # noqa: E402


def _destroy(n):
    return np.diag(np.sqrt(np.arange(1, n, dtype=float)), 1).astype(complex)


def cavity(n):
    a = _destroy(n)
    H = 0.4 * a.conj().T @ a + 0.8 * (a + a.conj().T)
    return "cavity", H, [np.sqrt(1.0) * a], a.conj().T @ a, (n,)


def kerr_pair(cutoff):
    d, eye = _destroy(cutoff), np.eye(cutoff)
    a, b = np.kron(d, eye), np.kron(eye, d)
    na, nb = a.conj().T @ a, b.conj().T @ b
    H = (
        0.3 * (na + nb)
        + 0.1 * (na @ na + nb @ nb)
        + 0.2 * (a.conj().T @ b + b.conj().T @ a)
        + 0.5 * (a + a.conj().T)
    )
    return "kerr-pair", H, [a, np.sqrt(0.8) * b], na + nb, (cutoff, cutoff)


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _reference_final(H, jumps, rho0, t):
    n = H.shape[0]
    eye = np.eye(n)
    S = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for op in jumps:
        loss = op.conj().T @ op
        S = S + np.kron(op, op.conj()) - 0.5 * (np.kron(loss, eye) + np.kron(eye, loss.T))
    return (scipy.linalg.expm(S * t) @ rho0.reshape(-1)).reshape(n, n)


def trajectories(problem, t_final, repeats, rtol, atol):
    name, H, jumps, observable, dims = problem
    n = H.shape[0]
    rho0 = np.zeros((n, n), complex)
    rho0[0, 0] = 1.0
    times = jnp.linspace(0.0, t_final, 11)
    reference = _reference_final(H, jumps, rho0, t_final)
    out = []

    def run_qdiss(drive):
        L = qdiss.Lindbladian(jnp.asarray(H) + drive * jnp.asarray(observable), jnp.asarray(jumps))
        sol = qdiss.evolve(L, jnp.asarray(rho0), times, rtol=rtol, atol=atol, max_steps=100_000)
        return sol.states[-1]

    method = dq.method.Tsit5(rtol=rtol, atol=atol, max_steps=100_000)
    Hq = dq.asqarray(H, dims=dims)
    obsq = dq.asqarray(observable, dims=dims)
    jumpsq = [dq.asqarray(op, dims=dims) for op in jumps]
    rho0q = dq.asqarray(rho0, dims=dims)

    def run_dq(drive):
        res = dq.mesolve(
            Hq + drive * obsq, jumpsq, rho0q, times, method=method, progress_meter=False
        )
        return res.states[-1].to_jax()

    variants = (("qdiss.evolve", run_qdiss), ("dq.mesolve", run_dq))
    compiled = {}
    for label, fn in variants:
        jitted = jax.jit(fn)
        start = time.perf_counter()
        final = jax.block_until_ready(jitted(0.0))
        first = time.perf_counter() - start

        def loss(drive, fn=fn):
            return jnp.real(jnp.trace(jnp.asarray(observable) @ fn(drive)))

        grad = jax.jit(jax.grad(loss))
        start = time.perf_counter()
        g = jax.block_until_ready(grad(0.0))
        grad_first = time.perf_counter() - start
        error = float(np.max(np.abs(np.asarray(final) - reference)))
        compiled[label] = (jitted, grad, first, grad_first, error, float(g))
    # warm timings interleaved (qdiss, dynamiqs, qdiss, ...) so that a shared machine's load
    # weighs on both alike
    warm = {label: [] for label, _ in variants}
    grad_warm = {label: [] for label, _ in variants}
    for _ in range(repeats):
        for label, _ in variants:
            jitted, grad = compiled[label][:2]
            warm[label].append(_median_time(lambda jitted=jitted: jitted(0.0), 1))
            grad_warm[label].append(_median_time(lambda grad=grad: grad(0.0), 1))
    for label, _ in variants:
        _, _, first, grad_first, error, g = compiled[label]
        record = dict(
            kind="trajectory",
            problem=name,
            n=n,
            code=label,
            first_s=first,
            warm_s=statistics.median(warm[label]),
            max_error=error,
            grad_first_s=grad_first,
            grad_warm_s=statistics.median(grad_warm[label]),
            grad=g,
            rtol=rtol,
            atol=atol,
            device=str(jax.devices()[0].platform),
        )
        print(json.dumps(record), flush=True)
        out.append(record)
    return out


def _import_time(statement, repeats):
    times = []
    for _ in range(repeats):
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def operators(cutoff, repeats):
    from qdiss.models.kerr import mode_operators

    a, b = mode_operators(cutoff)
    aq, bq = dq.destroy(cutoff, cutoff)
    same = bool(
        np.allclose(np.asarray(a), np.asarray(aq.to_jax()))
        and np.allclose(np.asarray(b), np.asarray(bq.to_jax()))
    )
    numpy_s = _median_time(lambda: mode_operators(cutoff), 5 * repeats)
    dq_s = _median_time(lambda: tuple(x.to_jax() for x in dq.destroy(cutoff, cutoff)), 5 * repeats)
    records = [
        dict(
            kind="operators", code="numpy (qdiss.models)", cutoff=cutoff, call_s=numpy_s, equal=same
        ),
        dict(kind="operators", code="dq.destroy", cutoff=cutoff, call_s=dq_s, equal=same),
    ]
    base = _import_time("import qdiss", repeats)
    extra = _import_time("import qdiss; t = time.perf_counter(); import dynamiqs", repeats)
    loaded = _import_time("import qdiss, sys; assert 'dynamiqs' not in sys.modules", 1)
    records.append(dict(kind="import", code="import qdiss", seconds=base))
    records.append(
        dict(kind="import", code="import dynamiqs (after qdiss)", seconds=extra, check=loaded)
    )
    for record in records:
        print(json.dumps(record), flush=True)
    return records


def table(records):
    lines = [
        "",
        "| problem | n | code | first call (s) | warm (s) | max error | grad first (s) "
        "| grad warm (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if r["kind"] == "trajectory":
            lines.append(
                f"| {r['problem']} | {r['n']} | {r['code']} | {r['first_s']:.2f} | "
                f"{r['warm_s']:.3f} | {r['max_error']:.1e} | {r['grad_first_s']:.2f} | "
                f"{r['grad_warm_s']:.3f} |"
            )
    lines += ["", "| operators / import | seconds |", "|---|---|"]
    for r in records:
        if r["kind"] == "operators":
            lines.append(
                f"| {r['code']}, cutoff {r['cutoff']} (equal: {r['equal']}) | {r['call_s']:.2e} |"
            )
        elif r["kind"] == "import":
            lines.append(f"| `{r['code']}` (fresh process) | {r['seconds']:.2f} |")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-10)
    args = parser.parse_args(argv)
    problems = [cavity(10), kerr_pair(4)] if args.quick else [cavity(30), kerr_pair(7)]
    records = []
    for problem in problems:
        records += trajectories(problem, 10.0, args.repeats, args.rtol, args.atol)
    records += operators(8, args.repeats)
    table(records)


if __name__ == "__main__":
    main()
