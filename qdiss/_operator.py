r"""The deflated steady-state system, the operator every linear-solve solver inverts.

L is singular (L(ρ_ss) = 0). Every linear-solve solver instead solves

    A(ρ) = L(ρ) + s·tr(ρ)·E = s·E,     s > 0 (no gradient),

with E = ``lindbladian.identity_state()`` (tr E = 1; I/n for a dense Lindbladian) and s > 0 the
*deflation weight* (by default a norm bound of L; ``steady_state(..., deflation_weight=s)`` sets
it, as QuTiP's ``weight``), which is invertible exactly when the steady state is unique: taking
the trace of A(ρ) = 0 gives tr ρ = 0 (L preserves the trace) and then L(ρ) = 0, so ρ = 0 unless
ker L holds more than ρ_ss. Its solution has tr ρ = 1 and L(ρ) = 0.

Padding entries of a block representation (``padding_mask``) are not unknowns: A acts on them as
s·I, so A stays nonsingular on the whole array, the padding of the solution is exactly 0 and the
unknowns decouple from it. Direct solvers work on the unknowns only (:meth:`DeflatedProblem.matrix`,
or :meth:`DeflatedProblem.packed_operator`, a lineax operator on the packed unknowns to which
``lx.materialise``, ``lx.LU`` and ``lx.GMRES`` apply unchanged).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array

from ._lindbladian import AbstractLindbladian
from ._solution import real_dtype

__all__ = ["DeflatedProblem"]


class DeflatedProblem(eqx.Module):
    """The nonsingular system A(ρ) = L(ρ) + s·tr(ρ)·E (+ s·ρ on padding) = s·E.

    ``scale`` is the deflation weight s; ``norm`` the norm bound ‖L‖ where s was set apart from
    it (``None``: s is the norm bound, the default). The solution does not depend on s (any
    s > 0 gives tr ρ = 1 and L(ρ) = 0); its conditioning does.
    """

    lindbladian: AbstractLindbladian
    scale: Array
    norm: Array | None = None

    @classmethod
    def build(cls, lindbladian: AbstractLindbladian, weight=None) -> DeflatedProblem:
        """The deflated problem of ``lindbladian`` with s = ``weight`` (a positive number, no
        gradient), or s = ``norm_bound()`` (``None``, the default)."""
        rdtype = real_dtype(lindbladian.dtype)
        norm = jax.lax.stop_gradient(lindbladian.norm_bound())
        norm = jnp.where(norm > 0, norm, 1.0).astype(rdtype)
        if weight is None:
            return cls(lindbladian, norm)
        weight = jax.lax.stop_gradient(jnp.asarray(weight, rdtype))
        return cls(lindbladian, weight, norm)

    @property
    def norm_scale(self) -> Array:
        """‖L‖ (the norm bound) that residuals are measured against, whatever the weight s."""
        return self.scale if self.norm is None else self.norm

    @property
    def dtype(self):
        return self.lindbladian.dtype

    @property
    def state_shape(self) -> tuple[int, ...]:
        return tuple(self.lindbladian.state_shape)

    @property
    def size(self) -> int:
        """Number of unknowns (entries of ρ that are not padding)."""
        return int(self.lindbladian.physical_indices().size)

    def _scale(self) -> Array:
        return self.scale.astype(self.dtype)

    def identity(self) -> Array:
        """E as an array of the problem's dtype."""
        return self.lindbladian.space.identity_array(self.dtype)

    def _padding(self) -> Array | None:
        return self.lindbladian.space.padding_array()

    def mv(self, rho: Array) -> Array:
        out = (
            self.lindbladian.mv(rho)
            + (self._scale() * self.lindbladian.trace(rho)) * self.identity()
        )
        padding = self._padding()
        if padding is not None:
            out = out + jnp.where(padding, self._scale() * rho, 0)
        return out

    def rhs(self) -> Array:
        return self._scale() * self.identity()

    def operator(self) -> lx.FunctionLinearOperator:
        """A as a matrix-free lineax operator on arrays of ``state_shape``."""
        structure = jax.ShapeDtypeStruct(self.state_shape, self.dtype)
        return lx.FunctionLinearOperator(self.mv, structure)

    def packed_mv(self, v: Array) -> Array:
        """A on the packed unknowns: v ↦ to_physical(A(from_physical(v))). Exact, since A maps
        zero padding to zero padding."""
        return self.to_physical(self.mv(self.from_physical(v)))

    def packed_operator(self) -> lx.FunctionLinearOperator:
        """A on the packed unknowns (a vector of :attr:`size` entries) as a lineax operator:
        ``lx.materialise`` gives :meth:`matrix` (up to round-off), ``lx.LU``/``lx.GMRES``
        solve it, and ``lx.linear_solve`` differentiates through it. The right-hand side is
        ``to_physical(rhs())``; the state is ``solve_padding(rhs(), x)``."""
        structure = jax.ShapeDtypeStruct((self.size,), self.dtype)
        return lx.FunctionLinearOperator(self.packed_mv, structure)

    def to_physical(self, x: Array) -> Array:
        """The unknowns of ``x`` as a flat vector (order of ``physical_indices``)."""
        return self.lindbladian.to_physical(x)

    def from_physical(self, v: Array) -> Array:
        """Inverse of :meth:`to_physical`, with zero padding."""
        return self.lindbladian.from_physical(v)

    def solve_padding(self, b: Array, x_physical: Array) -> Array:
        """The full solution of A x = b from its unknowns: padding x = b/s (A = s·I there)."""
        x = self.from_physical(x_physical)
        padding = self._padding()
        if padding is not None:
            x = x + jnp.where(padding, b / self._scale(), 0)
        return x

    def matrix(self) -> Array:
        """A restricted to the unknowns as a dense matrix: the superoperator plus s·e wᵀ, with
        e = E and w the trace weights (``trace_weights``) on the unknowns. For a dense
        Lindbladian: the ``(n², n²)`` matrix in row-major vectorisation."""
        index = self.lindbladian.physical_indices()
        e = jnp.asarray(self.lindbladian.identity_state().reshape(-1)[index], self.dtype)
        w = jnp.asarray(self.lindbladian.trace_weights().reshape(-1)[index], self.dtype)
        return self.lindbladian.superoperator() + self._scale() * jnp.outer(e, w)

    def random_vector(self, seed: int) -> Array:
        """A fixed pseudo-random complex array of ``state_shape`` with unit Frobenius norm and
        zero padding (no component along the decoupled padding)."""
        key_re, key_im = jax.random.split(jax.random.key(seed))
        rdtype = real_dtype(self.dtype)
        v = jax.lax.complex(
            jax.random.normal(key_re, self.state_shape, rdtype),
            jax.random.normal(key_im, self.state_shape, rdtype),
        )
        padding = self._padding()
        if padding is not None:
            v = jnp.where(padding, 0, v)
        return (v / jnp.linalg.norm(v).astype(v.dtype)).astype(self.dtype)
