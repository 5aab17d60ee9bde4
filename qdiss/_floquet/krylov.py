r"""``FloquetKrylov``: the deflated harmonic system A(ρ) = s·E·δ_{k0} of the
``qdiss._floquet`` docstring, (L₀ − ikω)ρ_k + Σ_m (L_mρ_{k−m} + L_{−m}ρ_{k+m}) (+ the jump
drives' D_{ab} terms) + s·tr(ρ₀)·E·δ_{k0} = s·E·δ_{k0} for |k| ≤ K, solved matrix-free by
restarted GMRES, right-preconditioned harmonic by harmonic by the eigenbasis-diagonal inverse of
L₀ without its recycling term (plus the jump drives' time-averaged loss) shifted by −ikω."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array

from .._solution import RESULTS
from .._solver._gmres import RestartedGMRES, gmres_rtol
from .._solver._preconditioner import DiagonalBasisPreconditioner
from ._abstract import AbstractFloquetSolver
from ._system import FourierSystem


class _FloquetKrylovState(eqx.Module):
    system: FourierSystem
    precond: DiagonalBasisPreconditioner
    diagonals: Array


class FloquetKrylov(AbstractFloquetSolver):
    """Matrix-free restarted GMRES on the harmonic system, right-preconditioned harmonic by
    harmonic by the eigenbasis-diagonal inverse of L₀ without its recycling term shifted by
    −ikω (``"hermitian"`` of ``qdiss._solver._preconditioner``, as ``qdiss.KrylovResolvent``):
    memory O(restart·(2K+1)·n²), time O((2K+1)·n³) per iteration. The drive couplings are left
    to GMRES: a drive strong compared with ω and the damping needs more iterations.

    **Fields:** ``rtol`` (relative to ‖b‖; default 1e-12 in float64, 1e-6 in float32),
    ``max_steps`` (restart cycles), ``restart``, ``stagnation_iters``, ``shift`` (σ of the
    preconditioner, relative to the largest decay rate), ``condition_rounds`` (rounds of power
    iteration for the condition estimate, two GMRES solves each; 0: none, and a non-unique
    periodic state is then not detected)."""

    rtol: float | None = None
    max_steps: int = 200
    restart: int = 60
    stagnation_iters: int = 20
    shift: float = 1e-3
    condition_rounds: int = 1

    def _gmres(self, dtype) -> RestartedGMRES:
        return RestartedGMRES(
            rtol=gmres_rtol(dtype, self.rtol),
            atol=0.0,
            max_steps=self.max_steps,
            restart=self.restart,
            stagnation_iters=self.stagnation_iters,
        )

    def condition_iterations(self) -> int:
        return self.condition_rounds

    def prepare(self, system: FourierSystem):
        system = jax.lax.stop_gradient(system)
        problem = system.problem
        base = DiagonalBasisPreconditioner.build(
            problem.lindbladian, "hermitian", self.shift, padding_scale=problem.scale
        )
        diagonal = base.diagonal
        extra = system.extra_loss()
        if extra is not None:
            # the jump drives' time-averaged loss, kept through its diagonal δk in the same basis
            # (D_ij − ½(δk_i + δk_j)), and σ raised with it (an undamped L₀)
            rates = jnp.real(jnp.diagonal(base.basis.conj().T @ extra @ base.basis))
            sigma = self.shift * jnp.max(rates)
            diagonal = diagonal - (0.5 * (rates[:, None] + rates[None, :]) + sigma).astype(
                diagonal.dtype
            )
        shifts = 1j * system.frequencies()
        diagonals = diagonal[None] - shifts.reshape(-1, *([1] * diagonal.ndim))
        return _FloquetKrylovState(system, base, diagonals)

    def _operators(self, state: _FloquetKrylovState):
        system, base = state.system, state.precond

        def p_inv(v):
            x = system.unpack(v)

            def one(diagonal, xk):
                precond = DiagonalBasisPreconditioner(
                    base.basis, base.basis_inv, diagonal, base.padding, base.padding_scale
                )
                return precond.apply_inverse(xk)

            return system.pack(jax.vmap(one)(state.diagonals, x))

        structure = jax.ShapeDtypeStruct((system.size,), system.dtype)
        return system.packed_mv, p_inv, structure

    def _run(self, operator, b):
        norm = jnp.linalg.norm(b)
        safe = jnp.where(norm > 0, norm, 1.0).astype(b.dtype)
        out = lx.linear_solve(operator, b / safe, self._gmres(b.dtype), throw=False)
        steps = jnp.asarray(out.stats.get("num_steps", 0), jnp.int32)
        return out.value * safe, RESULTS.promote(out.result), steps

    def solve(self, state, b: Array):
        a, p_inv, structure = self._operators(state)
        operator = lx.FunctionLinearOperator(lambda u: a(p_inv(u)), structure)
        u, result, steps = self._run(operator, b)
        return p_inv(u), result, steps

    def transpose_solve(self, state, b: Array):
        # Aᵀy = b as (P⁻¹A)ᵀu = b, y = P⁻ᵀu (plain transposes), as KrylovResolvent
        a, p_inv, structure = self._operators(state)
        left = lx.FunctionLinearOperator(lambda u: p_inv(a(u)), structure)
        u, result, steps = self._run(left.T, b)
        p_inv_t = jax.linear_transpose(p_inv, jnp.zeros(structure.shape, structure.dtype))
        return p_inv_t(u)[0], result, steps
