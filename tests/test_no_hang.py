"""Issue 11, item 1: no qdiss call can deadlock on CPU.

jaxlib 0.10.2 deadlocked when two batched LAPACK kernels ran at once (all XLA pool threads idle;
README, "Batched solves and the old jaxlib hang"). qdiss never hands LAPACK a batch: every
decomposition it or its solvers perform goes one matrix at a time (``qdiss._linalg``), GMRES
solves its small triangular systems in plain XLA, and gradients reuse the same factorisations
(``qdiss._adjoint``). These tests check that structurally, on the compiled program of the user loop
that hung (vmapped steady states, their result codes and residuals kept as outputs, under
``jit(value_and_grad)``), for every solver: every LAPACK/BLAS custom call in it acts on a single
matrix. Then they run the reproducer itself, the optax loop, in subprocesses under a timeout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import pytest

import qdiss

_CUSTOM_CALL = re.compile(r"= (\(?[^=]*?) custom-call\(.*?custom_call_target=\"([^\"]+)\"")
_SHAPE = re.compile(r"[a-z]+\d*\[([0-9,]*)\]")


def lapack_calls(hlo: str) -> list[tuple[str, tuple[int, ...]]]:
    """(target, shape of its first output) for every LAPACK/BLAS custom call in compiled HLO."""
    calls = []
    for line in hlo.splitlines():
        match = _CUSTOM_CALL.search(line)
        if match is None or not ("lapack" in match.group(2) or "blas" in match.group(2)):
            continue
        dims = _SHAPE.search(match.group(1)).group(1)
        calls.append((match.group(2), tuple(int(d) for d in dims.split(",") if d)))
    return calls


def _cavity(delta, n=5):
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(jnp.complex128)
    delta = jnp.asarray(delta).astype(jnp.complex128)
    H = delta * a.conj().T @ a + 0.1 * a.conj().T @ a.conj().T @ a @ a + 0.3 * (a + a.conj().T)
    return qdiss.Lindbladian(H, [a]), a.conj().T @ a


def _batched_loss(solver):
    def one(delta):
        lindbladian, number = _cavity(delta)
        sol = qdiss.steady_state(lindbladian, solver, throw=False)
        value = jnp.real(jnp.trace(number @ sol.rho))
        return value, (sol.result == qdiss.RESULTS.successful, sol.stats.residual)

    def loss(shift):
        values, aux = jax.vmap(one)(shift + jnp.linspace(-1.0, 1.0, 4))
        return jnp.mean(values), aux

    return loss


def test_lapack_calls_parses_a_batched_kernel():
    """The detector sees a batched kernel when there is one (it would otherwise prove nothing)."""
    hlo = jax.jit(jnp.linalg.eigh).lower(jnp.eye(3)[None].repeat(4, 0)).compile().as_text()
    calls = lapack_calls(hlo)
    assert calls and all(len(shape) == 3 and shape[0] == 4 for _, shape in calls)


@pytest.mark.parametrize(
    "solver",
    [qdiss.DenseLU(), qdiss.Krylov(), qdiss.SparseLU(), qdiss.Evolve(), qdiss.Auto()],
    ids=lambda s: type(s).__name__,
)
def test_vmapped_solves_and_gradients_never_call_batched_lapack(solver):
    step = jax.jit(jax.value_and_grad(_batched_loss(solver), has_aux=True))
    hlo = step.lower(0.1).compile().as_text()
    batched = [(t, s) for t, s in lapack_calls(hlo) if len(s) > 2]
    assert batched == []
    (value, (ok, residual)), grad = step(0.1)
    assert bool(jnp.all(ok)) and bool(jnp.isfinite(grad))


def test_vmapped_measures_never_call_batched_lapack():
    """Figures of merit under vmap (and their gradients) decompose one matrix at a time too."""
    from qdiss import measures

    def merit(x):
        rho = jnp.diag(jnp.array([0.4, 0.3, 0.2, 0.1])).astype(jnp.complex128)
        rho = rho + x.astype(jnp.complex128) * (
            jnp.eye(4, k=1, dtype=jnp.complex128) + jnp.eye(4, k=-1, dtype=jnp.complex128)
        )
        return (
            measures.entropy_vn(rho)
            + measures.negativity(rho, (2, 2))
            + measures.concurrence(rho)
            + measures.purity(rho)
        )

    fn = jax.jit(jax.vmap(jax.value_and_grad(merit)))
    hlo = fn.lower(jnp.linspace(0.0, 0.05, 4)).compile().as_text()
    assert [(t, s) for t, s in lapack_calls(hlo) if len(s) > 2] == []


_REPRODUCER = textwrap.dedent(
    """
    import jax, jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    import optax, qdiss

    n = 20
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(complex)
    ad = a.conj().T
    detunings = jnp.linspace(-1.0, 1.0, 64)

    def one(params, delta):
        drive, kerr, gamma = params
        H = delta * ad @ a + kerr * ad @ ad @ a @ a + drive * (a + ad)
        sol = qdiss.steady_state(qdiss.Lindbladian(H, [jnp.sqrt(gamma) * a]), throw=False)
        return jnp.real(jnp.trace(ad @ a @ sol.rho)), sol.result, sol.stats.residual

    def loss(params):
        n_ph, codes, res = jax.vmap(one, in_axes=(None, 0))(params, detunings)
        return -jnp.mean(n_ph), (codes, res)

    opt = optax.adam(1e-2)

    @jax.jit
    def step(params, state):
        (value, aux), g = jax.value_and_grad(loss, has_aux=True)(params)
        updates, state = opt.update(g, state)
        return optax.apply_updates(params, updates), state, value, aux

    params = jnp.array([0.5, 0.1, 1.0])
    state = opt.init(params)
    for i in range(5):
        params, state, value, (codes, res) = step(params, state)
        jax.block_until_ready(params)
    assert bool(jnp.all(codes == qdiss.RESULTS.successful)), codes
    assert float(jnp.max(res)) < 1e-12 and bool(jnp.all(jnp.isfinite(params)))
    print("done", float(value))
    """
)


@pytest.mark.slow
def test_optax_loop_over_vmapped_default_solves_finishes():
    """Issue 11's reproducer, exactly: 5 optax steps over 64 vmapped Kerr-cavity steady states
    (cutoff 20, default solver), codes and residuals kept; three fresh processes, each under a
    timeout (it hung at its first step, 3 times out of 3, on jaxlib 0.10.2)."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", _REPRODUCER],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert "done" in out.stdout
