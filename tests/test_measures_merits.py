"""The figure-of-merit registry of ``qdiss.measures`` (``resolve_merit``, ``available_merits``):
names resolve to the library's measures, requirements on ``dims`` are applied, and a value
agrees with an independent numpy reference (Wootters' concurrence of a dense null space)."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import qdiss


def _two_qubits():
    """Two qubits, each driven (Rabi Ω) and decaying (rate γ), coupled by an exchange J."""
    sm = np.array([[0, 1], [0, 0]], complex)
    sx, eye = sm + sm.T, np.eye(2)
    H = 0.7 * (np.kron(sx, eye) + 0.4 * np.kron(eye, sx)) + 0.5 * (
        np.kron(sm.T, sm) + np.kron(sm, sm.T)
    )
    jumps = [np.kron(sm, eye), 0.8 * np.kron(eye, sm), 0.6 * np.kron(sm, sm.T)]
    return qdiss.Lindbladian(jnp.asarray(H), [jnp.asarray(c) for c in jumps], dims=(2, 2)), H, jumps


def _dense_steady_state(H, jumps):
    """ρ from the null space of the column-stacked Liouvillian (numpy/scipy, no qdiss)."""
    n = H.shape[0]
    eye = np.eye(n)
    sup = -1j * (np.kron(eye, H) - np.kron(H.T, eye))
    for c in jumps:
        cdc = c.conj().T @ c
        sup += np.kron(c.conj(), c) - 0.5 * (np.kron(eye, cdc) + np.kron(cdc.T, eye))
    rho = scipy.linalg.null_space(sup)[:, 0].reshape(n, n, order="F")
    return rho / np.trace(rho)


def _wootters(rho):
    sy = np.array([[0, -1j], [1j, 0]])
    flip = np.kron(sy, sy) @ rho.conj() @ np.kron(sy, sy)
    lam = np.sqrt(np.clip(np.sort(np.linalg.eigvals(rho @ flip).real)[::-1], 0, None))
    return lam[0] - lam[1] - lam[2] - lam[3]  # the margin; the concurrence is max(0, ·)


def test_resolve_merit_gives_the_concurrence_margin_of_the_steady_state():
    L, H, jumps = _two_qubits()
    merit = qdiss.measures.resolve_merit("concurrence_margin", None, L)
    assert merit is qdiss.measures.GENERIC_MERITS["concurrence_margin"]
    rho = qdiss.steady_state(L).rho
    expected = _wootters(_dense_steady_state(H, jumps))
    assert abs(expected) > 1e-3 and abs(float(merit.fn(None, L, rho)) - expected) < 1e-8
    concurrence = qdiss.measures.resolve_merit("concurrence", None, L).fn(None, L, rho)
    assert abs(float(concurrence) - max(0.0, expected)) < 1e-8


def test_requirements_decide_what_applies():
    L, _, _ = _two_qubits()
    names = {m.name for m in qdiss.measures.available_merits(None, L)}
    assert {"concurrence", "negativity", "purity", "liouvillian_gap"} <= names
    one = qdiss.Lindbladian(jnp.diag(jnp.array([0.0, 1.0])), [jnp.array([[0, 1], [0, 0.0]])])
    names = {m.name for m in qdiss.measures.available_merits(None, one)}
    assert "purity" in names and not names & {"concurrence", "negativity"}
    with pytest.raises(ValueError, match="two-qubit"):
        qdiss.measures.resolve_merit("concurrence", None, one)
    with pytest.raises(KeyError):
        qdiss.measures.resolve_merit("no_such_merit", None, L)
    assert qdiss.measures.TWO_QUBITS.unmet(L) is None
