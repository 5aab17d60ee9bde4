"""The Fourier-harmonic block system of a periodically driven Lindbladian (the deflated
system A of the ``qdiss._floquet`` docstring), its size thresholds for ``solver=None``, and the
checks that turn the user's drives and jump drives into stacked arrays."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._lindbladian.dense import _to_array
from .._operator import DeflatedProblem

# ``solver=None``: the continued fraction (M = 1) up to this many unknowns per harmonic
# (n = 10), the full LU (M > 1) up to FULL_LU_LIMIT unknowns in all, else GMRES. Driven Kerr
# cavity, K = 5, 2 CPU cores, best of 3 after compilation (NOTES-floquet.md): n = 10:
# continued fraction 0.019 s, GMRES 0.045 s, full LU 0.34 s (QuTiP 0.19 s); n = 20: 2.0 s vs
# 0.30 s (QuTiP 0.57 s); n = 30: 10.2 s vs 2.6 s (QuTiP 6.9 s). The continued fraction costs
# O(K n⁶), GMRES O(iterations·K·n³); the direct solvers stay the default at small n, where
# they do not depend on GMRES converging.
DENSE_LIMIT = 100
FULL_LU_LIMIT = 1500  # (2K + 1)·n² for the full LU when M > 1


def _shifted(x: Array, q: int) -> Array:
    """y with y_k = x_{k−q} along the first axis (zero where k − q leaves the range)."""
    if q == 0:
        return x
    zeros = jnp.zeros_like(x[: abs(q)])
    if q > 0:
        return jnp.concatenate([zeros, x[:-q]])
    return jnp.concatenate([x[-q:], zeros])


class FourierSystem(eqx.Module):
    """The deflated harmonic system A of the ``qdiss._floquet`` docstring on stacks of states
    ``(2K + 1, n, n)`` (index k + K holds ρ_k). ``drives`` is ``(M, n, n)``: H₁…H_M (M may be
    0); ``jump_drives`` is None or ``(J, 2P + 1, n, n)``: the Fourier coefficients c_{j,p}
    (index p + P) of J time-dependent jump operators L_j(t) = Σ_p c_{j,p} e^{ipωt}."""

    problem: DeflatedProblem
    drives: Array
    omega: Array
    harmonics: int = eqx.field(static=True)
    jump_drives: Array | None = None

    @property
    def n(self) -> int:
        return self.problem.lindbladian.n

    @property
    def num_blocks(self) -> int:
        return 2 * self.harmonics + 1

    @property
    def block_size(self) -> int:
        return self.problem.size

    @property
    def size(self) -> int:
        return self.num_blocks * self.block_size

    @property
    def dtype(self):
        return self.problem.dtype

    def frequencies(self) -> Array:
        """kω for k = −K..K, complex."""
        k = jnp.arange(-self.harmonics, self.harmonics + 1).astype(self.omega.dtype)
        return (k * self.omega).astype(self.dtype)

    def bandwidth(self) -> int:
        """The largest |q| with a block coupling ρ_{k−q} into row k."""
        width = self.drives.shape[0]
        if self.jump_drives is not None:
            width = max(width, self.jump_drives.shape[1] - 1)  # q = a − b, |a|, |b| ≤ P
        return width

    def jump_pairs(self):
        """(q, c_a, c_b) for the pairs of Fourier coefficients of the jump drives, q = a − b:
        the dissipator of L(t) = Σ_a c_a e^{iaωt} is Σ_{a,b} e^{i(a−b)ωt} D_{ab} with
        D_{ab}ρ = Σ_j (c_{j,a} ρ c_{j,b}† − ½{c_{j,b}†c_{j,a}, ρ}) (trace-annihilating)."""
        if self.jump_drives is None:
            return []
        P = (self.jump_drives.shape[1] - 1) // 2
        pairs = []
        for a in range(-P, P + 1):
            for b in range(-P, P + 1):
                if abs(a - b) <= 2 * self.harmonics:
                    pairs.append((a - b, self.jump_drives[:, a + P], self.jump_drives[:, b + P]))
        return pairs

    def mv(self, x: Array) -> Array:
        """A(x) for ``x`` of shape ``(2K + 1, n, n)``."""
        lindbladian = self.problem.lindbladian
        out = jax.vmap(lindbladian.mv)(x) - 1j * self.frequencies()[:, None, None] * x
        for index in range(self.drives.shape[0]):
            m = index + 1
            if m > 2 * self.harmonics:
                continue  # couples nothing inside the truncation
            h = self.drives[index]
            hd = h.conj().T
            lower = _shifted(x, m)  # ρ_{k−m}
            upper = _shifted(x, -m)  # ρ_{k+m}
            out = out - 1j * (h @ lower - lower @ h) - 1j * (hd @ upper - upper @ hd)
        for q, ca, cb in self.jump_pairs():
            y = _shifted(x, q)  # ρ_{k−q}
            gain = jnp.einsum("jab,kbc,jdc->kad", ca, y, cb.conj())
            loss = jnp.einsum("jba,jbc->ac", cb.conj(), ca)  # Σ_j c_b†c_a
            out = out + gain - 0.5 * (loss @ y + y @ loss)
        scale = self.problem.scale.astype(self.dtype)
        deflation = scale * lindbladian.trace(x[self.harmonics]) * self.problem.identity()
        return out.at[self.harmonics].add(deflation)

    def norm_bound(self) -> Array:
        """An upper bound on ‖A‖ (no gradient): s + Kω + 4Σ_m‖H_m‖ + 2Σ_j(Σ_p‖c_{j,p}‖)²."""
        fixed = jax.lax.stop_gradient(self)
        bound = fixed.problem.scale + fixed.harmonics * jnp.abs(fixed.omega)
        bound = bound + 4 * jnp.sum(jnp.linalg.norm(fixed.drives, axis=(-2, -1)))
        if fixed.jump_drives is not None:
            per_jump = jnp.sum(jnp.linalg.norm(fixed.jump_drives, axis=(-2, -1)), axis=1)
            bound = bound + 2 * jnp.sum(per_jump**2)
        return bound

    def extra_loss(self) -> Array | None:
        """Σ_j Σ_p c_{j,p}†c_{j,p}, the time-averaged loss operator of the jump drives (for the
        preconditioner), or None."""
        if self.jump_drives is None:
            return None
        c = jax.lax.stop_gradient(self.jump_drives)
        return jnp.einsum("jpba,jpbc->ac", c.conj(), c)

    def rhs(self) -> Array:
        b = jnp.zeros((self.num_blocks, *self.problem.state_shape), self.dtype)
        return b.at[self.harmonics].set(self.problem.rhs())

    def pack(self, x: Array) -> Array:
        return jax.vmap(self.problem.to_physical)(x).reshape(-1)

    def unpack(self, v: Array) -> Array:
        return jax.vmap(self.problem.from_physical)(v.reshape(self.num_blocks, -1))

    def packed_mv(self, v: Array) -> Array:
        return self.pack(self.mv(self.unpack(v)))

    # dense blocks (row-major vectorisation vec(ρ)[i·n + j] = ρ[i, j], a dense state)
    def commutator_blocks(self) -> tuple[Array, Array]:
        """(C_m, C_{−m}) stacked over m: the matrices of ρ ↦ −i[H_m, ρ] and −i[H_m†, ρ]."""
        eye = jnp.eye(self.n, dtype=self.dtype)

        def sup(h):
            return -1j * (jnp.kron(h, eye) - jnp.kron(eye, h.T))

        plus = jax.vmap(sup)(self.drives)
        minus = jax.vmap(sup)(jnp.swapaxes(self.drives, -1, -2).conj())
        return plus, minus

    def matrix(self) -> Array:
        """A as a dense ``((2K+1)P, (2K+1)P)`` matrix (P = n² unknowns per harmonic)."""
        blocks = self.num_blocks
        p = self.block_size
        base = self.problem.lindbladian.superoperator()
        eye_p = jnp.eye(p, dtype=self.dtype)
        out = jnp.kron(jnp.eye(blocks, dtype=self.dtype), base)
        out = out - 1j * jnp.kron(jnp.diag(self.frequencies()), eye_p)
        plus, minus = self.commutator_blocks()
        for index in range(self.drives.shape[0]):
            m = index + 1
            if m > 2 * self.harmonics:
                continue
            below = jnp.asarray(np.eye(blocks, k=-m), self.dtype)  # row k, column k − m
            above = jnp.asarray(np.eye(blocks, k=m), self.dtype)  # row k, column k + m
            out = out + jnp.kron(below, plus[index]) + jnp.kron(above, minus[index])
        eye_n = jnp.eye(self.n, dtype=self.dtype)
        for q, ca, cb in self.jump_pairs():
            loss = jnp.einsum("jba,jbc->ac", cb.conj(), ca)
            # vec(AρB) = (A ⊗ Bᵀ) vec ρ (row-major): c_a ρ c_b† → c_a ⊗ c̄_b
            block = jnp.sum(jax.vmap(jnp.kron)(ca, cb.conj()), axis=0)
            block = block - 0.5 * (jnp.kron(loss, eye_n) + jnp.kron(eye_n, loss.T))
            out = out + jnp.kron(jnp.asarray(np.eye(blocks, k=-q), self.dtype), block)
        centre = self.harmonics * p
        deflation = self.problem.matrix() - base
        return out.at[centre : centre + p, centre : centre + p].add(deflation)


# -- the inputs --------------------------------------------------------------------------------


def _drive_stack(drives, n: int, dtype) -> Array:
    """H₁…H_M as an ``(M, n, n)`` array (M = 0 for an empty list)."""
    if isinstance(drives, Sequence) and not isinstance(drives, str):
        ops = [_to_array(h, f"drives[{i}]") for i, h in enumerate(drives)]
        for i, h in enumerate(ops):
            if h.shape != (n, n):
                raise ValueError(
                    f"`drives[{i}]` must be an (n, n) = ({n}, {n}) operator, the Lindbladian's "
                    f"dimension; got shape {h.shape}."
                )
        if not ops:
            return jnp.zeros((0, n, n), dtype)
        return jnp.stack([h.astype(dtype) for h in ops])
    stack = _to_array(drives, "drives")
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3 or stack.shape[1:] != (n, n):
        raise ValueError(
            f"`drives` must be a list of (n, n) operators or an (M, n, n) array with n = {n}; "
            f"got shape {stack.shape}."
        )
    return stack.astype(dtype)


def _jump_drive_stack(jump_drives, n: int, dtype) -> Array | None:
    """The jump drives as a ``(J, 2P + 1, n, n)`` array of Fourier coefficients, or None."""
    if jump_drives is None:
        return None
    if isinstance(jump_drives, Sequence) and not isinstance(jump_drives, str):
        if len(jump_drives) == 0:
            return None
        items = [_to_array(c, f"jump_drives[{j}]") for j, c in enumerate(jump_drives)]
        shapes = {c.shape for c in items}
        if len(shapes) != 1:
            raise ValueError(
                "`jump_drives` must all have the same shape (2P + 1, n, n) (pad the shorter "
                f"series with zero coefficients); got shapes {sorted(shapes)}."
            )
        stack = jnp.stack(items)
    else:
        stack = _to_array(jump_drives, "jump_drives")
        if stack.ndim == 3:
            stack = stack[None]
    if stack.ndim != 4 or stack.shape[2:] != (n, n) or stack.shape[1] % 2 != 1:
        raise ValueError(
            "`jump_drives` must be a list of (2P + 1, n, n) arrays, or a (J, 2P + 1, n, n) array: "
            f"the Fourier coefficients c_p, p = −P..P, of each jump operator, with n = {n}; got "
            f"shape {stack.shape}."
        )
    return stack.astype(dtype)
