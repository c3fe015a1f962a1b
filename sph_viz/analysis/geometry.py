"""Plane and sphere geometry the figures draw: hyperplanes, their crossing, decision grids.

NumPy only at import: torch (a decision grid runs a model) and scikit-learn (a stratified
subsample) are imported by the two functions that use them, so a page that only draws
lines and spheres (Home) loads neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import nn

Box = tuple[float, float, float, float]  # x0, x1, y0, y1


def compute_line_segment(w: np.ndarray, b: float, box: Box) -> np.ndarray | None:
    """The part of the line w.x + b = 0 inside box, as (2, 2) endpoints; None if it misses."""
    w = np.asarray(w, dtype=np.float64)
    x0, x1, y0, y1 = box
    if np.allclose(w, 0):
        return None
    points = []
    if abs(w[1]) > 1e-12:  # crossings with the vertical edges x = x0, x = x1
        points += [(x, -(b + w[0] * x) / w[1]) for x in (x0, x1)]
    if abs(w[0]) > 1e-12:  # crossings with the horizontal edges y = y0, y = y1
        points += [(-(b + w[1] * y) / w[0], y) for y in (y0, y1)]
    eps = 1e-9 * max(x1 - x0, y1 - y0)
    inside = [p for p in points if x0 - eps <= p[0] <= x1 + eps and y0 - eps <= p[1] <= y1 + eps]
    if len(inside) < 2:
        return None
    inside = np.array(inside)
    # the two crossings farthest apart (a corner can appear twice)
    d = np.linalg.norm(inside[:, None] - inside[None], axis=-1)
    i, j = np.unravel_index(np.argmax(d), d.shape)
    return None if d[i, j] <= eps else inside[[i, j]]


def compute_crossing(weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray | None:
    """Where w_1.x + b_1 = 0 and w_2.x + b_2 = 0 meet: (2,), or None if parallel."""
    weight = np.asarray(weight, dtype=np.float64)
    bias = np.zeros(2) if bias is None else np.asarray(bias, dtype=np.float64)
    if abs(np.linalg.det(weight)) < 1e-12:
        return None
    return np.linalg.solve(weight, -bias)


def decision_boundary(weight: np.ndarray, bias: np.ndarray | None) -> tuple[np.ndarray, float]:
    """D_12: (w_1 - w_2).x + (b_1 - b_2) = 0, as (w, b)."""
    weight = np.asarray(weight, dtype=np.float64)
    b = 0.0 if bias is None else float(bias[0] - bias[1])
    return weight[0] - weight[1], b


@dataclass
class DecisionGrid:
    xs: np.ndarray  # (W,)
    ys: np.ndarray  # (H,)
    prob: np.ndarray  # (H, W): P(class 1)


def compute_decision_grid(model: nn.Module, box: Box, resolution: int = 120) -> DecisionGrid:
    """P(class 1) of a 2-class model on a resolution x resolution grid over box."""
    import torch

    xs = np.linspace(box[0], box[1], resolution)
    ys = np.linspace(box[2], box[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        prob = torch.softmax(model(pts.to(device)), dim=1)[:, 1].cpu().numpy()
    model.train(was_training)
    return DecisionGrid(xs, ys, prob.reshape(resolution, resolution))


def compute_sphere_angles(points: np.ndarray) -> np.ndarray:
    """Hyperspherical angles of points (N, d) -> (N, d-1) radians.

    phi_k = atan2(||x_{k+1:}||, x_k), the inverse of the spherical-to-Cartesian map.
    """
    points = np.asarray(points, dtype=np.float64)
    tail = np.sqrt(np.cumsum((points**2)[:, ::-1], axis=1)[:, ::-1])
    return np.arctan2(tail[:, 1:], points[:, :-1])


def compute_sphere_wireframe(radius: float, n_lines: int = 12, n_points: int = 60) -> np.ndarray:
    """Latitude and longitude circles as one (M, 3) polyline with NaN breaks."""
    t = np.linspace(0, 2 * np.pi, n_points)
    lines = []
    for lat in np.linspace(-np.pi / 2, np.pi / 2, n_lines // 2 + 1)[1:-1]:
        lines.append(
            np.stack([np.cos(lat) * np.cos(t), np.cos(lat) * np.sin(t), np.full_like(t, np.sin(lat))], 1)
        )
    for lon in np.linspace(0, np.pi, n_lines // 2, endpoint=False):
        lines.append(np.stack([np.cos(t) * np.cos(lon), np.cos(t) * np.sin(lon), np.sin(t)], 1))
    nan = np.full((1, 3), np.nan)
    return radius * np.concatenate([np.concatenate([line, nan]) for line in lines])


def stratified_subsample(labels: np.ndarray, cap: int, seed: int = 0) -> np.ndarray:
    """At most `cap` sorted indices, every class kept in proportion (all of them if N <= cap).

    Class k gets floor(cap·n_k/N) rows, at least one while cap covers every class, and the rows
    left over go to the largest remainders; each class's rows are a seeded random choice. NumPy
    only: scikit-learn's `train_test_split`, used before, cost its 0.6 s import in every run
    (the probe of `run_vis3d`, the figures' caps).
    """
    labels = np.asarray(labels)
    if len(labels) <= cap:
        return np.arange(len(labels))
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = counts * (cap / len(labels))
    take = np.floor(quota).astype(np.int64)
    if cap >= len(counts):
        take = np.maximum(take, 1)
    while take.sum() > cap:  # the floor of one per class overdrew: take back where most over quota
        take[np.argmax(np.where(take > 1, take - quota, -np.inf))] -= 1
    short = cap - take.sum()
    if short:
        # largest remainders first, among classes with rows to spare (stable: ties by class)
        order = [k for k in np.argsort(take - quota, kind="stable") if take[k] < counts[k]]
        take[order[:short]] += 1
    rng = np.random.default_rng(seed)
    members = np.argsort(inverse.ravel(), kind="stable")  # row indices grouped by class
    groups = np.split(members, np.cumsum(counts)[:-1])
    picked = [rng.choice(rows, size=k, replace=False) for rows, k in zip(groups, take, strict=True)]
    return np.sort(np.concatenate(picked))


def compute_azimuth_elevation(points: np.ndarray) -> np.ndarray:
    """Azimuth atan2(y, x) in (-pi, pi] and elevation asin(z/||p||) in [-pi/2, pi/2]: (N, 3) -> (N, 2).

    The direction's two angles, whatever the norm; a zero vector gets elevation 0.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must have shape (N, 3). Got {points.shape} instead.")
    norm = np.linalg.norm(points, axis=1)
    sin_el = np.divide(points[:, 2], norm, out=np.zeros(len(points)), where=norm > 0)
    return np.column_stack([np.arctan2(points[:, 1], points[:, 0]), np.arcsin(np.clip(sin_el, -1, 1))])


def count_coincident(points: np.ndarray) -> np.ndarray:
    """For each row of points (N, d), how many rows equal it exactly (itself included): (N,) ints."""
    points = np.asarray(points) + 0.0  # -0.0 -> 0.0: the same point, whatever its sign bit
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    _, inverse, counts = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    return counts[inverse.ravel()]
