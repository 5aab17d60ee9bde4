"""The interface every representation of a Lindbladian implements.

A *representation* of L stores its states in a :class:`~qdiss._lindbladian._space.AbstractSpace`
(a dense ``(n, n)`` matrix, or a stack of padded blocks) and applies L and L† to them. Every
query a solver may ask and whose answer depends on the representation (its state space, the
sparse superoperator, the map to and from a dense ``(n, n)`` state, the default Krylov
preconditioner, how the dense superoperator is assembled) is a method here, answered by each
concrete class: solvers never test for a concrete class.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jaxtyping import Array

from ._space import AbstractSpace

__all__ = ["AbstractLindbladian"]


class AbstractLindbladian(eqx.Module):
    """Interface every Lindbladian implements, so that every solver can take it.

    A Lindbladian acts on states in its own *representation*: an array of shape
    ``state_shape`` (``space.shape``), a stack of square blocks ``(..., k, k)`` that together
    form a block-diagonal density matrix (a dense Lindbladian: one ``(n, n)`` block). Some
    entries may be *padding* (``padding_mask``): not unknowns, kept exactly zero, never read
    or written by ``mv``. The layout questions (unknowns, pack/unpack, trace, the deflation
    state) are answered by :attr:`space`; concrete classes are final.
    """

    @property
    @abc.abstractmethod
    def n(self) -> int:
        """Hilbert-space dimension."""

    @property
    @abc.abstractmethod
    def dtype(self) -> Any:
        """Complex dtype of ρ."""

    @property
    @abc.abstractmethod
    def space(self) -> AbstractSpace:
        """The state space of this representation (``DenseSpace`` or ``BlockSpace``)."""

    @abc.abstractmethod
    def mv(self, rho: Array) -> Array:
        """L(ρ) for one state of shape ``state_shape``."""

    @abc.abstractmethod
    def adjoint_mv(self, op: Array) -> Array:
        """The Heisenberg-picture (Hilbert–Schmidt adjoint) action L†(X)."""

    @abc.abstractmethod
    def effective_hamiltonian(self) -> Array:
        """H_eff = H − (i/2) Σ_k L_k†L_k, the non-Hermitian part used by preconditioners: an
        array of ``state_shape`` (one matrix per block) whose blocks act on the state's blocks."""

    @abc.abstractmethod
    def norm_bound(self) -> Array:
        """An upper bound on the induced Frobenius norm ‖L‖ = max ‖L(ρ)‖_F / ‖ρ‖_F (a constant
        for differentiation: no gradient flows through it)."""

    @abc.abstractmethod
    def sparse_superoperator(self) -> sp.csr_matrix:
        """L on the unknowns (order of :meth:`physical_indices`) as a SciPy CSR matrix, built on
        the host from concrete arrays (not traceable: ``SparseLU`` calls it in a host
        callback)."""

    @abc.abstractmethod
    def to_dense(self, rho: Array) -> Array:
        """The ``(n, n)`` density matrix of a state of this representation."""

    @abc.abstractmethod
    def from_dense(self, rho: Array) -> Array:
        """The state of this representation of an ``(n, n)`` matrix (its part that the
        representation holds)."""

    # -- queries with a generic answer (a representation may answer better) --------------------

    def prepared(self) -> AbstractLindbladian:
        """The same Lindbladian, with what its :meth:`mv` computes from the parameters alone
        (coefficients that do not depend on ρ) computed once, here: iterative solvers call it
        once per solve, so that each of the many applications of L in the program is only the
        application. Default: itself."""
        return self

    def default_preconditioner(self) -> str:
        """The name of the preconditioner ``Krylov`` uses when none is given (its
        ``preconditioner`` field): ``"hermitian"`` by default, the eigenbasis-diagonal inverse
        of L without its recycling term."""
        return "hermitian"

    def sweep_preconditioner(self, shift: float, padding_scale: Array):
        """The block Gauss–Seidel sweep preconditioner (``"sweep"``), offered by the
        permutation-invariant representation only: ``ValueError`` here."""
        del shift, padding_scale
        raise ValueError(
            "The 'sweep' preconditioner is for permutation-invariant Lindbladians; use "
            "'hermitian' or 'heff'."
        )

    def hamiltonian_eigenbasis(self) -> tuple[Array, Array, AbstractLindbladian] | None:
        """(energies, U, the generator rotated to U) where the whole Krylov solve can run in the
        eigenbasis of H (a dense Hamiltonian: then the ``"hermitian"`` preconditioner is
        elementwise), or None (the default: no such basis is offered)."""
        return None

    def krylov_converges_fast(self) -> bool:
        """True when :meth:`default_preconditioner` makes GMRES converge in a few tens of
        iterations whatever the size (``Auto`` then picks ``Krylov``). Default False."""
        return False

    def superoperator_by_columns(self) -> bool:
        """True when :meth:`superoperator` is assembled one column, one L(e_i), at a time (the
        generic way; ``Auto`` counts those applications in DenseLU's cost)."""
        return True

    def inputs_finite(self) -> Array:
        """True when every floating-point leaf (Hamiltonian, jump operators, rates) is finite.

        Concrete inputs are checked at construction (``ValueError``); traced ones (under ``jit``,
        ``vmap``, ``grad``) cannot be, so :func:`qdiss.steady_state` checks them here and reports
        ``RESULTS.nonfinite`` for the offending point only.
        """
        leaves = jax.tree_util.tree_leaves(eqx.filter(self, eqx.is_inexact_array))
        return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves] or [jnp.array(True)]))

    def hamiltonian_hermitian(self) -> Array:
        """True when the Hamiltonian is Hermitian to the constructor's tolerance (default: True,
        for representations Hermitian by construction). Checked by :func:`qdiss.steady_state`
        for traced inputs, which the constructor cannot check (``RESULTS.not_hermitian``)."""
        return jnp.array(True)

    def is_closed(self) -> Array:
        """True when there is no dissipation at all (every jump operator, or rate, exactly 0).

        Default: every decay rate −Im (H_eff)_ii = ½(Σ_k L_k†L_k)_ii is 0 (each is a sum of
        |entries|², so all vanish exactly when every L_k does). With n ≥ 2 the steady state of a
        closed system is not unique (every function of H is stationary).
        """
        diagonal = jnp.diagonal(self.effective_hamiltonian(), axis1=-2, axis2=-1)
        return jnp.all(jnp.imag(diagonal) == 0)

    def top_level_populations(self, rho: Array) -> Array:
        """Truncation diagnostic: for each truncated bosonic mode this Lindbladian declares, the
        marginal population of its top Fock levels in the state ρ (a real vector, one entry per
        mode; empty by default: no declared modes). See
        :func:`qdiss._lindbladian.dense.top_level_populations`."""
        del rho
        return jnp.zeros((0,), jnp.finfo(self.dtype).dtype)

    def superoperator(self) -> Array:
        """The dense matrix of L on the unknowns (ordered as :meth:`physical_indices`),
        assembled column by column from :meth:`mv`."""
        size = int(self.physical_indices().size)

        def column(e):  # L applied to one unit vector of the unknowns
            return self.to_physical(self.mv(self.from_physical(e)))

        eye = jnp.eye(size, dtype=self.dtype)
        return jax.lax.map(column, eye, batch_size=min(size, 256)).T

    # -- the state space (delegated to `space`) ------------------------------------------------

    @property
    def state_shape(self) -> tuple[int, ...]:
        """Shape of one state in this representation (``space.shape``)."""
        return self.space.shape

    def padding_mask(self) -> np.ndarray | None:
        """Static NumPy bool array of ``state_shape``, True on padding entries (not unknowns);
        ``None`` when every entry is an unknown."""
        return self.space.padding_mask()

    def trace_weights(self) -> np.ndarray:
        """Static NumPy array W of ``state_shape`` with tr ρ = Σ W ⊙ ρ."""
        return self.space.trace_weights()

    def trace(self, rho: Array) -> Array:
        """tr ρ (padding excluded)."""
        return self.space.trace(rho)

    def identity_state(self) -> np.ndarray:
        """E, a fixed state with tr E = 1 that deflates L (``steady_state``): a static NumPy
        array of ``state_shape``."""
        return self.space.identity_state()

    def hermitian_part(self, rho: Array) -> Array:
        """(ρ + ρ†)/2, block by block."""
        return self.space.hermitian_part(rho)

    def min_eigenvalue(self, rho: Array) -> Array:
        """Smallest eigenvalue of a Hermitian state ρ over its blocks (padding excluded)."""
        return self.space.min_eigenvalue(rho)

    def physical_indices(self) -> np.ndarray:
        """Flat (row-major) indices into ``state_shape`` of the unknowns, in the order used by
        :meth:`superoperator`."""
        return self.space.physical_indices()

    def to_physical(self, x: Array) -> Array:
        """The unknowns of a state ``x`` as a flat vector (order of :meth:`physical_indices`)."""
        return self.space.to_physical(x)

    def from_physical(self, v: Array) -> Array:
        """Inverse of :meth:`to_physical`: the state with these unknowns and zero padding."""
        return self.space.from_physical(v)
