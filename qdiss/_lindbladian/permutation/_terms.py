r"""Elementary terms of the permutation-invariant generator (see ``lindbladian.py``).

In the ``(B, D, D)`` block representation L is a sum of weighted shifts

    L(X)[b, p, q] ∋ u[b, p] · X[b + δb, p + δp, q + δq] · v[b, q]

(:class:`_Term`, applied together by :func:`_apply_terms`); the Hamiltonian and the collective
jump operators are banded in m within each block (:func:`spin_bands`, :func:`cartesian_bands`),
the local recycling terms move between neighbouring blocks (:func:`_local_recycling_factors`).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from . import _dicke

__all__ = ["cartesian_bands", "spin_bands"]


class _Term(eqx.Module):
    """Y[b, p, q] += left[b, p] · X[b + δb, p + δp, q + δq] · right[b, q]."""

    shift: tuple[int, int, int] = eqx.field(static=True)
    left: Array
    right: Array


def _shift(x, shift):
    """y[i, k, …] = x[i + s₀, k + s₁, …] with zeros outside (one shift per leading axis).

    NumPy in, NumPy out (the host-side sparse superoperator); otherwise JAX.
    """
    if isinstance(x, np.ndarray):
        return _np_shift(x, shift)
    for axis, s in enumerate(shift):
        if s == 0:
            continue
        size = x.shape[axis]
        pad = [(0, 0)] * x.ndim
        if abs(s) >= size:
            return jnp.zeros_like(x)
        if s > 0:
            x = jax.lax.slice_in_dim(x, s, size, axis=axis)
            pad[axis] = (0, s)
        else:
            x = jax.lax.slice_in_dim(x, 0, size + s, axis=axis)
            pad[axis] = (-s, 0)
        x = jnp.pad(x, pad)
    return x


def _np_shift(x: np.ndarray, shift) -> np.ndarray:
    out = np.zeros_like(x)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    for axis, s in enumerate(shift):
        size = x.shape[axis]
        if abs(s) >= size:
            return out
        if s >= 0:
            src[axis], dst[axis] = slice(s, size), slice(0, size - s)
        else:
            src[axis], dst[axis] = slice(0, size + s), slice(-s, size)
    out[tuple(dst)] = x[tuple(src)]
    return out


def _band_product(a: dict[int, Array], b: dict[int, Array]) -> dict[int, Array]:
    """C = AB for banded blocks with bands A[·, p, p+d] = a[d][·, p]:

    C_{d₁+d₂}[p] += a_{d₁}[p] b_{d₂}[p+d₁].
    """
    out: dict[int, Array] = {}
    for d1, x in a.items():
        for d2, y in b.items():
            term = x * _shift(y, (0, d1))
            out[d1 + d2] = out[d1 + d2] + term if d1 + d2 in out else term
    return out


def _band_combination(coeffs, bands: list[dict[int, Array]]) -> dict[int, Array]:
    out: dict[int, Array] = {}
    for c, band in zip(coeffs, bands, strict=True):
        for d, x in band.items():
            out[d] = out[d] + c * x if d in out else c * x
    return out


def _apply_terms(terms: list[_Term], x: Array) -> Array:
    """Σ_t left_t[b, p] · x[b + δb, p + δp, q + δq] · right_t[b, q].

    ``x`` is zero-padded once and every shifted read is a static slice of the padded array, so
    XLA fuses the whole sum into one pass over the output.
    """
    width = [max(abs(t.shift[axis]) for t in terms) for axis in range(3)]
    padded = jnp.pad(x, [(w, w) for w in width])
    out = None
    for t in terms:
        start = [w + s for w, s in zip(width, t.shift, strict=True)]
        view = jax.lax.slice(padded, start, [a + n for a, n in zip(start, x.shape, strict=True)])
        term = t.left[:, :, None] * view * t.right[:, None, :]
        out = term if out is None else out + term
    return out


class _Tables(NamedTuple):
    """Tables of the layout: j (B, 1), m (1, D) and valid (B, D)."""

    j: Array
    m: Array
    valid: Array


def _tables(num_spins: int, xp=np) -> _Tables:
    """The layout tables as NumPy arrays (float64; ``xp=np``), or computed inside the traced
    program from ``iota`` (``xp=jnp``; float64 under x64): j_b = N/2 − b, m_p = N/2 − p,
    valid = |m_p| ≤ j_b. Never (B, D) constants in the program: XLA does not constant-fold
    ``iota``, so the tables stay a few instructions at any N."""
    if xp is np:
        return _Tables(
            _dicke.block_j(num_spins)[:, None],
            _dicke.m_values(num_spins)[None, :],
            _dicke.valid_mask(num_spins),
        )
    real = jnp.zeros(()).dtype
    b = jax.lax.broadcasted_iota(real, (_dicke.num_blocks(num_spins), 1), 0)
    p = jax.lax.broadcasted_iota(real, (1, num_spins + 1), 1)
    j, m = num_spins / 2 - b, num_spins / 2 - p
    return _Tables(j, m, jnp.abs(m) <= j + 1e-9)


def _ladder(j, m, xp):
    """a₊(j, m) = √(j(j+1) − m(m+1)) (``_dicke.ladder``) for arrays of ``xp``."""
    return xp.sqrt(xp.maximum(j * (j + 1) - m * (m + 1), 0.0))


def spin_bands(num_spins: int, dtype, xp=jnp):
    """Bands of J₊, J₋, J_z in every block (zero outside the blocks): J₊[p, p+1], J₋[p, p−1] and
    J_z[p, p] as ``{offset: (B, D) array}`` of ``xp`` (``jnp`` or ``np``) and ``dtype``."""
    t = _tables(num_spins, xp)
    valid = t.valid.astype(t.j.dtype)
    up = _ladder(t.j, t.m - 1, xp) * valid * _shift(valid, (0, 1))
    down = _ladder(t.j, t.m, xp) * valid * _shift(valid, (0, -1))
    z = t.m * valid
    cast = lambda x: xp.asarray(x, dtype=dtype)  # noqa: E731
    return {1: cast(up)}, {-1: cast(down)}, {0: cast(z)}


def cartesian_bands(num_spins: int, dtype, xp=jnp) -> list[dict[int, Array]]:
    """Bands of J_x = (J₊ + J₋)/2, J_y = (J₊ − J₋)/(2i), J_z (see :func:`spin_bands`)."""
    jp, jm, jz = spin_bands(num_spins, dtype, xp)
    jx = _band_combination([0.5, 0.5], [jp, jm])
    jy = _band_combination([-0.5j, 0.5j], [jp, jm])
    return [jx, jy, jz]


def _local_recycling_factors(
    num_spins: int, xp=np
) -> dict[str, list[tuple[tuple[int, int], Array]]]:
    """For σ⁻, σ⁺, σᶻ: [((Δj, δm), u)] with u = √c(j)·a(j, M) on the *source* grid, so that the
    recycled element is u[src p] u[src q] X[src]; Δj the change of j, δm the change of m.
    Arrays of ``xp`` (computed in the program for ``jnp``: :func:`_tables`)."""
    t = _tables(num_spins, xp)
    j, m, valid = t.j, t.m, t.valid
    half = num_spins / 2
    positive = j > 0
    safe_j = xp.where(positive, j, 1.0)  # c(j) at j = 0 is 0, not 0/0
    c_same = xp.where(positive, (half + 1) / (2 * safe_j * (safe_j + 1)), 0.0)
    c_down = xp.where(positive, (half + safe_j + 1) / (2 * safe_j * (2 * safe_j + 1)), 0.0)
    c_up = (half - j) / (2 * (j + 1) * (2 * j + 1))
    sq = lambda x: xp.sqrt(xp.maximum(x, 0.0))  # noqa: E731
    out = {
        "emission": [
            ((0, -1), xp.sqrt(c_same) * sq((j + m) * (j - m + 1))),
            ((-1, -1), xp.sqrt(c_down) * sq((j + m) * (j + m - 1))),
            ((1, -1), xp.sqrt(c_up) * sq((j - m + 1) * (j - m + 2))),
        ],
        "pumping": [
            ((0, 1), xp.sqrt(c_same) * sq((j - m) * (j + m + 1))),
            ((-1, 1), xp.sqrt(c_down) * sq((j - m) * (j - m - 1))),
            ((1, 1), xp.sqrt(c_up) * sq((j + m + 1) * (j + m + 2))),
        ],
        "dephasing": [
            ((0, 0), xp.sqrt(4 * c_same) * m),
            ((-1, 0), xp.sqrt(4 * c_down) * sq(j**2 - m**2)),
            ((1, 0), xp.sqrt(4 * c_up) * sq((j + 1) ** 2 - m**2)),
        ],
    }
    valid = valid.astype(j.dtype)
    return {k: [(s, u * valid) for s, u in v] for k, v in out.items()}


def _recycling_shift(dj: int, dm: int) -> tuple[int, int, int]:
    """Source offset (δb, δp, δq) of a target element for a change (Δj, δm): b = N/2 − j and
    p = N/2 − m, so the source block is b + Δj and the source position p + δm."""
    return (dj, dm, dm)
