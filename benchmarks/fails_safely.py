"""Does any qdiss solver return a WRONG steady state marked ``successful``?

    uv run python benchmarks/fails_safely.py               # 300 problems (~5 min on 2 cores)
    uv run python benchmarks/fails_safely.py --count 40    # quick
    uv run python benchmarks/fails_safely.py --sizes 3 4 5 6 7 8 9 10 --count 800 --out f.jsonl

Hard random problems (n = 3..10), each solved with ``throw=False`` by every qdiss solver (default
configuration, plus tight-iteration-budget variants of the iterative ones), in complex128 and in
complex64. A result is WRONG when its relative Frobenius distance to the reference,
‖ρ − ρ_ref‖_F/‖ρ_ref‖_F, exceeds ``--tol64`` (1e-6) for complex128 runs or ``--tol32`` (1e-2) for
complex64 runs. The reference is the null vector of the float64 dense superoperator (numpy SVD,
built here independently of qdiss); problems whose reference is not trustworthy (second-smallest
singular value below ``--gap-min`` × the largest, i.e. a numerically near-degenerate null space)
are skipped for the correctness count (the codes the solvers return on them are still tallied).

Problem families:

- ``random``: generic random Lindbladians (well conditioned; the baseline for tight budgets).
- ``near_unique``: two decoupled blocks (each with its own steady state; a 1-level block is a dark
  state) weakly coupled with strength ε ∈ [1e-9, 1e-2] through H, jumps, or both; random basis.
- ``weak_dissipation``: H of scale 1, every jump rate γ ∈ [1e-8, 1e-3] (rate ratio 1 : γ).
- ``fast_slow``: fast (rate 1) decay of an excited block into a dark ground manifold, slow
  (rate γ ∈ [1e-8, 1e-3]) processes within and out of it decide the steady state; random basis.

Solver variants run under ``jax.vmap`` over all problems of one size (one compilation per solver,
size and dtype). Prints one JSON line per solver variant and a table; ``--out`` writes one JSON
line per problem with every solver's code and error.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections import Counter, defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

FAMILIES = ("random", "near_unique", "weak_dissipation", "fast_slow")


# --- random problems (numpy) -----------------------------------------------------------------


def _cnormal(rng, shape):
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)) / np.sqrt(2)


def _herm(rng, m):
    x = _cnormal(rng, (m, m))
    return (x + x.conj().T) / (2 * np.sqrt(m))


def _unitary(rng, n):
    q, r = np.linalg.qr(_cnormal(rng, (n, n)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _embed(block, rows, cols, n):
    out = np.zeros((n, n), np.complex128)
    out[np.ix_(rows, cols)] = block
    return out


def make_problem(family: str, n: int, seed: int) -> dict:
    """H (n, n), jump ops (k, n, n), and the family's parameters."""
    rng = np.random.default_rng(seed)
    info: dict = {}
    jumps: list[np.ndarray] = []
    if family == "random":
        H = _herm(rng, n)
        for _ in range(rng.integers(1, 4)):
            jumps.append(_cnormal(rng, (n, n)) / np.sqrt(n))
        rotate = False
    elif family == "near_unique":
        m = int(rng.integers(1, n))  # block A: 0..m-1, block B: m..n-1
        A, B = np.arange(m), np.arange(m, n)
        eps = float(10 ** rng.uniform(-9, -2))
        kind = str(rng.choice(["hamiltonian", "jump", "both"]))
        H = _embed(_herm(rng, m), A, A, n) + _embed(_herm(rng, n - m), B, B, n)
        for blk in (A, B):
            if len(blk) > 1:
                for _ in range(rng.integers(1, 3)):
                    jumps.append(_embed(_cnormal(rng, (len(blk), len(blk))), blk, blk, n))
        if kind in ("hamiltonian", "both"):
            V = _embed(eps * _cnormal(rng, (m, n - m)), A, B, n)
            H = H + V + V.conj().T
        if kind in ("jump", "both"):
            jumps.append(np.sqrt(eps) * _embed(_cnormal(rng, (m, n - m)), A, B, n))  # B -> A
            if rng.random() < 0.5:
                jumps.append(np.sqrt(eps) * _embed(_cnormal(rng, (n - m, m)), B, A, n))
        info = dict(eps=eps, coupling=kind, block=m)
        rotate = True
    elif family == "weak_dissipation":
        gamma = float(10 ** rng.uniform(-8, -3))
        H = _herm(rng, n)
        for _ in range(rng.integers(1, 4)):
            jumps.append(np.sqrt(gamma) * _cnormal(rng, (n, n)) / np.sqrt(n))
        info = dict(gamma=gamma)
        rotate = False
    elif family == "fast_slow":
        d = int(rng.integers(2, n)) if n > 2 else 1  # ground manifold 0..d-1 (dark)
        G, E = np.arange(d), np.arange(d, n)
        gamma = float(10 ** rng.uniform(-8, -3))
        H = _embed(_herm(rng, n - d), E, E, n)
        H = H + float(rng.choice([0.0, gamma])) * _embed(_herm(rng, d), G, G, n)
        for _ in range(rng.integers(1, 3)):  # fast decay E -> G
            jumps.append(_embed(_cnormal(rng, (d, n - d)), G, E, n))
        for _ in range(rng.integers(1, 3)):  # slow mixing within G
            jumps.append(np.sqrt(gamma) * _embed(_cnormal(rng, (d, d)), G, G, n))
        if rng.random() < 0.5:  # slow pumping G -> E
            jumps.append(np.sqrt(gamma) * _embed(_cnormal(rng, (n - d, d)), E, G, n))
        info = dict(gamma=gamma, ground=d)
        rotate = True
    else:
        raise ValueError(family)
    Ls = np.stack(jumps) if jumps else np.zeros((1, n, n), np.complex128)
    if rotate:
        U = _unitary(rng, n)
        H = U @ H @ U.conj().T
        Ls = np.einsum("ij,kjl,ml->kim", U, Ls, U.conj())
    H = (H + H.conj().T) / 2
    return dict(family=family, n=n, seed=seed, H=H, Ls=Ls, **info)


def reference(H, Ls, gap_min: float, ref_tol: float) -> dict:
    """Reference steady state, computed independently of qdiss.

    1. Null vector of the float64 dense superoperator (column stacking, numpy SVD). The ratio
       ``gap`` of the second-smallest to the largest singular value measures how close the null
       space is to two-dimensional: any float64 computation of ρ (this one included) has an error
       of about eps/gap, because rounding the problem's data already moves ρ that much.
    2. Iterative refinement of the trace-augmented system (L with its first row replaced by the
       trace) with residuals in extended precision (numpy clongdouble, eps ≈ 1e-19), so that the
       reference error is ≈ 1e-19·cond, not 1e-16·cond.

    Trusted iff gap ≥ ``gap_min`` (default 1e-8: the problem itself is then defined to ~1e-8 by
    its float64 data, well inside the 1e-6 tolerance), the refinement converged (last correction
    below 1e-14), the SVD and refined states agree to ``ref_tol`` and ρ_ref is positive
    semidefinite to 1e-9.
    """
    n = H.shape[0]
    sup = P.sparse_liouvillian_colstack(H, Ls).toarray()
    _, s, vh = np.linalg.svd(sup)
    rho_svd = vh[-1].conj().reshape(n, n, order="F")
    rho_svd = rho_svd / np.trace(rho_svd)
    gap = float(s[-2] / s[0])

    # trace-augmented system: row 0 of L replaced by tr(ρ) = Σ_i ρ_ii, right-hand side e_0
    aug = sup.copy()
    aug[0, :] = 0
    aug[0, np.arange(n) * (n + 1)] = s[0] / n
    b = np.zeros(n * n, np.complex128)
    b[0] = s[0] / n
    aug_ld, b_ld = aug.astype(np.clongdouble), b.astype(np.clongdouble)
    converged = False
    try:
        x = np.linalg.solve(aug, b).astype(np.clongdouble)
        for _ in range(10):
            r = b_ld - aug_ld @ x
            dx = np.linalg.solve(aug, r.astype(np.complex128))
            x = x + dx.astype(np.clongdouble)
            if np.linalg.norm(dx) <= 1e-14 * float(np.linalg.norm(x.astype(np.complex128))):
                converged = True
                break
        rho = x.astype(np.complex128).reshape(n, n, order="F")
        rho = rho / np.trace(rho)
    except np.linalg.LinAlgError:
        rho = rho_svd
    rho = (rho + rho.conj().T) / 2
    agree = float(np.linalg.norm(rho - rho_svd) / np.linalg.norm(rho))
    min_eig = float(np.linalg.eigvalsh(rho)[0])
    trusted = bool(gap >= gap_min and converged and agree <= ref_tol and min_eig > -1e-9)
    return dict(rho=rho, gap=gap, svd_vs_refined=agree, min_eig=min_eig, trusted=trusted)


# --- solver variants ---------------------------------------------------------------------------


def solver_variants(qdiss, n: int, evolve_max_steps: int | None) -> dict[str, object]:
    """Every exported solver (default configuration) plus tight-budget variants. The tight
    GMRES restart length cycles through 2..5 with the problem size (one compilation per size).

    ``evolve_max_steps`` caps Evolve's ODE steps (its default, 10⁵, makes a vmap-ed batch of
    hard problems run for minutes: every member waits for the slowest); the capped variant is
    named ``Evolve[max_steps=N]``."""
    base = P.available_solvers(qdiss)
    if "Evolve" in base and evolve_max_steps is not None:
        evolve = base["Evolve"]
        if evolve_max_steps < evolve.max_steps:
            capped = dataclasses.replace(evolve, max_steps=evolve_max_steps)
            base = {
                (f"Evolve[max_steps={evolve_max_steps}]" if k == "Evolve" else k): (
                    capped if k == "Evolve" else v
                )
                for k, v in base.items()
            }
    out = dict(base)
    restart = 2 + n % 4
    for name, solver in base.items():
        if name == "Krylov":
            out["Krylov[tight]"] = dataclasses.replace(solver, max_steps=1, restart=restart)
        elif name == "Krylov-bicgstab":
            out["Krylov-bicgstab[tight]"] = dataclasses.replace(solver, max_steps=2)
        elif "max_steps" in {f.name for f in dataclasses.fields(solver)}:
            out[f"{name.split('[')[0]}[tight]"] = dataclasses.replace(solver, max_steps=3)
    return out


def tight_description(name: str, n: int) -> str | None:
    if name == "Krylov[tight]":
        return "max_steps=1, restart = 2 + n mod 4 (2..5 across sizes)"
    if name == "Krylov-bicgstab[tight]":
        return "max_steps=2"
    if name.endswith("[tight]"):
        return "max_steps=3"
    return None


def solve_batch(solver, H, Ls, dtype):
    """vmap-ed steady_state over a batch; returns (rho, codes) as numpy arrays."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    import qdiss

    @eqx.filter_jit
    def run(H, Ls, solver):
        def one(h, ls):
            sol = qdiss.steady_state(qdiss.Lindbladian(h, ls), solver, throw=False)
            return sol.rho, sol.result._value, sol.stats.error_estimate

        return jax.vmap(one)(H, Ls)

    rho, codes, err = run(jnp.asarray(H, dtype), jnp.asarray(Ls, dtype), solver)
    return np.asarray(rho, np.complex128), np.asarray(codes), np.asarray(err, np.float64)


# --- main ----------------------------------------------------------------------------------------


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=300, help="number of random problems")
    ap.add_argument("--sizes", type=int, nargs="*", default=[3, 5, 7, 10])
    ap.add_argument("--families", nargs="*", default=list(FAMILIES))
    ap.add_argument("--solvers", nargs="*", default=None, help="variant names (default: all)")
    ap.add_argument("--dtypes", nargs="*", default=["complex128", "complex64"])
    ap.add_argument("--tol64", type=float, default=1e-6)
    ap.add_argument("--tol32", type=float, default=1e-2)
    ap.add_argument(
        "--gap-min",
        type=float,
        default=1e-8,
        help="skip problems whose σ_{n²-1}/σ_1 is below this (reference untrusted)",
    )
    ap.add_argument(
        "--ref-tol",
        type=float,
        default=1e-6,
        help="skip problems whose SVD and refined references differ by more",
    )
    ap.add_argument(
        "--evolve-max-steps",
        type=int,
        default=5000,
        help="cap on Evolve's ODE steps (0: its own default, 10⁵)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write one JSON line per problem here")
    args = ap.parse_args(argv)
    if args.evolve_max_steps is not None and args.evolve_max_steps <= 0:
        args.evolve_max_steps = None

    import jax

    jax.config.update("jax_enable_x64", True)
    # One run of this script (thousands of vmapped solves, SparseLU's host callbacks among them)
    # hung once with every XLA CPU thread idle: a known XLA CPU async-dispatch deadlock
    # (jax-ml/jax#25861). Synchronous dispatch avoids it and changes no result.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    import jax.numpy as jnp

    import qdiss
    from qdiss._solution import result_name

    t_start = time.perf_counter()
    info = P.machine_info()
    info.update(
        kind="machine",
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        count=args.count,
        sizes=args.sizes,
        tol64=args.tol64,
        tol32=args.tol32,
        gap_min=args.gap_min,
    )
    print(json.dumps(info, default=float), flush=True)

    # problems: round-robin over families, sizes drawn at random
    rng = np.random.default_rng(args.seed)
    problems = []
    for i in range(args.count):
        family = args.families[i % len(args.families)]
        n = int(rng.choice(args.sizes))
        if family == "fast_slow" and n < 3:
            n = 3
        prob = make_problem(family, n, seed=args.seed * 100_000 + i)
        prob["id"] = i
        ref = reference(prob["H"], prob["Ls"], args.gap_min, args.ref_tol)
        prob["ref"] = ref
        problems.append(prob)
    by_size: dict[int, list[dict]] = defaultdict(list)
    for prob in problems:
        by_size[prob["n"]].append(prob)

    # results[variant][dtype] -> list of (problem, code, rel_err, err_estimate)
    results: dict[tuple[str, str], list] = defaultdict(list)
    errors: dict[tuple[str, str], list[str]] = defaultdict(list)
    for n, batch in sorted(by_size.items()):
        kmax = max(p["Ls"].shape[0] for p in batch)
        H = np.stack([p["H"] for p in batch])
        Ls = np.zeros((len(batch), kmax, n, n), np.complex128)  # zero jump ops change nothing
        for b, p in enumerate(batch):
            Ls[b, : p["Ls"].shape[0]] = p["Ls"]
        variants = solver_variants(qdiss, n, args.evolve_max_steps)
        if args.solvers is not None:
            variants = {k: v for k, v in variants.items() if k in args.solvers}
        for name, solver in variants.items():
            for dname in args.dtypes:
                t0 = time.perf_counter()
                try:
                    rho, codes, err = solve_batch(solver, H, Ls, jnp.dtype(dname))
                except Exception as e:
                    msg = f"n={n}: {type(e).__name__}: {str(e).splitlines()[0][:200]}"
                    errors[(name, dname)].append(msg)
                    print(f"# {name} {dname} {msg}", file=sys.stderr, flush=True)
                    continue
                elapsed = time.perf_counter() - t0
                for b, p in enumerate(batch):
                    ref = p["ref"]["rho"]
                    with np.errstate(invalid="ignore"):
                        rel = float(np.linalg.norm(rho[b] - ref) / np.linalg.norm(ref))
                    if not np.isfinite(rel):
                        rel = float("inf")
                    results[(name, dname)].append((p, int(codes[b]), rel, float(err[b])))
                print(
                    f"# n={n} {name} {dname}: {len(batch)} problems in {elapsed:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )

    # --- per-problem lines
    if args.out:
        per_problem: dict[int, dict] = {}
        for (name, dname), rows in results.items():
            for p, code, rel, err in rows:
                rec = per_problem.setdefault(
                    p["id"],
                    {
                        "kind": "problem",
                        "id": p["id"],
                        "family": p["family"],
                        "n": p["n"],
                        "seed": p["seed"],
                        "ref_gap": p["ref"]["gap"],
                        "ref_trusted": p["ref"]["trusted"],
                        **{
                            k: p[k]
                            for k in ("eps", "coupling", "gamma", "ground", "block")
                            if k in p
                        },
                        "results": {},
                    },
                )
                rec["results"][f"{name}/{dname}"] = [result_name(code), rel, err]
        with open(args.out, "w") as f:
            for rec in per_problem.values():
                f.write(json.dumps(rec, default=float) + "\n")

    # --- per-solver summary
    summary = []
    skipped = sum(not p["ref"]["trusted"] for p in problems)
    for (name, dname), rows in results.items():
        tol = args.tol64 if dname == "complex128" else args.tol32
        trusted = [r for r in rows if r[0]["ref"]["trusted"]]
        ok = [r for r in trusted if r[1] == 0]
        wrong_ok = [r for r in ok if not r[2] <= tol]
        flagged = [r for r in trusted if r[1] != 0]
        false_alarm = [r for r in flagged if r[2] <= tol]
        codes = Counter(result_name(r[1]) for r in trusted)
        codes_untrusted = Counter(result_name(r[1]) for r in rows if not r[0]["ref"]["trusted"])
        fam_wrong = Counter(r[0]["family"] for r in wrong_ok)
        fam_flag = Counter(r[0]["family"] for r in flagged)
        rec = {
            "kind": "solver",
            "solver": name,
            "dtype": dname,
            "tolerance": tol,
            "problems": len(trusted),
            "successful": len(ok),
            "flagged": len(flagged),
            "wrong_but_successful": len(wrong_ok),
            "flagged_but_correct": len(false_alarm),
            "codes": dict(codes),
            "codes_on_skipped": dict(codes_untrusted),
            "flagged_by_family": dict(fam_flag),
            "wrong_by_family": dict(fam_wrong),
            "worst_successful_error": max((r[2] for r in ok), default=None),
            "errors": errors.get((name, dname), []),
        }
        if wrong_ok:
            worst = max(wrong_ok, key=lambda r: r[2])
            rec["worst_wrong"] = {
                "id": worst[0]["id"],
                "family": worst[0]["family"],
                "n": worst[0]["n"],
                "rel_error": worst[2],
                "error_estimate": worst[3],
                "ref_gap": worst[0]["ref"]["gap"],
            }
        summary.append(rec)
        print(json.dumps(rec, default=float), flush=True)
    for (name, dname), errs in errors.items():
        if (name, dname) not in results:
            rec = {"kind": "solver", "solver": name, "dtype": dname, "errors": errs}
            summary.append(rec)
            print(json.dumps(rec), flush=True)

    elapsed = time.perf_counter() - t_start
    fam_counts = Counter(p["family"] for p in problems)
    fam_skipped = Counter(p["family"] for p in problems if not p["ref"]["trusted"])
    print(
        f"\n{len(problems)} problems ({dict(fam_counts)}), sizes {sorted(by_size)}; "
        f"{skipped} skipped for the correctness count because the reference is not "
        f"trustworthy (null space near-degenerate, σ₂/σ₁ < {args.gap_min:g}, or the SVD and "
        f"refined references disagree): {dict(fam_skipped)}. "
        f"Wrong = relative Frobenius error > {args.tol64:g} (complex128) / {args.tol32:g} "
        f"(complex64). Total {elapsed:.0f} s.\n"
    )
    print(
        "| solver | dtype | problems | successful | flagged | wrong but successful | "
        "flagged but correct | codes (trusted problems) | codes (skipped problems) |"
    )
    print("|" + "---|" * 9)
    for rec in summary:
        if "problems" not in rec:
            print(f"| {rec['solver']} | {rec['dtype']} | error: {rec['errors'][0]} |")
            continue
        codes = ", ".join(f"{k or 'successful'} {v}" for k, v in sorted(rec["codes"].items()))
        cu = ", ".join(f"{k} {v}" for k, v in sorted(rec["codes_on_skipped"].items()))
        print(
            f"| {rec['solver']} | {rec['dtype']} | {rec['problems']} | {rec['successful']} | "
            f"{rec['flagged']} | **{rec['wrong_but_successful']}** | "
            f"{rec['flagged_but_correct']} | {codes} | {cu} |"
        )
    names = {r["solver"] for r in summary}
    notes = [f"{k}: {tight_description(k, 3)}" for k in sorted(names) if k.endswith("[tight]")]
    if notes:
        print(f"\nTight-budget variants: {'; '.join(notes)}.")


if __name__ == "__main__":
    main()
