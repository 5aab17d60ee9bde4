r"""Static tables of the Dicke (total-spin) basis of N two-level systems.

The Hilbert space of N spin-½ decomposes under the collective spin J = ½ Σᵢ σᵢ as

    (C²)^{⊗N} = ⊕_j  C^{2j+1} ⊗ C^{d_j},     j = N/2, N/2 − 1, …, (0 or ½),

with multiplicities d_j = C(N, N/2 − j) − C(N, N/2 − j − 1). A permutation-invariant state is
ρ = ⊕_j ρ̃_j ⊗ I_{d_j}/d_j, where ρ̃_j (a (2j+1) × (2j+1) matrix, the state summed over the d_j
copies of spin j) carries the probability of block j: tr ρ = Σ_j tr ρ̃_j.

**Layout used by qdiss.** The blocks are stored padded in one array of shape ``(B, D, D)``,
B = ⌊N/2⌋ + 1 blocks, D = N + 1, where block ``b`` has j = N/2 − b and position ``p`` has
m = N/2 − p (m descending, so position 0 is the all-excited m = N/2, as in QuTiP's ``jmat`` and
PIQS). Block b occupies the centred square of positions p with |m| ≤ j; the other entries
(padding) are zero. All tables here depend only on the static N and are NumPy arrays.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

__all__ = [
    "block_j",
    "coupled_basis",
    "ladder",
    "m_values",
    "multiplicities",
    "num_blocks",
    "num_unknowns",
    "valid_mask",
]


def num_blocks(num_spins: int) -> int:
    """B = ⌊N/2⌋ + 1, the number of total-spin values j."""
    return num_spins // 2 + 1


def block_j(num_spins: int) -> np.ndarray:
    """j of each block, ``(B,)``: N/2, N/2 − 1, …"""
    return num_spins / 2 - np.arange(num_blocks(num_spins), dtype=np.float64)


def m_values(num_spins: int) -> np.ndarray:
    """m of each position, ``(D,)``: N/2, N/2 − 1, …, −N/2."""
    return num_spins / 2 - np.arange(num_spins + 1, dtype=np.float64)


def valid_mask(num_spins: int) -> np.ndarray:
    """``(B, D)`` bool: position p belongs to block b (|m_p| ≤ j_b)."""
    return np.abs(m_values(num_spins))[None, :] <= block_j(num_spins)[:, None] + 1e-9


def multiplicities(num_spins: int) -> list[int]:
    """d_j of each block (exact Python integers): C(N, N/2 − j) − C(N, N/2 − j − 1)."""
    out = []
    for b in range(num_blocks(num_spins)):
        # N/2 − j = b
        out.append(math.comb(num_spins, b) - (math.comb(num_spins, b - 1) if b > 0 else 0))
    return out


def num_unknowns(num_spins: int) -> int:
    """Σ_j (2j+1)², the number of complex entries of a permutation-invariant state."""
    return int(sum((num_spins + 1 - 2 * b) ** 2 for b in range(num_blocks(num_spins))))


def ladder(j: np.ndarray, m: np.ndarray) -> np.ndarray:
    """a₊(j, m) = √(j(j+1) − m(m+1)), the matrix element ⟨j, m+1|J₊|j, m⟩ (0 where negative)."""
    return np.sqrt(np.maximum(j * (j + 1) - m * (m + 1), 0.0))


def coupled_basis(num_spins: int) -> list[np.ndarray]:
    r"""The coupled basis |j, m, α⟩ in the qubit basis, one array ``(d_j, 2^N, 2j+1)`` per block.

    Qubit convention of qdiss (QuTiP's): |0⟩ = |e⟩ (σ^z = +1), |1⟩ = |g⟩, qubit 1 the most
    significant tensor factor. For each j, the highest-weight states |j, j, α⟩ are an orthonormal
    basis of ker J₊ within the J_z = j eigenspace; |j, m−1, α⟩ = J₋|j, m, α⟩ / a₋(j, m) (the
    Condon–Shortley phases of :func:`ladder`). Columns ordered m = j, j−1, …, −j. Dense in 2^N:
    N ≤ 12 (tests and ``to_dense``).
    """
    n = int(num_spins)
    if n > 12:
        raise ValueError(f"The coupled basis is dense in 2^N dimensions: N ≤ 12; got N = {n}.")
    dim = 2**n
    index = np.arange(dim)
    excited = n - np.array([bin(i).count("1") for i in index])  # bit 1 = |g⟩
    m_of_state = excited - n / 2
    # J₋ = Σᵢ σ⁻ᵢ flips one |e⟩ (bit 0) into |g⟩ (bit 1).
    rows, cols = [], []
    for q in range(n):
        bit = 1 << (n - 1 - q)
        src = index[(index & bit) == 0]
        rows.append(src | bit)
        cols.append(src)
    jm = sp.csr_matrix(
        (np.ones(sum(r.size for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
        shape=(dim, dim),
    )
    jp = jm.T.tocsr()
    blocks = []
    for b in range(num_blocks(n)):
        j = n / 2 - b
        sector = index[np.isclose(m_of_state, j)]
        # kernel of J₊ restricted to the J_z = j sector
        above = index[np.isclose(m_of_state, j + 1)]  # J₊ maps the sector into m = j + 1
        restricted = jp[above][:, sector].toarray() if above.size else np.zeros((1, sector.size))
        _, s, vh = np.linalg.svd(restricted, full_matrices=True)
        rank = int(np.sum(s > 1e-9))
        kernel = vh[rank:].conj().T  # (len(sector), d_j)
        d = kernel.shape[1]
        size = int(round(2 * j)) + 1
        vectors = np.zeros((d, dim, size))
        vectors[:, sector, 0] = kernel.T
        for k in range(1, size):
            m = j - (k - 1)
            norm = np.sqrt(j * (j + 1) - m * (m - 1))
            vectors[:, :, k] = (jm @ vectors[:, :, k - 1].T).T / norm
        blocks.append(vectors)
    return blocks
