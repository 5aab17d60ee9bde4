r"""Light-emitter ensembles: spin squeezing in the steady state.

Huybrechts & Roscilde, *Quantum correlations in the steady state of light-emitter ensembles from
perturbation theory*, arXiv:2402.16824 (the all-to-all models); Lee, Gopalakrishnan & Lukin,
PRL 110, 257204 (2013) (the dissipative XYZ lattice).

N two-level emitters, each decaying at rate γ: L_i = √γ σ⁻_i. Qubit basis as everywhere in qdiss:
index 0 = |e⟩ = |↑⟩, 1 = |g⟩ = |↓⟩, σ⁻ = |g⟩⟨e| = [[0, 0], [1, 0]], σ^z = diag(1, −1); N-qubit
states are Kronecker products with emitter 1 the most significant factor. Collective spin
S_a = ½ Σ_i σ^a_i, S_± = S_x ± iS_y = Σ_i σ^±_i.

Models (full 2^N-dimensional space by default, N ≤ ~8 for steady states; the all-to-all ones
also in a permutation-invariant representation, see below):

- :class:`AllToAllXYZ` (two-emitter driving)
  H = (1/N) Σ_{i<j} (J_x σ^x_iσ^x_j + J_y σ^y_iσ^y_j + J_z σ^z_iσ^z_j).
- :class:`AllToAllTFI` (single-emitter driving)
  H = (J/N) Σ_{i<j} σ^z_iσ^z_j + h Σ_i σ^x_i.
- :class:`XYZLattice`, nearest neighbours on a chain or ring
  H = Σ_⟨ij⟩ (J_x σ^x_iσ^x_j + J_y σ^y_iσ^y_j + J_z σ^z_iσ^z_j).

Optional dissipation on top of the local decay, the same for every model: local dephasing
L_i = √γ_φ σ^z_i (coherences decay at 2γ_φ) and, for the all-to-all models, collective decay
L = √(γ_c/N) S⁻ (Kac-normalised like H, so the mean-field limit N → ∞ exists). An optional rate
left at ``None`` adds no jump operators; a rate that is given (even 0) adds them and is a pytree
leaf (in the full representation its gradient at exactly 0 is NaN, through √γ; the
permutation-invariant one takes rates linearly).

**Collective form and representations.** For the all-to-all models Σ_{i<j} σ^a_iσ^a_j =
(4S_a² − N)/2, so H_XYZ = (1/N) Σ_a J_a (2S_a² − N/2) and H_TFI = (J/N)(2S_z² − N/2) + 2h S_x
(:meth:`AllToAllXYZ.hamiltonian` takes the spin operators of any representation). The static
``representation`` chooses what :meth:`~AbstractEmitterEnsemble.lindbladian` returns: "full"
(default), a dense ``qdiss.Lindbladian`` on 2^N states (N ≤ 12), or "permutation", the
permutation-invariant Lindbladian of ``qdiss._lindbladian.permutation`` on the total-spin blocks
(Σ_j (2j+1)² ≈ N³/6 unknowns; N up to hundreds), with the same parameters.
:func:`block_spin_moments` and :meth:`~AbstractEmitterEnsemble.wineland_squeezing` take states
of either kind.

**Closed forms** (checked in ``tests/test_permutation.py``): with Δ = J_x + J_y − 2J_z,
λ = J_x − J_y, R = √(γ² + 4Δ²), the Gaussian (Holstein–Primakoff, N → ∞) Wineland parameter of the
paramagnetic all-to-all XYZ model is ξ²_R = R/(R + 2|λ|) (:func:`gaussian_wineland_squeezing`), and
the all-down mean-field fixed point is unstable iff (J_x − J_z)(J_z − J_y) > Γ_⊥²/4, Γ_⊥ = γ/2
(+ γ_c/2 + 2γ_φ), i.e. (J_x − J_z)(J_z − J_y) > γ²/16 with decay only
(:meth:`AllToAllXYZ.mean_field_instability`; lattice: J_a → zJ_a, coordination z).
"""

from __future__ import annotations

import abc
import functools
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import measures
from .._checks import check_concrete
from .._lindbladian import Lindbladian
from .._numerics import complex_dtype
from ..measures._spin import block_spin_moments

__all__ = [
    "AbstractEmitterEnsemble",
    "AllToAllTFI",
    "AllToAllXYZ",
    "XYZLattice",
    "block_spin_moments",
    "gaussian_wineland_squeezing",
    "pair_correlations",
    "pauli",
    "site_operators",
]

_MAX_EMITTERS = 12  # 2^12 = 4096: dense operators of 4096² complex128 = 268 MB each
_REPRESENTATIONS = ("full", "permutation")

_PAULI = {
    "x": np.array([[0, 1], [1, 0]], complex),
    "y": np.array([[0, -1j], [1j, 0]], complex),
    "z": np.diag([1.0, -1.0]).astype(complex),
    "+": np.array([[0, 1], [0, 0]], complex),  # σ⁺ = |e⟩⟨g|
    "-": np.array([[0, 0], [1, 0]], complex),  # σ⁻ = |g⟩⟨e|
    "i": np.eye(2, dtype=complex),
}


def pauli(name: str) -> np.ndarray:
    """The single-qubit operator ``name`` ∈ {"x", "y", "z", "+", "-", "i"} in the basis (e, g).

    σ⁺ = |e⟩⟨g| = [[0, 1], [0, 0]], σ⁻ = |g⟩⟨e| = [[0, 0], [1, 0]], σ^z = diag(1, −1).
    """
    try:
        return _PAULI[name].copy()
    except KeyError:
        raise ValueError(f"`name` must be one of {sorted(_PAULI)}; got {name!r}.") from None


def _check_num(num: int, name: str, minimum: int = 1, full_space: bool = True) -> int:
    if isinstance(num, bool) or int(num) != num or num < minimum:
        raise ValueError(f"`{name}` must be an integer ≥ {minimum}; got {num!r}.")
    if full_space and num > _MAX_EMITTERS:
        raise ValueError(
            f"`{name}` = {num} is too large for the full 2^N-dimensional space (at most "
            f"{_MAX_EMITTERS}); use a permutation-invariant representation."
        )
    return int(num)


@functools.lru_cache(maxsize=64)
def _site_operators_np(name: str, num: int) -> np.ndarray:
    op = pauli(name)
    return np.stack(
        [np.kron(np.kron(np.eye(2**i), op), np.eye(2 ** (num - i - 1))) for i in range(num)]
    )


def site_operators(op, num_qubits: int, dtype=None) -> Array:
    r"""``(N, 2^N, 2^N)`` stack of ``op`` acting on each qubit: I⊗…⊗op_i⊗…⊗I (qubit 1 first).

    ``op`` is a 2×2 matrix or a name for :func:`pauli` ("x", "y", "z", "+", "-"); ``dtype``
    complex (default complex128 with x64).
    """
    num = _check_num(num_qubits, "num_qubits")
    dtype = complex_dtype() if dtype is None else dtype
    if isinstance(op, str):
        return jnp.asarray(_site_operators_np(op, num), dtype=dtype)
    op = np.asarray(op)
    if op.shape != (2, 2):
        raise ValueError(f"`op` must be a 2×2 matrix or a Pauli name; got shape {op.shape}.")
    ops = [np.kron(np.kron(np.eye(2**i), op), np.eye(2 ** (num - i - 1))) for i in range(num)]
    return jnp.asarray(np.stack(ops), dtype=dtype)


@functools.lru_cache(maxsize=32)
def _bond_sums_np(num: int, bonds: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(3, 2^N, 2^N): Σ_bonds σ^a_iσ^a_j for a = x, y, z."""
    out = []
    for name in "xyz":
        ops = _site_operators_np(name, num)
        total = np.zeros((2**num, 2**num), complex)
        for i, j in bonds:
            total += ops[i] @ ops[j]
        out.append(total)
    return np.stack(out)


def _real_leaf(x, name: str) -> Array:
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating) or not jnp.issubdtype(x.dtype, jnp.number):
        raise TypeError(f"`{name}` must be real; got dtype {x.dtype}.")
    if x.ndim:
        raise ValueError(f"`{name}` must be a scalar; got shape {x.shape}.")
    if jnp.issubdtype(x.dtype, jnp.integer):
        return x.astype(jnp.zeros(()).dtype)  # the default float (float64 under x64)
    return x.astype(x.dtype)  # a strong (not weakly typed) array


def _rate_leaf(x, name: str, optional: bool = False):
    if optional and x is None:
        return None
    x = _real_leaf(x, name)
    check_concrete(x < 0, f"`{name}` must be a non-negative rate.", lambda: f"Got {float(x)}.")
    return x


def _sqrt_rate(rate: Array, dtype) -> Array:
    return jnp.sqrt(rate).astype(dtype)


def gaussian_wineland_squeezing(Jx, Jy, Jz, gamma) -> Array:
    r"""Large-N (Gaussian, Holstein–Primakoff) Wineland parameter of the all-to-all XYZ model,

        ξ²_R = R / (R + 2|λ|),   λ = J_x − J_y,  Δ = J_x + J_y − 2J_z,  R = √(γ² + 4Δ²),

    in the paramagnetic phase (all-down state mean-field stable, λ² < Δ² + γ²/4). Around the
    all-down state S⁻ ≈ √N b and the model becomes one mode, H = Δ b†b + (λ/2)(b² + b†²),
    L = √γ b, whose smallest quadrature variance is ξ²_R.
    """
    Jx, Jy, Jz, gamma = (jnp.asarray(x) for x in (Jx, Jy, Jz, gamma))
    lam = Jx - Jy
    delta = Jx + Jy - 2 * Jz
    r = jnp.sqrt(gamma**2 + 4 * delta**2)
    return r / (r + 2 * jnp.abs(lam))


def _bloch_dissipation(s: Array, gamma, dephasing, collective_decay) -> Array:
    r"""Mean-field ds/dt of one Bloch vector s = (⟨σ^x⟩, ⟨σ^y⟩, ⟨σ^z⟩) from the dissipators.

    Local decay γ: (−γ s_x/2, −γ s_y/2, −γ(1 + s_z)); dephasing γ_φ D[σ^z]: −2γ_φ (s_x, s_y, 0);
    collective decay (γ_c/N) D[S⁻] as N → ∞: (γ_c/2)(s_z s_x, s_z s_y, −(s_x² + s_y²)).
    """
    sx, sy, sz = s[0], s[1], s[2]
    out = jnp.stack([-gamma / 2 * sx, -gamma / 2 * sy, -gamma * (1 + sz)])
    if dephasing is not None:
        out = out + jnp.stack([-2 * dephasing * sx, -2 * dephasing * sy, jnp.zeros_like(sz)])
    if collective_decay is not None:
        out = out + collective_decay / 2 * jnp.stack([sz * sx, sz * sy, -(sx**2 + sy**2)])
    return out


class AbstractEmitterEnsemble(eqx.Module):
    """N decaying emitters with a spin Hamiltonian; subclasses give H and the mean-field field.

    Shared: local decay √γ σ⁻_i, optional local dephasing √γ_φ σ^z_i and (all-to-all models)
    collective decay √(γ_c/N) S⁻; :meth:`lindbladian`, collective spin operators and squeezing.
    """

    N: eqx.AbstractVar[int]
    gamma: eqx.AbstractVar[Array]
    dephasing: eqx.AbstractVar[Array | None]
    collective_decay: eqx.AbstractVar[Array | None]
    # what `qdiss` reads (qdiss.models docstring)
    figures_of_merit: ClassVar[dict] = {
        "wineland_squeezing": lambda model, rho: model.wineland_squeezing(rho)
    }

    @abc.abstractmethod
    def hamiltonian(self) -> Array:
        """H as a dense ``(2^N, 2^N)`` complex matrix."""

    @abc.abstractmethod
    def mean_field_field(self, s: Array) -> Array:
        """The mean field B(s): each emitter feels H_MF = B·σ in a uniform state s."""

    def _dtype(self):
        leaves = [x for x in jax.tree_util.tree_leaves(self) if isinstance(x, jax.Array)]
        return complex_dtype(*leaves)

    def jump_ops(self) -> Array:
        """Stacked jump operators: √γ σ⁻_i, then √γ_φ σ^z_i, then √(γ_c/N) S⁻ (if given)."""
        dtype = self._dtype()
        n = self.N
        jumps = [_sqrt_rate(self.gamma, dtype) * site_operators("-", n, dtype)]
        if self.dephasing is not None:
            jumps.append(_sqrt_rate(self.dephasing, dtype) * site_operators("z", n, dtype))
        if self.collective_decay is not None:
            lowering = jnp.sum(site_operators("-", n, dtype), axis=0)
            jumps.append((_sqrt_rate(self.collective_decay / n, dtype) * lowering)[None])
        return jnp.concatenate(jumps)

    def _collective_terms(self) -> tuple[Array, Array]:
        """(h, Q) with H = Σ_a h_a S_a + Σ_ab Q_ab (S_aS_b + S_bS_a)/2 + const (all-to-all)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no permutation-invariant representation."
        )

    def _permutation_lindbladian(self):
        from .._lindbladian import PermutationInvariantLindbladian

        linear, quadratic = self._collective_terms()
        zero = jnp.zeros_like(self.gamma)
        return PermutationInvariantLindbladian(
            self.N,
            linear=linear,
            quadratic=quadratic,
            emission=self.gamma,
            dephasing=zero if self.dephasing is None else self.dephasing,
            collective_emission=(
                zero if self.collective_decay is None else self.collective_decay / self.N
            ),
        )

    def lindbladian(self):
        """The model's Lindbladian, in the representation chosen by ``representation``:

        - "full": a :class:`qdiss.Lindbladian` on N qubits (``dims = (2,)*N``), dense
          2^N × 2^N operators, N ≤ 12 (a ``ValueError`` beyond);
        - "permutation": a ``PermutationInvariantLindbladian`` (``_lindbladian.permutation``): its
          states are the total-spin blocks, shape ``(N//2 + 1, N + 1, N + 1)`` (all-to-all
          models only; N up to hundreds). Constant terms of H are dropped.
        """
        if getattr(self, "representation", "full") == "permutation":
            return self._permutation_lindbladian()
        _check_num(self.N, "N")
        return Lindbladian(self.hamiltonian(), self.jump_ops(), dims=(2,) * self.N)

    def spin_operators(self) -> tuple[Array, Array, Array, Array, Array]:
        """``(S_x, S_y, S_z, S_+, S_-)`` on the full space (``collective_spin_operators``)."""
        _check_num(self.N, "N")
        return measures.collective_spin_operators(self.N, dtype=self._dtype())

    def spin_moments(self, rho: Array) -> tuple[Array, Array]:
        r"""(⟨S⃗⟩, C) with C_ab = ⟨{S_a, S_b}⟩/2 − ⟨S_a⟩⟨S_b⟩, for a full-space state
        ``(2^N, 2^N)`` or a permutation-invariant one ``(N//2 + 1, N + 1, N + 1)``."""
        rho = jnp.asarray(rho)
        if rho.ndim == 3:
            return block_spin_moments(rho, self.N)
        return measures.spin_moments(rho, self.spin_operators())

    def wineland_squeezing(self, rho: Array) -> Array:
        r"""ξ²_R = N min_{n ⟂ ⟨S⟩} Var(S·n)/|⟨S⟩|² (``qdiss.measures``), for a full-space or a
        permutation-invariant state (see :meth:`spin_moments`)."""
        return measures.wineland_squeezing(rho, self.N)

    def mean_field_rhs(self, s) -> Array:
        r"""Mean-field Bloch equations ds/dt for a uniform product state, s = ⟨σ⃗⟩ per emitter:

            ds/dt = 2 B(s) × s + (dissipation),

        B(s) from :meth:`mean_field_field`, dissipation as in the module docstring (local decay
        (−γs_x/2, −γs_y/2, −γ(1+s_z)), dephasing −2γ_φ(s_x, s_y, 0), collective decay
        (γ_c/2)(s_z s_x, s_z s_y, −s_x² − s_y²)). Exact for N → ∞ in the all-to-all models.
        """
        s = jnp.asarray(s)
        if s.shape != (3,):
            raise ValueError(f"`s` must be a Bloch vector of shape (3,); got {s.shape}.")
        field = self.mean_field_field(s)
        coherent = 2 * jnp.cross(field, s)
        return coherent + _bloch_dissipation(s, self.gamma, self.dephasing, self.collective_decay)


def _xyz_mean_field_instability(model, z) -> Array:
    r"""(zJ_x − zJ_z)(zJ_z − zJ_y) − Γ_⊥²/4 with Γ_⊥ the transverse mean-field damping."""
    damping = model.gamma / 2
    if model.dephasing is not None:
        damping = damping + 2 * model.dephasing
    if model.collective_decay is not None:
        damping = damping + model.collective_decay / 2
    return z**2 * (model.Jx - model.Jz) * (model.Jz - model.Jy) - damping**2 / 4


class AllToAllXYZ(AbstractEmitterEnsemble):
    r"""All-to-all dissipative XYZ model (two-emitter driving; arXiv:2402.16824).

        H = (1/N) Σ_{i<j} (J_x σ^x_iσ^x_j + J_y σ^y_iσ^y_j + J_z σ^z_iσ^z_j)
          = (1/N) Σ_a J_a (2S_a² − N/2),
        L_i = √γ σ⁻_i  [+ √γ_φ σ^z_i]  [+ √(γ_c/N) S⁻].

    ``AllToAllXYZ(N, Jx, Jy, Jz, gamma, collective_decay=None, dephasing=None,
    representation="full")``. U(1) limit J_x = J_y (then the all-down state is the steady
    state); the pair drive λ = J_x − J_y creates squeezing. Parameters are real pytree leaves,
    N and ``representation`` static.
    """

    Jx: Array
    Jy: Array
    Jz: Array
    gamma: Array
    collective_decay: Array | None
    dephasing: Array | None
    N: int = eqx.field(static=True)
    representation: str = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        N="int",
        Jx="real",
        Jy="real",
        Jz="real",
        representation="str",
        gamma="rate",
        collective_decay="rate",
        dephasing="rate",
    )
    figures_of_merit: ClassVar[dict] = AbstractEmitterEnsemble.figures_of_merit | {
        "gaussian_wineland_squeezing": lambda model, rho: model.gaussian_wineland_squeezing(),
        "mean_field_instability": lambda model, rho: model.mean_field_instability(),
    }

    def __init__(
        self, N, Jx, Jy, Jz, gamma, collective_decay=None, dephasing=None, representation="full"
    ):
        self.N = _check_num(N, "N", 2, full_space=False)
        if representation not in _REPRESENTATIONS:
            raise ValueError(
                f"`representation` must be one of {_REPRESENTATIONS}; got {representation!r}."
            )
        self.representation = representation
        self.Jx, self.Jy, self.Jz = (
            _real_leaf(x, n) for x, n in ((Jx, "Jx"), (Jy, "Jy"), (Jz, "Jz"))
        )
        self.gamma = _rate_leaf(gamma, "gamma")
        self.collective_decay = _rate_leaf(collective_decay, "collective_decay", optional=True)
        self.dephasing = _rate_leaf(dephasing, "dephasing", optional=True)

    def hamiltonian(self, spin_ops=None) -> Array:
        r"""H = (1/N) Σ_a J_a (2S_a² − N/2).

        ``spin_ops``: (S_x, S_y, S_z, …) of any representation (default: the full space), e.g.
        ``measures.spin_operators(N/2)`` for the symmetric subspace.
        """
        dtype = self._dtype()
        if spin_ops is None:
            spin_ops = self.spin_operators()
        ops = [jnp.asarray(op).astype(dtype) for op in spin_ops[:3]]
        eye = jnp.eye(ops[0].shape[0], dtype=dtype)
        n = self.N
        return sum(
            (J / n).astype(dtype) * (2 * op @ op - (n / 2) * eye)
            for J, op in zip((self.Jx, self.Jy, self.Jz), ops, strict=True)
        )

    def u1_symmetric(self) -> AllToAllXYZ:
        """The U(1)-symmetric part: J_x, J_y → (J_x + J_y)/2 (pair drive λ = J_x − J_y removed),
        whose steady state is the dark all-down state; the unperturbed model of
        ``qdiss.perturbative_steady_state``."""
        mean = (self.Jx + self.Jy) / 2
        return eqx.tree_at(lambda m: (m.Jx, m.Jy), self, (mean, mean))

    def _collective_terms(self):
        """h = 0, Q = diag(2J_a/N)."""
        couplings = jnp.stack([self.Jx, self.Jy, self.Jz])
        return jnp.zeros_like(couplings), jnp.diag(2 * couplings / self.N)

    def mean_field_field(self, s):
        """B = (J_x s_x, J_y s_y, J_z s_z)."""
        return jnp.stack([self.Jx * s[0], self.Jy * s[1], self.Jz * s[2]])

    def mean_field_instability(self) -> Array:
        r"""(J_x − J_z)(J_z − J_y) − Γ_⊥²/4, Γ_⊥ = γ/2 + 2γ_φ + γ_c/2: positive iff the all-down
        mean-field fixed point is unstable (decay only: (J_x − J_z)(J_z − J_y) > γ²/16).

        The linearised Bloch equations about s = (0, 0, −1) have the transverse eigenvalues
        −Γ_⊥ ± 2√((J_x − J_z)(J_z − J_y)).
        """
        return _xyz_mean_field_instability(self, 1)

    def gaussian_wineland_squeezing(self) -> Array:
        """:func:`gaussian_wineland_squeezing` at this model's J_x, J_y, J_z, γ (decay only)."""
        return gaussian_wineland_squeezing(self.Jx, self.Jy, self.Jz, self.gamma)


class AllToAllTFI(AbstractEmitterEnsemble):
    r"""All-to-all dissipative transverse-field Ising model (single-emitter driving;
    arXiv:2402.16824).

        H = (J/N) Σ_{i<j} σ^z_iσ^z_j + h Σ_i σ^x_i = (J/N)(2S_z² − N/2) + 2h S_x,
        L_i = √γ σ⁻_i  [+ √γ_φ σ^z_i]  [+ √(γ_c/N) S⁻].

    ``AllToAllTFI(N, J, h, gamma, collective_decay=None, dephasing=None,
    representation="full")``. U(1) limit h = 0: the all-down state is the steady state.
    """

    J: Array
    h: Array
    gamma: Array
    collective_decay: Array | None
    dephasing: Array | None
    N: int = eqx.field(static=True)
    representation: str = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        N="int",
        J="real",
        h="real",
        representation="str",
        gamma="rate",
        collective_decay="rate",
        dephasing="rate",
    )

    def __init__(
        self, N, J, h, gamma, collective_decay=None, dephasing=None, representation="full"
    ):
        self.N = _check_num(N, "N", 2, full_space=False)
        if representation not in _REPRESENTATIONS:
            raise ValueError(
                f"`representation` must be one of {_REPRESENTATIONS}; got {representation!r}."
            )
        self.representation = representation
        self.J, self.h = _real_leaf(J, "J"), _real_leaf(h, "h")
        self.gamma = _rate_leaf(gamma, "gamma")
        self.collective_decay = _rate_leaf(collective_decay, "collective_decay", optional=True)
        self.dephasing = _rate_leaf(dephasing, "dephasing", optional=True)

    def hamiltonian(self, spin_ops=None) -> Array:
        r"""H = (J/N)(2S_z² − N/2) + 2h S_x; ``spin_ops`` as in :meth:`AllToAllXYZ.hamiltonian`."""
        dtype = self._dtype()
        if spin_ops is None:
            spin_ops = self.spin_operators()
        sx, _, sz = (jnp.asarray(op).astype(dtype) for op in spin_ops[:3])
        eye = jnp.eye(sx.shape[0], dtype=dtype)
        n = self.N
        ising = (self.J / n).astype(dtype) * (2 * sz @ sz - (n / 2) * eye)
        return ising + (2 * self.h).astype(dtype) * sx

    def u1_symmetric(self) -> AllToAllTFI:
        """The U(1)-symmetric part: h → 0 (the dark all-down state is its steady state); the
        unperturbed model of ``qdiss.perturbative_steady_state``."""
        return eqx.tree_at(lambda m: m.h, self, jnp.zeros_like(self.h))

    def _collective_terms(self):
        """h = (2h, 0, 0), Q = diag(0, 0, 2J/N)."""
        zero = jnp.zeros_like(self.h)
        linear = jnp.stack([2 * self.h, zero, zero])
        return linear, jnp.diag(jnp.stack([zero, zero, 2 * self.J / self.N]))

    def mean_field_field(self, s):
        """B = (h, 0, J s_z)."""
        return jnp.stack([self.h * jnp.ones_like(s[0]), jnp.zeros_like(s[1]), self.J * s[2]])


def _chain_bonds(num: int, periodic: bool) -> tuple[tuple[int, int], ...]:
    bonds = [(i, i + 1) for i in range(num - 1)]
    if periodic and num > 2:
        bonds.append((num - 1, 0))
    return tuple(bonds)


class XYZLattice(AbstractEmitterEnsemble):
    r"""Dissipative XYZ model with nearest-neighbour couplings on a chain or ring
    (Lee, Gopalakrishnan & Lukin, PRL 110, 257204 (2013)).

        H = Σ_⟨ij⟩ (J_x σ^x_iσ^x_j + J_y σ^y_iσ^y_j + J_z σ^z_iσ^z_j),
        L_i = √γ σ⁻_i  [+ √γ_φ σ^z_i].

    ``XYZLattice(N, Jx, Jy, Jz, gamma, periodic=True, dephasing=None)``: bonds (i, i+1), plus
    (N, 1) on a ring (N ≥ 3; for N = 2 the ring is the single bond). No 1/N: the couplings are
    per bond; the coordination number is z = 2 (ring), used by the mean-field methods.
    """

    Jx: Array
    Jy: Array
    Jz: Array
    gamma: Array
    dephasing: Array | None
    collective_decay: None
    N: int = eqx.field(static=True)
    periodic: bool = eqx.field(static=True)
    bonds: tuple[tuple[int, int], ...] = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        N="int", Jx="real", Jy="real", Jz="real", gamma="rate", periodic="bool", dephasing="rate"
    )
    figures_of_merit: ClassVar[dict] = AbstractEmitterEnsemble.figures_of_merit | {
        "mean_field_instability": lambda model, rho: model.mean_field_instability(),
    }

    def __init__(self, N, Jx, Jy, Jz, gamma, periodic=True, dephasing=None):
        self.N = _check_num(N, "N", 2)
        self.periodic = bool(periodic)
        self.bonds = _chain_bonds(self.N, self.periodic)
        self.Jx, self.Jy, self.Jz = (
            _real_leaf(x, n) for x, n in ((Jx, "Jx"), (Jy, "Jy"), (Jz, "Jz"))
        )
        self.gamma = _rate_leaf(gamma, "gamma")
        self.dephasing = _rate_leaf(dephasing, "dephasing", optional=True)
        self.collective_decay = None

    @property
    def coordination(self) -> int:
        """z = 2 (bulk of a chain; every site of a ring with N ≥ 3)."""
        return 2

    def hamiltonian(self) -> Array:
        """H = Σ_a J_a Σ_⟨ij⟩ σ^a_iσ^a_j (the bond sums are precomputed constants)."""
        dtype = self._dtype()
        sums = jnp.asarray(_bond_sums_np(self.N, self.bonds), dtype=dtype)
        couplings = jnp.stack([self.Jx, self.Jy, self.Jz]).astype(dtype)
        return jnp.einsum("a,aij->ij", couplings, sums)

    def mean_field_field(self, s):
        """B = z (J_x s_x, J_y s_y, J_z s_z), z = 2."""
        z = self.coordination
        return z * jnp.stack([self.Jx * s[0], self.Jy * s[1], self.Jz * s[2]])

    def u1_symmetric(self) -> XYZLattice:
        """The U(1)-symmetric part: J_x, J_y → (J_x + J_y)/2 (as
        :meth:`AllToAllXYZ.u1_symmetric`)."""
        mean = (self.Jx + self.Jy) / 2
        return eqx.tree_at(lambda m: (m.Jx, m.Jy), self, (mean, mean))

    def mean_field_instability(self) -> Array:
        r"""z²(J_x − J_z)(J_z − J_y) − Γ_⊥²/4 (Γ_⊥ = γ/2 + 2γ_φ): positive iff the all-down
        mean-field state is unstable, i.e. (J_x − J_z)(J_z − J_y) > γ²/(16z²) with decay only."""
        return _xyz_mean_field_instability(self, self.coordination)


def pair_correlations(rho: Array, num_qubits: int) -> Array:
    r"""⟨σ⁺_iσ⁻_j⟩ for all pairs, an ``(N, N)`` complex matrix (diagonal: excited populations)."""
    dtype = complex_dtype(rho)
    up = site_operators("+", num_qubits, dtype)
    down = site_operators("-", num_qubits, dtype)
    return jnp.einsum("iab,jbc,ca->ij", up, down, jnp.asarray(rho).astype(dtype))
