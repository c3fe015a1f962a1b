"""The spread init of the spherized head's classifier: every class owns a cell where s starts."""

import math

import pytest
import torch

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.nn.head_init import PATCH, init_spread_, spread_directions
from sph_viz.nn.layers import cartesian_to_angles, spherize_reference


def winners(weight: torch.Tensor, patch=PATCH, steps: int = 120) -> set[int]:
    """The classes that win somewhere on a grid of angles over the patch (both angles)."""
    g = torch.linspace(patch[0], patch[1], steps, dtype=torch.float64) * (math.pi / 2)
    p1, p2 = torch.meshgrid(g, g, indexing="ij")
    s = spherize_reference(torch.stack([p1, p2], -1).reshape(-1, 2))
    return set((s @ weight.double().T).argmax(1).tolist())


@pytest.mark.parametrize("n", [1, 2, 10, 37])
def test_directions_lie_on_the_lattice_inside_the_patch(n):
    d = spread_directions(n)
    torch.testing.assert_close(d.norm(dim=1), torch.ones(n, dtype=torch.float64), rtol=0, atol=1e-15)
    phi = cartesian_to_angles(d) / (math.pi / 2)  # back to fractions of [0, π/2]
    low, high = PATCH
    q1 = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    torch.testing.assert_close(phi[:, 0], low + (high - low) * q1, rtol=0, atol=1e-12)
    assert ((phi >= low - 1e-12) & (phi <= high + 1e-12)).all()
    assert len({round(x, 9) for x in phi[:, 1].tolist()}) == n  # distinct second angles too


def test_every_class_wins_in_the_patch_where_torchs_init_leaves_some_without_a_cell():
    spread, default = [], []
    for seed in range(20):
        torch.manual_seed(seed)
        w = torch.nn.Linear(3, 10, bias=False).weight.detach()
        default.append(len(winners(w)))
        init_spread_(w, 4.0)
        spread.append(len(winners(w)))
        torch.testing.assert_close(w.norm(dim=1), torch.full((10,), 4.0))
        assert (w > 0).all()  # inside the octant, like every s
    assert spread == [10] * 20
    assert max(default) < 10  # the failure the init exists for


def test_classes_get_the_directions_in_a_seeded_random_order():
    def rows(seed):
        torch.manual_seed(seed)
        return init_spread_(torch.empty(10, 3), 2.0)

    assert torch.equal(rows(3), rows(3))
    assert not torch.equal(rows(3), rows(4))
    a, b = (sorted(map(tuple, r.tolist())) for r in (rows(3), rows(4)))
    assert a == b  # the same ten directions, dealt out differently


def test_spread_changes_only_the_spherized_classifier_and_is_checked():
    torch.manual_seed(0)
    a = CNNVis3D(Vis3DConfig("spherized")).state_dict()
    torch.manual_seed(0)
    b = CNNVis3D(Vis3DConfig("spherized", classifier_init="spread")).state_dict()
    assert a.keys() == b.keys()  # the same architecture: checkpoints load either way
    assert [k for k in a if not torch.equal(a[k], b[k])] == ["classifier.weight"]
    with pytest.raises(ValueError, match=r"classifier_init must be one of default, spread\. Got 'zeros'"):
        Vis3DConfig(classifier_init="zeros")
    with pytest.raises(ValueError, match=r"weight must have shape \(C, 3\)\. Got \(10, 4\) instead\."):
        init_spread_(torch.empty(10, 4), 1.0)
    with pytest.raises(ValueError, match=r"norm must be > 0\. Got 0\.0 instead\."):
        init_spread_(torch.empty(10, 3), 0.0)
