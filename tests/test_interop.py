"""A way back to QuTiP and dynamiqs (issue 13 §5): ``sol.to_qutip()``, ``sol.to_dynamiqs()``,
``sol.expect(op)``, figures of merit taking Qobjs and QArrays, and a Lindbladian's H and jump
operators run through ``dq.mesolve``. References: QuTiP's steadystate and expect on the same
model, and the measures' own values on plain arrays."""

from __future__ import annotations

import dynamiqs as dq
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qdiss
import qdiss.measures as qm


def _two_qubits():
    sm, sx, sz, eye = qutip.sigmam(), qutip.sigmax(), qutip.sigmaz(), qutip.qeye(2)
    H = (
        0.3 * qutip.tensor(sz, eye)
        + 0.5 * qutip.tensor(sx, eye)
        + 0.4 * (qutip.tensor(sm.dag(), sm) + qutip.tensor(sm, sm.dag()))
    )
    return H, [np.sqrt(0.7) * qutip.tensor(sm, eye), np.sqrt(0.9) * qutip.tensor(eye, sm)]


def _cavity_qubit():
    """A qubit ⊗ a cavity of cutoff 4 (dims (2, 4): unequal, so a transposed dims would show)."""
    a = qutip.tensor(qutip.qeye(2), qutip.destroy(4))
    sm = qutip.tensor(qutip.sigmam(), qutip.qeye(4))
    H = 0.2 * a.dag() * a + 0.4 * (a.dag() * sm + a * sm.dag()) + 0.3 * (sm + sm.dag())
    return H, [np.sqrt(0.8) * a, np.sqrt(0.1) * sm]


@pytest.mark.parametrize("model", [_two_qubits, _cavity_qubit])
def test_to_qutip_and_to_dynamiqs_keep_dims_and_values(model):
    H, c_ops = model()
    reference = qutip.steadystate(H, c_ops)
    L = qdiss.Lindbladian(H, c_ops)  # dims inferred from the Qobjs
    sol = qdiss.steady_state(L)
    assert sol.dims == tuple(H.dims[0])
    back = sol.to_qutip()
    assert isinstance(back, qutip.Qobj)
    assert back.dims == reference.dims
    assert (back - reference).norm() < 1e-9
    q = sol.to_dynamiqs()
    assert q.dims == tuple(H.dims[0])
    np.testing.assert_allclose(np.asarray(q.to_jax()), reference.full(), atol=1e-9)


def test_expect_takes_arrays_qarrays_and_qobjs():
    H, c_ops = _cavity_qubit()
    reference = qutip.steadystate(H, c_ops)
    sol = qdiss.steady_state(qdiss.Lindbladian(H, c_ops))
    a = qutip.tensor(qutip.qeye(2), qutip.destroy(4))
    number = a.dag() * a
    expected = qutip.expect(number, reference)
    for op in (number, dq.asqarray(number.full(), dims=(2, 4)), number.full()):
        np.testing.assert_allclose(complex(sol.expect(op)), expected, atol=1e-9)
    stack = np.stack([number.full(), a.full()])
    np.testing.assert_allclose(
        np.asarray(sol.expect(stack)), [expected, qutip.expect(a, reference)], atol=1e-9
    )
    with pytest.raises(ValueError, match="op"):
        sol.expect(np.eye(3))


def test_expect_is_differentiable_and_batched():
    a = qutip.destroy(5)

    def photons(drive):
        H = 0.4 * jnp.asarray((a.dag() * a).full()) + drive.astype(complex) * jnp.asarray(
            (a + a.dag()).full()
        )
        sol = qdiss.steady_state(qdiss.Lindbladian(H, [jnp.asarray(a.full())]), qdiss.DenseLU())
        return jnp.real(sol.expect(a.dag() * a))

    h = 1e-6
    fd = (photons(jnp.asarray(0.3 + h)) - photons(jnp.asarray(0.3 - h))) / (2 * h)
    np.testing.assert_allclose(float(jax.grad(photons)(jnp.asarray(0.3))), float(fd), rtol=1e-6)
    # a vmapped solution: expect batched, to_qutip gives a list, to_dynamiqs a batched QArray
    drives = jnp.array([0.1, 0.2, 0.3])

    def solve(drive):
        H = 0.4 * jnp.asarray((a.dag() * a).full()) + drive.astype(complex) * jnp.asarray(
            (a + a.dag()).full()
        )
        return qdiss.steady_state(qdiss.Lindbladian(H, [jnp.asarray(a.full())]), qdiss.DenseLU())

    sols = jax.vmap(solve)(drives)
    values = np.real(np.asarray(sols.expect(a.dag() * a)))
    for drive, value in zip(np.asarray(drives), values, strict=True):
        H = 0.4 * a.dag() * a + drive * (a + a.dag())
        np.testing.assert_allclose(value, qutip.expect(a.dag() * a, qutip.steadystate(H, [a])))
    assert len(sols.to_qutip()) == 3
    assert sols.to_dynamiqs().shape == (3, 5, 5)


def test_to_dynamiqs_is_traceable():
    H, c_ops = _two_qubits()
    L = qdiss.Lindbladian(H, c_ops)

    @jax.jit
    def purity_of(L):
        q = qdiss.steady_state(L, qdiss.DenseLU()).to_dynamiqs()
        return dq.purity(q)

    rho = qutip.steadystate(H, c_ops)
    np.testing.assert_allclose(float(purity_of(L)), (rho * rho).tr().real, rtol=1e-9)


def test_block_states_need_their_lindbladian():
    H, c_ops = _two_qubits()
    sz = qutip.tensor(qutip.sigmaz(), qutip.sigmaz()).full()
    # no parity here... use a model that conserves it: decay only, no drive
    sm, eye = qutip.sigmam(), qutip.qeye(2)
    H = 0.3 * qutip.tensor(qutip.sigmaz(), eye) + 0.4 * (
        qutip.tensor(sm.dag(), sm) + qutip.tensor(sm, sm.dag())
    )
    c_ops = [np.sqrt(0.7) * qutip.tensor(sm, eye), 0.3 * qutip.tensor(eye, sm.dag())]
    dense = qdiss.Lindbladian(H, c_ops)
    labels = (np.real(np.diag(sz)) < 0).astype(int)  # the parity of the excitation number
    L = qdiss.SectorLindbladian(dense, labels, jump_charges=(1, 1), modulus=2)
    sol = qdiss.steady_state(L)
    with pytest.raises(ValueError, match="Lindbladian"):
        sol.to_qutip()
    back = sol.to_qutip(L)
    assert back.dims == [[2, 2], [2, 2]]
    assert (back - qutip.steadystate(H, c_ops)).norm() < 1e-9
    np.testing.assert_allclose(
        complex(sol.expect(sz, L)), qutip.expect(qutip.Qobj(sz, dims=back.dims), back), atol=1e-12
    )


def _bell_mixture():
    psi = qutip.bell_state("00")
    rho = 0.8 * qutip.ket2dm(psi) + 0.2 * qutip.qeye([2, 2]) / 4
    return rho


def _unitary_derivative(r):
    """−i[G, ρ] for G = σ_z ⊗ 1, in the type of ρ (array, Qobj or QArray)."""
    g = qutip.tensor(qutip.sigmaz(), qutip.qeye(2))
    if isinstance(r, qutip.Qobj):
        return -1j * (g * r - r * g)
    d = -1j * (g.full() @ np.asarray(r) - np.asarray(r) @ g.full())
    return d if isinstance(r, jnp.ndarray) else dq.asqarray(d, dims=(2, 2))


_COLLECTIVE = [
    (qutip.tensor(s, qutip.qeye(2)) + qutip.tensor(qutip.qeye(2), s)) / 2
    for s in (qutip.sigmax(), qutip.sigmay(), qutip.sigmaz())
]  # J_x, J_y, J_z as a list of Qobjs (converted inside the list too)

_CASES = {
    "purity": lambda r: qm.purity(r),
    "entropy": lambda r: qm.von_neumann_entropy(r),
    "concurrence": lambda r: qm.concurrence(r),
    "concurrence_margin": lambda r: qm.concurrence_margin(r),
    "negativity": lambda r: qm.negativity(r, (2, 2)),
    "log_negativity": lambda r: qm.log_negativity(r, (2, 2)),
    "is_ppt": lambda r: qm.is_ppt(r, (2, 2)),
    "fully_entangled_fraction": lambda r: qm.fully_entangled_fraction(r),
    "ghz_fidelity": lambda r: qm.ghz_fidelity(r),
    "ptrace": lambda r: qm.ptrace(r, (2, 2), 0),
    "ptranspose": lambda r: qm.ptranspose(r, (2, 2), 1),
    "mutual_information": lambda r: qm.mutual_information(r, (2, 2), (0, 1)),
    "fidelity": lambda r: qm.fidelity(r, r),
    "qfi": lambda r: qm.qfi(r, qutip.tensor(qutip.sigmaz(), qutip.qeye(2))),
    "fisher_information": lambda r: qm.fisher_information(r, _unitary_derivative(r)),
    "expect": lambda r: qm.expect(qutip.tensor(qutip.sigmax(), qutip.sigmax()), r),
    "spin_moments": lambda r: qm.spin_moments(r, _COLLECTIVE)[1],
    "wineland": lambda r: qm.wineland_squeezing(r, 2),
}


@pytest.mark.parametrize("name", list(_CASES))
def test_measures_accept_qobjs_and_qarrays(name):
    rho = _bell_mixture()
    plain = np.asarray(_CASES[name](jnp.asarray(rho.full())))
    np.testing.assert_allclose(np.asarray(_CASES[name](rho)), plain, atol=1e-14)
    q = dq.asqarray(rho.full(), dims=(2, 2))
    np.testing.assert_allclose(np.asarray(_CASES[name](q)), plain, atol=1e-14)


def test_measures_read_dims_from_qobjs():
    """A measure with a ``dims`` parameter takes it from a Qobj/QArray argument when left out:
    a qubit ⊗ qutrit state's negativity needs dims (2, 3), which the default would not guess."""
    psi = (
        qutip.tensor(qutip.basis(2, 0), qutip.basis(3, 0))
        + qutip.tensor(qutip.basis(2, 1), qutip.basis(3, 2))
    ).unit()
    rho = qutip.ket2dm(psi)
    expected = 0.5  # (‖ρ^{T_B}‖₁ − 1)/2 for a maximally entangled state of Schmidt rank 2
    np.testing.assert_allclose(float(qm.negativity(rho)), expected, atol=1e-12)
    np.testing.assert_allclose(
        float(qm.negativity(dq.asqarray(rho.full(), dims=(2, 3)))), expected, atol=1e-12
    )
    np.testing.assert_allclose(np.asarray(qm.ptrace(rho, keep=1)), rho.ptrace(1).full(), atol=1e-14)


def test_lindbladian_operators_run_in_dynamiqs_mesolve():
    """dq.mesolve from L.H / L.jump_ops (plain arrays) and from L.to_dynamiqs() (QArrays with
    dims): the long-time state is qdiss's steady state."""
    H, c_ops = _cavity_qubit()
    L = qdiss.Lindbladian(H, c_ops)
    steady = np.asarray(qdiss.steady_state(L).rho)
    rho0 = np.zeros((8, 8), complex)
    rho0[0, 0] = 1
    tsave = jnp.array([0.0, 80.0])
    plain = dq.mesolve(
        L.H, list(L.jump_ops), rho0, tsave, method=dq.method.Tsit5(rtol=1e-10, atol=1e-12)
    )
    np.testing.assert_allclose(np.asarray(plain.final_state.to_jax()), steady, atol=1e-7)
    Hq, jumps = L.to_dynamiqs()
    assert Hq.dims == (2, 4) and all(op.dims == (2, 4) for op in jumps)
    typed = dq.mesolve(
        Hq,
        jumps,
        dq.asqarray(rho0, dims=(2, 4)),
        tsave,
        method=dq.method.Tsit5(rtol=1e-10, atol=1e-12),
    )
    assert typed.final_state.dims == (2, 4)
    np.testing.assert_allclose(np.asarray(typed.final_state.to_jax()), steady, atol=1e-7)
    Hqt, c_back = L.to_qutip()
    assert Hqt.dims == H.dims and (Hqt - H).norm() < 1e-14
    assert all((x - y).norm() < 1e-14 for x, y in zip(c_back, c_ops, strict=True))
