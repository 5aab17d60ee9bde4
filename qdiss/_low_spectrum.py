r"""The low-lying spectrum of a Lindbladian: the k eigenvalues closest to 0 (shift-invert Arnoldi).

**What is computed.** The eigenpairs L(r_i) = λ_i r_i, L†(l_i) = λ̄_i l_i of a Lindbladian in its
own representation (dense, symmetry sectors, permutation-invariant blocks), for the k eigenvalues
of smallest |λ|: λ_0 = 0 (the steady state, r_0 = ρ_ss, l_0 = I) and the k − 1 next ones. The
Liouvillian gap Δ = −max_{i≥1} Re λ_i and the asymptotic decay rates −Re λ_i follow. For a block
representation these are the eigenvalues of L restricted to the states the representation holds
(block-diagonal states of a conserved charge; permutation-invariant states).

**Shift-invert on the deflated operator.** L is singular; the deflated operator of
``steady_state`` (``qdiss._operator``),

    A = L + s·E wᵀ        (s = ‖L‖ bound, E the deflation state, wᵀx = tr x),

is not (for a unique steady state) and has the same spectrum as L except that the steady
state's 0 becomes s: wᵀA = s wᵀ, and every other right eigenvector of L is traceless
(wᵀr_i = 0, biorthogonality with the left eigenvector w of the 0 eigenvalue), so A r_i = λ_i r_i.
Since |λ_i| ≤ ‖L‖ ≤ s, the eigenvalues of A⁻¹ of largest modulus are 1/λ_i for the λ_i ≠ 0
closest to 0: Arnoldi on A⁻¹ (shift-invert with σ = 0, no shift needed) converges to them, and
the steady state comes from one more solve, ρ_ss = A⁻¹(s·E). A⁻¹ is applied by

- ``method="lu"``: the LU factorisation of A on the packed unknowns (``DeflatedProblem.matrix``,
  the matrix ``qdiss.DenseLU`` factorises), once, O(P³) for P unknowns; every application O(P²);
- ``method="gmres"``: the preconditioned restarted GMRES of ``qdiss.Krylov`` (its preconditioner,
  its working basis, its tolerances: pass ``krylov=qdiss.Krylov(...)``), matrix-free.

Left eigenvectors come from a second Arnoldi run on A⁻ᵀ (the transposed LU solve, or GMRES on
the transposed preconditioned operator), matched to the right ones by eigenvalue, and are
corrected for the deflation: if uᵀA = λuᵀ then (u + c w)ᵀL = λ(u + c w)ᵀ with
c = −s (uᵀE)/λ.

**Arnoldi.** A Krylov–Schur iteration (Stewart, SIAM J. Matrix Anal. Appl. 23, 601 (2001)) with
a fixed basis of ``krylov_size`` = m vectors, written in JAX (``lax.while_loop``: it runs under
``jit``, ``vmap`` and on GPUs; SciPy's ``eigs`` does not): m Arnoldi steps with classical
Gram–Schmidt applied twice, the Ritz values of the m × m projected matrix (one small ``eig``),
and a restart that keeps the wanted part: with S the wanted Ritz vectors of G_m and Q its
orthonormalisation (Gram–Schmidt; the Schur vectors of that invariant subspace),
A⁻¹(V_m Q) = (V_m Q)(Qᴴ G_m Q) + g v_{m+1}(e_mᵀ Q), a Krylov decomposition from which the next
m − keep steps continue. A breakdown (an invariant subspace found) continues with a random
vector (a deterministic quasi-random one, orthogonalised).

**Status.** Every returned pair carries its true relative residuals, computed with L itself,
‖L(r) − λr‖/(s‖r‖) and ‖L†(l) − λ̄l‖/(s‖l‖), and is marked converged only when both are at most
``tol``: a wrong eigenvalue is never marked converged. It is not guaranteed that no eigenvalue
closer to 0 was missed: a single-vector Krylov space finds one copy of an exactly degenerate
eigenvalue (split a symmetry with ``qdiss.SectorLindbladian``), and a slow mode far from 0 (a
weakly damped fast oscillation, |λ| large, Re λ ≈ 0) lies outside the k closest: the gap returned
is the gap among the modes found.

**Gradients.** Each eigenvalue is returned as the two-sided Rayleigh quotient
λ = ⟨l, L(r)⟩/⟨l, r⟩ (⟨a, b⟩ = Σ ā b over the unknowns) with l, r held fixed, whose derivative
is the first-order perturbation rule of an isolated eigenvalue,

    dλ = ⟨l, dL(r)⟩ / ⟨l, r⟩,

in forward and reverse mode (the eigenvectors carry no gradient). It is NaN for a pair that is
not converged or whose eigenvalue condition number κ = ‖l‖‖r‖/|⟨l, r⟩| exceeds 1/√eps (a
(near-)degenerate or defective eigenvalue, where no derivative exists).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array

from . import _linalg
from ._adjoint import poison_derivative
from ._lindbladian import AbstractLindbladian
from ._operator import DeflatedProblem
from ._solution import RESULTS, real_dtype
from ._solver.krylov import Krylov

__all__ = ["LowLyingSpectrum", "low_lying_spectrum"]

# Above this many unknowns ``method="auto"`` uses GMRES instead of a dense LU (P = 2500: n = 50
# for a dense state; the LU then costs ~1e10 flops).
_LU_MAX_UNKNOWNS = 2500


# ----------------------------------------------------------------------------- the result record


class LowLyingSpectrum(eqx.Module):
    r"""The k eigenpairs of a Lindbladian closest to 0 (:func:`low_lying_spectrum`).

    - ``eigenvalues`` (k,): λ_0 = 0 (the steady state) then increasing |λ|.
    - ``right`` (k, *state_shape): r_i with L(r_i) = λ_i r_i; r_0 = ρ_ss (tr = 1), the others
      ‖r_i‖_F = 1 (over the unknowns), phase: their largest entry real positive.
    - ``left`` (k, *state_shape): l_i with L†(l_i) = λ̄_i l_i for the pairing
      ⟨l, x⟩ = Σ l̄ x over the unknowns (tr(l†x) for a dense state), normalised to
      ⟨l_i, r_i⟩ = 1; l_0 = the identity (``trace_weights``). Biorthogonal: ⟨l_i, r_j⟩ = δ_ij.
    - ``residuals``, ``left_residuals`` (k,): ‖L(r) − λr‖/(s‖r‖), ‖L†(l) − λ̄l‖/(s‖l‖), with s
      the norm bound of L.
    - ``condition`` (k,): κ_i = ‖l_i‖‖r_i‖/|⟨l_i, r_i⟩|, the eigenvalue condition number.
    - ``converged`` (k,): both residuals ≤ ``tol`` and finite.
    - ``result``: ``RESULTS.successful`` when every pair converged (and the kernel is
      one-dimensional); ``non_unique`` when the
      steady state is not unique (A singular: its solutions are not finite, or a second
      eigenvalue |λ_i| ≤ 1e3·eps·s was found; the pairs keep their own ``converged`` flags, and
      the other eigenvalues are then usually not converged); ``max_steps_reached`` when a pair
      is not converged and Arnoldi did not converge within ``max_restarts`` or a GMRES solve fell
      short of its tolerance (an inexact solve is otherwise harmless: the true residuals judge
      every pair); ``residual_too_large`` otherwise.
    - ``num_restarts`` (2,): Krylov–Schur restarts of the right and left runs.
    """

    eigenvalues: Array
    right: Array
    left: Array
    residuals: Array
    left_residuals: Array
    condition: Array
    converged: Array
    result: RESULTS
    num_restarts: Array
    krylov_size: int = eqx.field(static=True)

    def gap(self) -> Array:
        r"""Δ = −max_{i≥1} Re λ_i, the slowest relaxation rate among the modes found (the
        Liouvillian gap when the slowest mode is among the k closest to 0); NaN when k < 2 or
        when a pair is not converged."""
        if self.eigenvalues.shape[-1] < 2:
            return jnp.full(self.eigenvalues.shape[:-1], jnp.nan, real_dtype(self.eigenvalues))
        gap = -jnp.max(jnp.real(self.eigenvalues[..., 1:]), axis=-1)
        ok = jnp.all(self.converged, axis=-1)
        return jnp.where(ok, gap, jnp.nan)

    def decay_rates(self) -> Array:
        r"""The asymptotic decay rates −Re λ_i of the non-stationary modes found (i ≥ 1), in the
        order of ``eigenvalues``; a state relaxes as ρ(t) − ρ_ss = Σ_i c_i e^{λ_i t} r_i with
        c_i = ⟨l_i, ρ(0)⟩."""
        return -jnp.real(self.eigenvalues[..., 1:])


# ------------------------------------------------------------------ the inverse of the deflated A


class _LUInverse(eqx.Module):
    """A⁻¹ and A⁻ᵀ on the packed unknowns by one LU factorisation of A."""

    problem: DeflatedProblem
    factors: tuple

    @classmethod
    def build(cls, problem: DeflatedProblem) -> _LUInverse:
        return cls(problem, _linalg.lu_factor(problem.matrix()))

    def solve(self, v):
        x = _linalg.lu_solve(self.factors, v)
        return x, jnp.all(jnp.isfinite(x))

    def transpose_solve(self, v):
        x = _linalg.lu_solve(self.factors, v, trans=1)
        return x, jnp.all(jnp.isfinite(x))

    def to_state(self, v):
        """A packed vector of the working problem as a state of the original representation."""
        return self.problem.from_physical(v)


class _GMRESInverse(eqx.Module):
    """A⁻¹ and A⁻ᵀ on the packed unknowns by ``qdiss.Krylov``'s preconditioned GMRES, in its
    working basis (for a dense Lindbladian, the eigenbasis U of H: states ρ = Uρ'U†)."""

    problem: DeflatedProblem  # the working problem
    precond: eqx.Module
    rotation: Array | None
    solver: lx.AbstractLinearSolver

    @classmethod
    def build(cls, problem: DeflatedProblem, krylov: Krylov) -> _GMRESInverse:
        work, precond, rotation = krylov._working_problem(problem)
        return cls(work, precond, rotation, krylov._linear_solver(work))

    def _structure(self):
        return jax.ShapeDtypeStruct((self.problem.size,), self.problem.dtype)

    def _precond_inverse(self, y):
        return self.problem.to_physical(self.precond.apply_inverse(self.problem.from_physical(y)))

    def solve(self, v):
        """x = P⁻¹y with (A P⁻¹) y = v (right preconditioning)."""
        problem = self.problem
        operator = lx.FunctionLinearOperator(
            lambda y: problem.packed_mv(self._precond_inverse(y)), self._structure()
        )
        sol = lx.linear_solve(operator, v, self.solver, throw=False)
        x = self._precond_inverse(sol.value)
        return x, (sol.result == lx.RESULTS.successful) & jnp.all(jnp.isfinite(x))

    def transpose_solve(self, v):
        """x with Aᵀx = v from (A P⁻¹)ᵀ x = P⁻ᵀAᵀ x = P⁻ᵀv: the transposed operator of
        :meth:`solve`, left-preconditioned by Pᵀ (the transposed solve of ``Krylov``'s
        gradients)."""
        problem = self.problem
        operator = lx.FunctionLinearOperator(
            lambda y: problem.packed_mv(self._precond_inverse(y)), self._structure()
        )
        inverse = lx.FunctionLinearOperator(self._precond_inverse, self._structure())
        sol = lx.linear_solve(operator.T, inverse.T.mv(v), self.solver, throw=False)
        x = sol.value
        return x, (sol.result == lx.RESULTS.successful) & jnp.all(jnp.isfinite(x))

    def to_state(self, v):
        x = self.problem.from_physical(v)
        if self.rotation is None:
            return x
        return self.rotation @ x @ self.rotation.conj().T


# --------------------------------------------------------------------------- Krylov–Schur Arnoldi


def _orthogonalise(basis, w):
    """w minus its projection on the rows of ``basis`` (zero rows contribute nothing), classical
    Gram–Schmidt applied twice; returns (w', coefficients)."""
    h = basis.conj() @ w
    w = w - basis.T @ h
    h2 = basis.conj() @ w
    return w - basis.T @ h2, h + h2


def _orthonormal_columns(s):
    """Q with orthonormal columns and span(Q[:, :i]) = span(S[:, :i]) for every i (Gram–Schmidt
    twice, plain XLA)."""
    _, k = s.shape

    def column(i, q):
        mask = (jnp.arange(k) < i).astype(q.dtype)
        qm = q * mask
        v = s[:, i]
        for _ in range(2):
            v = v - qm @ (qm.conj().T @ v)
        norm = jnp.linalg.norm(v)
        return q.at[:, i].set(v / jnp.where(norm > 0, norm, 1).astype(v.dtype))

    return jax.lax.fori_loop(0, k, column, jnp.zeros_like(s))


def _generic_unit(counter, size, dtype):
    """A unit vector with pseudo-random phases, exp(2πi·frac(a·p² + b·(c + 1)·p)) / √P for
    p = 0 … P − 1 (a, b irrational, c = ``counter``): generic (not in any particular subspace),
    deterministic, and cheap to compile (no PRNG)."""
    rdtype = jnp.finfo(dtype).dtype
    p = jnp.arange(size, dtype=rdtype)
    c = jnp.asarray(counter, rdtype) + 1
    phase = jnp.mod(0.7548776662466927 * p * p + 0.5698402909980532 * c * p + 0.1 * c, 1.0)
    angle = 2 * jnp.pi * phase
    return (jax.lax.complex(jnp.cos(angle), jnp.sin(angle)) / float(np.sqrt(size))).astype(dtype)


def _ritz(g, m):
    """Ritz values θ of G_m (largest |θ| first), their unit eigenvectors S (columns) and the
    residual estimates ‖A⁻¹y − θy‖ = |g_{m+1,m}|·|S_{m,i}|."""
    theta, s = _linalg.eig(g[:m, :m])
    order = jnp.argsort(-jnp.abs(theta))
    theta, s = theta[order], s[:, order]
    estimate = jnp.abs(g[m, m - 1]) * jnp.abs(s[m - 1, :])
    return theta, s.astype(g.dtype), estimate


def _arnoldi(apply, v0, *, want, m, keep, max_restarts, tol, counter):
    """Krylov–Schur iteration for the ``want`` eigenvalues of largest modulus of the linear map
    ``apply`` (v ↦ (A⁻¹v, ok)) of a vector space of ``v0.size`` dimensions. An application
    that is not ``ok`` (GMRES short of its tolerance) is used all the same (an inexact
    shift-invert step perturbs the basis; the true residuals judge the result); a non-finite
    one stops the iteration.

    Converged when every wanted Ritz pair (θ, y) has 2|1/θ|·‖A⁻¹y − θy‖ ≤ tol/4 (then
    ‖Ay − y/θ‖ ≤ ‖A‖·|1/θ|·‖A⁻¹y − θy‖ is below tol·s). Returns (θ, Ritz vectors (keep, P),
    converged, every application succeeded, restarts)."""
    size = v0.size
    dtype = v0.dtype
    eps = float(jnp.finfo(dtype).eps)
    basis = jnp.zeros((m + 1, size), dtype).at[0].set(v0 / jnp.linalg.norm(v0).astype(dtype))
    g = jnp.zeros((m + 1, m), dtype)

    def expand(basis, g, start, ok, restart):
        def step(j, carry):
            basis, g, ok = carry
            x, ok_j = apply(basis[j])
            w, h = _orthogonalise(basis, x)
            beta = jnp.linalg.norm(w)
            breakdown = beta <= 100 * eps * jnp.linalg.norm(x)
            fresh = _generic_unit(counter + 1 + restart * m + j, size, dtype)
            fresh, _ = _orthogonalise(basis, fresh)
            fresh = fresh / jnp.linalg.norm(fresh).astype(dtype)
            safe_beta = jnp.where(breakdown, 1, beta).astype(dtype)
            nxt = jnp.where(breakdown, fresh, w / safe_beta)
            g = g.at[:, j].set(h).at[j + 1, j].set(jnp.where(breakdown, 0, beta).astype(dtype))
            basis = basis.at[j + 1].set(nxt)
            return basis, g, ok & ok_j & jnp.all(jnp.isfinite(x))

        return jax.lax.fori_loop(start, m, step, (basis, g, ok))

    def converged_of(theta, estimate):
        lam = 1 / theta[:want]
        return jnp.all(2 * jnp.abs(lam) * estimate[:want] <= tol / 4)

    def body(carry):
        basis, g, start, restart, _, ok = carry
        basis, g, ok = expand(basis, g, start, ok, restart)
        theta, s, estimate = _ritz(g, m)
        finite = jnp.all(jnp.isfinite(g))
        done = converged_of(theta, estimate) | ~finite | (restart >= max_restarts)
        q = _orthonormal_columns(s[:, :keep])
        new_basis = jnp.zeros_like(basis).at[:keep].set(q.T @ basis[:m]).at[keep].set(basis[m])
        new_g = jnp.zeros_like(g)
        new_g = new_g.at[:keep, :keep].set(q.conj().T @ g[:m, :m] @ q)
        new_g = new_g.at[keep, :keep].set(g[m, m - 1] * q[m - 1, :])
        basis = jnp.where(done, basis, new_basis)
        g = jnp.where(done, g, new_g)
        return basis, g, jnp.asarray(keep), restart + jnp.where(done, 0, 1), done, ok

    def cond(carry):
        return ~carry[4]

    init = (basis, g, jnp.asarray(0), jnp.asarray(0), jnp.asarray(False), jnp.asarray(True))
    basis, g, _, restarts, _, ok = jax.lax.while_loop(cond, body, init)
    theta, s, estimate = _ritz(g, m)
    vectors = s[:, :keep].T @ basis[:m]
    return theta[:keep], vectors, converged_of(theta, estimate), ok, restarts


# ------------------------------------------------------------------------------- the entry point


def _check_options(size: int, k: int, method: str, krylov_size: int | None):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` must be a positive integer; got {k!r}.")
    if k > size:
        raise ValueError(
            f"`k` = {k} exceeds the number of unknowns of this representation ({size})."
        )
    if method not in ("auto", "lu", "gmres"):
        raise ValueError(f"`method` must be 'auto', 'lu' or 'gmres'; got {method!r}.")
    if krylov_size is not None and not (k < krylov_size or krylov_size >= size):
        raise ValueError(
            f"`krylov_size` must exceed k = {k} (or reach the number of unknowns, {size}); got "
            f"{krylov_size}."
        )


def _arnoldi_want(size: int, k: int) -> int:
    """Eigenvalues of A⁻¹ the Arnoldi runs converge: the k − 1 wanted and one more (so that a
    complex-conjugate pair at the boundary is not split between the right and left runs)."""
    return min(k, size - 1)


def _sizes(size: int, want: int, krylov_size: int | None) -> tuple[int, int]:
    """(m, keep): the basis size (capped at the dimension) and the vectors kept at a restart."""
    m = max(2 * want + 10, 20) if krylov_size is None else krylov_size
    m = min(m, size)
    keep = min(max(want, m // 2), m - 1) if m > 1 else 1
    return m, keep


def _phase_normalised(r):
    """r/‖r‖ times the phase that makes its largest entry real positive."""
    flat = r.reshape(-1)
    big = flat[jnp.argmax(jnp.abs(flat))]
    size = jnp.abs(big)
    phase = jnp.where(size > 0, size.astype(r.dtype) / jnp.where(size > 0, big, 1), 1)
    norm = jnp.linalg.norm(r)
    return r * phase / jnp.where(norm > 0, norm, 1).astype(r.dtype)


def _inner(a, b):
    """⟨a, b⟩ = Σ ā b."""
    return jnp.vdot(a.reshape(-1), b.reshape(-1))


@eqx.filter_jit
def _compute(lindbladian, k, method, krylov, krylov_size, max_restarts, tol, seed):
    traced = lindbladian
    lindbladian = jax.lax.stop_gradient(lindbladian)
    problem = DeflatedProblem.build(lindbladian)
    size = problem.size
    dtype = problem.dtype
    scale = problem.scale
    if method == "auto":
        method = "lu" if size <= _LU_MAX_UNKNOWNS else "gmres"
    if method == "lu":
        inverse = _LUInverse.build(problem)
    else:
        inverse = _GMRESInverse.build(problem, krylov)
    work = inverse.problem

    # the steady state: ρ_ss = A⁻¹(s E)
    rhs = work.to_physical(work.rhs())
    x_ss, ok_ss = inverse.solve(rhs)
    finite_ss = jnp.all(jnp.isfinite(x_ss))
    rho_ss = inverse.to_state(x_ss)
    rho_ss = rho_ss / lindbladian.trace(rho_ss)
    weights = jnp.asarray(lindbladian.trace_weights(), dtype)

    want = k - 1
    restarts = jnp.zeros((2,), jnp.int32)
    if want > 0:
        arnoldi_want = _arnoldi_want(size, k)
        m, keep = _sizes(size, arnoldi_want, krylov_size)
        common = dict(want=arnoldi_want, m=m, keep=keep, max_restarts=max_restarts, tol=tol)
        start_r, start_l = 2 * (seed % 100_000), 2 * (seed % 100_000) + 1
        theta_r, y_r, conv_r, ok_r, restarts_r = _arnoldi(
            inverse.solve, _generic_unit(-start_r, size, dtype), counter=start_r * 10**6, **common
        )
        theta_l, y_l, conv_l, ok_l, restarts_l = _arnoldi(
            inverse.transpose_solve,
            _generic_unit(-start_l, size, dtype),
            counter=start_l * 10**6,
            **common,
        )
        restarts = jnp.stack([restarts_r, restarts_l]).astype(jnp.int32)
        lam_r = 1 / theta_r[:want]
        lam_l = 1 / theta_l
        match = jnp.argmin(jnp.abs(lam_r[:, None] - lam_l[None, :]), axis=1)
        u = y_l[match]  # uᵀA = λuᵀ (working problem, packed)
        # deflation correction: u + c w is a left eigenvector of L, c = −s (uᵀE)/λ
        e_packed = work.to_physical(work.identity())
        w_packed = work.to_physical(jnp.asarray(work.lindbladian.trace_weights(), dtype))
        c = -scale.astype(dtype) * (u @ e_packed) / lam_r
        u = u + c[:, None] * w_packed[None, :]
        right = jax.vmap(inverse.to_state)(y_r[:want])
        left = jax.vmap(inverse.to_state)(u.conj())
        right = jax.vmap(_phase_normalised)(right)
        arnoldi_ok = ok_r & ok_l
        arnoldi_converged = conv_r & conv_l
        right = jnp.concatenate([rho_ss[None], right])
        left = jnp.concatenate([weights[None], left])
    else:
        right, left = rho_ss[None], weights[None]
        arnoldi_ok = jnp.asarray(True)
        arnoldi_converged = jnp.asarray(True)

    # normalise ⟨l_i, r_i⟩ = 1 (l_0 = identity, r_0 = ρ_ss already are)
    shape_axes = (...,) + (None,) * len(lindbladian.state_shape)
    overlap = jax.vmap(_inner)(left, right)
    left = left / jnp.where(overlap == 0, 1, overlap).conj()[shape_axes]

    # eigenvalues: the two-sided Rayleigh quotient with L traced (value and derivative)
    left, right = jax.lax.stop_gradient(left), jax.lax.stop_gradient(right)
    applied = jax.vmap(traced.mv)(right)
    numerator = jax.vmap(_inner)(left, applied)
    overlap = jax.vmap(_inner)(left, right)
    eigenvalues = numerator / overlap
    # λ_0 = 0 exactly (trace preservation); its derivative tr(dL ρ_ss) = 0 to round-off
    eigenvalues = eigenvalues.at[0].set(eigenvalues[0] - jax.lax.stop_gradient(eigenvalues[0]))

    # true residuals with L itself
    lam = jax.lax.stop_gradient(eigenvalues)
    applied = jax.lax.stop_gradient(applied)
    r_norm = jnp.linalg.norm(right.reshape(k, -1), axis=1)
    residuals = jnp.linalg.norm((applied - lam[shape_axes] * right).reshape(k, -1), axis=1)
    residuals = residuals / (scale * r_norm)

    def packed_mv(v):
        return lindbladian.to_physical(lindbladian.mv(lindbladian.from_physical(v)))

    transpose = jax.linear_transpose(packed_mv, jnp.zeros((size,), dtype))

    def adjoint(l):  # L†(l): the conjugate transpose on the unknowns
        packed = lindbladian.to_physical(l)
        return lindbladian.from_physical(transpose(packed.conj())[0].conj())

    left_applied = jax.vmap(adjoint)(left)
    l_norm = jnp.linalg.norm(left.reshape(k, -1), axis=1)
    left_residuals = jnp.linalg.norm(
        (left_applied - lam.conj()[shape_axes] * left).reshape(k, -1), axis=1
    ) / (scale * l_norm)
    condition = l_norm * r_norm / jnp.abs(overlap)

    finite = jnp.isfinite(lam) & jnp.isfinite(residuals) & jnp.isfinite(left_residuals)
    converged = finite & (residuals <= tol) & (left_residuals <= tol)
    eps = float(jnp.finfo(dtype).eps)
    # a second eigenvalue 0 (to round-off) means a degenerate kernel: not a unique steady state
    second_zero = jnp.any((jnp.abs(lam[1:]) <= 1e3 * eps * scale) & converged[1:])
    # a singular A (LU: non-finite solutions) or a second eigenvalue 0: not unique
    unique = finite_ss & jnp.all(jnp.isfinite(lam)) & ~second_zero
    # an inexact inverse (GMRES short of its tolerance) is judged by the true residuals
    iterations_ok = arnoldi_converged & arnoldi_ok & ok_ss
    result = RESULTS.where(
        ~unique,
        RESULTS.non_unique,
        RESULTS.where(
            jnp.all(converged),
            RESULTS.successful,
            RESULTS.where(~iterations_ok, RESULTS.max_steps_reached, RESULTS.residual_too_large),
        ),
    )
    bad = ~converged | ~(condition <= 1 / np.sqrt(eps))
    eigenvalues = poison_derivative(eigenvalues, bad)
    return LowLyingSpectrum(
        eigenvalues=eigenvalues,
        right=right,
        left=left,
        residuals=residuals,
        left_residuals=left_residuals,
        condition=condition,
        converged=converged,
        result=result,
        num_restarts=restarts,
        krylov_size=_sizes(size, _arnoldi_want(size, k), krylov_size)[0] if want > 0 else 0,
    )


def low_lying_spectrum(
    lindbladian: AbstractLindbladian,
    k: int = 6,
    *,
    method: Literal["auto", "lu", "gmres"] = "auto",
    krylov: Krylov | None = None,
    krylov_size: int | None = None,
    max_restarts: int = 50,
    tol: float | None = None,
    seed: int = 0,
) -> LowLyingSpectrum:
    r"""The k eigenvalues of L closest to 0 with their right and left eigenmatrices.

    L(r_i) = λ_i r_i, L†(l_i) = λ̄_i l_i, ⟨l_i, r_j⟩ = δ_ij, λ_0 = 0 with r_0 = ρ_ss and l_0 = I,
    then the k − 1 eigenvalues of smallest |λ| among the others, by shift-invert Krylov–Schur
    Arnoldi on the inverse of the deflated operator A = L + s·E·tr (module docstring). Works for
    every representation (dense, sectors, permutation-invariant), under ``jit`` and ``vmap``;
    ``jax.grad``/``jax.jvp`` of the eigenvalues follow dλ = ⟨l, dL(r)⟩/⟨l, r⟩ (isolated
    eigenvalues; NaN for pairs not converged or ill-conditioned).

    - ``k``: how many eigenvalues (the steady state's 0 included); static.
    - ``method``: ``"lu"`` (dense LU of A on the P unknowns, once), ``"gmres"`` (matrix-free,
      ``krylov``'s preconditioned GMRES, a default ``qdiss.Krylov()`` when None) or ``"auto"``
      (LU up to P = 2500 unknowns).
    - ``krylov_size``: Arnoldi basis size m (default max(2k + 10, 20), capped at P).
    - ``max_restarts``: Krylov–Schur restarts before ``RESULTS.max_steps_reached``.
    - ``tol``: the relative residual a pair must reach to count as converged (default 1e-9 in
      float64, 1e-4 in float32).
    - ``seed``: the pseudo-random starting vectors.

    Returns a :class:`LowLyingSpectrum` (its ``gap()`` and ``decay_rates()`` give the Liouvillian
    gap and the asymptotic decay rates). Each pair's residuals are computed with L itself;
    ``result`` is ``RESULTS.successful`` only when all k pairs converged. A degenerate steady
    state makes A singular: ``RESULTS.non_unique``.
    """
    if not isinstance(lindbladian, AbstractLindbladian):
        raise TypeError(
            f"`lindbladian` must be a qdiss Lindbladian; got {type(lindbladian).__name__}."
        )
    size = int(lindbladian.physical_indices().size)
    _check_options(size, k, method, krylov_size)
    if krylov is None:
        krylov = Krylov()
    if tol is None:
        tol = 1e-9 if float(jnp.finfo(lindbladian.dtype).eps) < 1e-10 else 1e-4
    return _compute(lindbladian, int(k), method, krylov, krylov_size, max_restarts, tol, seed)
