"""Test problems: random Lindbladians and a dense null-space reference."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import qdiss


def destroy(n: int) -> np.ndarray:
    """Annihilation operator on an n-level Fock space."""
    return np.diag(np.sqrt(np.arange(1, n)), 1).astype(complex)


def random_lindbladian_arrays(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random Hermitian H and k random jump operators (unique steady state almost surely)."""
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    h = (h + h.conj().T) / 2
    ls = (rng.normal(size=(k, n, n)) + 1j * rng.normal(size=(k, n, n))) / np.sqrt(n)
    return h, ls


def random_lindbladian(n: int, k: int, seed: int) -> qdiss.Lindbladian:
    h, ls = random_lindbladian_arrays(n, k, seed)
    return qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls))


def null_space_steady_state(L: qdiss.Lindbladian) -> np.ndarray:
    """Independent reference: the right singular vector of the superoperator with the smallest
    singular value (numpy SVD), normalised to unit trace. Asserts the null space is 1-dimensional.
    """
    n = L.n
    s_op = np.asarray(L.superoperator())
    _, svals, vh = np.linalg.svd(s_op)
    assert svals[-2] > 1e3 * svals[-1], "reference problem has a degenerate null space"
    rho = vh[-1].conj().reshape(n, n)
    rho = rho / np.trace(rho)
    return (rho + rho.conj().T) / 2
