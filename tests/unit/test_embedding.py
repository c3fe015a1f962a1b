"""Any embedding from a file: NPZ and CSV read back exactly; bad files refused with the reason."""

import io

import numpy as np
import pytest

from sph_viz import overlap_stats
from sph_viz.cli.main import main
from sph_viz.data.embedding import MAX_EMBEDDING_BYTES, parse_embedding
from sph_viz.results.outputs import features_npz_bytes


@pytest.fixture
def embedding():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    x[7] = 3 * x[3]  # one exact overlap (same direction)
    return x, rng.integers(0, 3, 50), rng.integers(0, 3, 50)


def csv_bytes(x, y, p) -> bytes:
    """The app's CSV export layout: index, f0..f(d-1), label, prediction."""
    head = ",".join(["index", *(f"f{i}" for i in range(x.shape[1])), "label", "prediction"])
    rows = [
        ",".join([str(i), *(repr(float(v)) for v in f), str(a), str(b)])
        for i, (f, a, b) in enumerate(zip(x, y, p, strict=True))
    ]
    return ("\n".join([head, *rows]) + "\n").encode()


def test_npz_and_csv_read_back_exactly(embedding):
    x, y, p = embedding
    for data in (features_npz_bytes(x, y, p), csv_bytes(x, y, p)):
        fx, fy, fp = parse_embedding(data)
        np.testing.assert_array_equal(fx, x)
        np.testing.assert_array_equal(fy, y)
        np.testing.assert_array_equal(fp, p)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda x, y, p: b"a,b\n1,2\n", "the CSV header has no 'label' column"),
        (lambda x, y, p: b"f0,label,prediction\n1,x,2\n", "every CSV cell must be a number"),
        (lambda x, y, p: b"f0,label,prediction\n", "a header row and at least one data row"),
        (lambda x, y, p: b"\xff\xfe", "neither an NPZ nor a UTF-8 CSV"),
        (
            lambda x, y, p: features_npz_bytes(x, y[:10], p),
            r"labels must have shape \(50,\). Got \(10,\) instead.",
        ),
        (lambda x, y, p: features_npz_bytes(x, y.astype(str), p), "labels must be integers"),
        (lambda x, y, p: features_npz_bytes(x[:, 0], y, p), r"features must have shape \(N, d\)"),
        (lambda x, y, p: b" " * (MAX_EMBEDDING_BYTES + 1), "the limit is"),
    ],
)
def test_bad_files_are_refused_with_the_reason(embedding, make, match):
    with pytest.raises(ValueError, match=match):
        parse_embedding(make(*embedding), "upload")


def test_object_arrays_are_never_unpickled(embedding):
    x, _, p = embedding
    buf = io.BytesIO()
    np.savez(buf, features=x, labels=np.array([object()] * 50, dtype=object), predictions=p)
    with pytest.raises(ValueError, match="not a plain-array NPZ"):
        parse_embedding(buf.getvalue(), "upload")


def test_the_cli_counts_a_csv_embedding(embedding, tmp_path, capsys):
    x, y, p = embedding
    (tmp_path / "emb.csv").write_bytes(csv_bytes(x, y, p))
    assert main(["overlap", "--features", str(tmp_path / "emb.csv"), "--tau", "1e-6"]) == 0
    expected = overlap_stats(x, y, p, tau=1e-6)
    assert expected.n_overlap == 2
    assert f"{expected.n_overlap:>16}" in capsys.readouterr().out
