"""Hostile inputs shared by the page, file and browser tests of issue 10: a Markdown payload, a
model file and a model zip bomb (built once per test session)."""

import io
import zipfile
import zlib
from pathlib import Path

import torch

from models.vis3d import CNNVis3D, Vis3DConfig

GIB = 2**30
BOMB_GIB = 3  # what the bomb inflates to; its file is ~3 MB
PAYLOAD = "[Session expired - log in again](https://example.invalid) ![t](https://example.invalid/t.png)"
J = "\u2060"  # the word joiner plain() puts after "https:" so no link is recognised
ZEROS = bytes(2**20)  # the chunk the bomb's tensor record repeats


def spherized() -> CNNVis3D:
    return CNNVis3D(Vis3DConfig("spherized"))


def saved(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


class _RepeatedDeflate:
    """A raw deflate stream (what zipfile's ZIP_DEFLATED writes) that flushes fully after every chunk.

    A full flush empties the compressor's window, so every later 1 MiB chunk of zeros deflates to
    the same ~1 KB: compressed once, then repeated (as the gzip bomb of tests/unit/test_data.py is
    built). The stream stays valid, and 3 GiB of zeros take about a second instead of ~12 s.
    """

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._zeros: bytes | None = None

    def compress(self, data: bytes) -> bytes:
        if self._zeros is not None and data == ZEROS:
            return self._zeros
        out = self._deflate.compress(data) + self._deflate.flush(zlib.Z_FULL_FLUSH)
        if self._zeros is None and data == ZEROS:
            self._zeros = out  # after a full flush, as every chunk is: the same bytes each time
        return out

    def flush(self) -> bytes:
        return self._deflate.flush()


def make_model_bomb(path: Path, inflated_gib: int = BOMB_GIB) -> Path:
    """A real torch.save archive whose first tensor record is inflated_gib GiB of deflated zeros."""
    with (
        zipfile.ZipFile(io.BytesIO(saved(spherized().state_dict()))) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            if "/data/" not in info.filename:
                dst.writestr(info.filename, src.read(info))
            elif not info.filename.endswith("/data/0"):
                dst.writestr(info.filename, bytes(info.file_size))  # zeros: the file stays small
            else:
                with dst.open(info.filename, "w", force_zip64=True) as member:
                    member._compressor = _RepeatedDeflate()  # zipfile still frames it and sums its CRC
                    for _ in range(inflated_gib * 1024):
                        member.write(ZEROS)
    return path


def model_bomb_file(tmp_path_factory) -> Path:
    """The bomb, built once per test session (~1 s) and shared with the browser tests."""
    path = tmp_path_factory.getbasetemp() / "model-bomb.pt"
    if not path.exists():
        make_model_bomb(path.with_suffix(".part")).rename(path)
    return path
