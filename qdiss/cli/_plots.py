"""PNG plots of saved results (matplotlib, Agg backend): a heat map per figure of merit for a
two-parameter sweep, a line plot for a one-parameter sweep, and the objective and parameter
history of an optimisation. Failed points are drawn, never left out: grey cells with a red ×
(heat maps), red × marks on the axis (line plots, optimisation steps)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._context import label_with_unit as unit_label
from ._store import load_json, load_npz

_FAILED = "#d62728"
_STAR = dict(marker="*", markeredgecolor="black", linestyle="none")


def plot_task(results_dir: Path, task, title: str) -> list[Path]:
    """Plot the saved results of a sweep or optimize ``task``; returns the files written."""
    if task.kind not in ("sweep", "optimize", "spectrum"):
        return []
    meta = load_json(Path(results_dir) / f"{task.name}.json")
    arrays = load_npz(Path(results_dir) / f"{task.name}.npz")
    if meta is None or arrays is None:
        return []
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out = Path(results_dir) / task.name
    if task.kind == "optimize":
        figs = {Path(f"{out}.png"): _history(plt, meta, arrays, title)}
    elif task.kind == "spectrum":
        figs = {Path(f"{out}.png"): _spectrum(plt, meta, arrays, title)}
    elif len(meta["axes"]) == 2:
        figs = {
            Path(f"{out}.{m['name']}.png"): _heatmap(plt, meta, arrays, m, title)
            for m in meta["merits"]
        }
    else:
        figs = {Path(f"{out}.png"): _lines(plt, meta, arrays, title)}
    for path, fig in figs.items():
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return list(figs)


def _failed(meta, status) -> tuple[np.ndarray, str]:
    """The mask of failed points (computed, not successful) and their legend label."""
    bad = (status != 0) & (status != -1)
    kinds = sorted({meta["status_codes"].get(str(int(c)), str(int(c))) for c in status[bad]})
    return bad, f"solve failed ({', '.join(kinds)}): {int(bad.sum())}"


def _mark_on_axis(ax, x, label) -> None:
    """Red × on the x axis at ``x`` (failed points of a line, failed optimisation steps)."""
    ax.plot(
        x,
        np.zeros(x.size),
        linestyle="none",
        marker="x",
        color=_FAILED,
        markersize=8,
        transform=ax.get_xaxis_transform(),
        clip_on=False,
        label=label,
    )


def _set_axis(ax, axis: dict, which: str = "x") -> None:
    """Label and scale (linear or log) one axis of ``ax`` from a sweep axis' JSON entry."""
    getattr(ax, f"set_{which}label")(unit_label(axis["label"], axis["unit"]))
    getattr(ax, f"set_{which}scale")("log" if axis["scale"] == "log" else "linear")


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log10(values) if log else values
    if v.size == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return 10**e if log else e


def colour_scale(merit: dict, finite: np.ndarray) -> tuple[str, float | None]:
    """``(colour map, centre)`` of a heat map of the figure of merit ``merit`` (its entry of the
    sweep's JSON) with finite values ``finite``. A non-negative quantity gets the sequential
    ``viridis`` (centre None): one whose declared lower bound ``merit["lower"]`` is ≥ 0 (e.g.
    negativity, concurrence, purity), whatever its values — rounding noise at −1e-16 is not a
    sign change — or, with no declared bound, one whose values are all ≥ 0. Only values of both
    signs of a quantity not declared non-negative get the diverging ``RdBu_r`` centred on 0."""
    lower = merit.get("lower")
    if lower is not None and lower >= 0:
        return "viridis", None
    if finite.size and finite.min() < 0 < finite.max():
        return "RdBu_r", 0.0
    return "viridis", None


def _heatmap(plt, meta, arrays, merit, title):
    from matplotlib.colors import Normalize, TwoSlopeNorm

    ax_x, ax_y = meta["axes"]
    x, y, z = arrays[ax_x["key"]], arrays[ax_y["key"]], arrays[merit["key"]]  # z NaN if failed
    status = arrays["status"]
    fig, ax = plt.subplots(figsize=(6.8, 5.4), layout="constrained")
    finite = z[np.isfinite(z)]
    cmap_name, centre = colour_scale(merit, finite)
    norm = None
    if centre is not None:  # diverging map centred on 0
        norm = TwoSlopeNorm(vcenter=centre, vmin=finite.min(), vmax=finite.max())
    elif merit.get("lower") is not None and finite.size:  # rounding below a declared floor
        vmin = max(merit["lower"], finite.min())
        norm = Normalize(vmin=vmin, vmax=max(vmin, finite.max()))
    cmap = plt.get_cmap(cmap_name).with_extremes(bad="#bdbdbd")  # failed points: grey
    edges = [_edges(v, a["scale"] == "log") for v, a in ((x, ax_x), (y, ax_y))]
    mesh = ax.pcolormesh(*edges, np.ma.masked_invalid(z).T, cmap=cmap, norm=norm, shading="flat")
    fig.colorbar(mesh, ax=ax, label=unit_label(merit["name"], merit["unit"]))
    xx, yy = np.meshgrid(x, y, indexing="ij")
    bad, label = _failed(meta, status)
    if bad.any():
        ax.scatter(xx[bad], yy[bad], marker="x", color=_FAILED, s=30, label=label)
    if (status == -1).any():
        todo = status == -1
        ax.scatter(xx[todo], yy[todo], marker=".", color="k", s=8, label="not computed yet")
    mx, my = (_base(meta, axis) for axis in (ax_x, ax_y))  # the sweep's base point
    if meta.get("start") and x.min() <= mx <= x.max() and y.min() <= my <= y.max():
        label = f"best point of {meta['start']!r}"
        ax.plot(mx, my, color="white", markersize=16, label=label, **_STAR)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    _set_axis(ax, ax_x, "x")
    _set_axis(ax, ax_y, "y")
    ax.set_title(f"{title}\n{merit['name']} of the steady state ({meta['model']})", fontsize=10)
    return fig


def _base(meta, axis) -> float:
    value = np.asarray(meta["parameters"].get(axis["parameter"]), dtype=float)
    return float(value if axis["index"] is None else value[axis["index"]])


def _lines(plt, meta, arrays, title):
    """One panel per unit: figures of merit with the same unit share a panel (e.g. an exact
    value and its closed form), each as a line with a legend."""
    (axis,) = meta["axes"]
    x = arrays[axis["key"]]
    bad, label = _failed(meta, arrays["status"])
    groups: dict = {}
    for merit in meta["merits"]:
        groups.setdefault(merit["unit"], []).append(merit)
    size = (6.8, 2.2 + 2.2 * len(groups))
    fig, axes = plt.subplots(len(groups), 1, figsize=size, sharex=True, layout="constrained")
    axes = np.atleast_1d(axes)
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("d", "-.")]
    for ax, (unit, merits) in zip(axes, groups.items(), strict=True):
        for merit, (marker, line) in zip(merits, styles * len(merits), strict=False):
            y = arrays[merit["key"]]
            ax.plot(x, y, marker=marker, markersize=3, linestyle=line, label=merit["name"])
        if bad.any():
            _mark_on_axis(ax, x[bad], label)
        ax.set_ylabel(unit_label(merits[0]["name"] if len(merits) == 1 else "value", unit))
        if len(merits) > 1 or bad.any():
            ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    _set_axis(axes[-1], axis)
    axes[0].set_title(f"{title}\nsteady state of {meta['model']}", fontsize=10)
    return fig


def _spectrum(plt, meta, arrays, title):
    """S(ω) as a line, failed frequencies marked on the axis."""
    fig, ax = plt.subplots(figsize=(6.8, 3.2), layout="constrained")
    ax.plot(arrays["omega"], arrays["spectrum"], linestyle="-")
    bad, label = _failed(meta, arrays["status"])
    if bad.any():
        _mark_on_axis(ax, arrays["omega"][bad], label)
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel("ω")
    ax.set_ylabel(f"S(ω) of jump operator {meta['jump']}")
    ax.set_title(f"{title}\nemission spectrum of {meta['model']}", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def _history(plt, meta, arrays, title):
    step, objective, ok = arrays["step"], arrays["objective"], arrays["accepted"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.8, 6.4), sharex=True, layout="constrained")
    top.plot(step[ok], objective[ok], color="#1f77b4", marker=".", markersize=3, linewidth=1.2)
    if (~ok).any():
        _mark_on_axis(top, step[~ok], f"failed step (update rejected): {(~ok).sum()}")
    best = meta.get("best_step", -1)
    if best is not None and best >= 0:
        label = f"best: {objective[best]:.6g} (step {best})"
        top.plot(step[best], objective[best], color="gold", markersize=14, label=label, **_STAR)
    if top.get_legend_handles_labels()[0]:
        top.legend(loc="best", fontsize=8)
    top.set_ylabel(unit_label(meta["objective"], meta["objective_unit"]))
    goal = "maximised" if meta["goal"] == "maximize" else "minimised"
    top.set_title(f"{title}\n{meta['objective']} {goal} by {meta['optimizer']}", fontsize=10)
    top.grid(alpha=0.3)
    lines = 0
    for var in meta["variables"]:
        values = arrays[var["key"]].reshape(step.size, -1)
        for j in range(values.shape[1]):
            label = var["label"] if values.shape[1] == 1 else f"{var['label']}[{j}]"
            bottom.plot(step, values[:, j], linewidth=1.4, label=unit_label(label, var["unit"]))
            lines += 1
    bottom.set_xlabel("optimisation step")
    bottom.set_ylabel("parameter value")
    bottom.grid(alpha=0.3)
    bottom.legend(loc="best", fontsize=8, ncol=1 if lines <= 5 else 2)
    return fig
