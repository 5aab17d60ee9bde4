"""One Krylov steady-state solve sharded over 4 forced host devices (issue 14 §5).

``qdiss.steady_state(L, qdiss.Krylov(), devices=4)`` splits the GMRES vectors of one solve along
the leading state axis (``qdiss/_solver/_sharding.py``). A subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (set before jax is imported, as in
tests/test_sweep_multihost.py) solves, under ``jit``, the value and gradient of a figure of merit
on one device and on four, and returns them as JSON with the collectives of the compiled
sharded program. Checked here:

- a dense Lindbladian (driven Kerr cavity, n = 10: rows padded to 12) against the NumPy null
  space of its superoperator, and its gradient against central differences of that reference;
- a permutation-invariant one (N = 8: B = 5 blocks, padded to 8) against the full 2^N
  Lindbladian built in NumPy (``test_permutation.full_arrays``; its 4^8-unknown steady state is
  too slow to factorise in a test): L_full(ρ) = 0, tr ρ = 1, ρ ⪰ 0, and the sharded forward
  derivative ρ̇ = dρ/da solves the tangent equation L_full ρ̇ + (dL_full/da) ρ = 0, tr ρ̇ = 0
  (L_full linear in a, so dL_full/da = L_full(a + 1) − L_full(a) exactly); the reverse-mode
  gradient d⟨O⟩/da equals tr(O ρ̇);
- sharded = one device to round-off (ρ, gradient, result code, steps, residual);
- the compiled HLO: inner products as scalar ``all-reduce``\\ s inside the GMRES loops, the
  basis never gathered; no state-sized ``all-gather`` in a loop for the block state, exactly one
  state (ρ, for the products over the split row axis) for the dense one;
- bad requests (more devices than blocks, a solver other than Krylov) raise ``ValueError``.
"""

import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest
from test_permutation import _collective, full_action, full_arrays, random_params

import qdiss

TIMEOUT_S = 600
DEVICES = 4
N_DENSE = 10  # rows padded to 12 over 4 devices
N_SPINS = 8  # B = 5 blocks, padded to 8
A0 = 0.3  # the parameter differentiated
STEP = 1e-4  # central differences of the references


# ------------------------------------------------------------------------------------ problems


def dense_arrays(a):
    """Driven Kerr cavity: H = a Δ-detuning n + F(b + b†) + K b†²b², jumps √γ b and √κ_φ n."""
    b = np.diag(np.sqrt(np.arange(1.0, N_DENSE)), 1).astype(complex)
    num = b.conj().T @ b
    H = 0.4 * a * num + 0.6 * (b + b.conj().T) + 0.1 * num @ (num - np.eye(N_DENSE))
    return H, [np.sqrt(1.3) * b, np.sqrt(0.2) * num]


def dense_observable():
    b = np.diag(np.sqrt(np.arange(1.0, N_DENSE)), 1).astype(complex)
    return b.conj().T @ b + 0.3 * (b + b.conj().T)


def dense_lindbladian(a):
    H, ops = dense_arrays(1.0)
    H2, _ = dense_arrays(0.0)
    # H depends on `a` linearly: H(a) = H(0) + a (H(1) − H(0)), traced in a
    H = jnp.asarray(H2) + a.astype(complex) * jnp.asarray(H - H2)
    return qdiss.Lindbladian(H, jnp.asarray(np.stack(ops)))


def dense_reference(a):
    """The NumPy null space of the row-major superoperator, normalised to unit trace."""
    H, ops = dense_arrays(a)
    n = N_DENSE
    eye = np.eye(n)
    s = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for op in ops:
        k = op.conj().T @ op
        s += np.kron(op, op.conj()) - 0.5 * (np.kron(k, eye) + np.kron(eye, k.T))
    _, _, vh = np.linalg.svd(s)
    rho = vh[-1].conj().reshape(n, n)
    return rho / np.trace(rho)


def pi_params(a):
    params = random_params(3)
    params["quadratic"] = np.diag([1.0 + a, 1.0 - a, 0.5]) / N_SPINS
    return params


def pi_lindbladian(a):
    params = {k: jnp.asarray(v) for k, v in pi_params(0.0).items()}
    params["quadratic"] = jnp.diag(jnp.stack([1.0 + a, 1.0 - a, 0.5 + 0 * a])) / N_SPINS
    return qdiss.PermutationInvariantLindbladian(N_SPINS, **params)


def pi_observable():
    """O = J_z + J_x² on the full 2^N space."""
    jx, _, jz = _collective(N_SPINS)
    return jz + jx @ jx


def expect(op, rho):
    return float(np.real(np.trace(op @ rho)))


# ------------------------------------------------------------------------------------ the worker

WORKER = textwrap.dedent(
    r"""
    import json, re, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    import jax.numpy as jnp
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    import qdiss
    from qdiss._lindbladian.permutation.lindbladian import pi_to_dense
    from qdiss._solution import result_codes
    import test_sharded_solve as t

    problem = sys.argv[1]
    assert len(jax.devices()) == t.DEVICES, jax.devices()
    if problem == "dense":
        build, observable = t.dense_lindbladian, jnp.asarray(t.dense_observable())
        to_full = lambda rho: rho
    else:
        build, observable = t.pi_lindbladian, jnp.asarray(t.pi_observable())
        to_full = pi_to_dense

    def collectives(text):
        # (op, number of elements, inside a while loop?) for every collective; a computation
        # is inside a loop when it is reachable from a while body in the call graph
        comps, calls, name = {}, {}, None
        for line in text.splitlines():
            if line and not line.startswith(" ") and line.rstrip().endswith("{"):
                name = re.match(r"(?:ENTRY )?%?([\w.\-]+)", line).group(1)
                comps[name], calls[name] = [], set()
            elif name is not None:
                comps[name].append(line)
                for group in re.findall(r"(?:calls|to_apply|body|condition|"
                                        r"branch_computations|true_computation|"
                                        r"false_computation)=\{?([%\w.\-, ]+)\}?", line):
                    calls[name].update(x.strip().lstrip("%") for x in group.split(","))
        bodies = {b for lines in comps.values() for line in lines
                  for b in re.findall(r"body=%?([\w.\-]+)", line)}
        inside, todo = set(), list(bodies)
        while todo:
            c = todo.pop()
            if c not in inside:
                inside.add(c)
                todo.extend(calls.get(c, ()))
        out = []
        for name, lines in comps.items():
            for line in lines:
                m = re.search(r"= (\w+)\[([\d,]*)\]\S* (all-gather|all-reduce|all-to-all|"
                              r"collective-permute|reduce-scatter)(-start)?\(", line)
                if m:
                    dims = [int(d) for d in m.group(2).split(",") if d]
                    out.append([m.group(3), int(np.prod(dims)) if dims else 1, name in inside])
                elif re.search(r" all-reduce(-start)?\(", line):  # tuple-shaped all-reduce
                    out.append(["all-reduce", 1, name in inside])
        return out

    report = {}
    for devices in (None, t.DEVICES):
        solver = qdiss.Krylov()

        def value(a):
            sol = qdiss.steady_state(build(a), solver, devices=devices)
            return jnp.real(jnp.trace(observable @ to_full(sol.rho))), sol

        fn = jax.jit(jax.value_and_grad(value, has_aux=True))
        compiled = fn.lower(jnp.asarray(t.A0)).compile()
        (v, sol), g = compiled(jnp.asarray(t.A0))
        rho = np.asarray(to_full(sol.rho))
        report[str(devices)] = dict(
            value=float(v), grad=float(g), rho_re=rho.real.tolist(), rho_im=rho.imag.tolist(),
            result=int(result_codes(sol.result)), steps=int(sol.stats.num_steps),
            residual=float(sol.stats.residual), state_shape=list(sol.state_shape),
            collectives=collectives(compiled.as_text()) if devices else [],
        )
        if devices and problem == "permutation":
            tangent = jax.jit(lambda a: jax.jvp(
                lambda a: to_full(qdiss.steady_state(build(a), solver, devices=devices).rho),
                (a,), (jnp.ones_like(a),))[1])
            drho = np.asarray(tangent(jnp.asarray(t.A0)))
            report[str(devices)].update(drho_re=drho.real.tolist(), drho_im=drho.imag.tolist())

    # bad requests
    errors = {}
    small = qdiss.PermutationInvariantLindbladian(4, emission=1.0, linear=(0.5, 0.0, 0.0))
    L = build(jnp.asarray(t.A0))
    for name, call in [
        ("too_many_devices", lambda: qdiss.steady_state(small, qdiss.Krylov(), devices=4)),
        ("dense_lu", lambda: qdiss.steady_state(L, qdiss.DenseLU(), devices=4)),
        ("auto", lambda: qdiss.steady_state(L, devices=4)),
    ]:
        try:
            call()
            errors[name] = "no error"
        except ValueError as e:
            errors[name] = "ValueError: " + str(e)
    report["errors"] = errors
    print("REPORT" + json.dumps(report), flush=True)
    """
)


def run_worker(problem: str) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES}"
    env.pop("JAX_PLATFORMS", None)
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, problem, tests],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("REPORT")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(lines[-1][len("REPORT") :])


@pytest.fixture(scope="module", params=["dense", "permutation"])
def report(request):
    return request.param, run_worker(request.param)


def _rho(entry):
    return np.asarray(entry["rho_re"]) + 1j * np.asarray(entry["rho_im"])


def test_sharded_solve_matches_reference_and_one_device(report):
    """ρ and d⟨O⟩/da: sharded over 4 devices = one device (round-off) = the independent
    reference (dense: null space and central differences of it; permutation-invariant: the
    full 2^N Lindbladian's stationarity and tangent equations, module docstring)."""
    problem, rep = report
    one, four = rep["None"], rep[str(DEVICES)]
    np.testing.assert_allclose(_rho(four), _rho(one), atol=1e-11)
    assert four["value"] == pytest.approx(one["value"], rel=1e-11, abs=1e-13)
    assert four["grad"] == pytest.approx(one["grad"], rel=1e-9, abs=1e-11)
    rho = _rho(four)
    if problem == "dense":
        op = dense_observable()
        np.testing.assert_allclose(rho, dense_reference(A0), atol=1e-9)
        assert four["value"] == pytest.approx(expect(op, dense_reference(A0)), rel=1e-9)
        plus, minus = dense_reference(A0 + STEP), dense_reference(A0 - STEP)
        fd = (expect(op, plus) - expect(op, minus)) / (2 * STEP)
        assert four["grad"] == pytest.approx(fd, rel=1e-6, abs=1e-8)
        return
    op = pi_observable()
    H, ops = full_arrays(N_SPINS, pi_params(A0))
    H1, _ = full_arrays(N_SPINS, pi_params(A0 + 1.0))
    scale = np.linalg.norm(full_action(H, ops, np.eye(2**N_SPINS)))  # ~‖L‖ ‖I‖
    assert np.linalg.norm(full_action(H, ops, rho)) < 1e-9 * scale
    assert np.trace(rho) == pytest.approx(1.0, abs=1e-12)
    assert np.min(np.linalg.eigvalsh((rho + rho.conj().T) / 2)) > -1e-10
    assert four["value"] == pytest.approx(expect(op, rho), rel=1e-12)
    drho = np.asarray(four["drho_re"]) + 1j * np.asarray(four["drho_im"])
    # L(a) is linear in a: dL/da (ρ) = L(a + 1)(ρ) − L(a)(ρ), the jump operators unchanged
    dl_rho = -1j * ((H1 - H) @ rho - rho @ (H1 - H))
    tangent = full_action(H, ops, drho) + dl_rho
    assert np.linalg.norm(tangent) < 1e-8 * max(scale, 1.0)
    assert np.linalg.norm(dl_rho) > 1e-3  # the check is not vacuous
    assert abs(np.trace(drho)) < 1e-10
    assert four["grad"] == pytest.approx(expect(op, drho), rel=1e-8, abs=1e-10)


def test_sharded_solve_result_and_stats_match_one_device(report):
    _, rep = report
    one, four = rep["None"], rep[str(DEVICES)]
    assert four["result"] == one["result"] == 0
    assert four["steps"] == one["steps"]
    assert four["state_shape"] == one["state_shape"]
    assert four["residual"] == pytest.approx(one["residual"], rel=1e-2, abs=1e-14)
    assert four["residual"] < 1e-10


def test_sharded_hlo_reduces_inner_products_and_never_gathers_the_basis(report):
    """In the compiled sharded program (value and gradient), inside the loops (the GMRES
    iterations of the solve, the uniqueness check and the derivative): scalar all-reduces (the
    inner products and norms); no collective that moves more than one state (the basis,
    restart + 1 states, is never gathered); for the block representation no all-gather or
    all-reduce of even one device's share of the state (the block coupling is a halo exchanged
    with the neighbours, ``collective-permute``), for the dense
    one the state ρ itself (gathered for the products over the split rows, and its transpose
    in the transposed solve). Outside the loops (setup and the checks of the answer, once per
    solve) anything goes."""
    problem, rep = report
    four = rep[str(DEVICES)]
    shape = four["state_shape"]
    rows = -(-shape[0] // DEVICES) * DEVICES
    state = rows * int(np.prod(shape[1:]))
    in_loops = [(op, size) for op, size, loop in four["collectives"] if loop]
    assert ("all-reduce", 1) in in_loops, in_loops
    assert all(size <= state for _, size in in_loops), in_loops
    if problem == "permutation":
        # gathers and reductions in the loops: scalars and (B, D) coefficient tables, less than
        # one device's share of the state; the block coupling is a neighbour exchange
        shard = state // DEVICES
        moved = [(op, size) for op, size in in_loops if op != "collective-permute"]
        assert all(size < shard for _, size in moved), moved
        assert any(op == "collective-permute" for op, _ in in_loops), in_loops
    else:
        whole = [(op, size) for op, size in in_loops if size >= state // 2]
        gathers = [size for op, size in whole if op == "all-gather"]
        assert gathers and all(size == state for size in gathers), whole


def test_bad_sharding_requests_raise(report):
    _, rep = report
    errors = rep["errors"]
    assert errors["too_many_devices"].startswith("ValueError: Cannot split a state of 3 blocks")
    assert "only `qdiss.Krylov()`" in errors["dense_lu"]
    assert "only `qdiss.Krylov()`" in errors["auto"]


def test_devices_needs_krylov_in_one_process():
    """No forced devices needed: a solver other than Krylov refuses ``devices=``; a count above
    the devices available is refused with the flag that makes more host devices."""
    H = jnp.diag(jnp.asarray([0.0, 1.0], complex))
    L = qdiss.Lindbladian(H, jnp.asarray([[[0.0, 1.0], [0.0, 0.0]]], complex))
    with pytest.raises(ValueError, match="only `qdiss.Krylov"):
        qdiss.steady_state(L, qdiss.DenseLU(), devices=1)
    with pytest.raises(ValueError, match="xla_force_host_platform_device_count"):
        qdiss.Krylov(devices=1000)
    sol = qdiss.steady_state(L, qdiss.Krylov(), devices=1)  # one device: a valid request
    np.testing.assert_allclose(np.asarray(sol.rho), np.diag([1.0, 0.0]), atol=1e-10)
