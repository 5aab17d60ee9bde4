"""qdiss.optimize: bijections, the optax loop, warm starts, failed steps, and the worked example
(maximising the steady-state concurrence of two qubits in a correlated magnon bath)."""

import io

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import qdiss
from qdiss._optimize import (
    Bounded,
    GreaterThan,
    Identity,
    LessThan,
    OptimizeResult,
    OptimizeStep,
    bounded,
    constrain,
    less_than,
    optimize,
    positive,
    unconstrain,
)
from qdiss.measures import concurrence
from qdiss.models.magnon import MagnonBathQubits, closed_form_concurrence

SM = np.array([[0, 0], [1, 0]], dtype=np.complex128)  # σ⁻ = |g⟩⟨e|, basis (e, g)


def thermal_qubit(up, down):
    """One qubit with decay D[√down σ⁻] and pumping D[√up σ⁺]: ρ_ss = diag(p_e, 1 − p_e) with
    p_e = up/(up + down)."""
    sm = jnp.asarray(SM)
    ops = jnp.stack([jnp.sqrt(down).astype(sm.dtype) * sm, jnp.sqrt(up).astype(sm.dtype) * sm.T])
    return qdiss.Lindbladian(jnp.zeros((2, 2), jnp.complex128), ops)


def excited_population(rho):
    return jnp.real(rho[0, 0])


def closed_form_solution(up, down):
    """A SteadyStateSolution holding the thermal qubit's closed-form state, without a solve: for
    tests of the loop's bookkeeping (quick to compile)."""
    p = up / (up + down)
    rho = jnp.diag(jnp.stack([p, 1 - p])).astype(jnp.complex128)
    zero = jnp.zeros(())
    stats = qdiss.SteadyStateStats(
        residual=zero,
        num_steps=jnp.ones((), jnp.int32),
        trace_error=zero,
        min_eigenvalue=jnp.minimum(p, 1 - p),
        hermiticity_error=zero,
        condition_estimate=zero,
        error_estimate=zero,
    )
    return qdiss.SteadyStateSolution(rho=rho, result=qdiss.RESULTS.successful, stats=stats)


def fail_where(sol, bad, code=qdiss.RESULTS.non_unique):
    """The solution with its result code replaced by ``code`` where ``bad``."""
    return eqx.tree_at(lambda s: s.result, sol, qdiss.RESULTS.where(bad, code, sol.result))


# ------------------------------------------------------------------------------------------
# Bijections
# ------------------------------------------------------------------------------------------

BIJECTIONS = [
    (Identity(), -np.inf, np.inf),
    (bounded(-0.999, 0.999), -0.999, 0.999),
    (bounded(0.5, 3.0), 0.5, 3.0),
    (positive(), 0.0, np.inf),
    (GreaterThan(-2.0), -2.0, np.inf),
    (less_than(1.0), -np.inf, 1.0),
]


@pytest.mark.parametrize("bij, lo, hi", BIJECTIONS)
def test_bijection_range_inverse_and_derivative(bij, lo, hi):
    u = jnp.linspace(-30.0, 30.0, 61)
    x = bij.forward(u)
    assert np.all(np.asarray(x) > lo) and np.all(np.asarray(x) < hi)
    assert np.all(np.asarray(bij.contains(x)))
    # Round trip where x − lo and hi − x are still resolved in float64 (|u| ≲ 12).
    u = jnp.linspace(-12.0, 12.0, 49)
    np.testing.assert_allclose(bij.inverse(bij.forward(u)), u, rtol=1e-9, atol=1e-9)
    # Extreme u saturates onto the closed interval, never beyond it.
    x_far = np.asarray(bij.forward(jnp.array([-1e4, 1e4])))
    assert (
        np.all(x_far >= lo) and np.all(x_far <= hi) and np.all(np.isfinite(x_far) | (hi == np.inf))
    )
    # Derivative vs central finite differences.
    u0 = jnp.array([-2.3, 0.0, 1.7])
    h = 1e-6
    fd = (bij.forward(u0 + h) - bij.forward(u0 - h)) / (2 * h)
    ad = jax.vmap(jax.grad(lambda v: bij.forward(v)))(u0)
    np.testing.assert_allclose(ad, fd, rtol=1e-7, atol=1e-9)


def test_bijection_closed_forms():
    u = jnp.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(
        bounded(-1.0, 1.0).forward(u), np.tanh(np.asarray(u) / 2), rtol=1e-14
    )
    np.testing.assert_allclose(positive().forward(u), np.log1p(np.exp(np.asarray(u))), rtol=1e-14)
    np.testing.assert_allclose(less_than(1.0).forward(u), 1 - np.log1p(np.exp(np.asarray(u))))
    assert not bool(bounded(0.0, 1.0).contains(jnp.asarray(1.0)))
    assert not bool(positive().contains(jnp.asarray(0.0)))
    with pytest.raises(ValueError, match="lo < hi"):
        Bounded(1.0, 0.0)


def test_constrain_prefix_tree():
    cons = {"a": positive(), "b": None, "c": {"x": bounded(0.0, 2.0), "y": LessThan(0.0)}}
    x = {
        "a": jnp.array([0.5, 2.0]),
        "b": jnp.array(-7.0),
        "c": {"x": jnp.array(1.5), "y": jnp.array(-3.0)},
    }
    u = unconstrain(cons, x)
    assert float(u["b"]) == -7.0
    back = constrain(cons, u)
    jax.tree.map(lambda p, q: np.testing.assert_allclose(p, q, rtol=1e-13), back, x)


# ------------------------------------------------------------------------------------------
# The loop on a thermal qubit (closed form p_e = up/(up + down))
# ------------------------------------------------------------------------------------------

TARGET = 0.25  # p_e = 1/4 at up = down/3


def qubit_loss(params, rho0):
    sol = qdiss.steady_state(
        thermal_qubit(params["up"], 1.0), qdiss.DenseLU(), rho0=rho0, throw=False
    )
    return (excited_population(sol.rho) - TARGET) ** 2, sol


def test_converges_to_closed_form_and_gradient_matches_finite_differences():
    start = {"up": jnp.asarray(2.0)}
    res = optimize(
        qubit_loss,
        start,
        optax.sgd(20.0),
        500,
        constraints={"up": positive()},
        gtol=1e-10,
        patience=3,
    )
    assert isinstance(res, OptimizeResult)
    assert res.reason == "grad_converged", res
    np.testing.assert_allclose(float(res.best_params["up"]), 1 / 3, rtol=1e-6)
    assert np.all(res.history.accepted) and np.all(res.history.status == 0)
    assert np.all(res.history.residual < 1e-12)
    # Step 0's gradient is ∂/∂u of (p(softplus(u)) − 1/4)², evaluated by finite differences with
    # the closed form: checks the chain rule through the constraint.
    u0 = np.log(np.expm1(2.0))

    def closed(u):
        up = np.log1p(np.exp(u))
        return (up / (up + 1.0) - TARGET) ** 2

    h = 1e-6
    fd = (closed(u0 + h) - closed(u0 - h)) / (2 * h)
    np.testing.assert_allclose(res.history.grad_norm[0], abs(fd), rtol=1e-7)
    np.testing.assert_allclose(res.history.loss[0], closed(u0), rtol=1e-12)
    # History parameters are the evaluated physical ones, consistent with the loss.
    ups = res.history.params["up"]
    np.testing.assert_allclose(
        res.history.loss, (ups / (ups + 1) - TARGET) ** 2, rtol=1e-9, atol=1e-20
    )


def test_positive_constraint_holds_when_optimum_is_on_the_boundary():
    # Minimising p_e drives up → 0; softplus keeps it strictly positive all the way.
    def loss(params, rho0):
        sol = qdiss.steady_state(thermal_qubit(params["up"], 1.0), qdiss.DenseLU(), throw=False)
        return excited_population(sol.rho), sol

    res = optimize(
        loss, {"up": 1.0}, optax.adam(0.5), 80, constraints={"up": positive()}, rtol=None
    )
    ups = res.history.params["up"]
    assert np.all(ups > 0) and float(res.params["up"]) > 0
    assert ups[-1] < 1e-3 and ups[0] == 1.0 and np.all(np.diff(ups) < 0)


def test_step_is_traced_once_and_warm_start_is_carried():
    traces = []
    seen = []

    def loss(params, rho0):
        traces.append(1)
        if rho0 is not None:
            jax.debug.callback(lambda r: seen.append(np.asarray(r)), rho0)
        sol = qdiss.steady_state(
            thermal_qubit(params["up"], params["down"]), qdiss.DenseLU(), rho0=rho0, throw=False
        )
        return (excited_population(sol.rho) - TARGET) ** 2, sol

    # Python floats (weakly typed) would retrace after the first update if not normalised.
    res = optimize(loss, {"up": 2.0, "down": 1.0}, optax.adam(0.1), 25, rtol=None)
    assert res.num_steps == 25
    assert len(traces) == 2  # one shape probe (jax.eval_shape) + one trace of the step
    assert len(seen) == 25
    np.testing.assert_allclose(seen[0], np.eye(2) / 2)
    up, down = res.history.params["up"], res.history.params["down"]
    for k in range(1, 25):  # the warm start of step k is the steady state of step k − 1
        p = up[k - 1] / (up[k - 1] + down[k - 1])
        np.testing.assert_allclose(seen[k], np.diag([p, 1 - p]), atol=1e-12)
    # With an explicit rho0 there is no shape probe.
    traces.clear()
    optimize(loss, {"up": 2.0, "down": 1.0}, optax.adam(0.1), 5, rho0=np.eye(2) / 2)
    assert len(traces) == 1


CAVITY_CUTOFF = 8
CAVITY_A = np.diag(np.sqrt(np.arange(1.0, CAVITY_CUTOFF)), 1).astype(np.complex128)


def driven_cavity(params):
    """H = Δ a†a + F (a + a†), L = a (γ = 1), truncated at CAVITY_CUTOFF levels."""
    a = jnp.asarray(CAVITY_A)
    num = a.conj().T @ a
    H = params["delta"].astype(a.dtype) * num + params["F"].astype(a.dtype) * (a + a.conj().T)
    return qdiss.Lindbladian(H, a[None])


def test_warm_start_saves_krylov_iterations():
    # DenseLU ignores rho0; GMRES (Krylov) starts from it. restart=8 makes num_steps (restart
    # cycles) count the work finely enough to see the difference.
    solver = qdiss.Krylov(restart=8)
    num = CAVITY_A.conj().T @ CAVITY_A
    calls = []  # per step: (num_steps, rho0 passed in, steady state)

    def loss(params, rho0):
        sol = qdiss.steady_state(driven_cavity(params), solver, rho0=rho0, throw=False)
        record = lambda k, r0, r: calls.append((int(k), np.asarray(r0), np.asarray(r)))  # noqa: E731
        jax.debug.callback(record, sol.stats.num_steps, rho0, sol.rho)
        n = jnp.real(jnp.trace(jnp.asarray(num) @ sol.rho))
        return (n - 1.0) ** 2, sol

    steps = 8
    res = optimize(loss, {"delta": 0.5, "F": 0.3}, optax.adam(0.01), steps, rtol=None)
    assert res.num_steps == steps and np.all(res.history.accepted)
    assert len(calls) == steps
    np.testing.assert_allclose(calls[0][1], np.eye(CAVITY_CUTOFF) / CAVITY_CUTOFF)
    for k in range(1, steps):  # step k starts from step k − 1's steady state
        np.testing.assert_array_equal(calls[k][1], calls[k - 1][2])

    # The same points solved cold, from I/n as at step 0: the same states, more iterations.
    @jax.jit
    def cold(params):
        rho0 = jnp.eye(CAVITY_CUTOFF, dtype=jnp.complex128) / CAVITY_CUTOFF
        return qdiss.steady_state(driven_cavity(params), solver, rho0=rho0, throw=False)

    warm_steps, cold_steps = [], []
    for k in range(steps):
        sol = cold({name: jnp.asarray(v[k]) for name, v in res.history.params.items()})
        assert sol.succeeded
        np.testing.assert_allclose(sol.rho, calls[k][2], atol=1e-10)
        warm_steps.append(calls[k][0])
        cold_steps.append(int(sol.stats.num_steps))
    assert warm_steps[0] == cold_steps[0]  # step 0 is a cold start too
    assert all(w < c for w, c in zip(warm_steps[1:], cold_steps[1:], strict=True)), (
        warm_steps,
        cold_steps,
    )
    assert sum(warm_steps[1:]) <= 0.9 * sum(cold_steps[1:]), (warm_steps, cold_steps)


@pytest.mark.parametrize(
    "optimizer",
    [
        optax.inject_hyperparams(optax.adam)(learning_rate=0.1),  # array hyperparameters in state
        optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(0.1)),
    ],
)
def test_optimizers_with_richer_state_are_traced_once(optimizer):
    traces = []

    def loss(params, rho0):
        traces.append(1)
        return closed_form_loss(params, rho0)

    res = optimize(loss, {"up": 2.0}, optimizer, 15, rtol=None, rho0=np.eye(2) / 2)
    assert res.num_steps == 15 and len(traces) == 1


def test_lbfgs_line_search_through_the_solve():
    # optax.lbfgs needs value_fn (the loss at trial points): it is solved from the warm start.
    # (Its trial steps are long: the constraint keeps them inside the model's domain.)
    res = optimize(
        qubit_loss, {"up": 2.0}, optax.lbfgs(), 40, constraints={"up": positive()}, gtol=1e-12
    )
    assert res.reason in ("grad_converged", "loss_converged") and res.num_steps < 40, res
    np.testing.assert_allclose(float(res.best_params["up"]), 1 / 3, rtol=1e-8)


def reference_backtracking(x0, grad, bad, lr, beta, steps):
    """The documented algorithm in numpy: SGD with momentum (optax.sgd: m ← g + βm, Δ = −lr·m);
    a failed point is not applied and the next point is anchor + Δ·2^{−failures}."""
    x, m, anchor, delta, scale = x0, 0.0, x0, 0.0, 1.0
    xs, oks = [], []
    for _ in range(steps):
        xs.append(x)
        ok = not bad(x)
        oks.append(ok)
        if ok:
            m = grad(x) + beta * m
            anchor, delta, scale = x, -lr * m, 1.0
            x = x + delta
        else:
            scale /= 2
            x = anchor + scale * delta
    return np.array(xs), np.array(oks)


BAND = (0.25, 0.45)


def banded_loss(params, rho0):
    """(p_e − 0.4)², p_e = x/(x + 1), with an artificial solver failure for x in BAND."""
    x = params["x"]
    sol = qdiss.steady_state(thermal_qubit(x, 1.0), qdiss.DenseLU(), rho0=rho0, throw=False)
    sol = fail_where(sol, (x > BAND[0]) & (x < BAND[1]))
    return (excited_population(sol.rho) - 0.4) ** 2, sol


def test_failed_steps_are_reported_and_not_applied():
    lr, beta, steps = 2.0, 0.8, 100
    seen = []

    def loss(params, rho0):
        jax.debug.callback(lambda r: seen.append(np.asarray(r)), rho0)
        return banded_loss(params, rho0)

    res = optimize(loss, {"x": 0.1}, optax.sgd(lr, momentum=beta), steps, rtol=None)
    xs = res.history.params["x"]
    failed = ~res.history.accepted
    assert failed.sum() >= 5, "the test must cross the failing band, more than once in a row"
    assert np.any(failed[1:] & failed[:-1])
    assert np.all((xs[failed] > BAND[0]) & (xs[failed] < BAND[1]))
    assert not np.any((xs[~failed] > BAND[0]) & (xs[~failed] < BAND[1]))
    assert set(res.history.status_names[i] for i in np.nonzero(failed)[0]) == {"non_unique"}
    assert np.all(res.history.status[~failed] == 0)
    assert np.all(np.isfinite(xs))

    def grad(x):  # d/dx (x/(x+1) − 0.4)²
        return 2 * (x / (x + 1) - 0.4) / (x + 1) ** 2

    ref_x, ref_ok = reference_backtracking(
        0.1, grad, lambda x: BAND[0] < x < BAND[1], lr, beta, steps
    )
    np.testing.assert_array_equal(res.history.accepted, ref_ok)
    np.testing.assert_allclose(xs, ref_x, rtol=1e-10)
    np.testing.assert_allclose(float(res.best_params["x"]), 2 / 3, rtol=1e-3)
    # After a failure the warm start is the last good steady state, not the failed one.
    for k in np.nonzero(failed)[0]:
        np.testing.assert_array_equal(seen[k + 1], seen[k])
    assert res.num_failures == int(failed.sum())
    assert "failures" in str(res)


def test_on_failure_stop_and_initial_failure():
    res = optimize(banded_loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8), 40, on_failure="stop")
    assert res.reason == "failure"
    assert not res.history.accepted[-1] and res.history.accepted[:-1].all()
    # The best step is the lowest loss among the accepted ones, with its parameters.
    xs = res.history.params["x"][:-1]
    closed = (xs / (xs + 1) - 0.4) ** 2
    assert res.best_step == int(np.argmin(closed))
    np.testing.assert_allclose(res.best_loss, closed.min(), rtol=1e-10)
    assert float(res.best_params["x"]) == xs[res.best_step]
    assert not (BAND[0] < float(res.best_params["x"]) < BAND[1])

    res = optimize(banded_loss, {"x": 0.33}, optax.sgd(1.0), 10)
    assert res.reason == "initial_failure" and res.num_steps == 1
    assert res.best_params is None and np.isnan(res.best_loss)


def test_nonfinite_loss_is_a_failure():
    def loss(params, rho0):
        x = params["x"]
        sol = qdiss.steady_state(thermal_qubit(x, 1.0), qdiss.DenseLU(), throw=False)
        value = (excited_population(sol.rho) - 0.4) ** 2
        return jnp.where((x > BAND[0]) & (x < BAND[1]), jnp.nan, value), sol

    res = optimize(loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8), 100, rtol=None)
    failed = ~res.history.accepted
    assert failed.sum() >= 5
    assert set(res.history.status_names[i] for i in np.nonzero(failed)[0]) == {"nonfinite"}
    assert np.all(np.isfinite(res.history.params["x"]))
    np.testing.assert_allclose(float(res.best_params["x"]), 2 / 3, rtol=1e-3)


def test_too_many_failures_stops():
    # Failing for every x > 0.2: backtracking halves towards the last good point until it gives up.
    def loss(params, rho0):
        value, sol = banded_loss(params, rho0)
        return value, fail_where(sol, params["x"] > 0.2)

    res = optimize(loss, {"x": 0.19}, optax.sgd(50.0), 40, max_failures=4)
    assert res.reason == "too_many_failures"
    assert np.all(~res.history.accepted[-4:]) and res.history.accepted[0]


def closed_form_loss(params, rho0):
    sol = closed_form_solution(params["up"], 1.0)
    return (excited_population(sol.rho) - TARGET) ** 2, sol


def test_loss_convergence_progress_and_callback(capsys):
    def loss(params, rho0):  # minimum value 1 (so the relative change is meaningful)
        value, sol = closed_form_loss(params, rho0)
        return value + 1.0, sol

    res = optimize(
        loss,
        {"up": 2.0},
        optax.adam(0.2),
        500,
        constraints={"up": positive()},
        rtol=1e-12,
        patience=5,
    )
    assert res.reason == "loss_converged" and res.num_steps < 500
    assert capsys.readouterr().out == ""  # quiet by default

    optimize(loss, {"up": 2.0}, optax.adam(0.2), 21, progress=True, print_every=10, rtol=None)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["0", "10", "20"]

    infos = []

    def callback(info):
        infos.append(info)
        return info.step == 6

    res = optimize(loss, {"up": 2.0}, optax.adam(0.2), 50, progress=callback, rtol=None)
    assert res.reason == "callback" and res.num_steps == 7
    assert all(isinstance(i, OptimizeStep) for i in infos) and infos[3].status_name == "successful"
    np.testing.assert_allclose([i.loss for i in infos], res.history.loss)


def test_resume_continues_the_same_run():
    opt = optax.adam(0.1)
    full = optimize(closed_form_loss, {"up": 2.0}, opt, 20, rtol=None)
    first = optimize(closed_form_loss, {"up": 2.0}, opt, 10, rtol=None)
    second = optimize(
        closed_form_loss,
        first.params,
        opt,
        10,
        rtol=None,
        opt_state=first.opt_state,
        rho0=first.rho,
    )
    joined = np.concatenate([first.history.params["up"], second.history.params["up"]])
    np.testing.assert_allclose(joined, full.history.params["up"], rtol=1e-13)


def _same_tree(a, b):
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for x, y in zip(leaves_a, leaves_b, strict=True):
        if isinstance(x, str):
            assert x == y
        else:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("case", ["adam", "backtracking"])
def test_resumed_state_continues_bit_for_bit(case):
    # Run 10 steps; run 4 (stopped by the callback), save the state leaf by leaf as numpy,
    # rebuild it on the structure of optimize_init's state, continue to 10: identical runs.
    if case == "adam":
        loss, x0, opt, stop = closed_form_loss, {"up": 2.0}, optax.adam(0.1), 3
    else:  # SGD with momentum crossing the failing band: stop right after a failure
        loss, x0, opt, stop = banded_loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8), None
    steps = 10 if case == "adam" else 30
    full = optimize(loss, x0, opt, steps, rtol=None)
    if stop is None:
        stop = int(np.nonzero(~full.history.accepted)[0][0])
        assert full.history.accepted[stop - 1] and not full.history.accepted[stop]
    first = optimize(loss, x0, opt, steps, rtol=None, progress=lambda info: info.step == stop)
    assert first.reason == "callback" and first.num_steps == stop + 1
    saved = [np.asarray(leaf) for leaf in jax.tree.leaves(first.state)]
    template = qdiss.optimize_init(x0, opt, np.eye(2) / 2)
    leaves, treedef = jax.tree.flatten(template)
    restored = [
        type(t)(s.item()) if isinstance(t, (int, float, str)) else s
        for t, s in zip(leaves, saved, strict=True)
    ]
    state = jax.tree.unflatten(treedef, restored)
    second = optimize(loss, x0, opt, steps, rtol=None, state=state)
    assert second.reason == full.reason == "max_steps" and second.num_steps == steps
    _same_tree(second.history, full.history)
    _same_tree(
        (second.params, second.opt_state, second.rho), (full.params, full.opt_state, full.rho)
    )
    _same_tree(second.state, full.state)
    assert second.best_step == full.best_step and second.best_loss == full.best_loss
    # a finished run stays finished; a larger step budget continues one that hit max_steps
    again = optimize(loss, x0, opt, steps, rtol=None, state=full.state)
    assert again.num_steps == steps and again.reason == "max_steps"
    more = optimize(loss, x0, opt, steps + 2, rtol=None, state=full.state)
    assert more.num_steps == steps + 2


def test_save_state_and_load_state_resume_bit_for_bit(tmp_path):
    # An interrupted run saved with qdiss.save_state (a path, and a file object) and rebuilt by
    # qdiss.load_state on optimize_init's structure continues exactly as an uninterrupted run;
    # a file of another run's structure is refused.
    loss, x0, opt = banded_loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8)
    full = optimize(loss, x0, opt, 30, rtol=None)
    stop = int(np.nonzero(~full.history.accepted)[0][0])  # right after a failed step
    first = optimize(loss, x0, opt, 30, rtol=None, progress=lambda info: info.step == stop)
    qdiss.save_state(tmp_path / "state.npz", first.state, fingerprint="abc")
    buffer = io.BytesIO()
    qdiss.save_state(buffer, first.state)
    assert str(np.load(tmp_path / "state.npz")["fingerprint"]) == "abc"
    template = qdiss.optimize_init(x0, opt, np.eye(2) / 2)
    for file in (tmp_path / "state.npz", io.BytesIO(buffer.getvalue())):
        state = qdiss.load_state(file, template)
        assert isinstance(state.reason, str) and isinstance(state.step, int)
        assert isinstance(state.rho, jax.Array) and isinstance(state.history.loss, np.ndarray)
        _same_tree(state, first.state)
        second = optimize(loss, x0, opt, 30, rtol=None, state=state)
        _same_tree(second.state, full.state)
    accepted = np.flatnonzero(full.history.accepted)
    best = accepted[np.argmin(full.history.loss[accepted])]
    assert full.history.best_step == full.best_step == best
    assert first.history.best_step == first.best_step
    other = qdiss.optimize_init({"x": 0.1, "y": 0.2}, opt, np.eye(2) / 2)
    with pytest.raises(ValueError, match="leaves"):
        qdiss.load_state(tmp_path / "state.npz", other)


def test_resumed_converged_or_failed_run_takes_no_step():
    res = optimize(banded_loss, {"x": 0.33}, optax.sgd(1.0), 10)
    assert res.reason == "initial_failure" and res.state.finished
    again = optimize(banded_loss, {"x": 0.33}, optax.sgd(1.0), 10, state=res.state)
    assert again.reason == "initial_failure" and again.num_steps == 1
    # a failure after a resume is not a failure at the start: it backtracks
    res = optimize(banded_loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8), 30, rtol=None)
    k = int(np.nonzero(~res.history.accepted)[0][0])
    part = optimize(banded_loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8), k, rtol=None)
    rest = optimize(
        banded_loss, {"x": 0.1}, optax.sgd(2.0, momentum=0.8), 30, rtol=None, state=part.state
    )
    assert rest.reason == "max_steps" and not rest.history.accepted[k]


def test_batched_solutions():
    # Two solves per step (vmapped): both must succeed; the warm start is (2, 2, 2).
    downs = jnp.array([1.0, 3.0])

    def loss(params, rho0):
        def solve(down, rho):
            L = thermal_qubit(params["up"], down)
            return qdiss.steady_state(L, qdiss.DenseLU(), rho0=rho, throw=False)

        sol = jax.vmap(solve)(downs, rho0)
        return jnp.sum((jnp.real(sol.rho[:, 0, 0]) - 0.25) ** 2), sol

    res = optimize(
        loss, {"up": 0.5}, optax.adam(0.05), 400, constraints={"up": positive()}, gtol=1e-9
    )
    assert res.rho.shape == (2, 2, 2)
    # Closed form: minimise Σ_d (u/(u + d) − 1/4)² over u, by a dense scan.
    grid = np.linspace(0.2, 1.2, 200001)
    best = grid[np.argmin(sum((grid / (grid + d) - 0.25) ** 2 for d in (1.0, 3.0)))]
    np.testing.assert_allclose(float(res.best_params["up"]), best, atol=2e-5)


def test_input_validation():
    with pytest.raises(ValueError, match="outside"):
        optimize(qubit_loss, {"up": -1.0}, optax.sgd(0.1), 2, constraints={"up": positive()})
    with pytest.raises(ValueError, match="on_failure"):
        optimize(qubit_loss, {"up": 1.0}, optax.sgd(0.1), 2, on_failure="skip")
    with pytest.raises(TypeError, match=r"\(value, sol\)"):
        optimize(lambda p, r: p["up"] ** 2, {"up": 1.0}, optax.sgd(0.1), 2, rho0=np.eye(2) / 2)


# ------------------------------------------------------------------------------------------
# Worked example: maximise the steady-state concurrence of two qubits in a magnon bath
# ------------------------------------------------------------------------------------------

TEMPERATURE = 0.5  # qubit frequency ω = 1 (MagnonBathQubits' default)
BOX = {"eta": (-0.999, 0.999), "rate": (1e-3, 10.0), "mu": (-4.0, 0.99)}  # rates > 0, μ < ω


def magnon(params):
    return MagnonBathQubits(**params, temperature=TEMPERATURE).lindbladian()


def entanglement_surrogate(rho):
    """S = |p₊ − p₋| − 2√(p_gg p_ee), p± = ⟨Ψ±|ρ|Ψ±⟩; the concurrence is C = max(0, S).

    At detailed balance p₊ = p₋ and S = −2√(p_gg p_ee) < 0, where C = 0 has zero gradient;
    S keeps a gradient that leads out of it.
    """
    p = jnp.real(jnp.diag(rho))  # basis ee, eg, ge, gg
    coherence = jnp.real(rho[1, 2])
    p_plus, p_minus = (p[1] + p[2]) / 2 + coherence, (p[1] + p[2]) / 2 - coherence
    return jnp.abs(p_plus - p_minus) - 2 * jnp.sqrt(p[0] * p[3])


def concurrence_loss(params, rho0):
    sol = qdiss.steady_state(magnon(params), qdiss.DenseLU(), rho0=rho0, throw=False)
    return -entanglement_surrogate(sol.rho), sol


def test_maximise_concurrence_leaves_detailed_balance_and_beats_random_search():
    # Equal chemical potentials (equal up/down ratios) in both channels: detailed balance, C = 0.
    start = {
        "eta": jnp.array([0.3, -0.5]),
        "rate": jnp.array([1.0, 1.0]),
        "mu": jnp.array([0.0, 0.0]),
    }
    start_np = {k: np.asarray(v) for k, v in start.items()}
    assert closed_form_concurrence(**start_np, temperature=TEMPERATURE) == 0.0

    # ... where the concurrence itself has an exactly zero gradient (hence the surrogate), while
    # the surrogate's is not zero.
    def steady_concurrence(params):
        return concurrence(qdiss.steady_state(magnon(params), qdiss.DenseLU()).rho)

    grad_c, grad_s = jax.jit(
        lambda p: (
            jax.grad(steady_concurrence)(p),
            jax.grad(lambda q: concurrence_loss(q, None)[0])(p),
        )
    )(start)
    assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(grad_c))
    assert optax.tree.norm(grad_s) > 1e-3

    # (From some other detailed-balance starts adam first empties |ee⟩ and crawls along S ≈ 0⁻
    # for a few hundred steps before it finds the entangled region; this one needs ~100.)
    constraints = {k: bounded(*v) for k, v in BOX.items()}
    res = optimize(concurrence_loss, start, optax.adam(0.1), 150, constraints=constraints)
    assert res.num_failures == 0
    # Constraints hold at every step: |η| < 1, Γ > 0, μ < ω.
    hist = res.history.params
    assert np.all(np.abs(hist["eta"]) <= 0.999) and np.all(hist["rate"] > 0)
    assert np.all(hist["mu"] < 1.0)

    best = {k: np.asarray(v) for k, v in res.best_params.items()}
    c_best = float(closed_form_concurrence(**best, temperature=TEMPERATURE))  # no solve
    np.testing.assert_allclose(-res.best_loss, c_best, atol=1e-9)  # surrogate = C when C > 0
    assert 0.2 < c_best < 0.5  # clearly entangled; C < 1/2 is the model's bound

    # Random search over the same box with as many solves, counting the optimiser's adjoint
    # solves too: each step is one forward and one adjoint (reverse-mode) solve, so random
    # search gets 2 × num_steps forward solves. Log-uniform rates; five fixed seeds.
    lo = {k: np.array(v[0]) for k, v in BOX.items()}
    hi = {k: np.array(v[1]) for k, v in BOX.items()}
    n = 2 * res.num_steps

    def draw(seed):
        rng = np.random.default_rng(seed)
        return {
            "eta": rng.uniform(lo["eta"], hi["eta"], (n, 2)),
            "rate": np.exp(rng.uniform(np.log(lo["rate"]), np.log(hi["rate"]), (n, 2))),
            "mu": rng.uniform(lo["mu"], hi["mu"], (n, 2)),
        }

    seeds = range(5)
    draws = [draw(seed) for seed in seeds]
    # The best point rides along as row 0, for the check of C through qdiss's own solve.
    batch = {k: np.concatenate([best[k][None]] + [d[k] for d in draws]) for k in BOX}

    def solve(params):
        sol = qdiss.steady_state(magnon(params), qdiss.DenseLU(), throw=False)
        return concurrence(sol.rho), sol.succeeded

    c, ok = jax.jit(jax.vmap(solve))(jax.tree.map(jnp.asarray, batch))
    assert np.all(ok)
    np.testing.assert_allclose(float(c[0]), c_best, atol=1e-9)  # general Wootters formula
    best_random = np.asarray(c[1:]).reshape(len(seeds), n).max(axis=1)
    assert np.all(c_best > 2 * best_random), (c_best, best_random)
