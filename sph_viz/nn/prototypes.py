"""Hyperspherical prototypes (Mettes et al., 2019): fixed class points on S^(D-1), chosen a priori.

- Placement (Eq. 5): minimise L_HP = mean_i max_j M_ij, M = P Pᵀ - 2I, by gradient descent,
  re-projecting every prototype onto the unit sphere after each step, as the paper does.
- Classification: the squared cosine loss (Eq. 1), its gradient (Eq. 2), argmax cosine (Eq. 3).
- Regression (Eq. 7): a value in [low, high] becomes the cosine target r in [-1, 1] to the
  upper-bound prototype; the lower bound is its antipode.

Measured facts about Eq. 5 (what shaped the defaults):
- A constant step oscillates (the max switches pairs); K=10 on S² ends at 64-65° minimum angle.
  Annealing the step to 0 (cosine schedule, the default) settles it: 66.14° for most seeds, the
  best known Tammes value being 66.15°.
- Eq. 5 averages each prototype's *nearest* similarity, so sacrificing a few prototypes can pay:
  on the circle with K >= 7 gradient descent collapses points onto each other (for K=8, six
  coincident points plus two at 120° score 0.625, the regular octagon cos 45° = 0.707). The paper does not
  use Eq. 5 for D=2 but the regular K-gon; `make_prototypes` does the same.
- The same happens on S² for many classes: K = 100, D = 3 ends with two prototypes at 0° for 18
  of 20 seeds (the official `prototypes.py`, which restarts SGD every step, ends at 0.01° for
  seed 0 too), so two classes would share one prototype. `make_prototypes` keeps Eq. 5's result
  unless it has collapsed (its closest pair under half the median nearest-neighbour angle: no
  seed of K = 10 in D = 3 to 64 does), and then spreads the points by minimising the Riesz
  energy sum |p_i - p_j|^-12 from a jittered copy (`spread_prototypes`): 20.2-20.5° for K = 100
  on S², against 21.85° for Fejes Tóth's upper bound on any 100 points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from sph_viz.nn.checks import check_int

SCHEDULES = ("cosine", "constant")
REDUCTIONS = ("sum", "mean")
_EPS = 1e-12
Values = float | np.ndarray | torch.Tensor


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class PrototypeResult:
    prototypes: np.ndarray  # (K, D) float64, unit rows
    losses: np.ndarray  # (steps + 1,) Eq. 5 at the start and after every step
    min_angle_deg: float  # smallest angle between two prototypes
    snapshots: list[np.ndarray] = field(default_factory=list)  # (K, D) each, every record_every steps
    seed: int = 0


def separation_loss(prototypes: np.ndarray) -> float:
    """Eq. 5 for unit rows (K, D): the mean over prototypes of the nearest cosine similarity."""
    m = prototypes @ prototypes.T - 2.0 * np.eye(len(prototypes))
    return float(m.max(axis=1).mean())


def min_angle_deg(prototypes: np.ndarray) -> float:
    """Smallest pairwise angle in degrees of unit rows (K, D)."""
    return float(nearest_angles_deg(prototypes).min())


def _separation_grad(p: np.ndarray) -> np.ndarray:
    """d Eq.5 / dP (K, D): row i's max picks j(i); d(p_i·p_j) reaches both p_i and p_j."""
    k = len(p)
    nearest = (p @ p.T - 2.0 * np.eye(k)).argmax(axis=1)
    grad = p[nearest] / k
    np.add.at(grad, nearest, p / k)
    return grad


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def optimize_prototypes(
    n_classes: int,
    dims: int,
    steps: int = 1000,
    lr: float = 0.1,
    seed: int = 0,
    momentum: float = 0.9,
    record_every: int = 0,
    schedule: str = "cosine",
) -> PrototypeResult:
    """K = n_classes prototypes on S^(dims-1) by SGD with momentum on Eq. 5: -> (K, dims).

    Starts from Gaussian directions (seeded); after each step every row is re-normalised.
    `schedule="cosine"` anneals the step from lr to 0 over `steps` (the paper names no schedule;
    without it the subgradient keeps oscillating), `"constant"` keeps lr. The momentum buffer
    persists across steps. `record_every > 0` keeps the prototypes at step 0 and every
    `record_every` steps (and the last) for animation.
    """
    check_int("n_classes", n_classes, 2)
    check_int("dims", dims, 2)
    check_int("steps", steps, 1)
    check_int("record_every", record_every, 0)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be > 0. Got {lr!r} instead.")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1). Got {momentum!r} instead.")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}. Got {schedule!r} instead.")
    rng = np.random.default_rng(seed)
    p = _unit_rows(rng.standard_normal((n_classes, dims)))  # (K, D)
    velocity = np.zeros_like(p)
    losses = [separation_loss(p)]
    snapshots = [p.copy()] if record_every else []
    for t in range(steps):
        eta = lr * 0.5 * (1.0 + math.cos(math.pi * t / steps)) if schedule == "cosine" else lr
        velocity = momentum * velocity + _separation_grad(p)
        p = _unit_rows(p - eta * velocity)
        losses.append(separation_loss(p))
        if record_every and ((t + 1) % record_every == 0 or t + 1 == steps):
            snapshots.append(p.copy())
    return PrototypeResult(p, np.asarray(losses), min_angle_deg(p), snapshots, seed)


def polygon_prototypes(n_classes: int) -> np.ndarray:
    """The paper's closed form for D=2: (cos psi, sin psi), psi = 2 pi k / K: -> (K, 2)."""
    check_int("n_classes", n_classes, 2)
    psi = 2.0 * np.pi * np.arange(n_classes) / n_classes
    return np.stack([np.cos(psi), np.sin(psi)], axis=1)


def nearest_angles_deg(prototypes: np.ndarray) -> np.ndarray:
    """Each unit row's angle to its nearest other row, in degrees: (K, D) -> (K,)."""
    m = prototypes @ prototypes.T - 2.0 * np.eye(len(prototypes))
    return np.degrees(np.arccos(np.clip(m.max(axis=1), -1.0, 1.0)))


def collapsed(prototypes: np.ndarray) -> bool:
    """Whether Eq. 5 sacrificed a pair: the closest pair under half the median nearest-neighbour angle."""
    nearest = nearest_angles_deg(prototypes)
    return bool(nearest.min() < 0.5 * np.median(nearest))


def spread_prototypes(
    prototypes: np.ndarray, steps: int = 1000, lr: float = 0.05, power: int = 12, seed: int = 0
) -> np.ndarray:
    """Unit rows moved apart by projected descent on the Riesz energy sum_{i != j} |p_i - p_j|^-power.

    A large power weighs the closest pairs most (power -> inf is the Tammes problem, the largest
    smallest angle). Coincident rows have no direction to part in, so the rows are first jittered
    (seeded, 1e-3). Each step moves the row with the largest tangential force by the step size,
    annealed from lr to 0 (cosine), the others in proportion, then re-normalises.
    """
    check_int("steps", steps, 1)
    rng = np.random.default_rng(seed)
    p = _unit_rows(prototypes + 1e-3 * rng.standard_normal(prototypes.shape))
    eye = np.eye(len(p))
    for t in range(steps):
        diff = p[:, None, :] - p[None, :, :]  # (K, K, D)
        weight = ((diff**2).sum(-1) + eye) ** (-(power + 2) / 2) * (1.0 - eye)  # |p_i - p_j|^-(s+2)
        force = (weight[:, :, None] * diff).sum(1)  # -grad / power
        force -= (force * p).sum(1, keepdims=True) * p  # along the sphere
        force /= np.linalg.norm(force, axis=1).max()
        p = _unit_rows(p + lr * 0.5 * (1.0 + math.cos(math.pi * t / steps)) * force)
    return p


def make_prototypes(n_classes: int, dims: int, seed: int = 0, starts: int = 1) -> np.ndarray:
    """Prototypes to train with: the K-gon for dims=2, else the best of `starts` Eq. 5 runs: (K, D).

    "Best" is the largest minimum angle over the seeds seed, seed+1, ..., seed+starts-1. Where Eq. 5
    has collapsed (`collapsed`: two classes would share one prototype, see the module notes), its
    result is spread apart (`spread_prototypes`), so no two classes ever get one prototype.
    """
    check_int("starts", starts, 1)
    if dims == 2:
        return polygon_prototypes(n_classes)
    runs = [optimize_prototypes(n_classes, dims, seed=seed + i) for i in range(starts)]
    best = max(runs, key=lambda r: r.min_angle_deg).prototypes
    return spread_prototypes(best, seed=seed) if collapsed(best) else best


# ---- training and inference with fixed prototypes (torch) ----


def _as_tensor(p: np.ndarray | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(p, dtype=like.dtype, device=like.device)


def _reduce(per_example: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}. Got {reduction!r} instead.")
    return per_example.sum() if reduction == "sum" else per_example.mean()


def prototype_cosines(z: torch.Tensor, prototypes: np.ndarray | torch.Tensor) -> torch.Tensor:
    """cos(z_i, p_c) for every output and prototype: (N, D), (K, D) -> (N, K)."""
    p = F.normalize(_as_tensor(prototypes, z), dim=-1, eps=_EPS)
    return F.normalize(z, dim=-1, eps=_EPS) @ p.T


def prototype_loss(
    z: torch.Tensor, prototypes: np.ndarray | torch.Tensor, labels: torch.Tensor, reduction: str = "sum"
) -> torch.Tensor:
    """Eq. 1: sum_i (1 - cos(z_i, p_{y_i}))²; (N, D), (K, D), (N,) -> scalar.

    The paper sums over examples (the default); "mean" divides by N. Eq. 1's second form prints
    |z·p|, but its first form and Eq. 2 use the signed cosine, as here (with |.| an output
    opposite its prototype would score perfectly).
    """
    cos = prototype_cosines(z, prototypes).gather(1, labels.view(-1, 1)).squeeze(1)  # (N,)
    return _reduce((1.0 - cos) ** 2, reduction)


def prototype_loss_grad(
    z: torch.Tensor, prototypes: np.ndarray | torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Eq. 2, the closed-form d Eq.1 / dz: 2(1 - cos)(cos z/||z||² - p/(||z|| ||p||)): -> (N, D)."""
    p = _as_tensor(prototypes, z)[labels]  # (N, D)
    z_norm = z.norm(dim=1, keepdim=True)
    p_norm = p.norm(dim=1, keepdim=True)
    cos = (z * p).sum(1, keepdim=True) / (z_norm * p_norm)
    return 2.0 * (1.0 - cos) * (cos * z / z_norm**2 - p / (z_norm * p_norm))


def predict_class(z: torch.Tensor, prototypes: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Eq. 3: the class of the most similar prototype: (N, D), (K, D) -> (N,)."""
    return prototype_cosines(z, prototypes).argmax(dim=1)


def _check_bounds(low: float, high: float) -> None:
    if not high > low:
        raise ValueError(f"high must be > low. Got low={low!r}, high={high!r} instead.")


def regression_target(value: Values, low: float, high: float) -> Values:
    """Eq. 7: r = 2 (value - low) / (high - low) - 1, in [-1, 1] for value in [low, high].

    Works elementwise on floats, arrays and tensors.
    """
    _check_bounds(low, high)
    return 2.0 * (value - low) / (high - low) - 1.0


def regression_loss(
    z: torch.Tensor,
    upper_prototype: np.ndarray | torch.Tensor,
    targets: torch.Tensor,
    reduction: str = "sum",
) -> torch.Tensor:
    """Eq. 7: sum_i (r_i - cos(z_i, p_u))²; (N, D), (D,), (N,) -> scalar (the paper sums)."""
    cos = prototype_cosines(z, _as_tensor(upper_prototype, z).view(1, -1)).squeeze(1)  # (N,)
    return _reduce((targets - cos) ** 2, reduction)


def regression_value(
    z: torch.Tensor, upper_prototype: np.ndarray | torch.Tensor, low: float, high: float
) -> torch.Tensor:
    """Eq. 7 inverted: the value whose target is cos(z, p_u): (N, D), (D,) -> (N,)."""
    _check_bounds(low, high)
    cos = prototype_cosines(z, _as_tensor(upper_prototype, z).view(1, -1)).squeeze(1)
    return low + (cos + 1.0) / 2.0 * (high - low)


@dataclass(frozen=True, eq=False)
class JointPrototypes:
    """Classes and regression bounds sharing one output sphere (HPN's rotated MNIST, Fig. 5)."""

    classes: np.ndarray  # (C, D) class prototypes
    upper: np.ndarray  # (D,) prototype of the value `high`
    lower: np.ndarray  # (D,) prototype of the value `low`, the antipode of `upper`
    low: float
    high: float
    digits: tuple[int, ...]  # the MNIST digit of each class prototype


def rotated_mnist_prototypes() -> JointPrototypes:
    """S² output: digits 2, 3, 4, 5, 7 equally spaced in the xy-plane, 0° at the south pole and
    180° at the north pole (the paper's rotation range); classes and bounds are orthogonal.
    """
    classes = np.concatenate([polygon_prototypes(5), np.zeros((5, 1))], axis=1)  # (5, 3)
    return JointPrototypes(
        classes=classes,
        upper=np.array([0.0, 0.0, 1.0]),
        lower=np.array([0.0, 0.0, -1.0]),
        low=0.0,
        high=180.0,
        digits=(2, 3, 4, 5, 7),
    )
