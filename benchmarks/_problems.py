"""Benchmark problems and shared helpers (numpy in; qdiss, QuTiP and SciPy out).

Every problem is a function ``build(params, xp)`` returning ``(H, jump_ops)`` with ``xp`` either
``numpy`` (the arrays every library is fed, complex128) or ``jax.numpy`` (for gradients: the
Lindbladian is rebuilt from traced parameters). Constant operators are numpy arrays, so the two
builds share every number.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import platform
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = [
    "Problem",
    "PROBLEMS",
    "destroy",
    "sparse_liouvillian_colstack",
    "relative_residual",
    "spectral_norm",
    "available_solvers",
    "machine_info",
]


def destroy(n: int) -> np.ndarray:
    """Annihilation operator on an n-level Fock space (complex128)."""
    return np.diag(np.sqrt(np.arange(1, n, dtype=np.float64)), 1).astype(np.complex128)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    - ``build(params, xp) -> (H, jump_ops)``: ``H`` (n, n), ``jump_ops`` (k, n, n).
    - ``params``: the nominal real parameters (dict, insertion order = gradient order).
    - ``grad_params``: the parameters the gradient benchmark differentiates with respect to.
    - ``observable``: numpy (n, n) Hermitian operator; the figure of merit is Re tr(O ρ).
    - ``sectors``: ``(labels, jump_charges, modulus)`` of a conserved charge (a parity), for
      :class:`qdiss.SectorLindbladian`; ``None`` when the model has none.
    """

    name: str
    description: str
    n: int
    dims: tuple[int, ...]
    params: dict[str, float]
    grad_params: tuple[str, ...]
    observable: np.ndarray
    observable_name: str
    build: Callable
    sectors: tuple | None = None

    def sector_unknowns(self) -> int:
        """Σ_q d_q², the unknowns of the block-diagonal state (n² without sectors)."""
        if self.sectors is None:
            return self.n**2
        _, counts = np.unique(np.asarray(self.sectors[0]), return_counts=True)
        return int(np.sum(counts**2))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        H, Ls = self.build(self.params, np)
        return np.asarray(H, np.complex128), np.asarray(Ls, np.complex128)


# --- 1. Kerr oscillator -------------------------------------------------------------------------


def kerr_problem(n: int = 40) -> Problem:
    a = destroy(n)
    ad = a.conj().T
    a2 = ad @ ad @ a @ a
    num = ad @ a

    def build(p, xp):
        H = -p["K"] / 2 * a2 - p["delta"] * num + 1j * xp.sqrt(p["kappa"]) * p["eps"] * (a - ad)
        Ls = xp.stack([xp.sqrt(p["kappa"]) * a])
        return H, Ls

    return Problem(
        name=f"kerr-{n}",
        description="Kerr oscillator: H = −K/2 a†²a² − δa†a + i√κ ε(a − a†), L = √κ a",
        n=n,
        dims=(n,),
        params={"K": -2 * math.pi, "delta": 0.0, "eps": 16.0, "kappa": 14 * 2 * math.pi},
        grad_params=("K", "delta", "eps", "kappa"),
        observable=num,
        observable_name="<a†a>",
        build=build,
    )


# --- 2. Thermal driven oscillator ---------------------------------------------------------------


def thermal_problem(n: int = 50) -> Problem:
    a = destroy(n)
    ad = a.conj().T
    num = ad @ a

    def build(p, xp):
        H = p["omega"] * num + p["F"] * (a + ad)
        Ls = xp.stack([xp.sqrt(p["gamma_down"]) * a, xp.sqrt(p["gamma_up"]) * ad])
        return H, Ls

    return Problem(
        name=f"thermal-{n}",
        description="Driven thermal oscillator: H = ω a†a + F(a + a†), L = {√γ↓ a, √γ↑ a†}",
        n=n,
        dims=(n,),
        params={"omega": 0.1, "F": 2.0, "gamma_down": 6.0, "gamma_up": 5.0},
        grad_params=("omega", "F", "gamma_down", "gamma_up"),
        observable=num,
        observable_name="<a†a>",
        build=build,
    )


# --- 3. Two Kerr resonators with a two-mode-squeezed bath -----------------------------------------

TWO_MODE_PARAMS = {
    "Delta": 1.0,
    "U": 0.3,
    "G": 0.9,
    "kappa": 1.0,
    "r": 0.5,
    "phi": 0.3,
}


def two_mode_problem(cutoff: int) -> Problem:
    c = cutoff
    eye = np.eye(c, dtype=np.complex128)
    a = np.kron(destroy(c), eye)
    b = np.kron(eye, destroy(c))
    ad, bd = a.conj().T, b.conj().T
    terms = []
    for x, xd in ((a, ad), (b, bd)):
        terms.append((xd @ x, xd @ xd @ x @ x, xd @ xd + x @ x))

    def build(p, xp):
        H = 0
        for num, kerr, pump in terms:
            H = H + p["Delta"] * num + p["U"] / 2 * kerr + p["G"] / 2 * pump
        ch, sh = xp.cosh(p["r"]), xp.sinh(p["r"])
        phase = xp.exp(1j * p["phi"])
        sk = xp.sqrt(p["kappa"])
        L1 = sk * (ch * a - phase * sh * bd)
        L2 = sk * (ch * b - phase * sh * ad)
        return H, xp.stack([L1, L2])

    return Problem(
        name=f"two-mode-{c}",
        description=(
            "Two Kerr resonators, two-mode-squeezed bath: "
            "H = Σ_x Δx†x + U/2 x†²x² + G/2(x†² + x²), "
            "L1 = √κ(cosh r a − e^{iφ} sinh r b†), L2 = √κ(cosh r b − e^{iφ} sinh r a†)"
        ),
        n=c * c,
        dims=(c, c),
        params=dict(TWO_MODE_PARAMS),
        grad_params=("Delta", "U", "G", "kappa", "r", "phi"),
        observable=ad @ a,
        observable_name="<a†a>",
        build=build,
        # H changes each photon number by 0 or ±2, every jump changes the total by ±1
        sectors=(tuple((i + j) % 2 for i in range(c) for j in range(c)), (1, 1), 2),
    )


# --- 4. Dissipative XYZ ring ----------------------------------------------------------------------


def _site_op(op: np.ndarray, i: int, N: int) -> np.ndarray:
    out = np.ones((1, 1), dtype=np.complex128)
    for j in range(N):
        out = np.kron(out, op if j == i else np.eye(2, dtype=np.complex128))
    return out


def xyz_problem(N: int) -> Problem:
    # basis: index 0 = |e⟩ (up), index 1 = |g⟩ (down); σ⁻ = |g⟩⟨e|, σz = |e⟩⟨e| − |g⟩⟨g|.
    sx = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    sy = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
    sz = np.array([[1, 0], [0, -1]], dtype=np.complex128)
    sm = np.array([[0, 0], [1, 0]], dtype=np.complex128)
    bonds = [(i, (i + 1) % N) for i in range(N)]
    coupling = {}
    for name, s in (("Jx", sx), ("Jy", sy), ("Jz", sz)):
        ops = [_site_op(s, i, N) for i in range(N)]
        coupling[name] = sum(ops[i] @ ops[j] for i, j in bonds)
    lowering = np.stack([_site_op(sm, i, N) for i in range(N)])
    szsz = _site_op(sz, 0, N) @ _site_op(sz, 1, N)

    def build(p, xp):
        H = p["Jx"] * coupling["Jx"] + p["Jy"] * coupling["Jy"] + p["Jz"] * coupling["Jz"]
        return H, xp.sqrt(p["gamma"]) * lowering

    return Problem(
        name=f"xyz-{N}",
        description=("Dissipative XYZ ring: H = Σ_<ij> Jx σxσx + Jy σyσy + Jz σzσz, L_i = √γ σ⁻_i"),
        n=2**N,
        dims=(2,) * N,
        params={"Jx": 0.9, "Jy": 1.1, "Jz": 1.0, "gamma": 1.0},
        grad_params=("Jx", "Jy", "Jz", "gamma"),
        observable=szsz,
        observable_name="<σz1 σz2>",
        build=build,
        # σxσx and σyσy flip two spins: the parity of the number of excitations is conserved
        # by H, and every σ⁻ changes it by one (index bit 0 = |e⟩ per site)
        sectors=(
            tuple((N - bin(i).count("1")) % 2 for i in range(2**N)),
            (1,) * N,
            2,
        ),
    )


# --- 5. All-to-all dissipative XYZ model in the full 2^N space ---------------------------------


def all_to_all_problem(N: int) -> Problem:
    """qdiss.models.emitters.AllToAllXYZ in the full space (the permutation-invariant blocks are
    ``large_n.py``'s problem): H = (1/N) Σ_{i<j} Σ_a J_a σ^a_iσ^a_j, L_i = √γ σ⁻_i."""
    sx = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    sy = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
    sz = np.array([[1, 0], [0, -1]], dtype=np.complex128)
    sm = np.array([[0, 0], [1, 0]], dtype=np.complex128)
    pairs = [(i, j) for i in range(N) for j in range(i + 1, N)]
    coupling = {}
    for name, s in (("Jx", sx), ("Jy", sy), ("Jz", sz)):
        ops = [_site_op(s, i, N) for i in range(N)]
        coupling[name] = sum(ops[i] @ ops[j] for i, j in pairs) / N
    lowering = np.stack([_site_op(sm, i, N) for i in range(N)])
    szsz = _site_op(sz, 0, N) @ _site_op(sz, 1, N)

    def build(p, xp):
        H = p["Jx"] * coupling["Jx"] + p["Jy"] * coupling["Jy"] + p["Jz"] * coupling["Jz"]
        return H, xp.sqrt(p["gamma"]) * lowering

    return Problem(
        name=f"all-to-all-{N}",
        description="All-to-all XYZ, full space: H = (1/N) Σ_{i<j} Σ_a J_a σ^aσ^a, L_i = √γ σ⁻_i",
        n=2**N,
        dims=(2,) * N,
        params={"Jx": 1.0, "Jy": 0.6, "Jz": 0.2, "gamma": 1.0},
        grad_params=("Jx", "Jy", "Jz", "gamma"),
        observable=szsz,
        observable_name="<σz1 σz2>",
        build=build,
        sectors=(tuple((N - bin(i).count("1")) % 2 for i in range(2**N)), (1,) * N, 2),
    )


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "kerr-40": lambda: kerr_problem(40),
    "thermal-50": lambda: thermal_problem(50),
    "two-mode-8": lambda: two_mode_problem(8),
    "two-mode-12": lambda: two_mode_problem(12),
    "two-mode-16": lambda: two_mode_problem(16),
    "xyz-6": lambda: xyz_problem(6),
    "xyz-8": lambda: xyz_problem(8),
    "all-to-all-6": lambda: all_to_all_problem(6),
}


# --- independent checks ---------------------------------------------------------------------------


def sparse_liouvillian_colstack(H: np.ndarray, jump_ops: np.ndarray) -> sp.csr_matrix:
    """The Liouvillian in the column-stacking convention vec(ρ) = ρ.flatten("F") (QuTiP's).

    vec(AρB) = (Bᵀ ⊗ A) vec(ρ). Built here from scratch (not from qdiss), for residual checks.
    """
    n = H.shape[0]
    eye = sp.identity(n, dtype=np.complex128, format="csr")
    Hs = sp.csr_matrix(H)
    out = -1j * (sp.kron(eye, Hs) - sp.kron(Hs.T, eye))
    for L in jump_ops:
        Ls = sp.csr_matrix(L)
        if Ls.nnz == 0:
            continue
        LdL = sp.csr_matrix(Ls.conj().T @ Ls)
        out = out + sp.kron(Ls.conj(), Ls) - 0.5 * (sp.kron(eye, LdL) + sp.kron(LdL.T, eye))
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    return out


def spectral_norm(op: sp.spmatrix) -> float:
    """‖op‖₂ (largest singular value, ARPACK to 1e-6 relative)."""
    if op.shape[0] <= 400:
        return float(np.linalg.norm(op.toarray(), 2))
    s = spla.svds(op, k=1, return_singular_vectors=False, tol=1e-6, random_state=0)
    return float(s[0])


def relative_residual(liouvillian: sp.spmatrix, norm: float, rho: np.ndarray) -> float:
    """‖L(ρ)‖_F / (‖L‖₂ ‖ρ‖_F) with L the column-stacking sparse superoperator."""
    rho = np.asarray(rho, np.complex128)
    v = rho.flatten(order="F")
    return float(np.linalg.norm(liouvillian @ v) / (norm * np.linalg.norm(v)))


# --- solvers --------------------------------------------------------------------------------------


def available_solvers(qdiss) -> dict[str, object]:
    """Every concrete steady-state solver class exported by qdiss (except Auto), default
    configuration, plus the BiCGStab variant of Krylov. Picks up solvers added later."""
    base = qdiss.AbstractSteadyStateSolver
    preferred = ["DenseLU", "SparseLU", "Krylov", "Evolve"]
    names = [n for n in preferred if getattr(qdiss, n, None) is not None]
    for name in sorted(dir(qdiss)):
        obj = getattr(qdiss, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, base)
            and not inspect.isabstract(obj)
            and name not in ("Auto", "AbstractSteadyStateSolver")
            and name not in names
        ):
            names.append(name)
    out: dict[str, object] = {}
    for name in names:
        cls = getattr(qdiss, name)
        try:
            out[name] = cls()
        except Exception as e:  # a solver that cannot be default-constructed
            print(f"# skipping solver {name}: {type(e).__name__}: {e}")
            continue
        fields = {f.name for f in dataclasses.fields(cls)}
        if name == "Krylov" and "method" in fields:  # BiCGStab variant, where offered
            try:
                out["Krylov-bicgstab"] = cls(method="bicgstab")
            except Exception:
                pass
    return out


def machine_info() -> dict[str, object]:
    import jax

    info: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
    }
    try:
        import os

        info["cpu_count"] = os.cpu_count()
        info["loadavg"] = os.getloadavg()
    except Exception:
        pass
    for mod in ("qutip", "scipy", "numpy", "lineax", "equinox", "diffrax"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:
            pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info
