"""The public extension API (``qdiss.internal``): a user-written solver, and the import order
of the library (no import cycle)."""

import ast
import pathlib

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
import scipy.linalg as sla

import qdiss
from qdiss import internal


class MaterialisedLU(internal.AbstractSteadyStateSolver):
    """lx.LU on lx.materialise of the deflated operator on the packed unknowns."""

    residual_tol: float | None = None
    error_tol: float | None = None

    def solve(self, problem, rho0):
        del rho0
        operator = lx.materialise(problem.packed_operator())
        rhs = problem.rhs()
        sol = lx.linear_solve(operator, problem.to_physical(rhs), lx.LU(), throw=False)
        matrix = jax.lax.stop_gradient(operator.as_matrix())
        inverse_norm = internal.estimate_inverse_norm(
            lambda v: jnp.linalg.solve(matrix, v),
            lambda v: jnp.linalg.solve(matrix.conj().T, v),
            problem.to_physical(problem.random_vector(7)),
        )
        return internal.RawSolve(
            rho=problem.solve_padding(rhs, sol.value),
            result=internal.RESULTS.promote(sol.result),
            num_steps=jnp.ones((), jnp.int32),
            inverse_norm=inverse_norm,
        )


def _driven_damped(omega, gamma):
    """A qubit driven at Rabi frequency Ω and decaying at rate γ: H = Ω/2 σ_x, L = √γ σ⁻."""
    sx = jnp.array([[0, 1], [1, 0]], jnp.complex128)
    sm = jnp.array([[0, 1], [0, 0]], jnp.complex128)
    return qdiss.Lindbladian(0.5 * omega * sx, [jnp.sqrt(gamma) * sm])


def _null_space_state(omega, gamma):
    """The steady state from a dense SciPy null space of the explicit (row-major) superoperator."""
    h = 0.5 * omega * np.array([[0, 1], [1, 0]], complex)
    lk = np.sqrt(gamma) * np.array([[0, 1], [0, 0]], complex)
    eye = np.eye(2)
    k = lk.conj().T @ lk
    sup = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    sup += np.kron(lk, lk.conj()) - 0.5 * np.kron(k, eye) - 0.5 * np.kron(eye, k.T)
    vec = sla.null_space(sup)[:, 0]
    rho = vec.reshape(2, 2)
    return rho / np.trace(rho)


def test_user_solver_matches_null_space_and_finite_differences():
    omega, gamma = 0.8, 0.5
    sol = qdiss.steady_state(_driven_damped(omega, gamma), solver=MaterialisedLU())
    assert sol.result == qdiss.RESULTS.successful
    np.testing.assert_allclose(sol.rho, _null_space_state(omega, gamma), atol=1e-12)

    def excited(w):
        rho = qdiss.steady_state(_driven_damped(w, gamma), solver=MaterialisedLU()).rho
        return jnp.real(rho[0, 0])

    grad = jax.grad(excited)(omega)
    h = 1e-5
    fd = (
        np.real(_null_space_state(omega + h, gamma)[0, 0])
        - np.real(_null_space_state(omega - h, gamma)[0, 0])
    ) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-7)


def test_materialised_packed_operator_is_the_deflated_matrix():
    """lx.materialise of the packed operator equals DeflatedProblem.matrix (also with padding)."""
    lind = qdiss.PermutationInvariantLindbladian(3, linear=(0.4, 0, 0.1), emission=0.7)
    problem = internal.DeflatedProblem.build(lind)
    dense = lx.materialise(problem.packed_operator()).as_matrix()
    np.testing.assert_allclose(dense, problem.matrix(), atol=1e-13)


def _import_graph(root: pathlib.Path) -> dict[str, set[str]]:
    """Module → the qdiss modules it imports explicitly (``from . import x`` counts x, not the
    package; the implicit import of a parent package is not counted)."""
    mods = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        package = m if path.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{a.name}" for a in node.names]
                found = [s for s in subs if s in mods]
                targets = found + ([target] if len(found) < len(subs) else [])
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[m].update(t for t in targets if t in mods and t != m)
    return graph


def test_no_import_cycle_in_the_numerical_core():
    """Every qdiss module outside the CLI reads bottom-up: no cycle in the import graph."""
    graph = _import_graph(pathlib.Path(qdiss.__file__).parent)
    core = {m: {t for t in ts if ".cli" not in t} for m, ts in graph.items() if ".cli" not in m}
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(m, path):
        state[m] = 1
        for t in core[m]:
            assert state.get(t) != 1, f"import cycle: {' -> '.join([*path, m, t])}"
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in sorted(core):
        if m not in state:
            visit(m, [])


def test_preconditioner_objects_and_their_names():
    """Krylov takes preconditioner objects; a name is an alias of one object (same iterations,
    same state), and the state is the dense null-space steady state of the 2^N generator."""
    lind = qdiss.PermutationInvariantLindbladian(
        3, linear=(0.5, 0, 0.1), emission=0.6, dephasing=0.1
    )
    product = internal.Product((internal.EigenbasisDiagonal("heff"), internal.BlockSweep()))
    by_object = qdiss.steady_state(lind, qdiss.Krylov(preconditioner=product))
    by_name = qdiss.steady_state(lind, qdiss.Krylov(preconditioner="heff+sweep"))
    assert by_object.result == qdiss.RESULTS.successful
    assert int(by_object.stats.num_steps) == int(by_name.stats.num_steps)
    np.testing.assert_array_equal(by_object.rho, by_name.rho)

    # independent reference: σ matrices on 3 qubits, SciPy null space of the row-major superoperator
    sx, sy = np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]])
    sz, sm = np.diag([1.0, -1.0]), np.array([[0, 0], [1, 0]])  # |↑⟩ = (1, 0)

    def site(op, i):
        mats = [np.eye(2)] * 3
        mats[i] = op
        return np.kron(np.kron(mats[0], mats[1]), mats[2])

    jx, jz = (sum(site(op, i) for i in range(3)) / 2 for op in (sx, sz))
    del sy
    h = 0.5 * jx + 0.1 * jz
    jumps = [np.sqrt(0.6) * site(sm, i) for i in range(3)] + [
        np.sqrt(0.1) * site(sz, i) for i in range(3)
    ]
    eye = np.eye(8)
    sup = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    for lk in jumps:
        k = lk.conj().T @ lk
        sup += np.kron(lk, lk.conj()) - 0.5 * np.kron(k, eye) - 0.5 * np.kron(eye, k.T)
    rho = sla.null_space(sup)[:, 0].reshape(8, 8)
    rho = rho / np.trace(rho)
    np.testing.assert_allclose(lind.to_dense(by_object.rho), rho, atol=1e-9)


def test_block_sweep_is_refused_by_a_dense_lindbladian():
    with pytest.raises(ValueError, match="'sweep' preconditioner is for permutation-invariant"):
        qdiss.steady_state(
            _driven_damped(0.8, 0.5), qdiss.Krylov(preconditioner=internal.BlockSweep())
        )
