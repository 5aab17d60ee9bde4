r"""Quantum channels: composable, batched, differentiable linear maps on density matrices.

A channel E maps ``(d_in, d_in)`` matrices to ``(d_out, d_out)`` matrices linearly. Channels are
``eqx.Module`` pytrees, so ``jit``, ``vmap`` and ``grad`` reach their parameters.

- :class:`KrausChannel` E(ρ) = Σ_k K_k ρ K_k†; :class:`SuperoperatorChannel` vec E(ρ) = S vec ρ;
  :class:`FunctionChannel` wraps a linear JAX function.
- ``a @ b`` / :func:`compose` is a∘b (b first); :func:`tensor` is a ⊗ b.
- ``channel(rho)`` accepts leading batch axes ``(..., d_in, d_in)``.
- Conversions: :meth:`AbstractChannel.superoperator`, :meth:`~AbstractChannel.choi`,
  :meth:`~AbstractChannel.kraus`; checks :func:`is_completely_positive`,
  :func:`is_trace_preserving`.
- Entanglement-preserving local thermalisation (Hsieh, Lostaglio & Acín, arXiv:1904.07945;
  ``notebooks/03_eplt_channels.ipynb``): :func:`eplt_channel` (two parties, local dimension d) and
  :func:`ghz_eplt_channel` (N parties), with :func:`thermal_state`.

**Conventions.** Vectorisation is row-major, as in ``qdiss.Lindbladian.superoperator``:
vec(ρ) = ``ρ.reshape(-1)``, vec(ρ)[i·d + j] = ρ[i, j], so vec(AρB) = (A ⊗ Bᵀ) vec(ρ) and a Kraus
channel has superoperator S = Σ_k K_k ⊗ K_k*. The Choi matrix is
J = Σ_ij |i⟩⟨j| ⊗ E(|i⟩⟨j|) (input factor first, unnormalised: tr J = d_in for a trace-preserving
E), J[(i,a),(j,b)] = S[(a,b),(i,j)]; E is completely positive iff J ⪰ 0 and trace preserving iff
tr_out J = I. Qubit basis as in the rest of qdiss: index 0 = excited, 1 = ground.
"""

from __future__ import annotations

import abc
import functools
import itertools
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from . import _linalg
from ._checks import check, check_concrete
from ._numerics import complex_dtype

__all__ = [
    "AbstractChannel",
    "KrausChannel",
    "SuperoperatorChannel",
    "FunctionChannel",
    "ComposedChannel",
    "TensorChannel",
    "EPLTChannel",
    "GHZEPLTChannel",
    "compose",
    "tensor",
    "is_completely_positive",
    "is_trace_preserving",
    "thermal_state",
    "eplt_channel",
    "ghz_eplt_channel",
    "maximally_entangled_state",
    "ghz_basis",
    "isotropic_twirl",
    "ghz_twirl",
]

_DENSITY_ATOL = 1e-8


# ---------------------------------------------------------------------------------------------
# The interface
# ---------------------------------------------------------------------------------------------


class AbstractChannel(eqx.Module):
    """A linear map from ``(d_in, d_in)`` to ``(d_out, d_out)`` matrices.

    Subclasses provide the static sizes ``d_in``, ``d_out`` and :meth:`apply` for one matrix;
    batching, composition, tensor products and conversions come from here. :meth:`apply` must be
    linear on all matrices (not only on density matrices), so that superoperator and Choi matrix
    are well defined — e.g. write tr(ρ)·σ rather than σ for a state-replacing term.
    """

    d_in: eqx.AbstractVar[int]
    d_out: eqx.AbstractVar[int]

    @abc.abstractmethod
    def apply(self, rho: Array) -> Array:
        """E(ρ) for one ``(d_in, d_in)`` matrix."""

    def __call__(self, rho) -> Array:
        """E(ρ) for ``rho`` of shape ``(..., d_in, d_in)`` (leading axes are batch axes)."""
        rho = jnp.asarray(rho)
        d = self.d_in
        if rho.ndim < 2 or rho.shape[-2:] != (d, d):
            raise ValueError(
                f"The channel acts on ({d}, {d}) matrices (with optional leading batch axes); "
                f"got shape {rho.shape}."
            )
        if rho.ndim == 2:
            return self.apply(rho)
        batch = rho.shape[:-2]
        out = jax.vmap(self.apply)(rho.reshape((-1, d, d)))
        return out.reshape(batch + out.shape[-2:])

    def __matmul__(self, other: AbstractChannel) -> AbstractChannel:
        """``a @ b`` = a∘b: apply ``b``, then ``a``."""
        if not isinstance(other, AbstractChannel):
            return NotImplemented
        return compose(self, other)

    def superoperator(self, dtype=None) -> Array:
        """The ``(d_out², d_in²)`` matrix S with vec E(ρ) = S vec ρ (row-major vec)."""
        d = self.d_in
        dtype = complex_dtype() if dtype is None else dtype
        basis = jnp.eye(d * d, dtype=dtype).reshape(d * d, d, d)
        columns = jax.vmap(self.apply)(basis)  # columns[m] = E(e_m)
        return columns.reshape(d * d, -1).T

    def choi(self, dtype=None) -> Array:
        """J = Σ_ij |i⟩⟨j| ⊗ E(|i⟩⟨j|), shape ``(d_in·d_out, d_in·d_out)``, tr J = d_in if TP."""
        di, do = self.d_in, self.d_out
        s = self.superoperator(dtype).reshape(do, do, di, di)
        return s.transpose(2, 0, 3, 1).reshape(di * do, di * do)

    def kraus(self, dtype=None) -> Array:
        """Kraus operators from the Choi matrix, ``(d_in·d_out, d_out, d_in)``.

        J = Σ_m λ_m v_m v_m† (``eigh``, negative λ clipped to 0, largest first), K_m = √λ_m ·
        reshape(v_m, (d_in, d_out))ᵀ; zero operators pad the list to a static length. Kraus
        operators are not unique (and ``eigh`` is not differentiable at degenerate eigenvalues):
        differentiate the superoperator or the Choi matrix instead.
        """
        di, do = self.d_in, self.d_out
        j = self.choi(dtype)
        lam, vecs = _linalg.eigh_differentiable((j + j.conj().T) / 2)
        lam, vecs = lam[::-1], vecs[:, ::-1]
        weights = jnp.sqrt(jnp.maximum(lam, 0.0)).astype(vecs.dtype)
        ops = (vecs * weights).T.reshape(di * do, di, do)
        return ops.swapaxes(-1, -2)


# ---------------------------------------------------------------------------------------------
# Concrete channels
# ---------------------------------------------------------------------------------------------


class KrausChannel(AbstractChannel):
    """E(ρ) = Σ_k K_k ρ K_k†, Kraus operators ``kraus`` of shape ``(k, d_out, d_in)``."""

    kraus_ops: Array
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, kraus):
        if isinstance(kraus, Sequence) and not isinstance(kraus, str):
            ops = [jnp.asarray(k) for k in kraus]
            if not ops or len({k.shape for k in ops}) != 1:
                raise ValueError("`kraus` must be a non-empty list of equally shaped matrices.")
            dtype = complex_dtype(*ops)
            kraus = jnp.stack([k.astype(dtype) for k in ops])
        kraus = jnp.asarray(kraus)
        if kraus.ndim == 2:
            kraus = kraus[None]
        if kraus.ndim != 3:
            raise ValueError(f"`kraus` must have shape (k, d_out, d_in); got {kraus.shape}.")
        self.kraus_ops = kraus.astype(complex_dtype(kraus))
        self.d_out, self.d_in = kraus.shape[1], kraus.shape[2]

    def apply(self, rho):
        dtype = complex_dtype(self.kraus_ops, rho)
        k = self.kraus_ops.astype(dtype)
        return jnp.einsum("kab,bc,kdc->ad", k, rho.astype(dtype), k.conj())


def _isqrt(n: int, name: str) -> int:
    r = math.isqrt(n)
    if r * r != n:
        raise ValueError(f"`{name}` must be a perfect square (d²); got {n}.")
    return r


class SuperoperatorChannel(AbstractChannel):
    """vec E(ρ) = S vec ρ, S of shape ``(d_out², d_in²)``, row-major vec(ρ) = ``ρ.reshape(-1)``.

    The convention of ``qdiss.Lindbladian.superoperator``: e.g.
    ``SuperoperatorChannel(jax.scipy.linalg.expm(t * L.superoperator()))`` is the evolution
    channel e^{tL}. (QuTiP stacks columns: its matrix is S with both tensor factors swapped.)
    """

    matrix: Array
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, matrix):
        matrix = jnp.asarray(matrix)
        if matrix.ndim != 2:
            raise ValueError(f"`matrix` must be 2-D (d_out², d_in²); got shape {matrix.shape}.")
        self.d_out = _isqrt(matrix.shape[0], "matrix.shape[0]")
        self.d_in = _isqrt(matrix.shape[1], "matrix.shape[1]")
        self.matrix = matrix.astype(complex_dtype(matrix))

    def apply(self, rho):
        dtype = complex_dtype(self.matrix, rho)
        out = self.matrix.astype(dtype) @ rho.astype(dtype).reshape(-1)
        return out.reshape(self.d_out, self.d_out)


class FunctionChannel(AbstractChannel):
    """E(ρ) = ``fn(ρ)`` for a linear JAX function of one ``(d_in, d_in)`` matrix.

    ``fn`` is a pytree field: pass an ``eqx.Module`` or ``jax.tree_util.Partial`` to let
    gradients reach its parameters (use ``eqx.filter_jit``/``eqx.filter_grad`` around channels
    holding plain Python functions).
    """

    fn: Callable
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, fn: Callable, d_in: int, d_out: int | None = None):
        if not callable(fn):
            raise TypeError(f"`fn` must be callable; got {type(fn).__name__}.")
        self.fn = fn
        self.d_in = int(d_in)
        self.d_out = int(d_in if d_out is None else d_out)

    def apply(self, rho):
        return jnp.asarray(self.fn(rho))


class ComposedChannel(AbstractChannel):
    """(outer ∘ inner)(ρ) = outer(inner(ρ)); see :func:`compose`."""

    outer: AbstractChannel
    inner: AbstractChannel
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, outer: AbstractChannel, inner: AbstractChannel):
        if outer.d_in != inner.d_out:
            raise ValueError(
                f"Cannot compose: the outer channel takes d_in = {outer.d_in} but the inner one "
                f"returns d_out = {inner.d_out}."
            )
        self.outer, self.inner = outer, inner
        self.d_in, self.d_out = inner.d_in, outer.d_out

    def apply(self, rho):
        return self.outer.apply(self.inner.apply(rho))


class TensorChannel(AbstractChannel):
    """(first ⊗ second)(ρ) on the product space, first factor first (kron order)."""

    first: AbstractChannel
    second: AbstractChannel
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, first: AbstractChannel, second: AbstractChannel):
        self.first, self.second = first, second
        self.d_in = first.d_in * second.d_in
        self.d_out = first.d_out * second.d_out

    def apply(self, rho):
        a, b = self.first, self.second
        da, db = a.d_in, b.d_in
        blocks = rho.reshape(da, db, da, db).transpose(0, 2, 1, 3)  # [i, j] = ⟨i|ρ|j⟩ on B
        blocks = jax.vmap(jax.vmap(b.apply))(blocks)  # (da, da, Db, Db)
        blocks = jax.vmap(jax.vmap(a.apply))(blocks.transpose(2, 3, 0, 1))  # (Db, Db, Da, Da)
        return blocks.transpose(2, 0, 3, 1).reshape(self.d_out, self.d_out)


def compose(*channels: AbstractChannel) -> AbstractChannel:
    """compose(a, b, c) = a∘b∘c (c acts first); the same as ``a @ b @ c``."""
    if not channels:
        raise ValueError("compose() needs at least one channel.")
    return functools.reduce(ComposedChannel, channels)


def tensor(*channels: AbstractChannel) -> AbstractChannel:
    """tensor(a, b, c) = a ⊗ b ⊗ c (kron order: a's space first)."""
    if not channels:
        raise ValueError("tensor() needs at least one channel.")
    return functools.reduce(TensorChannel, channels)


def is_completely_positive(channel: AbstractChannel, tol: float = 1e-10) -> Array:
    """Choi's theorem: E is CP iff J ⪰ 0. True when λ_min(J) ≥ −tol (a JAX boolean)."""
    j = channel.choi()
    return jnp.min(_linalg.eigvalsh((j + j.conj().T) / 2)) >= -tol


def is_trace_preserving(channel: AbstractChannel, tol: float = 1e-10) -> Array:
    """tr E(ρ) = tr ρ for all ρ iff tr_out J = I; True when max |tr_out J − I| ≤ tol."""
    di, do = channel.d_in, channel.d_out
    j = channel.choi().reshape(di, do, di, do)
    partial = jnp.einsum("iaja->ij", j)
    return jnp.max(jnp.abs(partial - jnp.eye(di, dtype=partial.dtype))) <= tol


# ---------------------------------------------------------------------------------------------
# Entanglement-preserving local thermalisation (arXiv:1904.07945)
# ---------------------------------------------------------------------------------------------


def thermal_state(energies, temperature) -> Array:
    """τ = diag(e^{−E_k/T}) / Z in the basis in which ``energies`` are listed (real, (d, d)).

    For a qubit in qdiss' basis (0 = excited) pass ``energies = [ω/2, −ω/2]``.
    """
    energies, temperature = jnp.asarray(energies), jnp.asarray(temperature)
    check_concrete(
        temperature <= 0,
        "`temperature` must be positive.",
        lambda: f"Got {np.asarray(temperature)}.",
    )
    weights = jnp.exp(-(energies - jnp.min(energies)) / temperature)
    return jnp.diag(weights / jnp.sum(weights))


def maximally_entangled_state(d: int, dtype=None) -> Array:
    """|Φ⁺⟩ = Σ_i |i i⟩ / √d as a vector of length d²."""
    dtype = complex_dtype() if dtype is None else dtype
    return (jnp.eye(d, dtype=dtype) / math.sqrt(d)).reshape(-1)


def isotropic_twirl(rho: Array, d: int) -> Array:
    r"""T(ρ) = ∫dU (U⊗U*) ρ (U⊗U*)† = F Φ⁺ + (tr ρ − F)(I − Φ⁺)/(d² − 1), F = ⟨Φ⁺|ρ|Φ⁺⟩.

    Written with tr ρ so that T is linear on all matrices (tr ρ = 1 for states).
    """
    dtype = complex_dtype(rho)
    rho = rho.astype(dtype)
    phi = maximally_entangled_state(d, dtype)
    proj = jnp.outer(phi, phi)
    fidelity = phi @ rho @ phi
    rest = (jnp.eye(d * d, dtype=dtype) - proj) / (d * d - 1)
    return fidelity * proj + (jnp.trace(rho) - fidelity) * rest


@functools.lru_cache(maxsize=32)
def _ghz_basis_numpy(n: int, d: int) -> np.ndarray:
    omega = np.exp(2j * np.pi / d)
    columns = []
    for j in range(d):
        for shifts in itertools.product(range(d), repeat=n - 1):
            vec = np.zeros(d**n, complex)
            for k in range(d):
                digits = [k] + [(k + s) % d for s in shifts]
                vec[np.ravel_multi_index(digits, (d,) * n)] = omega ** (j * k)
            columns.append(vec / np.sqrt(d))
    return np.stack(columns, axis=1)


def ghz_basis(n: int, d: int = 2, dtype=None) -> Array:
    r"""The GHZ basis of n qudits as the columns of a unitary ``(dⁿ, dⁿ)`` matrix.

    |ψ_{j,s}⟩ = d^{−1/2} Σ_k ω^{jk} |k, k+s₂, …, k+s_n⟩ (mod d, ω = e^{2πi/d}), ordered with
    j = 0, s = 0 first: column 0 is |GHZ⟩ = Σ_k |k…k⟩/√d (for qubits (|e…e⟩ + |g…g⟩)/√2). These
    are the joint eigenvectors of the local-Pauli stabiliser group of |GHZ⟩ (X^{⊗n} and
    Z_i Z_{i+1}^† for qubits), and each has maximally mixed single-party marginals.
    """
    dtype = complex_dtype() if dtype is None else dtype
    return jnp.asarray(_ghz_basis_numpy(int(n), int(d))).astype(dtype)


def ghz_twirl(rho: Array, n: int, d: int = 2) -> Array:
    r"""T_GHZ(ρ) = Σ_{j,s} |ψ_{j,s}⟩⟨ψ_{j,s}| ρ |ψ_{j,s}⟩⟨ψ_{j,s}| (dephasing in the GHZ basis).

    This is the average of (⊗_i P_i) ρ (⊗_i P_i)† over the dⁿ elements of the stabiliser group
    of |GHZ⟩, products of local (generalised) Pauli operators: an LOSR operation (random local
    unitaries with shared randomness). It keeps every GHZ-basis fidelity ⟨ψ|ρ|ψ⟩, in particular
    ⟨GHZ|ρ|GHZ⟩, and outputs maximally mixed single-party marginals (times tr ρ).
    """
    dtype = complex_dtype(rho)
    basis = ghz_basis(n, d, dtype)
    weights = jnp.einsum("ak,ab,bk->k", basis.conj(), rho.astype(dtype), basis)
    return (basis * weights) @ basis.conj().T


def _check_gamma(gamma, taus, d: int):
    """0 < γ ≤ d·P_min (P_min: the smallest eigenvalue of the local thermal states)."""
    gamma = jnp.asarray(gamma)
    if gamma.ndim:
        raise ValueError(f"`gamma` must be a scalar; got shape {gamma.shape}.")
    for i, tau in enumerate(taus):
        check_concrete(~jnp.all(jnp.isfinite(tau)), f"Local state {i} has non-finite entries.")
        not_density = (jnp.max(jnp.abs(tau - tau.conj().T)) > _DENSITY_ATOL) | (
            jnp.abs(jnp.trace(tau) - 1) > 1e-8
        )
        check_concrete(
            not_density, f"Local state {i} must be a density matrix (Hermitian, trace 1)."
        )
    p_min = jnp.min(jnp.stack([jnp.min(_linalg.eigvalsh(t)) for t in taus]))
    bound = d * p_min
    return check(
        gamma,
        (gamma <= 0) | (gamma > bound * (1 + 1e-12)),
        "`gamma` must satisfy 0 < γ ≤ d·P_min (d the local dimension, P_min the smallest "
        "eigenvalue of the local thermal states).",
        lambda: (
            f"Here d·P_min = {float(bound):.6g} (d = {d}); got γ = {float(gamma):.6g}. At zero "
            "temperature (P_min = 0) no such channel exists."
        ),
    )


def _local_parts(taus: Array, gamma: Array, dtype) -> Array:
    """(1 − γ) σ_i = τ_i − γI/d for each local state (stacked ``(N, d, d)``)."""
    d = taus.shape[-1]
    g = gamma.astype(dtype)
    return taus.astype(dtype) - g * jnp.eye(d, dtype=dtype) / d


def _safe_inverse_power(one_minus_gamma: Array, power: int) -> Array:
    # γ = 1 is allowed only when every τ = I/d, where the numerator vanishes too: return 0 there.
    ok = one_minus_gamma > 0
    safe = jnp.where(ok, one_minus_gamma, 1.0)
    return jnp.where(ok, safe ** (-power), 0.0)


class EPLTChannel(AbstractChannel):
    r"""Entanglement-preserving local thermalisation E_γ (Hsieh, Lostaglio & Acín,
    arXiv:1904.07945), local dimension d on both sides:

        E_γ(ρ) = γ T(ρ) + (1 − γ) tr(ρ) σ_A ⊗ σ_B,   σ_X = (τ_X − γ I/d)/(1 − γ),

    T the isotropic twirl (:func:`isotropic_twirl`), 0 < γ ≤ d·P_min. Every output has marginals
    exactly τ_A, τ_B; the twirl keeps F = ⟨Φ⁺|ρ|Φ⁺⟩, so ⟨Φ⁺|E_γ(ρ)|Φ⁺⟩ = γF + (1−γ) tr(σ_A σ_Bᵀ)/d.
    Build it with :func:`eplt_channel`, which validates γ. Differentiable in γ, τ_A, τ_B.
    """

    tau_a: Array
    tau_b: Array
    gamma: Array
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, tau_a, tau_b, gamma):
        tau_a, tau_b = jnp.asarray(tau_a), jnp.asarray(tau_b)
        d = tau_a.shape[-1]
        if tau_a.shape != (d, d) or tau_b.shape != (d, d):
            raise ValueError(
                "`tau_a` and `tau_b` must be (d, d) density matrices of the same local dimension; "
                f"got shapes {tau_a.shape} and {tau_b.shape}."
            )
        if d < 2:
            raise ValueError("The local dimension must be at least 2.")
        self.gamma = _check_gamma(gamma, (tau_a, tau_b), d)
        self.tau_a, self.tau_b = tau_a, tau_b
        self.d_in = self.d_out = d * d

    @property
    def d(self) -> int:
        return self.tau_a.shape[-1]

    def local_states(self) -> tuple[Array, Array]:
        """(σ_A, σ_B) = ((τ_A − γI/d)/(1 − γ), (τ_B − γI/d)/(1 − γ))."""
        dtype = complex_dtype(self.tau_a, self.tau_b, self.gamma)
        parts = _local_parts(jnp.stack([self.tau_a, self.tau_b]), self.gamma, dtype)
        scale = _safe_inverse_power(1 - self.gamma, 1).astype(dtype)
        return parts[0] * scale, parts[1] * scale

    def apply(self, rho):
        dtype = complex_dtype(rho, self.tau_a, self.tau_b, self.gamma)
        rho = rho.astype(dtype)
        pa, pb = _local_parts(jnp.stack([self.tau_a, self.tau_b]), self.gamma, dtype)
        product = jnp.kron(pa, pb) * _safe_inverse_power(1 - self.gamma, 1).astype(dtype)
        twirled = isotropic_twirl(rho, self.d)
        return self.gamma.astype(dtype) * twirled + jnp.trace(rho) * product


class GHZEPLTChannel(AbstractChannel):
    r"""The N-party version of E_γ: the isotropic twirl is replaced by the GHZ twirl.

        E_γ(ρ) = γ T_GHZ(ρ) + (1 − γ) tr(ρ) ⊗_i σ_i,   σ_i = (τ_i − γ I/d)/(1 − γ),

    0 < γ ≤ d·P_min over all τ_i. T_GHZ (:func:`ghz_twirl`) is an LOSR operation (shared random
    products of local Pauli operators) with maximally mixed single-party marginals, so every
    output has single-party marginals exactly τ_i; it keeps F = ⟨GHZ|ρ|GHZ⟩, so
    ⟨GHZ|E_γ(ρ)|GHZ⟩ = γF + (1 − γ)⟨GHZ|⊗σ_i|GHZ⟩. For N qubits with equal τ and γ = 2P_min,
    σ = |g⟩⟨g| and a GHZ input keeps fidelity (1 + γ)/2 > ½ — genuine multipartite entanglement —
    at every T > 0. Build it with :func:`ghz_eplt_channel`.
    """

    taus: Array
    gamma: Array
    n_parties: int = eqx.field(static=True)
    d_in: int = eqx.field(static=True)
    d_out: int = eqx.field(static=True)

    def __init__(self, taus, gamma):
        if isinstance(taus, Sequence) and not isinstance(taus, str):
            taus = [jnp.asarray(t) for t in taus]
            if len({t.shape for t in taus}) != 1:
                raise ValueError("All local states `taus` must have the same shape (d, d).")
            taus = jnp.stack(taus)
        taus = jnp.asarray(taus)
        if taus.ndim != 3 or taus.shape[1] != taus.shape[2] or taus.shape[0] < 2:
            raise ValueError(
                f"`taus` must be N ≥ 2 local states, shape (N, d, d); got shape {taus.shape}."
            )
        n, d = taus.shape[0], taus.shape[1]
        if d < 2:
            raise ValueError("The local dimension must be at least 2.")
        self.gamma = _check_gamma(gamma, tuple(taus), d)
        self.taus = taus
        self.n_parties = n
        self.d_in = self.d_out = d**n

    @property
    def d(self) -> int:
        return self.taus.shape[-1]

    def local_states(self) -> Array:
        """σ_i = (τ_i − γI/d)/(1 − γ), shape (N, d, d)."""
        dtype = complex_dtype(self.taus, self.gamma)
        scale = _safe_inverse_power(1 - self.gamma, 1).astype(dtype)
        return _local_parts(self.taus, self.gamma, dtype) * scale

    def apply(self, rho):
        dtype = complex_dtype(rho, self.taus, self.gamma)
        rho = rho.astype(dtype)
        parts = _local_parts(self.taus, self.gamma, dtype)
        product = functools.reduce(jnp.kron, list(parts))
        power = self.n_parties - 1
        product = product * _safe_inverse_power(1 - self.gamma, power).astype(dtype)
        twirled = ghz_twirl(rho, self.n_parties, self.d)
        return self.gamma.astype(dtype) * twirled + jnp.trace(rho) * product


def eplt_channel(tau_a, tau_b, gamma) -> EPLTChannel:
    """The bipartite entanglement-preserving local thermalisation E_γ (see :class:`EPLTChannel`).

    Raises ``ValueError`` unless 0 < γ ≤ d·P_min (``EquinoxRuntimeError`` under ``jit``); the
    largest value γ = d·P_min preserves the most entanglement.
    """
    return EPLTChannel(tau_a, tau_b, gamma)


def ghz_eplt_channel(taus, gamma) -> GHZEPLTChannel:
    """The N-party version of E_γ with the GHZ twirl (see :class:`GHZEPLTChannel`)."""
    return GHZEPLTChannel(taus, gamma)
