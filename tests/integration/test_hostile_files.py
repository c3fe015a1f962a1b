"""Issue 10: hostile files — model zip bombs, non-finite weights, crowded archives, a looping folder.

Each test drives a real entry point (the library in a subprocess, the CLI; the pages are in
tests/app/test_hostile_pages.py, the browser in tests/e2e/test_hostile_browser.py) and fails
without the handling it names (checked by reverting each handling once; see README, "What we tested").
"""

import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from hostile_inputs import BOMB_GIB, GIB, model_bomb_file, saved, spherized

from sph_viz.results.checkpoints import inflated_limit, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- model files


@pytest.fixture(scope="module")
def model_bomb(tmp_path_factory) -> Path:
    return model_bomb_file(tmp_path_factory)


CHILD = """
import resource, sys
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.results.checkpoints import load_checkpoint
data = open(sys.argv[1], "rb").read()
try:
    load_checkpoint(data, CNNVis3D(Vis3DConfig("spherized")))
    print("loaded")
except ValueError as exc:
    print(exc)
# VmHWM is this process's own peak; ru_maxrss carries pytest's RSS over fork and exec
print(next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith("VmHWM:")) * 1024)
"""


def load_in_child(path: Path) -> tuple[str, int]:
    """(the message, the peak resident memory in bytes) of load_checkpoint in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    message, peak = out.stdout.strip().rsplit("\n", 1)
    return message, int(peak)


@pytest.mark.slow  # a fresh interpreter under a memory limit
def test_model_zip_bomb_is_refused_from_its_directory(model_bomb):
    inflated = sum(i.file_size for i in zipfile.ZipFile(model_bomb).infolist())
    assert model_bomb.stat().st_size < 4 * 2**20 and inflated > BOMB_GIB * GIB  # a real bomb
    message, peak = load_in_child(model_bomb)
    assert peak < GIB, f"peak {peak / 2**20:.0f} MiB"
    limit = inflated_limit(spherized()) / 2**20
    assert message == (
        f"model file would inflate to {inflated / 2**20:,.1f} MiB; the limit for this architecture "
        f"is {limit:.1f} MiB."
    )


def with_a_second_directory(data: bytes) -> bytes:
    """data plus a harmless copy of its directory where zipfile looks (just before the end record);
    the end record still points torch's reader (miniz) at the real one."""
    end = data.rindex(b"PK\x05\x06")
    size, offset = struct.unpack_from("<II", data, end + 12)
    real = data[offset : offset + size]
    huge = struct.pack("<Q", BOMB_GIB * GIB)  # the bomb's size in its zip64 extra field
    assert real.count(huge) == 1
    fake = real.replace(huge, struct.pack("<Q", 1152))
    record = bytearray(data[end:])
    struct.pack_into("<II", record, 12, len(fake), offset)
    return data[: offset + size] + fake + bytes(record)


@pytest.mark.slow  # a fresh interpreter under a memory limit
def test_a_second_directory_cannot_hide_the_bomb(model_bomb, tmp_path):
    crafted = tmp_path / "two-directories.pt"
    crafted.write_bytes(with_a_second_directory(model_bomb.read_bytes()))
    small = [i.file_size for i in zipfile.ZipFile(crafted).infolist()]
    assert sum(small) < inflated_limit(spherized())  # zipfile's view passes the size check
    message, peak = load_in_child(crafted)
    assert peak < GIB, f"peak {peak / 2**20:.0f} MiB"
    assert message.startswith("not a plain PyTorch state_dict (refused by the safe loader: damaged zip")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_weights_are_refused_naming_the_tensors(bad):
    state = spherized().state_dict()
    state["trunk.0.weight"][0, 0, 0, 0] = bad
    state["trunk.1.running_var"][1] = bad
    with pytest.raises(
        ValueError,
        match=r"weights must be finite. Got NaN or Inf in trunk.0.weight, trunk.1.running_var instead.",
    ):
        load_checkpoint(saved(state), spherized())


def test_legacy_and_crowded_archives_are_refused():
    state = spherized().state_dict()
    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=False)  # sizes read from the stream itself
    with pytest.raises(ValueError, match="refused by the safe loader: not a zip archive"):
        load_checkpoint(buf.getvalue(), spherized())
    out = io.BytesIO()  # thousands of tiny members: zipfile would build an object for each
    with zipfile.ZipFile(io.BytesIO(saved(state))) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        for k in range(5000):
            dst.writestr(f"archive/extra/{k}", b"")
    with pytest.raises(ValueError, match=r"refused by the safe loader: more than \d+ archive members"):
        load_checkpoint(out.getvalue(), spherized())


@pytest.mark.slow  # the command line in a fresh interpreter
def test_a_looping_data_folder_on_the_command_line(symlink_loop):
    out = subprocess.run(
        [sys.executable, "-m", "sph_viz", "vis3d", "--data", str(symlink_loop), "--epochs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert [line for line in out.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {symlink_loop}: symbolic link loop (the path leads back to itself)."
    ]
