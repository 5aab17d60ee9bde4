"""Task ``spectrum``: the emission spectrum of the k-th dissipation channel,
S(ω) = 2 Re ∫₀^∞ e^{−iωτ}(⟨L_k†(τ)L_k(0)⟩ − ⟨L_k†⟩⟨L_k⟩) dτ (:func:`qdiss.spectrum`, QuTiP's
convention), on a frequency grid, from resolvent solves of the study's model at its parameters.

Files: ``<task>.npz`` (``omega``, ``spectrum``, ``status`` per frequency) and ``<task>.json``.
"""

from __future__ import annotations

import numpy as np

from ._build import build_model
from ._context import Context
from ._store import load_npz, save_results


def run_spectrum(ctx: Context, task) -> bool:
    """Run (or load) the task; print its summary. Returns False if a resolvent solve failed."""
    params = ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    path = ctx.results.file(f"{task.name}.npz")
    saved = load_npz(path)
    if saved is not None and str(saved.get("fingerprint", "")) != fp:
        ctx.results.refuse_mismatch(task.name, "a spectrum")
    grid = task.omega
    ctx.say(
        f"\n[{task.name}] emission spectrum of jump operator {task.jump} of "
        f"{ctx.study.model.key}, ω in [{grid.start:g}, {grid.stop:g}] ({grid.num} points)"
    )
    if saved is None:
        saved = _compute(ctx, task, params, fp)
    else:
        ctx.say(f"  already computed: {path}")
    ok = saved["status"] == 0
    ctx.say(f"  {int(ok.sum())}/{ok.size} frequencies successful")
    if ok.any():
        omega, spectrum = saved["omega"][ok], saved["spectrum"][ok]
        i = int(np.argmax(spectrum))
        ctx.say(f"  max S(ω) = {spectrum[i]:.6g} at ω = {omega[i]:.6g}")
    ctx.say(f"  results: {path}")
    return bool(ok.all())


def _compute(ctx: Context, task, params: dict, fp: str) -> dict:
    import qdiss

    from .._solution import result_codes, result_message, result_name

    _, L = build_model(ctx.study.model, params, {}, dtype=ctx.dtype)
    jump = L.jump_ops[task.jump]
    omega = np.linspace(task.omega.start, task.omega.stop, task.omega.num)
    steady = qdiss.steady_state(L, ctx.solver, throw=False)
    status = np.full(omega.shape, int(result_codes(steady.result)), dtype=np.int64)
    spectrum = np.full(omega.shape, np.nan)
    if steady.status == "successful":  # else every frequency carries the steady state's code
        sol = qdiss.spectrum(L, omega, jump.conj().T, jump, rho_ss=steady.rho, throw=False)
        status = np.broadcast_to(np.asarray(result_codes(sol.result)), omega.shape)
        spectrum = np.where(status == 0, np.asarray(sol.spectrum), np.nan)
    else:
        ctx.say(f"  the steady state FAILED: {steady.message}")
    arrays = {"fingerprint": np.asarray(fp), "omega": omega, "status": status}
    arrays |= {"spectrum": spectrum}
    codes = sorted({int(c) for c in np.unique(status)})
    save_results(
        ctx,
        task,
        params,
        fp,
        True,
        arrays,
        jump=task.jump,
        status_codes={str(c): result_name(c) for c in codes},
        status_messages={result_name(c): result_message(c) for c in codes},
    )
    return arrays
