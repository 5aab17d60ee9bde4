r"""First-order pure-state perturbation theory for steady states near a dark state.

The method of Huybrechts & Roscilde (arXiv:2402.16824). Split the Hamiltonian H = H₀ + V where
H₀ has a *dark* eigenstate |ψ₀⟩: every jump operator annihilates it (after the shift below) and
H₀|ψ₀⟩ = E₀|ψ₀⟩, so ρ₀ = |ψ₀⟩⟨ψ₀| is a steady state of the unperturbed Lindbladian (for emitters
with local decay and a U(1)-symmetric H₀: the all-down state |⇓⟩). With the effective Hamiltonian
H_eff,0 = H₀ − (i/2) K, K = Σ_k L_k†L_k, and Q = 1 − |ψ₀⟩⟨ψ₀|,

    |ψ⟩ = |ψ₀⟩ + |ψ₁⟩,    |ψ₁⟩ = −Q (H_eff,0 − E₀)⁻¹ Q V|ψ₀⟩,    ρ_ss = |ψ⟩⟨ψ|/⟨ψ|ψ⟩ + O(V²).

Why: L_k|ψ⟩ = L_k|ψ₁⟩ = O(V), so the recycling terms Σ_k L_kρL_k† are O(V²), and |ψ⟩ is an
eigenvector of H_eff = H_eff,0 + V to first order with the real eigenvalue E₀ + ⟨ψ₀|V|ψ₀⟩
(|ψ₀⟩ is a left eigenvector too, since Kψ₀ = 0); so L(ρ) = O(V²). The second-order state is
not pure, so no higher order is offered: the exact solvers are the check, and the returned
``residual`` and ``correction`` say how far the expansion can be trusted (``correction`` =
‖ψ₁‖, the expansion parameter; the error in ρ is O(correction²)).

Since Q commutes with H_eff,0 (ψ₀ is a left and right eigenvector), the reduced resolvent is one
nonsingular solve: Q(H_eff,0 − E₀)⁻¹Q = Q(H_eff,0 − E₀ + |ψ₀⟩⟨ψ₀|)⁻¹Q.

**Hermitian jump operators that only multiply ψ₀** (dephasing: σᶻ|⇓⟩ = −|⇓⟩) are shifted to
annihilate it, which leaves the master equation unchanged: with c_k = ⟨ψ₀|L_k|ψ₀⟩,

    D[L_k] = D[L_k − c_k] − i[(i/2)(c_k* L_k − c_k L_k†), ·],

so L_k → L_k − c_k and H₀ → H₀ + (i/2) Σ_k (c_k* L_k − c_k L_k†) (zero for Hermitian L_k, real c).

**Representations.** For a dense :class:`~qdiss.Lindbladian` the computation is on n × n
matrices. For a :class:`~qdiss.PermutationInvariantLindbladian` with collective H the state stays
in the symmetric block j = N/2 (dimension N + 1), where Σᵢσ⁺ᵢσ⁻ᵢ = J_z + N/2 and the shifted
local dephasing gives Σᵢ(σᶻᵢ + 1)² = 4(J_z + N/2): the cost is one (N+1) × (N+1) solve. ψ₀ is
|j = N/2, m = −N/2⟩ there (local and collective pumping must be zero).

Everything is differentiable (``jax.grad`` reaches the couplings and rates through the solve);
ψ₀ is treated as fixed (it is: a dark state does not depend on the couplings that keep it dark).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from . import _linalg
from ._lindbladian import AbstractLindbladian, Lindbladian, PermutationInvariantLindbladian
from ._lindbladian.permutation.lindbladian import _RATES
from ._numerics import is_concrete
from ._solution import real_dtype

__all__ = ["PerturbativeSolution", "perturbative_steady_state"]


class PerturbativeSolution(eqx.Module):
    """The first-order steady state and how far it can be trusted.

    - ``rho``: ρ = |ψ⟩⟨ψ|/⟨ψ|ψ⟩ in the Lindbladian's representation (``state_shape``).
    - ``ket``: ψ/‖ψ‖ (length n for a dense Lindbladian, N + 1 in the symmetric block).
    - ``correction``: ‖ψ₁‖ (with ‖ψ₀‖ = 1), the expansion parameter; the error of ρ is
      O(correction²).
    - ``residual``: ‖L(ρ)‖_F / (‖L‖ ‖ρ‖_F) with the full (perturbed) L, O(correction²).
    - ``dark_error``: how far ψ₀ is from dark for the unperturbed model, ‖Kψ₀‖ + ‖(H₀ − E₀)ψ₀‖
      relative to ‖K‖ + ‖H₀‖ (≈ 0 when the method applies; large values raise).
    """

    rho: Array
    ket: Array
    correction: Array
    residual: Array
    dark_error: Array

    def __str__(self) -> str:
        return (
            f"PerturbativeSolution(first order, correction ‖ψ₁‖ = {float(self.correction):.3g}, "
            f"relative residual = {float(self.residual):.3g})"
        )


def _first_order_ket(h0, v, k, psi0, dark_tol):
    """ψ₀ + ψ₁ (module docstring) and the relative darkness error of ψ₀."""
    dtype = h0.dtype
    h_eff = h0 - 0.5j * k.astype(dtype)
    e0 = jnp.vdot(psi0, h_eff @ psi0)
    scale = jnp.linalg.norm(h0) + jnp.linalg.norm(k)
    scale = jnp.where(scale > 0, scale, 1.0)
    dark_error = (jnp.linalg.norm(k @ psi0) + jnp.linalg.norm(h0 @ psi0 - e0 * psi0)) / scale
    projector = jnp.outer(psi0, psi0.conj())
    q = jnp.eye(psi0.shape[0], dtype=dtype) - projector
    source = q @ (v @ psi0)
    shifted = h_eff - e0 * jnp.eye(psi0.shape[0], dtype=dtype) + projector
    psi1 = -(q @ _linalg.solve(shifted, source))
    psi1 = eqx.error_if(
        psi1,
        dark_error > dark_tol,
        "perturbative_steady_state: the reference state is not dark for the unperturbed model "
        "(some jump operator does not annihilate it, up to a constant, or it is not an "
        "eigenvector of H₀): first-order pure-state perturbation theory does not apply. Check "
        "that the unperturbed Hamiltonian is U(1)-symmetric and that there is no pumping.",
    )
    psi = psi0 + psi1
    return psi, jnp.linalg.norm(psi1), dark_error


def _relative_residual(lindbladian: AbstractLindbladian, rho: Array) -> Array:
    norm_l = lindbladian.norm_bound()
    out = jnp.linalg.norm(lindbladian.mv(rho)) / (norm_l * jnp.linalg.norm(rho))
    return out.astype(real_dtype(lindbladian.dtype))


def _dense_problem(lindbladian: Lindbladian, unperturbed: Lindbladian, reference):
    if lindbladian.jump_ops.shape != unperturbed.jump_ops.shape:
        raise ValueError(
            "`unperturbed` must have the same jump operators as `lindbladian` (it differs only "
            f"in H); got shapes {unperturbed.jump_ops.shape} and {lindbladian.jump_ops.shape}."
        )
    dtype = lindbladian.dtype
    jumps = lindbladian.jump_ops.astype(dtype)
    if reference is None:
        # The dark state minimises ⟨K⟩ = Σ_k ‖L_k ψ‖² up to the shift; take the lowest eigenvector
        # of K and check darkness below. Fixed: no gradient through the choice.
        k = jax.lax.stop_gradient(jnp.einsum("kji,kjl->il", jumps.conj(), jumps))
        values, vectors = _linalg.eigh(k)
        psi0 = vectors[:, 0]
        if lindbladian.n > 1:
            gap = values[1] - values[0]
            psi0 = eqx.error_if(
                psi0,
                gap <= 1e-8 * jnp.maximum(values[-1], 1.0),
                "perturbative_steady_state: the lowest eigenvalue of Σ_k L_k†L_k is degenerate, "
                "so the dark reference state is ambiguous: pass `reference=`.",
            )
    else:
        psi0 = jnp.asarray(reference, dtype).reshape(-1)
        if psi0.shape != (lindbladian.n,):
            raise ValueError(
                f"`reference` must be a ket of length {lindbladian.n}; got shape {psi0.shape}."
            )
        psi0 = psi0 / jnp.linalg.norm(psi0).astype(dtype)
    c = jnp.einsum("i,kij,j->k", psi0.conj(), jumps, psi0)
    shifted = jumps - c[:, None, None] * jnp.eye(lindbladian.n, dtype=dtype)
    shift_h = 0.5j * jnp.einsum("k,kij->ij", c.conj(), jumps)
    shift_h = shift_h + shift_h.conj().T  # (i/2) Σ (c* L − c L†)
    k = jnp.einsum("kji,kjl->il", shifted.conj(), shifted)
    h0 = unperturbed.H.astype(dtype) + shift_h
    v = lindbladian.H.astype(dtype) - unperturbed.H.astype(dtype)
    return h0, v, k, psi0


def _symmetric_block_hamiltonian(lindbladian: PermutationInvariantLindbladian) -> Array:
    """H restricted to j = N/2: the Hermitian part of block 0 of H_eff."""
    h_eff = lindbladian.effective_hamiltonian()[0]
    return 0.5 * (h_eff + h_eff.conj().T)


def _permutation_problem(lindbladian, unperturbed, reference):
    if type(unperturbed) is not type(lindbladian) or (
        unperturbed.num_spins != lindbladian.num_spins
    ):
        raise TypeError(
            "`unperturbed` must be a PermutationInvariantLindbladian with the same num_spins."
        )
    if reference is not None:
        raise ValueError(
            "`reference` is fixed to |j = N/2, m = −N/2⟩ in the permutation-invariant "
            "representation; do not pass one."
        )
    n = lindbladian.num_spins
    dtype = lindbladian.dtype
    real = real_dtype(dtype)
    m = jnp.asarray(n / 2 - np.arange(n + 1), real)  # m descending, block 0
    excitations = m + n / 2
    j = n / 2
    rate = lambda name: getattr(lindbladian, name).astype(real)  # noqa: E731
    pumping = rate("pumping") + rate("collective_pumping")
    k_diag = (
        rate("collective_emission") * (j * (j + 1) - m * m + m)
        + rate("collective_dephasing") * excitations**2
        + (rate("emission") + 4 * rate("dephasing")) * excitations
    )
    h0 = _symmetric_block_hamiltonian(unperturbed)
    v = _symmetric_block_hamiltonian(lindbladian) - h0
    psi0 = jnp.zeros(n + 1, dtype).at[n].set(1)
    psi0 = eqx.error_if(
        psi0,
        pumping > 0,
        "perturbative_steady_state: |⇓⟩ is not dark: local or collective pumping (σ⁺ᵢ, J₊) "
        "excites it, so first-order pure-state perturbation theory does not apply.",
    )
    return h0, v, jnp.diag(k_diag).astype(dtype), psi0


# The per-representation parts, registered by type in one place (functools.singledispatch):
# the problem (H₀, V, K, ψ₀), the fields that hold the dissipators, and ρ = |ψ⟩⟨ψ| embedded in
# the representation's state space.


@functools.singledispatch
def _dark_state_problem(lindbladian, unperturbed, reference):
    raise TypeError(f"Unsupported Lindbladian type {type(lindbladian).__name__}.")


@functools.singledispatch
def _dissipator_fields(lindbladian) -> tuple[str, ...]:
    raise TypeError(f"Unsupported Lindbladian type {type(lindbladian).__name__}.")


@functools.singledispatch
def _embed(lindbladian, block: Array) -> Array:
    raise TypeError(f"Unsupported Lindbladian type {type(lindbladian).__name__}.")


_dark_state_problem.register(Lindbladian, _dense_problem)
_dark_state_problem.register(PermutationInvariantLindbladian, _permutation_problem)
_dissipator_fields.register(Lindbladian, lambda lindbladian: ("jump_ops",))
_dissipator_fields.register(PermutationInvariantLindbladian, lambda lindbladian: _RATES)
_embed.register(Lindbladian, lambda lindbladian, block: block)
_embed.register(
    PermutationInvariantLindbladian,
    lambda lindbladian, block: (
        jnp.zeros(lindbladian.state_shape, lindbladian.dtype).at[0].set(block)
    ),
)


def _check_same_rates(lindbladian, unperturbed):
    names = _dissipator_fields(lindbladian)
    leaves = [(getattr(lindbladian, x), getattr(unperturbed, x)) for x in names]
    if not all(is_concrete(a, b) for a, b in leaves):
        return
    for name, (a, b) in zip(names, leaves, strict=True):
        if not np.allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=0):
            raise ValueError(
                f"`unperturbed` must differ from `lindbladian` only in its Hamiltonian; its "
                f"`{name}` differs."
            )


def perturbative_steady_state(
    lindbladian: AbstractLindbladian,
    unperturbed: AbstractLindbladian,
    *,
    reference: Array | None = None,
    dark_tol: float = 1e-8,
) -> PerturbativeSolution:
    r"""First-order steady state ρ ≈ |ψ⟩⟨ψ| of ``lindbladian`` around the dark state of
    ``unperturbed`` (module docstring of ``qdiss/_perturbative.py`` for the equations).

    Args:
        lindbladian: the full model, H = H₀ + V (a dense :class:`~qdiss.Lindbladian` or a
            :class:`~qdiss.PermutationInvariantLindbladian`).
        unperturbed: the same model with H₀ (same jump operators / rates, checked when they
            are concrete; under a transformation the dissipators of ``lindbladian`` are used),
            e.g. the U(1)-symmetric part: ``model.u1_symmetric().lindbladian()`` for emitters.
        reference: the dark ket ψ₀ (dense only). Default: the lowest eigenvector of
            Σ_k L_k†L_k, checked to be dark.
        dark_tol: relative tolerance of the darkness check; beyond it an error is raised (also
            under ``jit``, through ``eqx.error_if``).

    Returns:
        A :class:`PerturbativeSolution`: ``rho``, ``ket``, ``correction`` (‖ψ₁‖, error of ρ is
        O(correction²)) and the relative ``residual`` of ρ for the full Lindbladian.
    """
    if type(lindbladian) is not type(unperturbed):
        raise TypeError(
            "`lindbladian` and `unperturbed` must be the same kind of Lindbladian; got "
            f"{type(lindbladian).__name__} and {type(unperturbed).__name__}."
        )
    _check_same_rates(lindbladian, unperturbed)
    return _perturbative_steady_state(lindbladian, unperturbed, reference, dark_tol)


@eqx.filter_jit
def _perturbative_steady_state(lindbladian, unperturbed, reference, dark_tol):
    h0, v, k, psi0 = _dark_state_problem(lindbladian, unperturbed, reference)
    psi, correction, dark_error = _first_order_ket(h0, v, k, psi0, dark_tol)
    ket = psi / jnp.linalg.norm(psi).astype(psi.dtype)
    rho = _embed(lindbladian, jnp.outer(ket, ket.conj()))
    residual = _relative_residual(lindbladian, rho)
    return PerturbativeSolution(rho, ket, correction, residual, dark_error)
