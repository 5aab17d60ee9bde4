r"""``FloquetLU``: the deflated harmonic system A(ρ) = s·E·δ_{k0} of the ``qdiss._floquet``
docstring, (L₀ − ikω)ρ_k + Σ_m (L_mρ_{k−m} + L_{−m}ρ_{k+m}) (+ the jump drives' D_{ab} terms)
+ s·tr(ρ₀)·E·δ_{k0} = s·E·δ_{k0} for |k| ≤ K, solved by one LU factorisation of the whole
dense ((2K+1)n²)² matrix: any number of drive harmonics M, jump drives, small systems."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _linalg
from ._abstract import AbstractFloquetSolver, _finite
from ._system import FourierSystem


class FloquetLU(AbstractFloquetSolver):
    """LU of the whole deflated block matrix (``(2K+1)n²`` unknowns): O(((2K+1)n²)³), any
    number of drive harmonics M. For small systems and as a reference."""

    def prepare(self, system: FourierSystem):
        return _linalg.lu_factor(jax.lax.stop_gradient(system).matrix())

    def solve(self, state, b: Array):
        x = _linalg.lu_solve(state, b)
        return x, _finite(x), jnp.array(1, jnp.int32)

    def transpose_solve(self, state, b: Array):
        x = _linalg.lu_solve(state, b, trans=1)
        return x, _finite(x), jnp.array(1, jnp.int32)
