"""The registry of representations of a Lindbladian, beside the registry of solvers (solvers.py).

A *representation* is a way of storing L and its states: dense ``(n, n)`` matrices
(``qdiss.Lindbladian``), the blocks of a conserved charge (``qdiss.SectorLindbladian``), the
same-j blocks of N permutation-invariant two-level systems
(``qdiss.PermutationInvariantLindbladian``). ``qdiss.dicke_lindbladian`` is not one: it returns a
dense ``qdiss.Lindbladian`` (the symmetric subspace).

Each entry is a small, well-conditioned *family* L(θ) of two real parameters θ, traceable (jit,
vmap, grad reach θ), together with its dense equivalent built independently here with NumPy from
H and the jump operators (never from qdiss), and the representation's maps to and from dense
``(n, n)`` matrices. Add a representation here and it runs through the representation contract
(tests/test_representation_contract.py) and, with every solver of solvers.py, through the solver
contract (tests/test_contract.py), in the pattern of lineax's ``tests/helpers.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

import qdiss

# ------------------------------------------------------------------- dense references (NumPy only)


def superoperator(H: np.ndarray, jump_ops) -> np.ndarray:
    """The dense n² × n² matrix of L(ρ) = −i[H, ρ] + Σ_k (L_k ρ L_k† − ½{L_k†L_k, ρ}) in the
    row-major convention vec(ρ)[i·n + j] = ρ[i, j] (vec(AρB) = (A ⊗ Bᵀ) vec(ρ))."""
    n = H.shape[0]
    eye = np.eye(n)
    out = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for op in jump_ops:
        loss = op.conj().T @ op
        out = out + np.kron(op, op.conj()) - 0.5 * (np.kron(loss, eye) + np.kron(eye, loss.T))
    return out


def adjoint_action(H: np.ndarray, jump_ops, x: np.ndarray) -> np.ndarray:
    """L†(X) = i[H, X] + Σ_k (L_k† X L_k − ½{L_k†L_k, X}) (Heisenberg picture)."""
    out = 1j * (H @ x - x @ H)
    for op in jump_ops:
        loss = op.conj().T @ op
        out = out + op.conj().T @ x @ op - 0.5 * (loss @ x + x @ loss)
    return out


def null_space_state(H: np.ndarray, jump_ops) -> np.ndarray:
    """The unique steady state of the dense (H, jump_ops): the right singular vector of the
    superoperator with the smallest singular value (numpy SVD), unit trace. Asserts that the null
    space is one-dimensional."""
    n = H.shape[0]
    _, svals, vh = np.linalg.svd(superoperator(H, jump_ops))
    assert svals[-2] > 1e3 * svals[-1], "reference problem has a degenerate null space"
    rho = vh[-1].conj().reshape(n, n)
    rho = rho / np.trace(rho)
    return (rho + rho.conj().T) / 2


def _random_hermitian(rng, n):
    x = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return (x + x.conj().T) / 2


def _random_matrix(rng, n):
    return (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / np.sqrt(n)


# --------------------------------------------------------------------------------- the registry


@dataclasses.dataclass(frozen=True)
class Representation:
    """One representation: a family L(θ), its dense equivalent and the maps between them.

    - ``family(theta)``: the Lindbladian in this representation for real θ of shape (2,);
      traceable in θ.
    - ``dense(theta)``: ``(H, jump_ops)`` of the same generator on the full Hilbert space, as
      NumPy arrays built independently of qdiss (θ a NumPy array).
    - ``to_dense(L, rho)`` / ``from_dense(L, rho)``: the representation's public maps between a
      state of ``L.state_shape`` and the ``(n, n)`` density matrix.
    - ``unknowns``: the number of unknowns, counted independently (n² for a dense state, Σ_q d_q²
      for sectors, Σ_j (2j+1)² for permutation-invariant blocks).
    - ``observable``: a Hermitian ``(n, n)`` NumPy matrix on the full space (for gradients of
      tr(O ρ)).
    - ``non_unique()``: a Lindbladian of this representation whose steady state is not unique
      within the representation (for failure reporting).
    """

    family: Callable[[Any], qdiss.AbstractLindbladian]
    dense: Callable[[np.ndarray], tuple[np.ndarray, list[np.ndarray]]]
    to_dense: Callable[[Any, Any], Any]
    from_dense: Callable[[Any, Any], Any]
    unknowns: int
    observable: np.ndarray
    non_unique: Callable[[], qdiss.AbstractLindbladian]
    theta0: tuple[float, float] = (0.3, -0.2)

    def make(self) -> qdiss.AbstractLindbladian:
        """L(θ₀), concrete."""
        return self.family(jnp.asarray(self.theta0))

    def reference(self, theta=None) -> np.ndarray:
        """The dense steady state of L(θ) (θ₀ by default) from :func:`null_space_state`."""
        theta = np.asarray(self.theta0 if theta is None else theta)
        return null_space_state(*self.dense(theta))


def space(L):
    """The object holding L's state-space queries (``padding_mask``,
    ``trace_weights``, ``trace``, ``identity_state``, ``to_physical``/``from_physical``,
    ``physical_indices``): L itself before issue 12's representation change; its ``space`` after
    (the one place to adapt if those queries move)."""
    return getattr(L, "space", L)


def _identity(L, rho):
    del L
    return rho


# -- dense: a random n = 4 Lindbladian with two jump operators ------------------------------------

_rng = np.random.default_rng(7)
_DENSE_ARRAYS = (
    _random_hermitian(_rng, 4),
    _random_hermitian(_rng, 4),
    np.stack([_random_matrix(_rng, 4) for _ in range(2)]),
    np.stack([_random_matrix(_rng, 4) for _ in range(2)]),
)


def _dense_dense(theta):
    h0, h1, l0, l1 = _DENSE_ARRAYS
    return h0 + theta[0] * h1, list(l0 + theta[1] * l1)


def _dense_family(theta):
    h0, h1, l0, l1 = (jnp.asarray(x) for x in _DENSE_ARRAYS)
    theta = theta.astype(h0.dtype)
    return qdiss.Lindbladian(h0 + theta[0] * h1, l0 + theta[1] * l1)


# -- sectors: n = 5 levels with a parity 0,1,0,1,0 (sectors of 3 and 2: with padding) ------------

SECTOR_LABELS = np.array([0, 1, 0, 1, 0])
SECTOR_JUMP_CHARGES = (1, 0)  # the first jump operator flips the parity, the second keeps it
_same = SECTOR_LABELS[:, None] == SECTOR_LABELS[None, :]


def _parity_jumps(rng):
    """A parity-flipping and a parity-keeping random jump operator, stacked."""
    flip = np.where(~_same, _random_matrix(rng, 5), 0)
    keep = np.where(_same, _random_matrix(rng, 5), 0)
    return np.stack([flip, keep])


_rng = np.random.default_rng(8)
_SECTOR_ARRAYS = (
    np.where(_same, _random_hermitian(_rng, 5), 0),
    np.where(_same, _random_hermitian(_rng, 5), 0),
    _parity_jumps(_rng),
    _parity_jumps(_rng),
)


def _sector_dense(theta):
    h0, h1, l0, l1 = _SECTOR_ARRAYS
    return h0 + theta[0] * h1, list(l0 + theta[1] * l1)


def _sector_family(theta):
    h0, h1, l0, l1 = (jnp.asarray(x) for x in _SECTOR_ARRAYS)
    theta = theta.astype(h0.dtype)
    dense = qdiss.Lindbladian(h0 + theta[0] * h1, l0 + theta[1] * l1)
    return qdiss.SectorLindbladian(
        dense, SECTOR_LABELS, jump_charges=SECTOR_JUMP_CHARGES, modulus=2
    )


# -- permutation-invariant: N = 4 two-level systems (blocks j = 2, 1, 0: with padding) -----------

NUM_SPINS = 4
_SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻ = |g⟩⟨e| with |e⟩ = |0⟩ (QuTiP's convention)
_SZ = np.diag([1.0, -1.0]).astype(complex)
_rng = np.random.default_rng(9)
_Q = _rng.normal(size=(3, 3)) * 0.3
_Q = (_Q + _Q.T) / 2
_PI_RATES = dict(
    pumping=0.2,
    dephasing=0.3,
    collective_emission=0.4,
    collective_pumping=0.1,
    collective_dephasing=0.2,
)


def _site(op, i, n):
    return np.kron(np.kron(np.eye(2**i), op), np.eye(2 ** (n - i - 1)))


def _pi_dense(theta):
    """H = Σ_a h_a J_a + Σ_ab Q_ab (J_aJ_b + J_bJ_a)/2, local √γσ⁻ᵢ, √γ↑σ⁺ᵢ, √γ_φσᶻᵢ and
    collective √Γ↓J₋, √Γ↑J₊, √Γ_φJ_z on (C²)^{⊗N}, J_a = ½Σᵢσᵃᵢ."""
    n = NUM_SPINS
    jp = sum(_site(_SM.T, i, n) for i in range(n))
    jz = sum(_site(_SZ, i, n) for i in range(n)) / 2
    J = ((jp + jp.conj().T) / 2, (jp - jp.conj().T) / 2j, jz)
    h = (0.8 + theta[0], 0.3, 0.5)
    H = sum(h[a] * J[a] for a in range(3))
    H = H + sum(_Q[a, b] * (J[a] @ J[b] + J[b] @ J[a]) / 2 for a in range(3) for b in range(3))
    r = dict(_PI_RATES, emission=0.7 + 0.2 * theta[1])
    ops = []
    for i in range(n):
        ops.append(np.sqrt(r["emission"]) * _site(_SM, i, n))
        ops.append(np.sqrt(r["pumping"]) * _site(_SM.T, i, n))
        ops.append(np.sqrt(r["dephasing"]) * _site(_SZ, i, n))
    ops.append(np.sqrt(r["collective_emission"]) * jp.conj().T)
    ops.append(np.sqrt(r["collective_pumping"]) * jp)
    ops.append(np.sqrt(r["collective_dephasing"]) * jz)
    return H, ops


def _pi_family(theta):
    linear = jnp.stack([0.8 + theta[0], jnp.asarray(0.3), jnp.asarray(0.5)])
    return qdiss.PermutationInvariantLindbladian(
        NUM_SPINS,
        linear=linear,
        quadratic=jnp.asarray(_Q),
        emission=0.7 + 0.2 * theta[1],
        **{k: jnp.asarray(v) for k, v in _PI_RATES.items()},
    )


def _dense_non_unique():
    """The Dicke dimer: H = (σˣ⊗I + I⊗σˣ)/2, one collective jump σ⁻⊗I + I⊗σ⁻ (the singlet is
    dark and decoupled: two steady states)."""
    sx = np.array([[0, 1], [1, 0]], complex)
    collective = np.kron(_SM, np.eye(2)) + np.kron(np.eye(2), _SM)
    H = (np.kron(sx, np.eye(2)) + np.kron(np.eye(2), sx)) / 2
    return qdiss.Lindbladian(jnp.asarray(H), [jnp.asarray(collective)])


def _sector_non_unique():
    """Four levels with parities 0, 1, 0, 1, H diagonal, jumps |0⟩⟨1| and |2⟩⟨3| (both flip
    the parity): |0⟩⟨0| and |2⟩⟨2| are both stationary and block-diagonal."""
    basis = np.eye(4, dtype=complex)
    jumps = [np.outer(basis[0], basis[1]), np.outer(basis[2], basis[3])]
    dense = qdiss.Lindbladian(jnp.asarray(np.diag([0.0, 1.0, 2.0, 3.0]) * 0.5 + 0j), jumps)
    return qdiss.SectorLindbladian(dense, [0, 1, 0, 1], jump_charges=(1, 1), modulus=2)


def _pi_non_unique():
    """Collective processes only: every total-spin block j is invariant (one steady state each)."""
    return qdiss.PermutationInvariantLindbladian(
        NUM_SPINS, linear=jnp.array([1.0, 0.0, 0.3]), collective_emission=jnp.asarray(1.0)
    )


# -- a bare superoperator: the dense family's generator as its n² × n² matrix ---------------------


def _superop_matrix(H, jump_ops):
    """:func:`superoperator` in jax.numpy (traceable in θ), built here, not by qdiss."""
    n = H.shape[0]
    eye = jnp.eye(n, dtype=H.dtype)
    out = -1j * (jnp.kron(H, eye) - jnp.kron(eye, H.T))
    for op in jump_ops:
        loss = op.conj().T @ op
        out = out + jnp.kron(op, op.conj()) - 0.5 * (jnp.kron(loss, eye) + jnp.kron(eye, loss.T))
    return out


def _superop_family(theta):
    h0, h1, l0, l1 = (jnp.asarray(x) for x in _DENSE_ARRAYS)
    theta = theta.astype(h0.dtype)
    return qdiss.Superoperator(_superop_matrix(h0 + theta[0] * h1, l0 + theta[1] * l1))


def _superop_non_unique():
    """The Dicke dimer of :func:`_dense_non_unique` as a bare superoperator."""
    sx = np.array([[0, 1], [1, 0]], complex)
    collective = np.kron(_SM, np.eye(2)) + np.kron(np.eye(2), _SM)
    H = (np.kron(sx, np.eye(2)) + np.kron(np.eye(2), sx)) / 2
    return qdiss.Superoperator(superoperator(H, [collective]))


def _observable(n, seed):
    return _random_hermitian(np.random.default_rng(seed), n)


REPRESENTATIONS = {
    "dense": Representation(
        family=_dense_family,
        dense=_dense_dense,
        to_dense=_identity,
        from_dense=_identity,
        unknowns=4**2,
        observable=_observable(4, 10),
        non_unique=_dense_non_unique,
    ),
    "sectors": Representation(
        family=_sector_family,
        dense=_sector_dense,
        to_dense=lambda L, rho: L.to_dense(rho),
        from_dense=lambda L, rho: L.from_dense(rho),
        unknowns=3**2 + 2**2,
        observable=_observable(5, 11),
        non_unique=_sector_non_unique,
    ),
    "permutation": Representation(
        family=_pi_family,
        dense=_pi_dense,
        to_dense=lambda L, rho: L.to_dense(rho),
        from_dense=lambda L, rho: L.from_dense(rho),
        unknowns=5**2 + 3**2 + 1**2,  # j = 2, 1, 0
        observable=_observable(2**NUM_SPINS, 12),
        non_unique=_pi_non_unique,
    ),
    "superop": Representation(
        family=_superop_family,
        dense=_dense_dense,
        to_dense=_identity,
        from_dense=_identity,
        unknowns=4**2,
        observable=_observable(4, 13),
        non_unique=_superop_non_unique,
    ),
}
