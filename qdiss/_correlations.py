r"""Steady-state two-time correlations, their spectra, g⁽²⁾, and linear response.

For a Lindbladian with a unique steady state ρ_ss, the quantum regression theorem gives the
stationary correlation (QuTiP's ``correlation_2op_1t`` with ``state0=None``)

    C(τ) = ⟨A(τ)B(0)⟩ = lim_{t→∞} ⟨A(t+τ)B(t)⟩ = tr(A e^{Lτ}(B ρ_ss)),    τ ≥ 0.

**Spectra (QuTiP's convention).** QuTiP's ``spectrum(H, wlist, c_ops, a_op, b_op)`` computes,
with e^{−iωτ} and no 1/2π,

    S(ω) = 2 Re F(ω),   F(ω) = ∫₀^∞ e^{−iωτ} (C(τ) − ⟨A⟩⟨B⟩) dτ = −tr(A (L − iω)⁻¹ Q(B ρ_ss)),

Q(X) = X − ρ_ss tr X (``solver="pi"``: −2 Re tr(A Q(L − iω)⁻¹Q Bρ_ss); ``"es"``: the same sum
over eigenvalues). For A = B† (a power spectrum: ⟨a†(τ)a(0)⟩, ⟨σ₊(τ)σ₋(0)⟩) C(−τ) = C(τ)*, and S
is the full two-sided transform ∫_{−∞}^{∞} e^{−iωτ}(C(τ) − ⟨A⟩⟨B⟩) dτ; for other pairs it is
QuTiP's 2 Re of the one-sided one (``SpectrumSolution.one_sided`` keeps F itself). With this sign
an emitter's line sits at ω = +ω₀ for A = a† (e.g. H = Δ a†a: a†(τ) ∝ e^{iΔτ}, a peak at ω = Δ).

**ω = 0.** L − iω is singular at ω = 0 (L ρ_ss = 0), and C(τ) → ⟨A⟩⟨B⟩ gives the transform a
2π⟨A⟩⟨B⟩δ(ω) part. Both are removed the same way: the resolvent acts on Q(Bρ_ss) =
Bρ_ss − ρ_ss tr(Bρ_ss), traceless, on which L − iω is invertible for every ω (ω = 0 included:
there it is the Drazin pseudo-inverse, ``qdiss.pseudo_inverse``). S(ω) is the spectrum of the
fluctuations C(τ) − ⟨A⟩⟨B⟩, finite and smooth at ω = 0; the δ(ω) term (coherent part) is left out,
as in QuTiP.

Each resolvent solve is the deflated system (L − iω + s·tr(·)E)Y = Q(Bρ_ss)
(``qdiss._pseudo_inverse``): a dense LU per ω, or matrix-free GMRES with a shifted
preconditioner; the ω's are batched with ``vmap``. Everything is differentiable (implicit rule)
with respect to the model's parameters, A, B and ω.

**Representations.** A and B are ``(n, n)`` operators on the full Hilbert space. In a
representation other than a dense one (sectors, permutation-invariant blocks) B ρ_ss must again be
a state of that representation: B conserves the sector charge, or is collective; a B that leaves
the representation (e.g. ``a`` in a parity-sector Lindbladian) is refused (``ValueError``), while
combinations such as a ρ a† (``coherence_function_g2``) pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ._checks import check
from ._lindbladian import AbstractLindbladian
from ._lindbladian.dense import _to_array
from ._operator import DeflatedProblem
from ._pseudo_inverse import (
    DENSE_LIMIT,
    PROPAGATE_DENSE_LIMIT,
    AbstractResolventSolver,
    default_resolvent_solver,
    pseudo_inverse,
    resolvent_solve,
)
from ._solution import RESULTS
from .measures import fisher_information

__all__ = [
    "SpectrumSolution",
    "coherence_function_g2",
    "correlation_2op_1t",
    "g2_zero",
    "linear_response",
    "spectrum",
    "steady_state_derivative",
    "steady_state_fisher_information",
    "susceptibility",
]


class SpectrumSolution(eqx.Module):
    """What :func:`spectrum` returns (module docstring for the conventions).

    - ``omega``: the frequencies ``(W,)``.
    - ``spectrum``: S(ω) = 2 Re F(ω), real ``(W,)`` (QuTiP's ``spectrum``).
    - ``one_sided``: F(ω) = −tr(A (L − iω)⁻¹ Q(Bρ_ss)), complex ``(W,)``.
    - ``result``: a ``qdiss.RESULTS`` code per frequency (``successful``, or the resolvent
      solve's failure: ``max_steps_reached``, ``stagnation``, ``residual_too_large``...).
    - ``residual``: ‖(L − iω + s·tr(·)E)Y − Q(Bρ_ss)‖/‖Q(Bρ_ss)‖ of each resolvent solve.
    """

    omega: Array
    spectrum: Array
    one_sided: Array
    result: RESULTS
    residual: Array


def _operator(x, name: str, n: int, dtype) -> Array:
    op = _to_array(x, name)
    if op.shape != (n, n):
        raise ValueError(f"`{name}` must be an (n, n) = ({n}, {n}) operator; got {op.shape}.")
    return op.astype(dtype)


def _steady(lindbladian: AbstractLindbladian, rho_ss) -> Array:
    if rho_ss is None:
        from ._solve import steady_state

        return steady_state(lindbladian).rho
    rho_ss = jnp.asarray(rho_ss, lindbladian.dtype)
    if rho_ss.shape != tuple(lindbladian.state_shape):
        raise ValueError(
            f"`rho_ss` must have the Lindbladian's state shape {tuple(lindbladian.state_shape)}; "
            f"got {rho_ss.shape}."
        )
    return rho_ss


def _sandwich(lindbladian: AbstractLindbladian, left, x: Array, right=None) -> Array:
    """left·X·right as a state of the representation, refused where it leaves it."""
    dense = lindbladian.to_dense(x)
    product = dense if left is None else left @ dense
    product = product if right is None else product @ right
    out = lindbladian.from_dense(product)
    lost = jnp.linalg.norm(lindbladian.to_dense(out) - product)
    eps = jnp.finfo(x.dtype).eps
    bad = lost > 1e3 * eps * (1 + jnp.linalg.norm(product))
    return check(
        out,
        bad,
        "the operator product B·ρ_ss (or B·ρ_ss·C) is not a state of this Lindbladian's "
        "representation (it couples symmetry sectors, or is not permutation invariant): use the "
        "dense Lindbladian, or an operator that conserves the charge / is collective.",
    )


def _expect(lindbladian: AbstractLindbladian, op: Array, x: Array) -> Array:
    """tr(op·X) for X a state of the representation."""
    return jnp.sum(op.T * lindbladian.to_dense(x))


def _setup(lindbladian, rho_ss, solver, dense_limit: int = DENSE_LIMIT):
    if not isinstance(lindbladian, AbstractLindbladian):
        raise TypeError(
            "`lindbladian` must be a qdiss Lindbladian (e.g. `qdiss.Lindbladian(H, jump_ops)`); "
            f"got {type(lindbladian).__name__}."
        )
    problem = DeflatedProblem.build(lindbladian)
    rho = _steady(lindbladian, rho_ss)
    if solver is None:
        solver = default_resolvent_solver(problem, dense_limit)
    if not isinstance(solver, AbstractResolventSolver):
        raise TypeError(
            "`solver` must be a resolvent solver (`qdiss.DenseResolvent()` or "
            f"`qdiss.KrylovResolvent()`); got {type(solver).__name__}."
        )
    return problem, rho, solver


def spectrum(
    lindbladian: AbstractLindbladian,
    omega,
    A,
    B,
    *,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
    batch_size: int | None = None,
    throw: bool = True,
) -> SpectrumSolution:
    r"""The stationary spectrum S(ω) = 2 Re F(ω), F(ω) = −tr(A (L − iω)⁻¹ Q(B ρ_ss)), of
    C(τ) = ⟨A(τ)B(0)⟩ at every ω of ``omega`` (QuTiP's ``spectrum(H, omega, c_ops, A, B)``;
    module docstring for the sign, the normalisation and ω = 0).

    - ``A``, ``B``: ``(n, n)`` operators (arrays, QuTiP Qobjs, dynamiqs QArrays).
    - ``rho_ss``: the steady state (default: ``qdiss.steady_state(lindbladian).rho``).
    - ``solver``: :class:`qdiss.DenseResolvent` (an LU per ω) or :class:`qdiss.KrylovResolvent`
      (matrix-free GMRES per ω); ``None``: dense up to 256 unknowns.
    - ``batch_size``: ``None`` solves every frequency at once (``vmap``); an integer solves
      that many at a time (``lax.map(..., batch_size=...)``), bounding memory: a vmapped GMRES
      holds ``restart + 1`` Krylov vectors per frequency.
    - ``throw``: raise if a resolvent solve fails (``False``: the codes are in ``result``).

    Differentiable in everything (implicit rule).
    """
    problem, rho, solver = _setup(lindbladian, rho_ss, solver)
    n, dtype = lindbladian.n, lindbladian.dtype
    a, b = _operator(A, "A", n, dtype), _operator(B, "B", n, dtype)
    omega = jnp.asarray(omega)
    if omega.ndim != 1:
        raise ValueError(f"`omega` must be a 1-d array of frequencies; got shape {omega.shape}.")
    b_rho = _sandwich(lindbladian, b, rho)
    x = b_rho - rho * lindbladian.trace(b_rho)  # Q(Bρ_ss): traceless

    def one(w):
        z = 1j * w.astype(dtype)
        y, result, residual = resolvent_solve(problem, z, x, solver)
        return -_expect(lindbladian, a, y), result, residual

    if batch_size is None:
        one_sided, result, residual = jax.vmap(one)(omega)
    else:
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"`batch_size` must be a positive integer or None; got {batch_size}.")
        one_sided, result, residual = jax.lax.map(one, omega, batch_size=batch_size)
    if throw:
        one_sided = result.error_if(one_sided, result != RESULTS.successful)
    return SpectrumSolution(
        omega=omega,
        spectrum=2 * jnp.real(one_sided),
        one_sided=one_sided,
        result=result,
        residual=residual,
    )


def correlation_2op_1t(
    lindbladian: AbstractLindbladian,
    taus,
    A,
    B,
    *,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
) -> Array:
    r"""C(τ) = ⟨A(τ)B(0)⟩ = tr(A e^{Lτ}(B ρ_ss)) at every τ ≥ 0 of ``taus``, complex ``(T,)``
    (QuTiP's ``correlation_2op_1t(H, None, taus, c_ops, A, B)``: stationary, with the
    ⟨A⟩⟨B⟩ part, C(τ) → ⟨A⟩⟨B⟩ for τ → ∞).

    e^{Lτ} is ``jax.scipy.linalg.expm`` of the superoperator on the unknowns with
    :class:`qdiss.DenseResolvent` (one exponential for equally spaced concrete τ's; the default
    up to 2500 unknowns), a ``qdiss.evolve`` trajectory with :class:`qdiss.KrylovResolvent`
    (its ``evolve_rtol``/``evolve_atol``). Differentiable."""
    problem, rho, solver = _setup(lindbladian, rho_ss, solver, PROPAGATE_DENSE_LIMIT)
    n, dtype = lindbladian.n, lindbladian.dtype
    a, b = _operator(A, "A", n, dtype), _operator(B, "B", n, dtype)
    states = solver.propagate(problem, _sandwich(lindbladian, b, rho), taus)
    return jax.vmap(lambda x: _expect(lindbladian, a, x))(states)


def coherence_function_g2(
    lindbladian: AbstractLindbladian,
    taus,
    a,
    *,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
) -> tuple[Array, Array]:
    r"""(g⁽²⁾(τ), G⁽²⁾(τ)) in the steady state, as QuTiP's ``coherence_function_g2(H, None, taus,
    c_ops, a)``:

        G⁽²⁾(τ) = ⟨a†(0) a†a(τ) a(0)⟩ = tr(a†a e^{Lτ}(a ρ_ss a†)),   g⁽²⁾(τ) = G⁽²⁾(τ)/⟨a†a⟩²,

    both complex ``(T,)`` (real up to round-off); g⁽²⁾(0) = ⟨a†a†aa⟩/⟨a†a⟩² and g⁽²⁾(τ) → 1 for
    τ → ∞. In a sector representation a ρ a† stays block-diagonal for an ``a`` of fixed charge,
    so g⁽²⁾ works there too. Time evolution as in :func:`correlation_2op_1t`. Differentiable."""
    problem, rho, solver = _setup(lindbladian, rho_ss, solver, PROPAGATE_DENSE_LIMIT)
    n, dtype = lindbladian.n, lindbladian.dtype
    op = _operator(a, "a", n, dtype)
    number = op.conj().T @ op
    x = _sandwich(lindbladian, op, rho, op.conj().T)
    states = solver.propagate(problem, x, taus)
    big_g2 = jax.vmap(lambda s: _expect(lindbladian, number, s))(states)
    mean = _expect(lindbladian, number, rho)
    return big_g2 / mean**2, big_g2


def g2_zero(lindbladian: AbstractLindbladian, a, *, rho_ss: Array | None = None) -> Array:
    r"""g⁽²⁾(0) = ⟨a†a†aa⟩/⟨a†a⟩² in the steady state (real)."""
    rho = _steady(lindbladian, rho_ss)
    op = _operator(a, "a", lindbladian.n, lindbladian.dtype)
    dag = op.conj().T
    num = jnp.real(_expect(lindbladian, dag @ dag @ op @ op, rho))
    den = jnp.real(_expect(lindbladian, dag @ op, rho))
    return num / den**2


def linear_response(
    family: Callable[[Array], AbstractLindbladian],
    observable,
    *,
    epsilon: Any = 0.0,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
) -> Array:
    r"""d⟨O⟩_ss/dε of a steady-state observable under a perturbation L(ε) of the generator
    (of H, of a jump operator, of a rate), by the implicit derivative

        ρ'_ss = −L⁺(L'(ρ_ss)),   d⟨O⟩/dε = −tr(O L⁺(L'(ρ_ss))),   L' = dL/dε at ``epsilon``,

    with L⁺ the Drazin pseudo-inverse (:func:`qdiss.pseudo_inverse`; L'(ρ_ss) is traceless
    since every L(ε) preserves the trace). E.g. a perturbation V of H: L'(ρ) = −i[V, ρ]; a jump
    operator J → J + εM: L'(ρ) = MρJ† + JρM† − ½{M†J + J†M, ρ}.

    - ``family(eps)``: the Lindbladian at ε (a real scalar), traceable in ε.
    - ``observable``: the ``(n, n)`` operator O (the response is complex for a non-Hermitian O).

    Equal to ``jax.grad`` of ⟨O⟩ through :func:`qdiss.steady_state` (one pseudo-inverse solve
    instead of a transposed one); itself differentiable."""
    epsilon = jnp.asarray(epsilon)
    lindbladian = family(epsilon)
    _, rho, solver = _setup(lindbladian, rho_ss, solver)
    op = _operator(observable, "observable", lindbladian.n, lindbladian.dtype)

    def applied(eps):
        return family(eps).mv(rho)

    _, derivative = jax.jvp(applied, (epsilon,), (jnp.ones_like(epsilon),))
    plus = pseudo_inverse(lindbladian, rho, solver=solver)
    return -_expect(lindbladian, op, plus.mv(derivative))


def steady_state_derivative(
    family: Callable[[Array], AbstractLindbladian],
    *,
    epsilon: Any = 0.0,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
) -> Array:
    r"""dρ_ss/dε = −L⁺(L'(ρ_ss)), the whole state's linear response (see :func:`linear_response`,
    same arguments), as a state of the Lindbladian's representation (traceless). One
    pseudo-inverse solve; differentiable."""
    epsilon = jnp.asarray(epsilon)
    lindbladian = family(epsilon)
    _, rho, solver = _setup(lindbladian, rho_ss, solver)
    _, derivative = jax.jvp(lambda eps: family(eps).mv(rho), (epsilon,), (jnp.ones_like(epsilon),))
    return -pseudo_inverse(lindbladian, rho, solver=solver).mv(derivative)


def steady_state_fisher_information(
    family: Callable[[Array], AbstractLindbladian],
    *,
    epsilon: Any = 0.0,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
) -> Array:
    r"""Quantum Fisher information of the steady state w.r.t. a parameter ε of the generator,

        F_Q(ε) = 2 Σ_{λᵢ+λⱼ>0} |⟨i|∂_ερ_ss|j⟩|²/(λᵢ + λⱼ),   ∂_ερ_ss = −L⁺(L'(ρ_ss)),

    (:func:`qdiss.measures.fisher_information` of ρ_ss and :func:`steady_state_derivative`): the
    precision bound 1/(ν F_Q) for estimating ε from ν copies of the steady state. The derivative
    is the implicit one (one pseudo-inverse solve, no finite differences); the result is
    differentiable in every parameter the family depends on. ``family(eps)`` as in
    :func:`linear_response`; the state is made dense (``to_dense``) for the eigen-decomposition."""
    epsilon = jnp.asarray(epsilon)
    lindbladian = family(epsilon)
    _, rho, solver = _setup(lindbladian, rho_ss, solver)
    drho = steady_state_derivative(family, epsilon=epsilon, rho_ss=rho, solver=solver)
    return fisher_information(lindbladian.to_dense(rho), lindbladian.to_dense(drho))


def susceptibility(
    family: Callable[[Array], AbstractLindbladian],
    observable,
    omega,
    *,
    epsilon: Any = 0.0,
    rho_ss: Array | None = None,
    solver: AbstractResolventSolver | None = None,
    throw: bool = True,
) -> Array:
    r"""The frequency-dependent linear response χ(ω) of ⟨O⟩ to a periodic modulation of the
    generator, L(t) = L + ε(t)L′ with ε(t) = ε e^{−iωt} (L′ = dL/dε at ``epsilon``):

        δ⟨O⟩(t) = χ(ω) ε e^{−iωt},   χ(ω) = ∫₀^∞ e^{iωτ} tr(O e^{Lτ} L′ρ_ss) dτ
                                          = −tr(O (L + iω)⁻¹ L′ρ_ss),

    complex ``(W,)`` for the frequencies ``omega``; χ(0) is :func:`linear_response`. L′ρ_ss is
    traceless (each L(ε) preserves the trace), so the resolvent acts on the traceless subspace
    and ω = 0 is regular. Same arguments as :func:`linear_response` and :func:`spectrum`
    (``throw``: raise if a resolvent solve fails). Differentiable."""
    epsilon = jnp.asarray(epsilon)
    lindbladian = family(epsilon)
    problem, rho, solver = _setup(lindbladian, rho_ss, solver)
    op = _operator(observable, "observable", lindbladian.n, lindbladian.dtype)
    omega = jnp.asarray(omega)
    if omega.ndim != 1:
        raise ValueError(f"`omega` must be a 1-d array of frequencies; got shape {omega.shape}.")
    dtype = lindbladian.dtype

    def applied(eps):
        return family(eps).mv(rho)

    _, derivative = jax.jvp(applied, (epsilon,), (jnp.ones_like(epsilon),))
    derivative = derivative - rho * lindbladian.trace(derivative)  # exactly traceless

    def one(w):
        y, result, _ = resolvent_solve(problem, -1j * w.astype(dtype), derivative, solver)
        return -_expect(lindbladian, op, y), result

    chi, result = jax.vmap(one)(omega)
    if throw:
        chi = result.error_if(chi, result != RESULTS.successful)
    return chi
