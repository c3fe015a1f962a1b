"""bfloat16 training: the trunk autocasts, the sphere and the head stay float32, evaluation too."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.data.idx import load_image_folder, normalize_images
from sph_viz.experiments.result import seeded
from sph_viz.experiments.vis3d import run_vis3d
from sph_viz.nn.layers import Spherization
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import predict
from sph_viz.training.precision import bfloat16_native, training_autocast

BF16 = torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.mark.parametrize("n", [2, 5, 64])
def test_spherization_ignores_autocast(n):
    """Inside a bfloat16 region the layer gives exactly its float32 output, on bf16 input too."""
    torch.manual_seed(n)
    layer = Spherization(n, radius=5.0, scale=2.0)
    z = torch.randn(256, n) * 3
    exact = layer(z)
    with BF16:
        inside = layer(z)
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, exact, rtol=0, atol=0)
    with BF16:
        from_bf16 = layer(z.bfloat16())  # a bf16 input is widened, not kept
    assert from_bf16.dtype == torch.float32
    np.testing.assert_allclose(from_bf16.norm(dim=-1).detach().numpy(), 5.0, rtol=1e-5)
    # the same as float32 on the rounded input: only the input's rounding differs
    torch.testing.assert_close(from_bf16, layer(z.bfloat16().float()), rtol=0, atol=0)


def test_cnn_vis3d_head_stays_float32_under_autocast():
    model = seeded(lambda: CNNVis3D(Vis3DConfig("spherized", radius=5.0)), 0).eval()
    x = torch.randn(32, 1, 28, 28)
    with torch.no_grad(), BF16:
        trunk = model.trunk(x)
        feats = model.features(x)
        logits = model(x)
    assert trunk.dtype == torch.bfloat16  # the trunk does run in bf16: the speed-up is real
    assert feats.dtype == torch.float32 and logits.dtype == torch.float32
    np.testing.assert_allclose(feats.norm(dim=-1).numpy(), 5.0, rtol=1e-6)
    # the head is the float32 head applied to the bf16 trunk's output, to the last bit
    with torch.no_grad():
        torch.testing.assert_close(feats, model.feature(trunk.float()), rtol=0, atol=0)
        torch.testing.assert_close(logits, model.classifier(feats), rtol=0, atol=0)


NATIVE = bfloat16_native(torch.device("cpu"))
needs_bf16 = pytest.mark.skipif(not NATIVE, reason="this CPU has no native bfloat16 (no AVX-512)")


def test_training_autocast_only_for_bfloat16_where_the_cpu_computes_it():
    assert training_autocast("float32", torch.device("cpu")).__class__.__name__ == "nullcontext"
    with training_autocast("bfloat16", torch.device("cpu")):
        # bf16 where oneDNN has native kernels; elsewhere float32, never an emulated bf16
        assert torch.is_autocast_enabled("cpu") == NATIVE
        if NATIVE:
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_train_config_refuses_an_unknown_precision():
    with pytest.raises(
        ValueError, match=r"precision must be one of float32, bfloat16\. Got 'float16' instead\."
    ):
        TrainConfig(precision="float16")


@needs_bf16
def test_bfloat16_training_learns_and_evaluates_in_float32(small_mnist):
    """A bf16 run learns like the float32 run of the same seed; its results are float32 and exact."""
    # Long enough to learn (about 70 % on these 200 test images): near chance, a run's accuracy is
    # noise, and any change of summation order (fused Adam's, say) moves it by more than 5 points.
    base = dict(epochs=3, batch_size=50, lr=1e-2, optimizer="adam", schedule="onecycle")
    model = Vis3DConfig("spherized", classifier_init="spread")
    runs = {
        p: run_vis3d(model, TrainConfig(**base, precision=p), data_dir=small_mnist, probe_size=50)
        for p in ("float32", "bfloat16")
    }
    fp32, bf16 = runs["float32"], runs["bfloat16"]
    assert bf16.features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(bf16.features, axis=1), 5.0, rtol=1e-5)
    assert bf16.test_accuracy == (bf16.predictions == bf16.labels).mean()
    assert bf16.train.history[-1].loss < bf16.train.history[0].loss  # it learns
    assert bf16.config["train"]["precision"] == "bfloat16"  # a different cache key
    # not the same numbers (bf16 really ran), but the same skill within a few images of 200
    assert not np.array_equal(bf16.features, fp32.features)
    assert min(bf16.test_accuracy, fp32.test_accuracy) > 0.5  # both learnt (chance: 0.1)
    assert abs(bf16.test_accuracy - fp32.test_accuracy) <= 0.05
    # the reported features are the model's float32 evaluation: recomputed here, they agree exactly
    test = load_image_folder(small_mnist)["test"]
    feats, _ = predict(bf16.model, normalize_images(test.images))
    np.testing.assert_array_equal(feats.numpy(), bf16.features)


@needs_bf16
def test_bfloat16_gradients_reach_every_layer():
    model = seeded(lambda: CNNVis3D(Vis3DConfig("spherized")), 0)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    with training_autocast("bfloat16", torch.device("cpu")):
        logits = model(x)
    F.cross_entropy(logits.float(), y).backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.dtype == torch.float32, name  # master weights stay float32


def test_prototype_net_cosines_stay_float32_under_autocast():
    from models.prototype_net import PrototypeNet, PrototypeNetConfig

    model = seeded(lambda: PrototypeNet(PrototypeNetConfig(dims=3)), 0).eval()
    x = torch.randn(16, 1, 28, 28)
    with torch.no_grad(), BF16:
        feats, cos = model.features(x), model(x)
    assert feats.dtype == torch.float32 and cos.dtype == torch.float32
    np.testing.assert_allclose(feats.norm(dim=1).numpy(), 1.0, rtol=1e-6)
    with torch.no_grad():  # the cosines are the float32 head on those features, exactly
        torch.testing.assert_close(cos, model.classifier(feats), rtol=0, atol=0)
