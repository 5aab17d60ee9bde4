r"""The ``qdiss`` command.

``qdiss`` with no arguments runs the default job: the two-qubit pumped-magnon-bath model of
Hou, Kleinherbers, Kelly & Tserkovnyak (arXiv:2508.18131, physics.md §2), its steady state, the
steady-state concurrence and its gradient with respect to every model parameter, checked against
the model's closed form (a four-state Markov chain).

Model: two qubits (frequency ω), bath channels c with spatial correlation η_c, rate Γ_c and
effective chemical potential μ_c at temperature T; n_c = 1/(e^{(ω−μ_c)/T} − 1), Γ↓ = Γ(1+n),
Γ↑ = Γn. Jump operators √(Γ↓_c(1±η_c)) (σ⁻₁ ± σ⁻₂)/√2 and √(Γ↑_c(1±η_c)) (σ⁺₁ ± σ⁺₂)/√2; H = 0 in
the rotating frame. The steady state is diagonal in {|gg⟩, |Ψ+⟩, |Ψ−⟩, |ee⟩} and its concurrence
is C = max(0, |p₊ − p₋| − 2√(p_gg p_ee)).
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_PARAMETERS = {
    "eta": [0.05, 0.99],
    "rate": [0.12, 0.92],
    "mu": [0.17, -1.35],
    "temperature": 0.5,
}
QUBIT_FREQUENCY = 1.0


def magnon_qubits_lindbladian(params: dict):
    """The two-channel two-qubit model of the module docstring as a ``qdiss.Lindbladian``."""
    import qdiss

    sm = jnp.array([[0, 0], [1, 0]], dtype=jnp.complex128)  # basis (e, g): σ⁻ = |g⟩⟨e|
    eye = jnp.eye(2, dtype=jnp.complex128)
    s1, s2 = jnp.kron(sm, eye), jnp.kron(eye, sm)
    eta, rate, mu, temp = params["eta"], params["rate"], params["mu"], params["temperature"]
    occupation = 1.0 / jnp.expm1((QUBIT_FREQUENCY - mu) / temp)
    jumps = []
    for sign in (1.0, -1.0):
        down = (s1 + sign * s2) / jnp.sqrt(2.0)
        weight = 1.0 + sign * eta
        for c in range(eta.shape[0]):
            g_down = jnp.sqrt(rate[c] * (1 + occupation[c]) * weight[c]).astype(down.dtype)
            g_up = jnp.sqrt(rate[c] * occupation[c] * weight[c]).astype(down.dtype)
            jumps += [g_down * down, g_up * down.conj().T]
    return qdiss.Lindbladian(jnp.zeros((4, 4), jnp.complex128), jumps, dims=(2, 2))


def x_state_concurrence(rho):
    """C = 2 max(0, |ρ_{eg,ge}| − √(ρ_{ee,ee} ρ_{gg,gg}), |ρ_{ee,gg}| − √(ρ_{eg,eg} ρ_{ge,ge})).

    Wootters' concurrence for two-qubit X states (basis ee, eg, ge, gg), which the steady states
    of this model are. The general formula comes with ``qdiss.measures``.
    """
    p = jnp.real(jnp.diag(rho))
    first = jnp.abs(rho[1, 2]) - jnp.sqrt(p[0] * p[3])
    second = jnp.abs(rho[0, 3]) - jnp.sqrt(p[1] * p[2])
    return 2 * jnp.maximum(0.0, jnp.maximum(first, second))


def markov_chain_concurrence(params: dict) -> float:
    """Closed form (physics.md §2): the four-state chain on {gg, Ψ+, Ψ−, ee}, solved with numpy."""
    eta, rate = np.asarray(params["eta"]), np.asarray(params["rate"])
    mu, temp = np.asarray(params["mu"]), float(params["temperature"])
    n = 1.0 / np.expm1((QUBIT_FREQUENCY - mu) / temp)
    up = [np.sum(rate * n * (1 + s * eta)) for s in (1, -1)]
    down = [np.sum(rate * (1 + n) * (1 + s * eta)) for s in (1, -1)]
    q = np.zeros((4, 4))  # q[to, from]; states gg, +, −, ee
    for i, s in enumerate((1, 2)):
        q[s, 0] += up[i]
        q[3, s] += up[i]
        q[s, 3] += down[i]
        q[0, s] += down[i]
    q -= np.diag(q.sum(axis=0))
    _, _, vh = np.linalg.svd(q)
    p = np.abs(vh[-1]) / np.sum(np.abs(vh[-1]))
    return float(max(0.0, abs(p[1] - p[2]) - 2 * np.sqrt(p[0] * p[3])))


def run_default(quiet: bool = False) -> int:
    """The default job; returns the exit status."""
    jax.config.update("jax_enable_x64", True)
    import equinox as eqx

    import qdiss

    say = (lambda *a: None) if quiet else print
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}
    device = jax.devices()[0]
    say(
        f"qdiss {qdiss.__version__} · jax {jax.__version__} · device: {device.platform} "
        f"({device.device_kind}) · precision: float64 / complex128"
    )
    say("Model: two qubits in a pumped magnon bath, two channels (arXiv:2508.18131, §2)")
    for key, value in DEFAULT_PARAMETERS.items():
        say(f"  {key:12s} = {value}")

    @eqx.filter_jit
    def concurrence_and_grad(params):
        def concurrence(p):
            sol = qdiss.steady_state(magnon_qubits_lindbladian(p), throw=False)
            return x_state_concurrence(sol.rho), sol

        (value, sol), grad = jax.value_and_grad(concurrence, has_aux=True)(params)
        return value, grad, sol

    start = time.perf_counter()
    value, grad, sol = jax.block_until_ready(concurrence_and_grad(params))
    first = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(concurrence_and_grad(params))
    warm = time.perf_counter() - start

    say("")
    say(str(sol))
    if not bool(sol.succeeded):
        print(f"qdiss: the steady-state solve failed: {sol.message}", file=sys.stderr)
        return 1
    exact = markov_chain_concurrence(DEFAULT_PARAMETERS)
    say("")
    say(f"Steady-state concurrence C = {float(value):.10f}")
    difference = abs(float(value) - exact)
    say(f"Closed form (Markov chain)  = {exact:.10f}   |difference| = {difference:.1e}")
    say("Gradient dC/dθ (implicit differentiation through the steady-state solve):")
    for key in DEFAULT_PARAMETERS:
        say(f"  dC/d{key:12s} = {np.array2string(np.asarray(grad[key]), precision=6)}")
    say(f"Time: {first:.2f} s first call (compile + run), {warm * 1e3:.1f} ms warm")
    if difference > 1e-8:
        print("qdiss: the result disagrees with the closed form", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="qdiss",
        description=(
            "Differentiable steady states of open quantum systems. With no arguments, runs the "
            "default job: steady-state entanglement of two qubits in a pumped magnon bath and "
            "its gradient with respect to the bath parameters."
        ),
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)
    return run_default(quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
