r"""A Lindbladian given only as its superoperator matrix (dense, SciPy sparse, or a QuTiP super).

**Vectorisation.** qdiss vectorises row-major, vec(ρ)[i·n + j] = ρ[i, j], so that a
superoperator S acts as L(ρ)_ij = Σ_kl S[i·n + j, k·n + l] ρ_kl (``dense.py``). QuTiP stacks
columns, vec_Q(ρ)[i + j·n] = ρ[i, j]; its matrix S_Q is converted by permuting rows and columns
with p = i + j·n ↦ i·n + j: S[i·n + j, k·n + l] = S_Q[i + j·n, k + l·n].

**What L must be.** A Lindblad generator is trace preserving (Σ_i S[i·n+i, ·] = 0), Hermiticity
preserving (L(ρ)† = L(ρ†)) and conditionally completely positive: with the Choi-type
reshuffling C[(i,k),(j,l)] = S[i·n + j, k·n + l] (for L(ρ) = AρB, C = vec(A) vec(Bᵀ)ᵀ) and
Q = 1 − e e†/n the projector orthogonal to e = vec(I), Q C Q ⪰ 0 (Gorini–Kossakowski–Sudarshan;
Q C Q = Σ_k vec(L̃_k) vec(L̃_k)† for the traceless jump operators L̃_k). Concrete inputs are
checked (``ValueError``). A column-stacked matrix read as row-major passes every check: it is
the generator ρ ↦ L(ρᵀ)ᵀ of the complex-conjugate model (steady state ρ_ssᵀ), so the convention
must be given (``convention="column"``; automatic for a QuTiP ``Qobj``).

**Effective Hamiltonian.** Writing L(ρ) = Gρ + ρG† + Σ_k L̃_k ρ L̃_k† with traceless L̃_k, G is
fixed up to iαI by C: G = M/n − tr(S)/(2n²)·I, M_ik = Σ_j S[i·n + j, k·n + j], and
H_eff = iG = H − (i/2)Σ_k L̃_k†L̃_k (H up to a multiple of I). This is what the Krylov
preconditioner uses, so every solver takes a bare superoperator.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jaxtyping import Array

from .._numerics import complex_dtype, is_concrete
from ._abstract import AbstractLindbladian
from ._space import DenseSpace

__all__ = ["Superoperator", "as_lindbladian", "column_to_row_stacking"]

_CHECK_RTOL = 1e-8  # the tolerance of the Lindblad-form checks, relative to max |S|
_CP_CHECK_MAX = 4096  # n² up to which complete positivity is checked (a dense eigh of n² × n²)


def _qutip_super(x) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("qutip") and getattr(x, "type", None) == "super"


def column_to_row_stacking(n: int) -> np.ndarray:
    """The permutation p with S_row[a, b] = S_col[p[a], p[b]]: p[i·n + j] = i + j·n."""
    index = np.arange(n * n)
    i, j = np.divmod(index, n)
    return i + j * n


def _hilbert_dims(qobj) -> tuple[int, ...] | None:
    """The Hilbert-space dims of a QuTiP super (``dims[0][0]``, e.g. [[[2, 3], [2, 3]], ...])."""
    try:
        dims = tuple(int(d) for d in qobj.dims[0][0])
    except (TypeError, ValueError, IndexError):
        return None
    return dims or None


class Superoperator(AbstractLindbladian):
    r"""A Lindbladian given by its n² × n² superoperator matrix S (module docstring).

    ``Superoperator(matrix, dims=None, convention="row", check=True)``

    - ``matrix``: an (n², n²) NumPy/JAX array, a SciPy sparse matrix (kept sparse: stored as its
      nonzeros, applied by a scatter-add), or a QuTiP ``Qobj`` of type ``"super"`` (e.g.
      ``qutip.liouvillian(H, c_ops)``; column stacking, converted; dims read from it).
    - ``dims``: subsystem dimensions (product n); default ``(n,)`` or the Qobj's.
    - ``convention``: ``"row"`` (qdiss's vec(ρ)[i·n + j] = ρ[i, j]) or ``"column"`` (QuTiP's,
      vec(ρ)[i + j·n] = ρ[i, j]); a Qobj is always column-stacked.
    - ``check``: for concrete inputs, raise ``ValueError`` unless S is a Lindblad generator:
      finite, trace preserving and Hermiticity preserving to 1e-8·max|S|, and (for n² ≤ 4096)
      Q C Q ⪰ −1e-8·max|S|·n (conditional complete positivity, module docstring).

    Leaves: ``data`` (the dense matrix, or the nonzero values of a sparse one), so gradients
    with respect to the entries of S flow through every solver. ``steady_state`` also accepts a
    Qobj super or a SciPy sparse matrix directly (wrapped here).
    """

    data: Array
    rows: Array | None
    cols: Array | None
    size: int = eqx.field(static=True)
    dims: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self,
        matrix: Any,
        dims=None,
        convention: Literal["row", "column"] = "row",
        check: bool = True,
    ):
        if convention not in ("row", "column"):
            raise ValueError(f"`convention` must be 'row' or 'column'; got {convention!r}.")
        if _qutip_super(matrix):
            if dims is None:
                dims = _hilbert_dims(matrix)
            matrix = matrix.to("csr").data.as_scipy() if hasattr(matrix, "to") else matrix.data
            matrix = sp.csr_matrix(matrix)
            convention = "column"
        elif (type(matrix).__module__ or "").startswith("qutip"):
            raise ValueError(
                f"a QuTiP {getattr(matrix, 'type', type(matrix).__name__)} is not a "
                "superoperator: pass a Qobj of type 'super' (e.g. `qutip.liouvillian(H, c_ops)`),"
                " or build `qdiss.Lindbladian(H, jump_ops)` from the operators."
            )
        sparse = sp.issparse(matrix)
        shape = tuple(matrix.shape) if sparse else tuple(jnp.shape(matrix))
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                f"a superoperator must be a square (n², n²) matrix; got shape {shape}."
            )
        n = math.isqrt(shape[0])
        if n == 0 or n * n != shape[0]:
            raise ValueError(
                f"a superoperator acts on n × n matrices, so its size must be a square n²; got "
                f"{shape[0]}."
            )
        if sparse:
            coo = sp.coo_matrix(matrix)
            coo.sum_duplicates()
            rows, cols, values = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
            if convention == "column":
                inverse = np.argsort(column_to_row_stacking(n))  # column index -> row index
                rows, cols = inverse[rows], inverse[cols]
            order = np.lexsort((cols, rows))
            rows, cols = rows[order], cols[order]
            data = jnp.asarray(values[order])
            self.rows = jnp.asarray(rows, jnp.int32)
            self.cols = jnp.asarray(cols, jnp.int32)
        else:
            data = jnp.asarray(matrix)
            if convention == "column":
                perm = column_to_row_stacking(n)
                data = data[perm][:, perm]
            self.rows = self.cols = None
        if not jnp.issubdtype(data.dtype, jnp.number) or jnp.issubdtype(data.dtype, jnp.bool_):
            raise TypeError(f"a superoperator must hold numbers; got dtype {data.dtype}.")
        self.data = data.astype(complex_dtype(data.dtype))
        self.size = n
        if dims is None:
            dims = (n,)
        dims = tuple(int(d) for d in np.atleast_1d(dims))
        if any(d <= 0 for d in dims) or int(np.prod(dims)) != n:
            raise ValueError(
                f"`dims` must be positive subsystem sizes whose product is n = {n}; got {dims}."
            )
        self.dims = dims
        if check and is_concrete(self.data):
            self._check_lindblad_form()

    # -- validation ---------------------------------------------------------------------------

    def _host_dense(self) -> np.ndarray:
        return np.asarray(self.sparse_superoperator().toarray())

    def _check_lindblad_form(self) -> None:
        n = self.size
        values = np.asarray(self.data)
        if not np.all(np.isfinite(values)):
            raise ValueError("the superoperator has non-finite (NaN or inf) entries.")
        scale = max(float(np.max(np.abs(values))) if values.size else 0.0, 1.0)
        tol = _CHECK_RTOL * scale
        csr = self.sparse_superoperator()
        diagonal_rows = np.arange(n) * (n + 1)
        trace_row = np.asarray(csr[diagonal_rows].sum(axis=0)).ravel()
        if np.max(np.abs(trace_row)) > tol * n:
            raise ValueError(
                "the superoperator is not trace preserving: max_kl |Σ_i S[i·n+i, k·n+l]| = "
                f"{np.max(np.abs(trace_row)):.3g} (a Lindbladian has tr L(ρ) = 0)."
            )
        perm = column_to_row_stacking(n)  # also the index map (i, j) -> (j, i)
        swapped = csr[perm][:, perm].conj()
        herm_error = abs(csr - swapped).max() if csr.nnz else 0.0
        if herm_error > tol:
            raise ValueError(
                "the superoperator does not preserve Hermiticity: max |S[ij,kl] − S[ji,lk]*| = "
                f"{herm_error:.3g}; a Lindbladian has L(ρ)† = L(ρ†)."
            )
        if n * n <= _CP_CHECK_MAX:
            dense = csr.toarray().reshape(n, n, n, n)  # [i, j, k, l]
            choi = dense.transpose(0, 2, 1, 3).reshape(n * n, n * n)  # [(i,k), (j,l)]
            e = np.eye(n).reshape(-1) / math.sqrt(n)
            q = np.eye(n * n) - np.outer(e, e)
            kossakowski = q @ choi @ q
            lowest = float(np.min(np.linalg.eigvalsh(0.5 * (kossakowski + kossakowski.conj().T))))
            if lowest < -tol * n:
                raise ValueError(
                    "the superoperator is not of Lindblad form: its dissipative part is not "
                    f"completely positive (smallest eigenvalue {lowest:.3g} of the projected "
                    "Choi matrix, which must be ⪰ 0; see `qdiss.Superoperator`)."
                )

    # -- the representation -------------------------------------------------------------------

    @property
    def n(self) -> int:
        return self.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def space(self) -> DenseSpace:
        """``(n, n)`` density matrices."""
        return DenseSpace(self.size)

    @property
    def is_sparse(self) -> bool:
        """True when S is stored as its nonzeros (a SciPy sparse or QuTiP input)."""
        return self.rows is not None

    def superoperator_by_columns(self) -> bool:
        """False: :meth:`superoperator` is the stored matrix."""
        return False

    def superoperator(self) -> Array:
        """S as a dense (n², n²) array (row-major convention)."""
        if self.rows is None:
            return self.data
        m = self.size * self.size
        return jnp.zeros((m, m), self.dtype).at[self.rows, self.cols].add(self.data)

    def sparse_superoperator(self) -> sp.csr_matrix:
        """S as a SciPy CSR matrix (host side, concrete arrays)."""
        m = self.size * self.size
        if self.rows is None:
            out = sp.csr_matrix(np.asarray(self.data))
        else:
            values = np.asarray(self.data)
            out = sp.csr_matrix((values, (np.asarray(self.rows), np.asarray(self.cols))), (m, m))
        out.eliminate_zeros()
        return out

    def mv(self, rho: Array) -> Array:
        """vec(L(ρ)) = S vec(ρ)."""
        v = rho.reshape(-1)
        if self.rows is None:
            out = self.data @ v
        else:
            out = jnp.zeros_like(v).at[self.rows].add(self.data * v[self.cols])
        return out.reshape(rho.shape)

    def adjoint_mv(self, op: Array) -> Array:
        """vec(L†(X)) = S^H vec(X) (Hilbert–Schmidt adjoint)."""
        v = op.reshape(-1)
        if self.rows is None:
            out = self.data.conj().T @ v
        else:
            out = jnp.zeros_like(v).at[self.cols].add(self.data.conj() * v[self.rows])
        return out.reshape(op.shape)

    def effective_hamiltonian(self) -> Array:
        """H_eff = i(M/n − tr(S)/(2n²)·I), M_ik = Σ_j S[i·n + j, k·n + j] (module docstring): the
        effective Hamiltonian of the traceless jump operators, up to a real multiple of I."""
        n = self.size
        if self.rows is None:
            s4 = self.data.reshape(n, n, n, n)
            m = jnp.einsum("ijkj->ik", s4)
            trace = jnp.trace(self.data)
        else:
            i, j = jnp.divmod(self.rows, n)
            k, l = jnp.divmod(self.cols, n)
            m = jnp.zeros((n, n), self.dtype).at[i, k].add(jnp.where(j == l, self.data, 0))
            trace = jnp.sum(jnp.where(self.rows == self.cols, self.data, 0))
        g = m / n - trace / (2 * n * n) * jnp.eye(n, dtype=self.dtype)
        return 1j * g

    def norm_bound(self) -> Array:
        """‖S‖₂ ≤ √(‖S‖₁‖S‖_∞) (largest column and row sums of |S|)."""
        m = self.size * self.size
        absolute = jnp.abs(self.data)
        if self.rows is None:
            col_sums, row_sums = jnp.sum(absolute, axis=0), jnp.sum(absolute, axis=1)
        else:
            row_sums = jnp.zeros(m, absolute.dtype).at[self.rows].add(absolute)
            col_sums = jnp.zeros(m, absolute.dtype).at[self.cols].add(absolute)
        return jnp.sqrt(jnp.max(col_sums) * jnp.max(row_sums))

    def to_dense(self, rho: Array) -> Array:
        """ρ itself (already ``(n, n)``)."""
        return rho

    def from_dense(self, rho: Array) -> Array:
        """ρ itself (already ``(n, n)``)."""
        return rho


def as_lindbladian(x: Any) -> AbstractLindbladian:
    """``x`` itself for a qdiss Lindbladian; a :class:`Superoperator` for a QuTiP ``Qobj`` of
    type ``"super"`` or a SciPy sparse matrix; else ``TypeError`` naming what to pass."""
    if isinstance(x, AbstractLindbladian):
        return x
    if _qutip_super(x) or sp.issparse(x):
        return Superoperator(x)
    raise TypeError(
        "`lindbladian` must be a qdiss Lindbladian (e.g. `qdiss.Lindbladian(H, jump_ops)`), a "
        "QuTiP superoperator (`qutip.liouvillian(H, c_ops)`) or a SciPy sparse superoperator; "
        f"got {type(x).__name__}. A dense (n², n²) array: `qdiss.Superoperator(matrix)`."
    )
