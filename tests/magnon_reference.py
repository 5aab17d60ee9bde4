r"""A test fixture: the two-qubit pumped-magnon-bath model (the model of the ``qdiss`` default
study) as plain functions of a parameter dict. The model class is
:class:`qdiss.models.magnon.MagnonBathQubits`; this is an independent implementation
(hand-built jump operators, numpy closed form) that the tests compare it with.

Hou, Kleinherbers, Kelly & Tserkovnyak, arXiv:2508.18131.

Model: two qubits (frequency ω), bath channels c with spatial correlation η_c, rate Γ_c and
effective chemical potential μ_c at temperature T; n_c = 1/(e^{(ω−μ_c)/T} − 1), Γ↓ = Γ(1+n),
Γ↑ = Γn. Jump operators √(Γ↓_c(1±η_c)) (σ⁻₁ ± σ⁻₂)/√2 and √(Γ↑_c(1±η_c)) (σ⁺₁ ± σ⁺₂)/√2; H = 0 in
the rotating frame. The steady state is diagonal in {|gg⟩, |Ψ+⟩, |Ψ−⟩, |ee⟩} and its concurrence
is C = max(0, |p₊ − p₋| − 2√(p_gg p_ee)).
"""

from __future__ import annotations

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
    """Closed form (model of arXiv:2508.18131): the four-state chain on {gg, Ψ+, Ψ−, ee},
    solved with numpy."""
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
