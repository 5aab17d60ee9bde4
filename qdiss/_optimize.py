r"""Gradient-based optimisation of steady-state figures of merit.

:func:`optimize` runs an optax loop on a loss that solves for a steady state. The whole step —
loss, gradient (implicit differentiation through the steady-state solve) and optax update — is one
``eqx.filter_jit`` call that is traced exactly once per run. Between steps the loop carries the
last steady state ρ, which the loss passes to :func:`qdiss.steady_state` as ``rho0``: iterative
solvers (Krylov, Evolve) start from the previous step's steady state (a warm start).

**The loss protocol.** ``loss(params, rho0) -> (value, sol)``:

- ``params``: the physical (constrained) parameters, a pytree of real arrays;
- ``rho0``: the warm start, to be passed on as ``steady_state(..., rho0=rho0, throw=False)``;
- ``value``: the real scalar to *minimise* (to maximise C, return −C);
- ``sol``: the :class:`qdiss.SteadyStateSolution` the value came from. A loss with several
  solves returns them batched (``jax.vmap`` over ``steady_state``); then ``sol.rho`` is
  ``(b, n, n)`` and the step succeeds only if all of them did.

Use ``throw=False`` inside the loss: a failed solve is then a result code, which the loop reads.

**Constraints by reparametrisation.** The optimiser works on unconstrained variables u; the
loss sees x = f(u) for a bijection f from ℝ onto the allowed interval (:func:`bounded`,
:func:`positive`, :func:`greater_than`, :func:`less_than`). Parameters are given and returned in
the physical x; every returned and recorded parameter lies inside its interval (at a saturated
bound, e.g. sigmoid(u) = 1 in floating point, on its closed end).

**Failed steps.** A step fails when the solve returns a non-successful result code, or the loss
or its gradient is not finite. Such a step is recorded in the history (with its result code) and
never applied: the optimiser state and the warm start are left unchanged. With
``on_failure="backtrack"`` (default) the next step evaluates the last good point plus half of
the update that led into the failure (then a quarter, ...), which is a deterministic loss's only
way out — re-evaluating the same point would fail again; the run stops after ``max_failures``
consecutive failures. With ``on_failure="stop"`` the run stops at the first failure. A failure
at the initial parameters always stops the run. (A ``qdiss.Lindbladian`` built from non-finite
numbers raises at once — an ``eqx.error_if`` that ``throw=False`` does not cover — so keep the
parameters inside the model's domain with constraints.)

**Resuming.** Everything the loop carries between steps — the point to evaluate next, the
optimiser state, the warm start, the backtracking anchor, the counters of the stopping rules
(consecutive calm steps, consecutive failures, the last good loss) and the history — is one
:class:`OptimizeState` pytree: ``result.state`` at the end, ``info.state`` in a progress
callback after every step. ``optimize(loss, params, optimizer, steps, state=state)`` continues
that run, and gives bit for bit the numbers of a run that never stopped (``steps`` counts from
the run's start). Its leaves are arrays, Python numbers and one string, so a caller can save it
leaf by leaf and rebuild it on the structure of :func:`optimize_init` (``qdiss run`` does).

Example (maximise the steady-state concurrence of two qubits in a correlated magnon bath,
arXiv:2508.18131; ``tests/test_optimize.py`` runs it)::

    from qdiss.models.magnon import MagnonBathQubits

    def surrogate(rho):  # S = |p₊ − p₋| − 2√(p_gg p_ee), basis ee, eg, ge, gg; C = max(0, S)
        p = jnp.real(jnp.diag(rho))
        return 2 * jnp.abs(jnp.real(rho[1, 2])) - 2 * jnp.sqrt(p[0] * p[3])

    def loss(params, rho0):
        L = MagnonBathQubits(**params, temperature=0.5).lindbladian()  # ω = 1
        sol = qdiss.steady_state(L, qdiss.DenseLU(), rho0=rho0, throw=False)
        return -surrogate(sol.rho), sol

    result = qdiss.optimize(
        loss,
        {"eta": jnp.array([0.3, -0.5]), "rate": jnp.array([1.0, 1.0]), "mu": jnp.array([0.0, 0.0])},
        optax.adam(0.1),
        steps=150,
        constraints={
            "eta": qdiss.bounded(-0.999, 0.999),  # |η| = 1 makes the steady state non-unique
            "rate": qdiss.bounded(1e-3, 10.0),    # or qdiss.positive()
            "mu": qdiss.bounded(-4.0, 0.99),      # or qdiss.less_than(1.0): μ < ω
        },
    )
    print(result)                    # reason for stopping, best loss, failures
    result.history.loss              # loss per step; .params, .status, .grad_norm, .accepted
    best = result.best_params        # physical parameters of the best step
    rho = qdiss.steady_state(MagnonBathQubits(**best, temperature=0.5).lindbladian()).rho
    qdiss.measures.concurrence(rho)  # C ≈ 0.26 (qdiss.models.magnon.closed_form_concurrence)

The test also checks that this beats random search over the same box given twice as many
solves (2 × 150: every step is one forward and one adjoint solve), for five seeds.

Why the surrogate: the start (equal μ, i.e. equal up/down ratios in both channels) obeys detailed
balance, where p₊ = p₋ and C = max(0, S) = 0 with S = −2√(p_gg p_ee) < 0: the gradient of C
is exactly zero there (and wherever the state is separable), so an optimiser on C never moves.
S equals C wherever C > 0 and keeps a gradient everywhere else.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, PyTree

from ._solution import RESULTS, SteadyStateSolution, result_codes, result_name

__all__ = [
    "AbstractBijection",
    "Bounded",
    "GreaterThan",
    "Identity",
    "LessThan",
    "OptimizeHistory",
    "OptimizeResult",
    "OptimizeState",
    "OptimizeStep",
    "bounded",
    "constrain",
    "greater_than",
    "less_than",
    "optimize",
    "optimize_init",
    "positive",
    "unconstrain",
]


# --------------------------------------------------------------------------------------------
# Bijections from ℝ onto intervals
# --------------------------------------------------------------------------------------------


def _as(value, like: Array) -> Array:
    return jnp.asarray(value, dtype=like.dtype)


def _softplus_inverse(y: Array) -> Array:
    """log(e^y − 1) = y + log(1 − e^{−y}), stable for small and large y > 0."""
    return y + jnp.log(-jnp.expm1(-y))


class AbstractBijection(eqx.Module):
    """A smooth bijection x = f(u) from ℝ onto an interval, applied elementwise."""

    @abc.abstractmethod
    def forward(self, u: Array) -> Array:
        """Unconstrained u ↦ constrained x."""

    @abc.abstractmethod
    def inverse(self, x: Array) -> Array:
        """Constrained x ↦ unconstrained u (x must lie strictly inside the interval)."""

    @abc.abstractmethod
    def contains(self, x: Array) -> Array:
        """True where x lies strictly inside the interval."""

    def __call__(self, u: Array) -> Array:
        return self.forward(u)


class Identity(AbstractBijection):
    """x = u (no constraint)."""

    def forward(self, u):
        return u

    def inverse(self, x):
        return x

    def contains(self, x):
        return jnp.isfinite(x)


class Bounded(AbstractBijection):
    """x = lo + (hi − lo)·σ(u), σ(u) = 1/(1 + e^{−u}) (= (lo + hi)/2 + (hi − lo)/2 · tanh(u/2)).

    Inverse: u = log(t/(1 − t)), t = (x − lo)/(hi − lo).
    """

    lower: Any
    upper: Any

    def __check_init__(self):
        if not bool(np.all(np.asarray(self.lower) < np.asarray(self.upper))):
            raise ValueError(f"`bounded(lo, hi)` needs lo < hi; got {self.lower}, {self.upper}.")

    def forward(self, u):
        lo, hi = _as(self.lower, u), _as(self.upper, u)
        return lo + (hi - lo) * jax.nn.sigmoid(u)

    def inverse(self, x):
        lo, hi = _as(self.lower, x), _as(self.upper, x)
        t = (x - lo) / (hi - lo)
        return jnp.log(t) - jnp.log1p(-t)

    def contains(self, x):
        return (x > _as(self.lower, x)) & (x < _as(self.upper, x))


class GreaterThan(AbstractBijection):
    """x = lo + softplus(u), softplus(u) = log(1 + e^u).

    Inverse: u = y + log(1 − e^{−y}), y = x − lo.
    """

    lower: Any

    def forward(self, u):
        return _as(self.lower, u) + jax.nn.softplus(u)

    def inverse(self, x):
        return _softplus_inverse(x - _as(self.lower, x))

    def contains(self, x):
        return (x > _as(self.lower, x)) & jnp.isfinite(x)


class LessThan(AbstractBijection):
    """x = hi − softplus(u); inverse u = y + log(1 − e^{−y}), y = hi − x."""

    upper: Any

    def forward(self, u):
        return _as(self.upper, u) - jax.nn.softplus(u)

    def inverse(self, x):
        return _softplus_inverse(_as(self.upper, x) - x)

    def contains(self, x):
        return (x < _as(self.upper, x)) & jnp.isfinite(x)


def bounded(lower, upper) -> Bounded:
    """Constrain a parameter to the open interval (lower, upper) with a sigmoid."""
    return Bounded(lower, upper)


def positive() -> GreaterThan:
    """Constrain a parameter to x > 0 via softplus (rates, temperatures)."""
    return GreaterThan(0.0)


def greater_than(lower) -> GreaterThan:
    """Constrain a parameter to x > lower via softplus."""
    return GreaterThan(lower)


def less_than(upper) -> LessThan:
    """Constrain a parameter to x < upper via softplus (e.g. a chemical potential μ < ω)."""
    return LessThan(upper)


def _is_constraint_leaf(c) -> bool:
    return c is None or isinstance(c, AbstractBijection)


def _map_constraints(method: str, constraints, tree):
    if constraints is None:
        return tree

    def apply(c, sub):
        if c is None:
            return sub
        return jax.tree.map(lambda x: getattr(c, method)(x) if eqx.is_inexact_array(x) else x, sub)

    return jax.tree.map(apply, constraints, tree, is_leaf=_is_constraint_leaf)


def constrain(constraints, u: PyTree) -> PyTree:
    """x = f(u) leaf by leaf. ``constraints`` is a prefix of ``u`` whose leaves are bijections
    or None (unconstrained); ``constraints=None`` leaves everything unconstrained."""
    return _map_constraints("forward", constraints, u)


def unconstrain(constraints, x: PyTree) -> PyTree:
    """u = f⁻¹(x) leaf by leaf (the inverse of :func:`constrain`)."""
    return _map_constraints("inverse", constraints, x)


def _check_inside(constraints, params) -> None:
    if constraints is None:
        return
    inside = _map_constraints("contains", constraints, params)
    flat, _ = jax.tree_util.tree_flatten_with_path(inside)
    for path, ok in flat:
        if eqx.is_array(ok) and not bool(jnp.all(ok)):
            raise ValueError(
                f"Initial parameter `params{jax.tree_util.keystr(path)}` lies outside (or on the "
                "boundary of) its constraint: start strictly inside the interval."
            )


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

_REASONS = {
    "max_steps": "reached the maximum number of steps",
    "loss_converged": "the relative change of the loss stayed below `rtol` for `patience` steps",
    "grad_converged": "the gradient norm stayed below `gtol` for `patience` steps",
    "failure": "a step failed and on_failure='stop'",
    "initial_failure": "the loss failed at the initial parameters",
    "too_many_failures": "`max_failures` consecutive steps failed",
    "callback": "the progress callback asked to stop",
}
# A run stopped for one of these reasons is over: resuming its state takes no further step.
# ("max_steps" and "callback" are resumable: pass the state back with a larger `steps`, or again.)
_FINAL = frozenset(
    {"loss_converged", "grad_converged", "failure", "initial_failure", "too_many_failures"}
)


class OptimizeHistory(eqx.Module):
    """Per-step record of an :func:`optimize` run (host numpy arrays, leading axis = step).

    - ``loss``: the loss at the evaluated parameters (NaN or garbage where the step failed).
    - ``grad_norm``: ‖∂loss/∂u‖₂ in the unconstrained variables u the optimiser sees.
    - ``params``: the evaluated physical parameters, a pytree of stacked arrays.
    - ``status``: the step's :class:`qdiss.RESULTS` code as an integer (0 = successful); the
      solve's code, or ``nonfinite`` for a successful solve with a non-finite loss or gradient.
    - ``residual``: the solve's relative residual (largest over a batch of solves).
    - ``accepted``: whether the step's update was applied.
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    params: PyTree
    status: np.ndarray
    residual: np.ndarray
    accepted: np.ndarray

    @property
    def status_names(self) -> list[str]:
        """The status of each step by name, e.g. ``"successful"`` or ``"non_unique"``."""
        return [result_name(int(c)) for c in self.status]

    def __len__(self) -> int:
        return int(self.accepted.shape[0])

    @property
    def best_step(self) -> int:
        """The accepted step with the lowest loss (−1 if no step was accepted)."""
        if not np.any(self.accepted):
            return -1
        return int(np.argmin(np.where(self.accepted, self.loss, np.inf)))


class OptimizeState(eqx.Module):
    """Everything an :func:`optimize` run needs to continue: pass it back as
    ``optimize(..., state=state)`` and the run goes on exactly (bit for bit) as if it had never
    stopped. A pytree whose leaves are arrays, Python numbers and a string, so that it can be
    saved leaf by leaf (``jax.tree.leaves``) and rebuilt on the structure of
    :func:`optimize_init`'s state for the same parameters and optimiser (:func:`save_state`,
    :func:`load_state`).

    - ``u``: the unconstrained point the next step evaluates (inexact leaves of the parameters);
    - ``opt_state``, ``rho``: the optimiser state and the warm start there;
    - ``anchor``, ``delta``, ``scale``: backtracking — the last successfully evaluated point, the
      update applied there, and the fraction of it the next step takes (halved per failure);
    - ``step``: steps taken; ``calm``: consecutive successful steps meeting a convergence test;
      ``failures``: consecutive failed steps; ``last_good``: the last successful loss (NaN if
      none); ``reason``: why the run stopped (``""`` while it has not);
    - ``history``: the :class:`OptimizeHistory` so far.
    """

    u: PyTree
    opt_state: PyTree
    rho: Array
    anchor: PyTree
    delta: PyTree
    scale: Array
    step: int
    calm: int
    failures: int
    last_good: float
    reason: str
    history: OptimizeHistory

    @property
    def finished(self) -> bool:
        """True if the run stopped for a reason that no further step can change."""
        return self.reason in _FINAL

    @property
    def message(self) -> str:
        """Why the run stopped, in words (``"not finished"`` while it has not)."""
        return _REASONS.get(self.reason, "not finished")


class OptimizeResult(eqx.Module):
    """What :func:`optimize` returns.

    - ``best_params`` / ``best_loss`` / ``best_step``: the successful step with the lowest loss.
    - ``params``: where the run ended — the point the next step would evaluate (physical).
    - ``opt_state``, ``rho``: the optimiser state and warm start there.
    - ``state``: the :class:`OptimizeState` to continue the run from
      (``optimize(loss, params, optimizer, more_steps, state=result.state)``).
    - ``history``: an :class:`OptimizeHistory` of the whole run (resumed parts included).
    - ``num_steps``: the number of steps taken (loss + gradient evaluations).
    - ``reason``: why the loop stopped: ``"max_steps"``, ``"loss_converged"``,
      ``"grad_converged"``, ``"failure"``, ``"initial_failure"``, ``"too_many_failures"`` or
      ``"callback"`` (``.message`` explains it).
    """

    best_params: PyTree
    best_loss: float
    best_step: int
    params: PyTree
    opt_state: PyTree
    rho: Array
    history: OptimizeHistory
    state: OptimizeState
    num_steps: int = eqx.field(static=True)
    reason: str = eqx.field(static=True)

    @property
    def message(self) -> str:
        return _REASONS[self.reason]

    @property
    def num_failures(self) -> int:
        return int(np.sum(~self.history.accepted))

    def __str__(self) -> str:
        return (
            f"OptimizeResult: {self.num_steps} steps, stopped: {self.reason} ({self.message})\n"
            f"  best loss  : {self.best_loss:.10g} at step {self.best_step}\n"
            f"  failures   : {self.num_failures}/{self.num_steps} steps"
        )

    def __repr__(self) -> str:
        return self.__str__()


@dataclasses.dataclass(frozen=True)
class OptimizeStep:
    """What a progress callback receives after every step (host values). ``state`` is the
    :class:`OptimizeState` after the step (built when asked for: save it to resume later)."""

    step: int
    loss: float
    grad_norm: float
    params: PyTree
    status: int
    residual: float
    accepted: bool
    snapshot: Callable[[], OptimizeState] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def status_name(self) -> str:
        return result_name(self.status)

    @property
    def state(self) -> OptimizeState:
        return self.snapshot()


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


class _Carry(eqx.Module):
    u: PyTree  # unconstrained point to evaluate next (inexact-array leaves only)
    opt_state: PyTree
    rho0: Array  # warm start
    anchor: PyTree  # last successfully evaluated point
    delta: PyTree  # the update applied at the anchor
    scale: Array  # fraction of delta taken from the anchor (halved on every failure)


def _tree_where(cond, new, old):
    return jax.tree.map(lambda a, b: jnp.where(cond, a, b), new, old)


def _first_failure(codes: Array) -> Array:
    """The first non-successful code of a (possibly batched) result, or 0."""
    flat = jnp.ravel(codes)
    return flat[jnp.argmax(flat != 0)]


def _unpack(out) -> tuple[Array, SteadyStateSolution]:
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], SteadyStateSolution)):
        raise TypeError(
            "`loss(params, rho0)` must return `(value, sol)` with `sol` the "
            "qdiss.SteadyStateSolution the value came from (use steady_state(..., throw=False))."
        )
    value, sol = out
    value = jnp.asarray(value)
    if value.shape != () or not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(
            f"`loss` must return a real scalar value; got shape {value.shape}, dtype {value.dtype}."
        )
    return value, sol


def _strong(x):
    """Floating arrays with a definite (non-weak) dtype, so the step is traced only once."""
    if isinstance(x, (bool, int, float, np.ndarray, np.generic)) or eqx.is_array(x):
        arr = jnp.asarray(x)
        if not jnp.issubdtype(arr.dtype, jnp.inexact):
            arr = arr.astype(jnp.asarray(1.0).dtype)
        return jnp.array(arr, dtype=arr.dtype)
    return x


def _history_init(params: PyTree) -> OptimizeHistory:
    real = jnp.asarray(1.0).dtype
    return OptimizeHistory(
        loss=np.zeros((0,), real),
        grad_norm=np.zeros((0,), real),
        params=jax.tree.map(lambda x: np.zeros((0,) + np.shape(x), np.asarray(x).dtype), params),
        status=np.zeros((0,), np.int32),
        residual=np.zeros((0,), real),
        accepted=np.zeros((0,), bool),
    )


def _extend(history: OptimizeHistory, records: list) -> OptimizeHistory:
    """The history with the new steps' host records (value, grad_norm, x, status, residual, ok)
    appended (the records alone if it was empty, so that their dtypes are kept)."""
    if not records:
        return history
    stack = lambda i: np.stack([r[i] for r in records])  # noqa: E731
    new = OptimizeHistory(
        loss=stack(0),
        grad_norm=stack(1),
        params=jax.tree.map(lambda *xs: np.stack(xs), *[r[2] for r in records]),
        status=stack(3).astype(np.int32),
        residual=stack(4),
        accepted=stack(5).astype(bool),
    )
    if not len(history):
        return new
    return jax.tree.map(lambda a, b: np.concatenate([a, b]), history, new)


def optimize_init(
    params: PyTree,
    optimizer: optax.GradientTransformation,
    rho0: Array,
    *,
    constraints: PyTree = None,
    opt_state: PyTree = None,
) -> OptimizeState:
    """The state of a run that has taken no step yet: u = f⁻¹(params), the optimiser's initial
    state (or ``opt_state``), the warm start ``rho0`` (made complex) and an empty history. The
    parameters must lie strictly inside their constraints. Its tree structure is that of every
    later state of the run (to rebuild a saved state leaf by leaf)."""
    params = jax.tree.map(_strong, params)
    _check_inside(constraints, params)
    u_dyn = eqx.filter(unconstrain(constraints, params), eqx.is_inexact_array)
    if not jax.tree.leaves(u_dyn):
        raise ValueError("`params` has no floating-point array to optimise.")
    rho0 = jnp.array(rho0)
    if not jnp.issubdtype(rho0.dtype, jnp.complexfloating):
        with jax.numpy_dtype_promotion("standard"):
            rho0 = rho0.astype(jnp.result_type(rho0.dtype, jnp.complex64))
    if opt_state is None:
        with jax.numpy_dtype_promotion("standard"):
            opt_state = optimizer.init(u_dyn)
    opt_state = jax.tree.map(lambda a: jnp.array(a, a.dtype) if eqx.is_array(a) else a, opt_state)
    return OptimizeState(
        u=u_dyn,
        opt_state=opt_state,
        rho=rho0,
        anchor=u_dyn,
        delta=jax.tree.map(jnp.zeros_like, u_dyn),
        scale=jnp.ones((), jnp.asarray(1.0).dtype),
        step=0,
        calm=0,
        failures=0,
        last_good=math.nan,
        reason="",
        history=_history_init(params),
    )


def save_state(file, state: OptimizeState, **extra) -> None:
    """Save ``state`` to ``file`` (a path or a binary file object) as an ``.npz`` holding its
    leaves in ``jax.tree.leaves`` order as ``leaf.0``, ``leaf.1``, … (arrays with their dtype
    and bits; the Python numbers and the ``reason`` string as 0-d arrays), and the named arrays
    ``extra`` beside them (e.g. a fingerprint of the run's settings: ``np.load`` reads them).
    :func:`load_state` rebuilds the state; a run resumed from it continues bit for bit."""
    leaves = {f"leaf.{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(state))}
    np.savez(file, **leaves, **{k: np.asarray(v) for k, v in extra.items()})


def load_state(file, like: OptimizeState) -> OptimizeState:
    """The state that :func:`save_state` wrote to ``file``, rebuilt on the tree structure of
    ``like``: :func:`optimize_init`'s state for the same parameters, optimiser and constraints
    (any ``rho0``: the saved leaves keep their own shapes, and the history its length). Python
    numbers and strings come back as such, JAX arrays as JAX arrays, numpy arrays as numpy
    arrays. Raises ``ValueError`` if the file holds another number of leaves."""
    leaves, treedef = jax.tree.flatten(like)
    with np.load(file, allow_pickle=False) as saved:
        keys = [f"leaf.{i}" for i in range(len(leaves))]
        if any(k not in saved for k in keys) or f"leaf.{len(leaves)}" in saved:
            n = sum(k.startswith("leaf.") for k in saved.files)
            raise ValueError(f"the file holds {n} leaves; `like` has {len(leaves)}.")
        out = []
        for leaf, key in zip(leaves, keys, strict=True):
            if isinstance(leaf, (bool, int, float, str)):
                out.append(type(leaf)(saved[key].item()))
            else:
                out.append(jnp.asarray(saved[key]) if isinstance(leaf, jax.Array) else saved[key])
    return jax.tree.unflatten(treedef, out)


def optimize(
    loss: Callable[[PyTree, Array], tuple[Array, SteadyStateSolution]],
    params: PyTree,
    optimizer: optax.GradientTransformation,
    steps: int,
    *,
    constraints: PyTree = None,
    rho0: Array | None = None,
    opt_state: PyTree = None,
    state: OptimizeState | None = None,
    rtol: float | None = 1e-8,
    atol: float = 0.0,
    gtol: float | None = None,
    patience: int = 10,
    on_failure: Literal["backtrack", "stop"] = "backtrack",
    max_failures: int = 10,
    progress: bool | Callable[[OptimizeStep], Any] = False,
    print_every: int = 10,
) -> OptimizeResult:
    r"""Minimise ``loss`` over ``params`` with an optax optimiser; see the module docstring.

    **Arguments:**

    - ``loss``: ``loss(params, rho0) -> (value, sol)``, a real scalar to minimise and the
      :class:`qdiss.SteadyStateSolution` it came from (solve with ``rho0=rho0, throw=False``).
    - ``params``: initial physical parameters, a pytree of real arrays (Python floats are
      converted); they must lie strictly inside their constraints. Close over fixed parameters
      in ``loss`` instead of putting them here.
    - ``optimizer``: an ``optax.GradientTransformation``, e.g. ``optax.adam(0.05)``. Those that
      take extra arguments (``optax.lbfgs()``'s line search) get ``value``, ``grad`` and
      ``value_fn`` (the loss at other points, solved from the same warm start).
    - ``steps``: the maximum number of steps of the run, counted from its start (a resumed
      ``state``'s steps included).
    - ``constraints``: a prefix pytree of ``params`` with :class:`AbstractBijection` leaves
      (:func:`bounded`, :func:`positive`, :func:`less_than`, ...) or None; the optimiser updates
      u with x = f(u).
    - ``rho0``: the first warm start; default I/n, of the shape of the loss's ``sol.rho``, which
      is found by calling ``loss(params, None)`` once under ``jax.eval_shape``.
    - ``opt_state``: an optimiser state to start from (default ``optimizer.init(u)``).
    - ``state``: an :class:`OptimizeState` (``result.state``, or ``OptimizeStep.state`` in a
      callback) to continue that run from; ``params`` then only gives the parameters' structure
      and ``rho0`` and ``opt_state`` are ignored. The other arguments must be those of the run.
      A finished run (converged or failed) takes no further step.
    - ``rtol``, ``atol``, ``gtol``, ``patience``: stop once |L_k − L_{k−1}| ≤ atol + rtol·|L_k|
      (``"loss_converged"``), or ‖∂L/∂u‖₂ ≤ gtol (``"grad_converged"``), holds for ``patience``
      consecutive successful steps. ``None`` disables a test.
    - ``on_failure``: ``"backtrack"`` or ``"stop"`` (see the module docstring);
      ``max_failures``: consecutive failures after which a backtracking run stops.
    - ``progress``: False (silent), True (print a line every ``print_every`` steps and on every
      failure), or a callable receiving an :class:`OptimizeStep` after every step; if it returns
      True the run stops (``reason="callback"``; its ``state`` continues it).

    **Returns:** an :class:`OptimizeResult`.

    Every step runs the compiled function ``step(carry)``: value and gradient of
    u ↦ loss(f(u), ρ₀), the optax update, and the accept/reject decision by ``jnp.where`` on
    ``sol.result == RESULTS.successful`` and finiteness. It is traced once per call of
    :func:`optimize` (guarded by ``eqx.debug.assert_max_traces``). The stopping rules
    (convergence with patience, consecutive failures, a failure at the run's first step) are
    applied on the host after each step, on counters kept in the state.
    """
    if on_failure not in ("backtrack", "stop"):
        raise ValueError(f"`on_failure` must be 'backtrack' or 'stop'; got {on_failure!r}.")
    if steps < 1:
        raise ValueError(f"`steps` must be at least 1; got {steps}.")
    if patience < 1:
        raise ValueError(f"`patience` must be at least 1; got {patience}.")
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"`optimizer` must be an optax.GradientTransformation; got {optimizer!r}.")

    params = jax.tree.map(_strong, params)
    u_static = eqx.filter(unconstrain(constraints, params), eqx.is_inexact_array, inverse=True)

    def objective(u_dyn, rho0):
        x = constrain(constraints, eqx.combine(u_dyn, u_static))
        value, sol = _unpack(loss(x, rho0))
        return value, (sol, x)

    if state is None:
        if rho0 is None:
            _check_inside(constraints, params)
            u_dyn = eqx.filter(unconstrain(constraints, params), eqx.is_inexact_array)
            shape = jax.eval_shape(lambda v: objective(v, None)[1][0].rho, u_dyn)
            n = shape.shape[-1]
            rho0 = jnp.broadcast_to(jnp.eye(n, dtype=shape.dtype) / n, shape.shape)
        state = optimize_init(params, optimizer, rho0, constraints=constraints, opt_state=opt_state)
    successful = result_codes(RESULTS.successful)
    nonfinite_code = result_codes(RESULTS.nonfinite)

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def step(carry: _Carry):
        (value, (sol, x)), grads = eqx.filter_value_and_grad(objective, has_aux=True)(
            carry.u, carry.rho0
        )
        if sol.rho.shape != carry.rho0.shape:
            raise ValueError(
                f"`rho0` has shape {carry.rho0.shape} but the loss's steady state has shape "
                f"{sol.rho.shape}."
            )
        grad_norm = optax.tree.norm(grads)
        codes = result_codes(sol.result)
        solved = jnp.all(codes == successful)
        finite = jnp.isfinite(value) & jnp.isfinite(grad_norm)
        ok = solved & finite
        nonfinite = jnp.where(finite, 0, nonfinite_code)
        status = jnp.where(solved, nonfinite, _first_failure(codes)).astype(jnp.int32)

        extra = {}
        if isinstance(optimizer, optax.GradientTransformationExtraArgs):  # e.g. optax.lbfgs()
            extra = dict(value=value, grad=grads, value_fn=lambda v: objective(v, carry.rho0)[0])
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int32
            updates, new_opt_state = optimizer.update(grads, carry.opt_state, carry.u, **extra)
        half = carry.scale / 2
        retry = jax.tree.map(lambda a, d: a + half.astype(d.dtype) * d, carry.anchor, carry.delta)
        new = _Carry(
            u=_tree_where(ok, eqx.apply_updates(carry.u, updates), retry),
            opt_state=_tree_where(ok, new_opt_state, carry.opt_state),
            rho0=jnp.where(ok, sol.rho.astype(carry.rho0.dtype), carry.rho0),
            anchor=_tree_where(ok, carry.u, carry.anchor),
            delta=_tree_where(ok, updates, carry.delta),
            scale=jnp.where(ok, jnp.ones_like(carry.scale), half),
        )
        # Keep the carry's dtypes (and non-weak types) fixed, so that the step is traced once.
        new = jax.tree.map(lambda a, b: a.astype(b.dtype) if eqx.is_array(b) else a, new, carry)
        record = (value, grad_norm, x, status, jnp.max(sol.stats.residual), ok)
        return new, record

    carry = _Carry(state.u, state.opt_state, state.rho, state.anchor, state.delta, state.scale)
    if progress is True:
        report = _printer(print_every)
    elif callable(progress):
        report = progress
    else:
        report = None

    k, calm, failures = int(state.step), int(state.calm), int(state.failures)
    last_good, reason = float(state.last_good), str(state.reason) if state.finished else ""
    records = []

    def snapshot() -> OptimizeState:
        return OptimizeState(
            u=carry.u,
            opt_state=carry.opt_state,
            rho=carry.rho0,
            anchor=carry.anchor,
            delta=carry.delta,
            scale=carry.scale,
            step=k,
            calm=calm,
            failures=failures,
            last_good=last_good,
            reason=reason,
            history=_extend(state.history, records),
        )

    while not reason and k < steps:
        carry, record = step(carry)
        value, grad_norm, x, status, residual, ok = record = jax.device_get(record)
        records.append(record)
        value, grad_norm, ok = float(value), float(grad_norm), bool(ok)
        k += 1
        if ok:
            failures = 0
            loss_calm = (
                rtol is not None
                and not math.isnan(last_good)
                and abs(value - last_good) <= atol + rtol * abs(value)
            )
            grad_calm = gtol is not None and grad_norm <= gtol
            calm = calm + 1 if (loss_calm or grad_calm) else 0
            last_good = value
            if calm >= patience:
                reason = "grad_converged" if grad_calm else "loss_converged"
        else:
            failures += 1
            calm = 0
            if k == 1:
                reason = "initial_failure"
            elif on_failure == "stop":
                reason = "failure"
            elif failures >= max_failures:
                reason = "too_many_failures"
        if report is not None:
            info = OptimizeStep(k - 1, value, grad_norm, x, int(status), float(residual), ok)
            if report(dataclasses.replace(info, snapshot=snapshot)) and not reason:
                reason = "callback"
    if not reason:
        reason = "max_steps"

    state = snapshot()
    history = state.history
    best, best_loss, best_params = history.best_step, math.nan, None
    if best >= 0:
        best_loss = float(history.loss[best])
        best_params = jax.tree.map(lambda p: jnp.asarray(p[best]), history.params)
    final = constrain(constraints, eqx.combine(carry.u, u_static))
    return OptimizeResult(
        best_params=best_params,
        best_loss=best_loss,
        best_step=best,
        params=final,
        opt_state=carry.opt_state,
        rho=carry.rho0,
        history=history,
        state=state,
        num_steps=k,
        reason=reason,
    )


def _printer(every: int) -> Callable[[OptimizeStep], None]:
    every = max(int(every), 1)

    def report(info: OptimizeStep) -> None:
        if info.accepted and info.step % every:
            return
        line = f"step {info.step:5d}  loss {info.loss: .8e}  |grad| {info.grad_norm:.2e}"
        if not info.accepted:
            line += f"  FAILED ({info.status_name}; update rejected)"
        print(line, flush=True)

    return report
