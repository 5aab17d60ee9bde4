r"""Lindbladians as JAX pytrees.

The master equation is

    dρ/dt = L(ρ) = −i[H, ρ] + Σ_k ( L_k ρ L_k† − ½{L_k† L_k, ρ} ).

**Vectorisation convention.** qdiss vectorises row-major, the way ``jnp.reshape`` does:
``vec(ρ)[i·n + j] = ρ[i, j]``. Then ``vec(A ρ B) = (A ⊗ Bᵀ) vec(ρ)``, so the superoperator is

    L = −i (H ⊗ I − I ⊗ Hᵀ) + Σ_k [ L_k ⊗ L_k* − ½ (L_k†L_k ⊗ I) − ½ (I ⊗ (L_k†L_k)ᵀ) ].

(QuTiP stacks columns instead; its superoperator is ours with the two tensor factors swapped.)
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jaxtyping import Array, Complex

from .. import _linalg
from .._interop import is_quantum_object, to_jax
from .._numerics import complex_dtype, is_concrete
from ._abstract import AbstractLindbladian
from ._space import DenseSpace

__all__ = ["Lindbladian", "sparse_superoperator", "top_level_populations"]

_HERMITIAN_RTOL = 1e-8


def top_level_populations(
    populations: Array, dims: tuple[int, ...], modes: tuple[int, ...]
) -> Array:
    r"""Σ_{k ≥ d_m − t_m} p_m(k) for each mode m in ``modes``: the population of the top t_m Fock
    levels of the marginal p_m(k) = Σ_{other indices} p(…, k, …) of the basis populations
    p = diag ρ (``populations``, length Π dims, row-major over ``dims``). t_m = 2 (two levels, so
    that a state living on every other level, e.g. a parity-conserving cat state, is not missed),
    or 1 for a mode of dimension 2. A steady state of a mode truncated at d_m levels is only as
    good as this number is small.
    """
    p = jnp.reshape(populations, dims)
    out = []
    for m in modes:
        marginal = jnp.sum(p, axis=tuple(i for i in range(len(dims)) if i != m))
        top = 2 if dims[m] > 2 else 1
        out.append(jnp.sum(marginal[-top:]))
    if not out:
        return jnp.zeros((0,), populations.dtype)
    return jnp.stack(out)


def _validate_modes(modes, dims: tuple[int, ...]) -> tuple[int, ...]:
    """``modes`` as a tuple of distinct indices into ``dims`` of subsystems of dimension ≥ 2."""
    if modes is None:
        return ()
    if isinstance(modes, int | np.integer):
        modes = (modes,)
    try:
        values = tuple(modes)
    except TypeError:
        raise TypeError(
            f"`modes` must be a sequence of integer indices into `dims`; got {modes!r}."
        ) from None
    out = []
    for m in values:
        if isinstance(m, bool) or not isinstance(m, int | np.integer):
            raise TypeError(f"`modes` must hold integer indices into `dims`; got {m!r}.")
        if not 0 <= int(m) < len(dims):
            raise ValueError(
                f"`modes` must index `dims` = {dims} (0 to {len(dims) - 1}); got {int(m)}."
            )
        if dims[int(m)] < 2:
            raise ValueError(
                f"`modes` entry {int(m)} has dimension {dims[int(m)]}: a truncated mode needs at "
                "least 2 Fock levels."
            )
        out.append(int(m))
    if len(set(out)) != len(out):
        raise ValueError(f"`modes` must not repeat an index; got {tuple(out)}.")
    return tuple(out)


def _qutip_kind(x) -> str | None:
    """``"qobj"`` / ``"qobjevo"`` for QuTiP objects (duck-typed: qutip is optional), else None."""
    module = type(x).__module__ or ""
    if not module.startswith("qutip"):
        return None
    if hasattr(x, "full") and hasattr(x, "dims"):
        return "qobj"
    return "qobjevo" if type(x).__name__ == "QobjEvo" else "other"


def _check_qutip(x, name: str) -> None:
    """Reject QuTiP objects that are not constant operators, naming what to pass instead."""
    kind = _qutip_kind(x)
    if kind is None:
        return
    if kind != "qobj":
        raise TypeError(
            f"`{name}` is a time-dependent QuTiP {type(x).__name__}; a steady state needs a "
            f"constant operator: pass a Qobj (e.g. `{name}(t)` at a fixed time, or its constant "
            "part)."
        )
    qtype = getattr(x, "type", "oper")
    if qtype == "super":
        raise ValueError(
            f"`{name}` is a QuTiP superoperator (type 'super', shape {tuple(x.shape)}); "
            "`Lindbladian` takes the Hamiltonian and the jump operators themselves (type 'oper'), "
            "not superoperators built from them (spre, lindblad_dissipator, liouvillian...)."
        )
    if qtype != "oper":
        raise ValueError(
            f"`{name}` is a QuTiP {qtype} of shape {tuple(x.shape)}, not an operator: pass an "
            "(n, n) operator (type 'oper'); for a state ψ the projector is `qutip.ket2dm(psi)`."
        )


def _to_array(x, name: str):
    """Convert one operator (numpy/jax array, dynamiqs QArray, QuTiP Qobj) to a jax array.

    The dtype is kept as given (integers too); :func:`qdiss._numerics.complex_dtype` picks the
    precision."""
    _check_qutip(x, name)
    if is_quantum_object(x):  # dynamiqs QArray, QuTiP Qobj: the one conversion point
        return to_jax(x)
    if isinstance(x, jax.Array | np.ndarray | np.generic | int | float | complex):
        return jnp.asarray(x)
    if isinstance(x, Sequence) and not isinstance(x, str):
        return jnp.asarray(np.asarray(x)) if len(x) else jnp.zeros((0,))
    raise TypeError(
        f"`{name}` must be an array, a dynamiqs QArray or a QuTiP Qobj, got {type(x).__name__}."
    )


def _infer_dims(x, n: int) -> tuple[int, ...] | None:
    """Subsystem dims of a QArray/Qobj input, or None. QuTiP energy-restricted (ENR) operators
    list the dims of the unrestricted modes, whose product is not n: those fall back to None
    (one factor (n,))."""
    dims = getattr(x, "dims", None)
    if dims is None:
        return None
    try:
        if hasattr(x, "full"):  # qutip: [[2, 3], [2, 3]]
            dims = tuple(int(d) for d in dims[0])
        else:
            dims = tuple(int(d) for d in dims)  # dynamiqs: (2, 3)
    except (TypeError, ValueError):
        return None
    if not dims or any(d <= 0 for d in dims) or int(np.prod(dims)) != n:
        return None
    return dims


def _stack_jump_ops(jump_ops, n_hint: int | None):
    _check_qutip(jump_ops, "jump_ops")
    if isinstance(jump_ops, jax.Array | np.ndarray):
        return jnp.asarray(jump_ops)
    if isinstance(jump_ops, Sequence) and not isinstance(jump_ops, str):
        if len(jump_ops) == 0:
            return None
        ops = [_to_array(op, f"jump_ops[{i}]") for i, op in enumerate(jump_ops)]
        shapes = {op.shape for op in ops}
        if len(shapes) != 1:
            raise ValueError(
                f"`jump_ops` must all have the same shape (n, n); got shapes {sorted(shapes)}."
            )
        dtypes = [op.dtype for op in ops]  # a list may mix int, real and complex operators
        if any(jnp.issubdtype(d, jnp.inexact) for d in dtypes):
            dtype = complex_dtype(*dtypes)
        else:  # exact (integer) operators only: the precision is chosen with H's dtype
            with jax.numpy_dtype_promotion("standard"):
                dtype = jnp.result_type(*dtypes)
        return jnp.stack([op.astype(dtype) for op in ops])
    return _to_array(jump_ops, "jump_ops")


class Lindbladian(AbstractLindbladian):
    """A Lindbladian with a Hamiltonian and jump operators stored densely.

    ``Lindbladian(H, jump_ops, dims=None, modes=())``

    - ``H``: ``(n, n)`` Hermitian Hamiltonian (array, dynamiqs QArray or QuTiP Qobj).
    - ``jump_ops``: a ``(k, n, n)`` array or a list of ``k`` operators; rates are folded in
      (``L = √γ · op``). An empty list is a closed system.
    - ``dims``: subsystem dimensions (static metadata), product ``n``; inferred from QArray/Qobj
      inputs when not given (QuTiP energy-restricted operators, ``qutip.enr_destroy`` etc.,
      whose dims do not multiply to n, give one factor ``(n,)``).
    - ``modes``: indices into ``dims`` of the subsystems that are truncated bosonic modes (Fock
      basis |0⟩…|d−1⟩), e.g. ``dims=(n, n), modes=(0, 1)`` for two oscillators (static).
      :func:`qdiss.steady_state` then reports the population of their top Fock levels
      (``sol.stats.top_level_population``) and flags ``RESULTS.truncated`` above its
      ``truncation_tol``.

    **dtype.** Inputs that carry a precision set it: float32/complex64 inputs give a complex64
    Lindbladian, float64/complex128 ones complex128. Integer inputs (``np.diag(np.arange(n))``,
    an integer Pauli matrix) carry none and give JAX's default complex dtype: complex128 with
    ``jax_enable_x64``, complex64 without.

    **Checks.** Concrete inputs raise ``ValueError`` here when they hold NaN/inf or when H is
    not Hermitian (max |H − H†| > 1e-8 · max(max |H|, 1)); a QuTiP ``QobjEvo``, superoperator or
    ket raises ``TypeError``/``ValueError``. Traced inputs (under ``jit``/``vmap``/``grad``)
    cannot be checked here without aborting a whole batch: :func:`qdiss.steady_state` checks
    them for each point and reports ``RESULTS.nonfinite`` / ``RESULTS.not_hermitian`` (raised
    with ``throw=True``).

    The fields are the pytree leaves ``H`` (complex ``(n, n)``) and ``jump_ops`` (complex
    ``(k, n, n)``), so ``jax.grad`` reaches everything that enters them.
    """

    H: Complex[Array, "n n"]
    jump_ops: Complex[Array, "k n n"]
    dims: tuple[int, ...] = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True, default=())

    def __init__(self, H, jump_ops=(), dims=None, modes=()):
        _check_qutip(H, "H")
        source = H
        H = _to_array(H, "H")
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"`H` must be a square matrix of shape (n, n); got shape {H.shape}.")
        n = H.shape[0]
        if n == 0:
            raise ValueError("`H` must have a non-zero dimension.")
        Ls = _stack_jump_ops(jump_ops, n)
        if Ls is None:
            Ls = jnp.zeros((0, n, n), dtype=H.dtype)
        if Ls.ndim == 2:
            Ls = Ls[None]
        if Ls.ndim != 3 or Ls.shape[1:] != (n, n):
            raise ValueError(
                f"`jump_ops` must be a list of (n, n) operators or a (k, n, n) array with "
                f"n = {n} (the size of `H`); got shape {Ls.shape}."
            )
        for name, x in (("H", H), ("jump_ops", Ls)):
            if not jnp.issubdtype(x.dtype, jnp.number) or jnp.issubdtype(x.dtype, jnp.bool_):
                raise TypeError(f"`{name}` must hold numbers; got dtype {x.dtype}.")
        dtype = complex_dtype(H.dtype, Ls.dtype)
        H = H.astype(dtype)
        Ls = Ls.astype(dtype)

        if dims is None:
            inferred = _infer_dims(source, n)
            dims = inferred if inferred is not None else (n,)
        dims = tuple(int(d) for d in np.atleast_1d(dims))
        if any(d <= 0 for d in dims) or int(np.prod(dims)) != n:
            raise ValueError(
                f"`dims` must be positive subsystem sizes whose product is n = {n}; got {dims}."
            )

        # Truncated bosonic modes (the truncation diagnostic of steady_state).
        self.modes = _validate_modes(modes, dims)

        # Concrete inputs are checked here. Traced ones (jit, vmap, grad) are not: an error
        # here would abort a whole vmap batch, so steady_state checks them per point instead
        # (inputs_finite, hamiltonian_hermitian -> RESULTS.nonfinite / not_hermitian).
        if is_concrete(H, Ls):
            for name, x in (("H", H), ("jump_ops", Ls)):
                if not bool(jnp.all(jnp.isfinite(x))):
                    raise ValueError(f"`{name}` has non-finite (NaN or inf) entries.")
            herm_err = float(jnp.max(jnp.abs(H - H.conj().T)))
            scale = float(jnp.max(jnp.abs(H))) if H.size else 0.0
            if herm_err > _HERMITIAN_RTOL * max(scale, 1.0):
                raise ValueError(
                    f"`H` must be Hermitian: max |H − H†| = {herm_err:.3g} (tolerance "
                    f"{_HERMITIAN_RTOL:g} relative to max |H| = {scale:.3g})."
                )
        self.H = H
        self.jump_ops = Ls
        self.dims = dims

    def hamiltonian_hermitian(self) -> Array:
        """max |H − H†| ≤ 1e-8 · max(max |H|, 1), the constructor's test."""
        herm_err = jnp.max(jnp.abs(self.H - self.H.conj().T))
        return herm_err <= _HERMITIAN_RTOL * jnp.maximum(jnp.max(jnp.abs(self.H)), 1.0)

    def is_closed(self) -> Array:
        """True when every jump operator is exactly 0 (or there are none)."""
        return ~jnp.any(self.jump_ops != 0)

    @property
    def n(self) -> int:
        return self.H.shape[-1]

    @property
    def dtype(self):
        return self.H.dtype

    @property
    def space(self) -> DenseSpace:
        """``(n, n)`` density matrices."""
        return DenseSpace(self.n)

    def superoperator_by_columns(self) -> bool:
        """False: :meth:`superoperator` is the closed-form Kronecker sum."""
        return False

    def hamiltonian_eigenbasis(self) -> tuple[Array, Array, Lindbladian]:
        """(energies, U, :meth:`rotated` by U) with H = U diag(energies) U†."""
        energies, rotation = _linalg.eigh(self.H)
        rotation = rotation.astype(self.dtype)
        return energies, rotation, self.rotated(rotation)

    def to_dense(self, rho: Array) -> Array:
        """ρ itself (already ``(n, n)``)."""
        return rho

    def from_dense(self, rho: Array) -> Array:
        """ρ itself (already ``(n, n)``)."""
        return rho

    def top_level_populations(self, rho: Array) -> Array:
        """Population of the top Fock levels of each declared mode (:func:`top_level_populations`
        of diag ρ); empty without ``modes``."""
        populations = jnp.real(jnp.diagonal(rho))
        return top_level_populations(populations, self.dims, self.modes)

    def _loss_operator(self) -> Array:
        """K = Σ_k L_k†L_k."""
        return jnp.einsum("kji,kjl->il", self.jump_ops.conj(), self.jump_ops)

    def effective_hamiltonian(self) -> Array:
        return self.H - 0.5j * self._loss_operator()

    def mv(self, rho: Array) -> Array:
        """L(ρ) = −i(H_eff ρ − ρ H_eff†) + Σ_k L_k ρ L_k†, one batched contraction for the jumps."""
        h_eff = self.effective_hamiltonian()
        coherent = -1j * (h_eff @ rho - rho @ h_eff.conj().T)
        jumps = jnp.einsum("kij,jl,kml->im", self.jump_ops, rho, self.jump_ops.conj())
        return coherent + jumps

    def adjoint_mv(self, op: Array) -> Array:
        """L†(X) = i(H_eff† X − X H_eff) + Σ_k L_k† X L_k."""
        h_eff = self.effective_hamiltonian()
        coherent = 1j * (h_eff.conj().T @ op - op @ h_eff)
        jumps = jnp.einsum("kji,jl,klm->im", self.jump_ops.conj(), op, self.jump_ops)
        return coherent + jumps

    def norm_bound(self) -> Array:
        """2‖H‖₂ + 1.5‖Σ L†L‖₂ + 0.5‖Σ LL†‖₂ ≥ ‖L‖ (induced Frobenius norm).

        From ‖[H,ρ]‖ ≤ 2‖H‖‖ρ‖, ‖½{K,ρ}‖ ≤ ‖K‖‖ρ‖ and ‖Σ LρL†‖ ≤ √(‖ΣL†L‖‖ΣLL†‖)‖ρ‖.
        """
        h_norm = jnp.max(jnp.abs(_linalg.eigvalsh(self.H)))
        k_norm = jnp.max(_linalg.eigvalsh(self._loss_operator()))
        k2 = jnp.einsum("kij,klj->il", self.jump_ops, self.jump_ops.conj())
        k2_norm = jnp.max(_linalg.eigvalsh(k2))
        return 2 * h_norm + 1.5 * k_norm + 0.5 * k2_norm

    def superoperator(self) -> Array:
        """Dense ``(n², n²)`` superoperator (row-major vectorisation, see the module docstring)."""
        n = self.n
        eye = jnp.eye(n, dtype=self.dtype)
        h_eff = self.effective_hamiltonian()
        coherent = -1j * (jnp.kron(h_eff, eye) - jnp.kron(eye, h_eff.conj()))
        jumps = jnp.einsum("kij,klm->iljm", self.jump_ops, self.jump_ops.conj())
        return coherent + jumps.reshape(n * n, n * n)

    def rotated(self, unitary: Array) -> Lindbladian:
        """The same generator written in another orthonormal basis: H → U†HU, L_k → U†L_kU.

        If ρ' is a steady state of the rotated generator then Uρ'U† is one of this one. No input
        checks are repeated (a unitary change of basis keeps them valid).
        """
        u, ud = unitary, unitary.conj().T
        H = ud @ self.H @ u
        jump_ops = jnp.einsum("ij,kjl,lm->kim", ud, self.jump_ops, u)
        return eqx.tree_at(lambda lind: (lind.H, lind.jump_ops), self, (H, jump_ops))

    def to_dynamiqs(self):
        """(H, jump_ops) as dynamiqs QArrays with this Lindbladian's ``dims``, ready for
        ``dq.mesolve(H, jump_ops, rho0, tsave)`` (traceable; ``L.H`` and ``list(L.jump_ops)``
        work there too, as plain arrays without dims)."""
        from .._interop import to_dynamiqs

        return to_dynamiqs(self.H, self.dims), [to_dynamiqs(op, self.dims) for op in self.jump_ops]

    def to_qutip(self):
        """(H, c_ops) as QuTiP Qobjs with ``dims=[dims, dims]`` (concrete only), e.g. for
        ``qutip.mesolve`` or ``qutip.liouvillian``."""
        from .._interop import to_qutip

        return to_qutip(self.H, self.dims), [to_qutip(op, self.dims) for op in self.jump_ops]

    def sparse_superoperator(self) -> sp.csr_matrix:
        """The superoperator as a SciPy CSR matrix, built on the host from concrete arrays.

        Same convention as :meth:`superoperator`. Not traceable: call it outside ``jit`` (the
        sparse solver calls it through a host callback).
        """
        return sparse_superoperator(np.asarray(self.H), np.asarray(self.jump_ops))


def sparse_superoperator(H: np.ndarray, jump_ops: np.ndarray) -> sp.csr_matrix:
    """Host-side CSR superoperator from dense numpy ``H`` and ``(k, n, n)`` jump operators."""
    n = H.shape[0]
    eye = sp.identity(n, dtype=np.complex128, format="csr")
    Hs = sp.csr_matrix(H)
    loss = sp.csr_matrix((n, n), dtype=np.complex128)
    out = -1j * (sp.kron(Hs, eye, format="csr") - sp.kron(eye, Hs.T, format="csr"))
    for L in jump_ops:
        Ls = sp.csr_matrix(L)
        if Ls.nnz == 0:
            continue
        out = out + sp.kron(Ls, Ls.conj(), format="csr")
        loss = loss + (Ls.conj().T @ Ls)
    loss = sp.csr_matrix(loss)
    out = out - 0.5 * (sp.kron(loss, eye, format="csr") + sp.kron(eye, loss.T, format="csr"))
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    return out
