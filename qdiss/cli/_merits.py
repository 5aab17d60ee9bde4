"""The figures of merit a study can name (:mod:`qdiss.measures`' registry, under the names the
command line uses), and the step every task computes through: build the model, solve, evaluate."""

from ..measures import (
    GENERIC_MERITS as GENERIC,
    Merit as Merit,
    available_merits as available,
    merit_candidates as candidates,
    resolve_merit as resolve,
)

__all__ = ["GENERIC", "Merit", "available", "candidates", "merit_solver", "resolve"]


def merit_solver(ctx, params: dict, names):
    """``(merits, f)``: the figures of merit ``names`` resolved on the study's model at
    ``params``, and ``f(overrides, rho0=None) -> ({name: value}, solution)``, which builds the
    model with ``overrides`` (concrete or traced) replacing some parameters, solves its steady
    state with the study's solver (``throw=False``: the solution carries the result code) and
    evaluates the figures of merit on it. Every task computes through it."""
    import qdiss

    from ._build import build_model

    entry = ctx.study.model
    model0, L0 = build_model(entry, params, {}, dtype=ctx.dtype)
    merits = [resolve(name, model0, L0) for name in names]

    def f(overrides, rho0=None):
        model, L = build_model(entry, params, overrides, dtype=ctx.dtype)
        sol = qdiss.steady_state(L, ctx.solver, rho0=rho0, throw=False)
        return {m.name: m.fn(model, L, sol.rho) for m in merits}, sol

    return merits, f
