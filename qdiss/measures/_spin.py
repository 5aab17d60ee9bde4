r"""Collective spin: spin operators, moments, Wineland and Kitagawa–Ueda squeezing, quantum
Fisher information.

Two representations of N spin-½ (qubits), the same functions for both:

- the full ``2^N``-dimensional space, with ``S_a = ½ Σᵢ σ^a_i``
  (:func:`collective_spin_operators`);
- a permutation-symmetric state as a ``(2j+1) × (2j+1)`` density matrix in the Dicke basis
  ``|j, m⟩``, ordered ``m = j, j−1, …, −j``, with ``N = 2j`` (:func:`spin_operators`).

Qubit basis ``|0⟩ = |↑⟩ = |e⟩``, ``|1⟩ = |↓⟩ = |g⟩``: ``σ^z = diag(1, −1)``, ``σ⁻ = |g⟩⟨e|``, so
the all-up state ``|0…0⟩`` is ``|j, j⟩`` (the first Dicke state); :func:`dicke_basis` embeds one
representation in the other.

The API is moments-first, so any source of moments (a full state, a Dicke-basis state, a
mean-field or Gaussian theory) feeds the same formulas::

    mean, cov = spin_moments(rho, spin_operators(N / 2))
    xi2 = wineland_squeezing(mean, cov, N)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._numerics import clipped_eigh, complex_dtype, min_perpendicular_variance
from ._states import _check_square, _common_dtype

__all__ = [
    "collective_spin_operators",
    "dicke_basis",
    "kitagawa_ueda_squeezing",
    "fisher_information",
    "quantum_fisher_information",
    "spin_moments",
    "spin_operators",
    "wineland_squeezing",
]


def _requested_complex(dtype):
    """A requested complex ``dtype``, checked; ``None``: JAX's default complex dtype."""
    if dtype is None:
        return complex_dtype()  # complex128 with x64, else complex64
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.complexfloating):
        raise TypeError(f"`dtype` must be a complex dtype; got {dtype}.")
    return dtype


def _operator_tuple(jp: np.ndarray, jz: np.ndarray, dtype) -> tuple[Array, ...]:
    jm = jp.conj().T
    jx = (jp + jm) / 2
    jy = (jp - jm) / 2j
    return tuple(jnp.asarray(op, dtype=dtype) for op in (jx, jy, jz, jp, jm))


def spin_operators(j, dtype=None) -> tuple[Array, Array, Array, Array, Array]:
    r"""``(J_x, J_y, J_z, J_+, J_-)`` for spin ``j`` (an integer or half-integer), in the basis
    ``|j, m⟩``, ``m = j, j−1, …, −j``:

        J_z|j,m⟩ = m|j,m⟩,   J_±|j,m⟩ = √(j(j+1) − m(m±1)) |j,m±1⟩,
        J_x = (J_+ + J_-)/2,   J_y = (J_+ − J_-)/(2i).

    For ``j = N/2`` these are the collective spin operators of N qubits restricted to the
    symmetric (Dicke) subspace. ``j`` is static; ``dtype`` complex (default complex128 with x64).
    """
    two_j = float(j) * 2
    if two_j < 0 or two_j != round(two_j):
        raise ValueError(f"`j` must be a non-negative integer or half-integer; got {j!r}.")
    j = round(two_j) / 2
    dim = round(two_j) + 1
    m = j - np.arange(dim)
    jp = np.diag(np.sqrt(j * (j + 1) - m[1:] * (m[1:] + 1)), 1).astype(complex)
    return _operator_tuple(jp, np.diag(m).astype(complex), _requested_complex(dtype))


def collective_spin_operators(
    n_qubits: int, dtype=None
) -> tuple[Array, Array, Array, Array, Array]:
    r"""``(S_x, S_y, S_z, S_+, S_-)`` on the full ``2^N``-dimensional space of N qubits:

        S_a = ½ Σᵢ σ^a_i,   S_± = S_x ± i S_y = Σᵢ σ^±_i,

    ``σ^z = diag(1, −1)`` on each qubit, qubit 0 the most significant tensor factor. Dense
    ``2^N × 2^N`` arrays: for N ≲ 12; use :func:`spin_operators` (``j = N/2``) for symmetric
    states.
    """
    n_qubits = int(n_qubits)
    if n_qubits < 1:
        raise ValueError(f"`n_qubits` must be a positive integer; got {n_qubits}.")
    sp = np.array([[0, 1], [0, 0]], complex)  # σ⁺ = |↑⟩⟨↓| = |e⟩⟨g|
    sz = np.diag([0.5, -0.5]).astype(complex)

    def collective(single):
        total = np.zeros((2**n_qubits, 2**n_qubits), complex)
        for i in range(n_qubits):
            total += np.kron(np.kron(np.eye(2**i), single), np.eye(2 ** (n_qubits - i - 1)))
        return total

    return _operator_tuple(collective(sp), collective(sz), _requested_complex(dtype))


def dicke_basis(n_qubits: int, dtype=None) -> Array:
    r"""The isometry ``V`` (``2^N × (N+1)``) whose column ``k`` is the Dicke state
    ``|j = N/2, m = j − k⟩`` in the qubit basis: the normalised symmetric sum of the
    ``binom(N, k)`` basis states with ``k`` spins down.

    ``V ρ_D V†`` embeds a Dicke-basis state in the full space; ``V† S_a V = J_a`` for the
    operators of :func:`collective_spin_operators` and :func:`spin_operators` (``j = N/2``).
    """
    n_qubits = int(n_qubits)
    if n_qubits < 1:
        raise ValueError(f"`n_qubits` must be a positive integer; got {n_qubits}.")
    index = np.arange(2**n_qubits)
    down = np.array([bin(i).count("1") for i in index])  # bit 1 = |↓⟩
    v = np.zeros((2**n_qubits, n_qubits + 1))
    v[index, down] = 1.0
    v /= np.sqrt([math.comb(n_qubits, k) for k in range(n_qubits + 1)])
    return jnp.asarray(v, dtype=_requested_complex(dtype))


def _stack_spin_ops(ops, n: int) -> Array:
    if isinstance(ops, Sequence) and not isinstance(ops, str):
        if len(ops) not in (3, 5):
            raise ValueError(
                "`ops` must be (S_x, S_y, S_z) or the 5-tuple of spin_operators / "
                f"collective_spin_operators; got a sequence of length {len(ops)}."
            )
        ops = jnp.stack([jnp.asarray(op) for op in ops[:3]])
    ops = jnp.asarray(ops)
    if ops.shape != (3, n, n):
        raise ValueError(
            f"`ops` must hold the three operators S_x, S_y, S_z of shape ({n}, {n}) (the shape "
            f"of `rho`); got shape {ops.shape}."
        )
    return ops


def spin_moments(rho: Array, ops) -> tuple[Array, Array]:
    r"""First and second moments of the spin ``S = (S_x, S_y, S_z)`` in the state ρ (tr ρ = 1):

        mean_a = ⟨S_a⟩ = tr(S_a ρ),
        cov_ab = ⟨{S_a, S_b}⟩/2 − ⟨S_a⟩⟨S_b⟩     (symmetrised covariance, real 3×3).

    ``ops``: ``(S_x, S_y, S_z)`` as a ``(3, n, n)`` array or sequence, or directly the 5-tuple
    returned by :func:`spin_operators` / :func:`collective_spin_operators`. Returns
    ``(mean, cov)`` with shapes ``(3,)`` and ``(3, 3)``. Polynomial in ρ: smooth.
    """
    rho = _check_square(rho)
    ops = _stack_spin_ops(ops, rho.shape[0])
    dtype = _common_dtype(rho, ops, complex_=True)
    rho, ops = rho.astype(dtype), ops.astype(dtype)
    mean = jnp.real(jnp.einsum("aij,ji->a", ops, rho))
    ops_rho = jnp.einsum("bjk,ki->bji", ops, rho)  # S_b ρ
    second = jnp.real(jnp.einsum("aij,bji->ab", ops, ops_rho))  # Re tr(S_a S_b ρ)
    second = (second + second.T) / 2  # = ⟨{S_a, S_b}⟩/2
    return mean, second - jnp.outer(mean, mean)


def _min_perpendicular_variance(mean: Array, cov: Array) -> Array:
    """min over unit n ⟂ mean of nᵀ C n (:func:`qdiss._numerics.min_perpendicular_variance`,
    shared with the permutation-invariant measures) after checking shapes and dtypes."""
    mean = jnp.asarray(mean)
    cov = jnp.asarray(cov)
    if mean.shape != (3,) or cov.shape != (3, 3):
        raise ValueError(
            f"`mean` and `cov` must have shapes (3,) and (3, 3); got {mean.shape} and {cov.shape}."
        )
    dtype = _common_dtype(mean, cov)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise TypeError("`mean` and `cov` must be real (as returned by spin_moments).")
    mean, cov = mean.astype(dtype), cov.astype(dtype)
    return min_perpendicular_variance(mean, (cov + cov.T) / 2)


def wineland_squeezing_from_moments(mean: Array, cov: Array, n_spins) -> Array:
    r"""Wineland (spectroscopic) squeezing parameter

        ξ²_R = N · min_{n ⟂ ⟨S⟩} Var(S·n) / |⟨S⟩|²,

    the minimum over unit vectors in the plane orthogonal to the mean spin, i.e. the smaller
    eigenvalue of the 2×2 projected covariance, in closed form (differentiable; at an isotropic
    plane the subgradient of the square root is 0). ``(mean, cov)`` from :func:`spin_moments`;
    ``n_spins`` = N (``2j`` in the Dicke basis; may be traced). Coherent spin states give 1;
    ``ξ²_R < 1`` certifies entanglement (Wineland et al., PRA 50, 67 (1994); Sørensen et al.,
    Nature 409, 63 (2001)). ``+inf`` when ⟨S⟩ = 0.
    """
    var = _min_perpendicular_variance(mean, cov)
    norm2 = jnp.asarray(mean) @ jnp.asarray(mean)
    nonzero = norm2 > 0
    n_spins = jnp.asarray(n_spins).astype(var.dtype)
    return jnp.where(nonzero, n_spins * var / jnp.where(nonzero, norm2, 1.0), jnp.inf)


def kitagawa_ueda_squeezing_from_moments(mean: Array, cov: Array, n_spins) -> Array:
    r"""Kitagawa–Ueda squeezing parameter ``ξ²_S = 4 min_{n ⟂ ⟨S⟩} Var(S·n) / N``
    (Kitagawa & Ueda, PRA 47, 5138 (1993)): the minimal variance perpendicular to the mean spin
    relative to the coherent-state value N/4. Coherent spin states give 1. Arguments as in
    :func:`wineland_squeezing_from_moments`; for ⟨S⟩ = 0 the minimum is over all directions.
    """
    var = _min_perpendicular_variance(mean, cov)
    return 4 * var / jnp.asarray(n_spins).astype(var.dtype)


def _spin_ops_for(rho: Array, n_spins: int):
    """Collective spin operators matching ρ: the full 2^N space or the symmetric (Dicke) one."""
    n_spins = int(n_spins)
    dim = rho.shape[-1]
    if dim == 2**n_spins:
        return collective_spin_operators(n_spins, rho.dtype)
    if dim == n_spins + 1:
        return spin_operators(n_spins / 2, rho.dtype)
    raise ValueError(
        f"`rho` of dimension {dim} is neither a state of N = {n_spins} qubits (2^N = "
        f"{2**n_spins}) nor a permutation-symmetric spin-N/2 state (N + 1 = {n_spins + 1})."
    )


def wineland_squeezing(rho: Array, n_spins: int) -> Array:
    r"""Wineland squeezing ξ²_R = N · min_{n ⟂ ⟨S⟩} Var(S·n) / |⟨S⟩|² of N two-level systems.

    ``rho`` is either a ``2^N × 2^N`` density matrix (S_a = ½ Σ_i σ^a_i) or a permutation-symmetric
    state in the Dicke basis ``|N/2, m⟩``, m = N/2 … −N/2 (``(N+1) × (N+1)``); ``n_spins`` = N is
    static. See :func:`wineland_squeezing_from_moments` for the formula and its gradient. A
    3-d array is a permutation-invariant state (the total-spin blocks of
    ``qdiss.PermutationInvariantLindbladian``, shape ``(N//2 + 1, N + 1, N + 1)``).
    """
    mean, cov = _moments(rho, n_spins)
    return wineland_squeezing_from_moments(mean, cov, n_spins)


def kitagawa_ueda_squeezing(rho: Array, n_spins: int) -> Array:
    r"""Kitagawa–Ueda squeezing ξ²_S = 4 min_{n ⟂ ⟨S⟩} Var(S·n) / N; ``rho`` as in
    :func:`wineland_squeezing`."""
    mean, cov = _moments(rho, n_spins)
    return kitagawa_ueda_squeezing_from_moments(mean, cov, n_spins)


def _moments(rho: Array, n_spins: int) -> tuple[Array, Array]:
    """Spin moments of a full, Dicke-subspace or permutation-invariant (3-d) state."""
    rho = jnp.asarray(rho)
    if rho.ndim == 3:
        return block_spin_moments(rho, n_spins)
    return spin_moments(rho, _spin_ops_for(rho, n_spins))


def block_spin_moments(rho: Array, n_spins: int) -> tuple[Array, Array]:
    r"""(mean, cov) of a permutation-invariant state ρ = ⊕_j ρ̃_j ⊗ I/d_j given as its blocks
    ``(N//2 + 1, N + 1, N + 1)`` (``qdiss.PermutationInvariantLindbladian``):
    ⟨S_a⟩ = Σ_j tr(S_a^{(j)} ρ̃_j), ⟨{S_a, S_b}⟩/2 = Σ_j Re tr(S_a^{(j)} S_b^{(j)} ρ̃_j), computed on
    the bands of the spin operators (O(N²) work)."""
    from .._lindbladian.permutation.measures import pi_spin_moments

    rho = jnp.asarray(rho)
    shape = (n_spins // 2 + 1, n_spins + 1, n_spins + 1)
    if rho.shape != shape:
        raise ValueError(
            f"A permutation-invariant `rho` for N = {n_spins} has shape {shape}; got {rho.shape}."
        )
    return pi_spin_moments(rho)


# ------------------------------------------------------------------ quantum Fisher information


def _qfi_spectrum(rho: Array, g: Array):
    w, v = clipped_eigh(rho)  # eigenvalues ≤ n·eps·λ_max (and negative noise) set to 0
    gp = v.conj().T @ g @ v  # generator in the eigenbasis of ρ
    total = w[:, None] + w[None, :]
    positive = total > 0
    weights = jnp.where(
        positive, 2 * (w[:, None] - w[None, :]) ** 2 / jnp.where(positive, total, 1.0), 0.0
    )
    return w, v, gp, weights


@jax.custom_jvp
def _qfi(rho: Array, g: Array) -> Array:
    _, _, gp, weights = _qfi_spectrum(rho, g)
    return jnp.sum(weights * jnp.abs(gp) ** 2)


@_qfi.defjvp
def _qfi_jvp(primals, tangents):
    r"""Gap-free derivative of Φ = Σᵢⱼ f(λᵢ, λⱼ)|gᵢⱼ|², f(a, b) = 2(a−b)²/(a+b).

    With U̇ = UΩ (Ωₖᵢ = Ȧ'ₖᵢ/(λᵢ − λₖ)), δg = [g, Ω] and the eigenvalue terms combine into
    δΦ = 2 Σ_ab Ȧ'_ab W_ab + 2 Re Σᵢⱼ fᵢⱼ ġ'ᵢⱼ g'ᵢⱼ*, with
    W_ab = Σᵢ D(a, b, i) g_bi g_ia and the divided difference of f in its first argument
    D(a, b, i) = (f(λ_b, λᵢ) − f(λ_a, λᵢ))/(λ_b − λ_a) = 2 − 8λᵢ²/((λ_a + λᵢ)(λ_b + λᵢ)),
    which has no cancellation, is bounded in [−6, 2], and is the derivative ∂₁f when
    λ_a = λ_b. So W = 2(g g)ᵀ − 8 Y₁Y₂ᵀ with Y₁ = X ∘ gᵀ, Y₂ = X ∘ g, X_ai = λᵢ/(λ_a + λᵢ)
    (0 when λᵢ = 0). Only D(0, 0, 0) (three kernel indices) is undefined: f is 1-homogeneous
    at the origin, so the kernel–kernel part of the one-sided derivative is not linear in the
    direction. It is set to 0 (rule of the module docstring: the kernel–kernel block contributes
    nothing), which is exact along states of fixed rank and when the kernel is populated
    isotropically (e.g. mixing with I/n), and a lower bound otherwise.
    """
    (rho, g), (drho, dg) = primals, tangents
    w, v, gp, weights = _qfi_spectrum(rho, g)
    vh = v.conj().T
    drho = drho.astype(v.dtype)
    da = vh @ (0.5 * (drho + drho.conj().T)) @ v
    dgp = vh @ dg.astype(v.dtype) @ v
    total = w[:, None] + w[None, :]
    positive = total > 0
    x = jnp.where(positive, w[None, :] / jnp.where(positive, total, 1.0), 0.0).astype(v.dtype)
    y1 = x * gp.T
    y2 = x * gp
    kernel = (w == 0).astype(v.dtype)  # rank rule: clipped eigenvalues are exactly 0
    kernel_triples = jnp.outer(kernel, kernel) * ((gp * kernel) @ gp).T  # D(0,0,0) terms
    big_w = 2 * (gp @ gp).T - 2 * kernel_triples - 8 * (y1 @ y2.T)
    d_rho = 2 * jnp.real(jnp.sum(da * big_w))
    d_g = 2 * jnp.sum(weights * jnp.real(gp.conj() * dgp))
    value = jnp.sum(weights * jnp.abs(gp) ** 2)
    return value, (d_rho + d_g).astype(value.dtype)


def _sld_in_eigenbasis(rho: Array, drho: Array):
    """ρ's eigenbasis V and the symmetric logarithmic derivative X' = V†XV of ρ + ε·dρ:
    X'ᵢⱼ = 2 D'ᵢⱼ/(λᵢ + λⱼ) with D' = V†dρV, 0 where λᵢ + λⱼ = 0 (rank rule)."""
    w, v = clipped_eigh(rho)
    d = v.conj().T @ (0.5 * (drho + drho.conj().T)) @ v
    total = w[:, None] + w[None, :]
    positive = total > 0
    inverse = jnp.where(positive, 2 / jnp.where(positive, total, 1.0), 0.0).astype(d.dtype)
    return v, d, d * inverse


@jax.custom_jvp
def _fisher(rho: Array, drho: Array) -> Array:
    _, d, x = _sld_in_eigenbasis(rho, drho)
    return jnp.real(jnp.sum(d.T * x))


@_fisher.defjvp
def _fisher_jvp(primals, tangents):
    r"""F = tr(D X) with ρX + Xρ = 2D (X the SLD, D = dρ/dθ): differentiating the Sylvester
    equation gives δF = 2 tr(δD·X) − tr(δρ·X²), with no eigenvalue gap anywhere (exact at
    degenerate spectra; along states of fixed rank at rank-deficient ones)."""
    (rho, drho), (t_rho, t_drho) = primals, tangents
    v, d, x = _sld_in_eigenbasis(rho, drho)
    vh = v.conj().T
    t_d = vh @ (0.5 * (t_drho + t_drho.conj().T)).astype(v.dtype) @ v
    t_r = vh @ (0.5 * (t_rho + t_rho.conj().T)).astype(v.dtype) @ v
    value = jnp.real(jnp.sum(d.T * x))
    tangent = 2 * jnp.real(jnp.sum(t_d.T * x)) - jnp.real(jnp.sum(t_r.T * (x @ x)))
    return value, tangent.astype(value.dtype)


def fisher_information(rho: Array, drho: Array) -> Array:
    r"""Quantum Fisher information of a family ρ(θ) from ρ and its derivative ``drho`` = ∂ρ/∂θ:

        F_Q = tr(∂ρ · X),   ρX + Xρ = 2∂ρ   (X the symmetric logarithmic derivative)
            = 2 Σ_{λᵢ+λⱼ>0} |⟨i|∂ρ|j⟩|²/(λᵢ + λⱼ),

    ``ρ = Σ λᵢ|i⟩⟨i|`` (Braunstein & Caves, PRL 72, 3439 (1994)). For ρ(θ) = e^{−iθG}ρe^{iθG}
    it is :func:`quantum_fisher_information`. Terms with λᵢ + λⱼ = 0 are dropped and eigenvalues
    below ``n·eps·λ_max`` count as 0 (the module's rank rule). Differentiable in both arguments by
    δF = 2 tr(δ∂ρ·X) − tr(δρ·X²) (gap-free; exact along states of fixed rank). For the QFI of a
    steady state w.r.t. a parameter of its Lindbladian:
    :func:`qdiss.steady_state_fisher_information`.
    """
    rho = _check_square(rho, "rho")
    drho = jnp.asarray(drho)
    if drho.shape != rho.shape:
        raise ValueError(f"`drho` must have the shape of `rho`, {rho.shape}; got {drho.shape}.")
    dtype = _common_dtype(rho, drho, complex_=True)
    return _fisher(rho.astype(dtype), drho.astype(dtype))


def quantum_fisher_information(rho: Array, generator: Array) -> Array:
    r"""Quantum Fisher information of ``ρ_θ = e^{−iθG} ρ e^{iθG}`` at θ = 0:

        F_Q[ρ, G] = 2 Σ_{λᵢ+λⱼ>0} (λᵢ − λⱼ)²/(λᵢ + λⱼ) |⟨i|G|j⟩|²,

    ``ρ = Σ λᵢ|i⟩⟨i|``, ``G`` Hermitian (e.g. a collective spin component). Pure states give
    ``4 Var(G)``; ``F_Q > N`` for ``G = S·n`` certifies entanglement (Pezzé & Smerzi, PRL 102,
    100401 (2009)). Terms with ``λᵢ + λⱼ = 0`` are dropped by masking both branches (no NaN);
    eigenvalues below ``n·eps·λ_max`` count as 0.

    Differentiable in ρ and G by a custom rule that uses divided differences of the weight
    function instead of eigenvector derivatives, so it is exact at degenerate spectra (e.g.
    ``I/n``) and finite everywhere. At a rank-deficient state (e.g. a pure state) the QFI is
    differentiable along states of the same rank and has finite one-sided derivatives into the
    interior, but the part coming from pairs of kernel eigenvectors is not linear in the
    direction; it is omitted (contributes 0). The result is exact along fixed-rank families and
    for isotropic mixing (``(1−p)|ψ⟩⟨ψ| + p I/n``), and a lower bound on the one-sided
    derivative otherwise.
    """
    rho = _check_square(rho, "rho")
    generator = jnp.asarray(generator)
    if generator.shape != rho.shape:
        raise ValueError(
            f"`generator` must have the shape of `rho`, {rho.shape}; got {generator.shape}."
        )
    dtype = _common_dtype(rho, generator, complex_=True)
    return _qfi(rho.astype(dtype), generator.astype(dtype))
