"""Safe loading of model files a user hands in: size-limited, weights only, shapes checked.

`torch.load(weights_only=True)` refuses anything but tensors and plain containers, so no
code in a file runs on load. It does inflate every record it reads, though, so a small
archive of compressed zeros could fill the server's memory: the archive's directory is read
first, and a file that would inflate past what the expected architecture needs is refused.
"""

from __future__ import annotations

import io
import zipfile

import torch
from torch import nn

# CNN-Vis3D's state_dict is ~7 MiB. Streamlit's maxUploadSize of 64 "MB" is 64 * 10^6 bytes in a
# browser on Linux and macOS (61 MiB), so the page promises 60 MiB, and this is that.
MAX_MODEL_BYTES = 60 * 2**20
INFLATE_MARGIN = 2**20  # torch's zip holds a pickle and small records beside the tensors
_ZIP_START = b"PK\x03\x04"  # what torch.load checks; anything else it reads as a legacy pickle stream
_DIRECTORY_ENTRY = b"PK\x01\x02"  # every central-directory entry starts with it


def inflated_limit(model: nn.Module) -> int:
    """The most bytes a state_dict file for model may inflate to: twice its tensors, plus 1 MiB."""
    tensors = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return 2 * tensors + INFLATE_MARGIN


def _refused(reason: str) -> ValueError:
    return ValueError(f"not a plain PyTorch state_dict (refused by the safe loader: {reason}).")


def _directory(data: bytes, model: nn.Module) -> list[zipfile.ZipInfo]:
    """The archive's members, from its central directory only: nothing is inflated."""
    if not data.startswith(_ZIP_START):
        raise _refused("not a zip archive; save the model with torch.save in PyTorch 1.6 or later")
    # zipfile builds one object per entry: bound them before it reads a directory of millions
    max_entries = 2 * len(model.state_dict()) + 64
    if data.count(_DIRECTORY_ENTRY) > max_entries:
        raise _refused(f"more than {max_entries} archive members")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise _refused(f"damaged zip archive ({exc})") from None


def _check_inflated_size(members: list[zipfile.ZipInfo], limit: int) -> None:
    total = sum(m.file_size for m in members)
    if total > limit:
        raise ValueError(
            f"model file would inflate to {total / 2**20:,.1f} MiB; the limit for this architecture "
            f"is {limit / 2**20:.1f} MiB."
        )


def _repack(data: bytes, members: list[zipfile.ZipInfo]) -> bytes:
    """The members as an uncompressed archive written here.

    torch's own zip reader might read another directory than zipfile in a crafted file; from
    this copy it reads exactly the members checked, each inflated by zipfile to no more than its
    stated size (zipfile stops there and checks the CRC).
    """
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
            for member in members:
                dst.writestr(member.filename, src.read(member))
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError, RuntimeError) as exc:
        raise _refused(f"damaged zip archive ({exc})") from None
    return out.getvalue()


def _check_finite(state: dict[str, torch.Tensor]) -> None:
    bad = [
        name
        for name, t in state.items()
        if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())
    ]
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"weights must be finite. Got NaN or Inf in {', '.join(bad[:5])}{more} instead.")


def load_checkpoint(data: bytes, model: nn.Module, max_bytes: int = MAX_MODEL_BYTES) -> nn.Module:
    """Load a state_dict file into model, safely: size-limited, weights only, shapes checked."""
    if len(data) > max_bytes:
        raise ValueError(
            f"model file is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB."
        )
    members = _directory(data, model)
    _check_inflated_size(members, inflated_limit(model))
    repacked = _repack(data, members)
    try:
        state = torch.load(io.BytesIO(repacked), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise _refused((str(exc).splitlines() or [type(exc).__name__])[0][:200]) from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError("the file does not hold a state_dict (a mapping of names to tensors).")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = [
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {unexpected[:3]}" if unexpected else "",
            f"wrong shape {wrong[:3]}" if wrong else "",
        ]
        raise ValueError(
            "state_dict does not fit this architecture: " + "; ".join(p for p in parts if p) + "."
        )
    _check_finite(state)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # e.g. a complex tensor where the model has real weights
        raise ValueError(f"state_dict does not fit this architecture: {str(exc)[:200]}") from None
    return model
