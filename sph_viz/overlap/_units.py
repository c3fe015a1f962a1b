"""Unit vectors for the overlap statistics, duplicate directions, and the proven rounding margins.

Notation for the margins: u32 = 2^-24 and u64 = 2^-53 are the unit roundoffs of float32 and
float64, and gamma(k, u) = k u / (1 - k u) bounds the relative error of any k-term dot product
computed in that precision, whatever the summation order (Higham, Accuracy and Stability of
Numerical Algorithms, Lemma 3.1 and eq. 3.5).
"""

from __future__ import annotations

import numpy as np

U32, U64 = 2.0**-24, 2.0**-53
_CHUNK_ROWS = 4096  # rows per pass: temporaries stay a few MiB whatever N


def _gamma(k: int, u: float) -> float:
    return k * u / (1 - k * u) if k * u < 0.5 else np.inf


def unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 unit rows, normalised in place over x (N, d) float64, and the zero-row mask (N,)."""
    zero = np.zeros(len(x), dtype=bool)
    for start in range(0, len(x), _CHUNK_ROWS):
        rows = x[start : start + _CHUNK_ROWS]
        peak = np.abs(rows).max(axis=1)
        is_zero = zero[start : start + _CHUNK_ROWS]
        is_zero[:] = peak == 0
        # Scale by a power of two near the max-abs first: exact, so rows of norm 1e-200 or 1e300
        # neither underflow to a "zero vector" nor overflow when squared.
        _, exponent = np.frexp(np.where(is_zero, 1.0, peak))
        np.ldexp(rows, -exponent[:, None], out=rows)
        norm = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        rows /= np.where(is_zero, 1.0, norm)[:, None]
        rows += 0.0  # -0.0 becomes +0.0, so equal directions have equal bits
    return x, zero


def first_copies(units: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """For each row of units (N, d), the smallest index of a row with bit-identical direction (N,)."""
    n, d = units.shape
    first = np.arange(n)
    live = np.flatnonzero(~zero)
    if len(live) < 2:
        return first
    bits = units.view(np.uint64)
    mix = np.random.default_rng(0x5EED).integers(1, 2**63, size=d, dtype=np.uint64) | np.uint64(1)
    digest = np.empty(len(live), dtype=np.uint64)
    for start in range(0, len(live), _CHUNK_ROWS):
        rows = live[start : start + _CHUNK_ROWS]
        digest[start : start + len(rows)] = (bits[rows] * mix).sum(axis=1)  # wraps mod 2^64 on purpose
    order = np.lexsort((live, digest))  # by digest, then index: each run starts at its smallest row
    sorted_digest = digest[order]
    new_run = np.r_[True, sorted_digest[1:] != sorted_digest[:-1]]
    if new_run.all():
        return first
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(order)), 0))
    same = np.flatnonzero(~new_run)
    rows, leads = live[order[same]], live[order[run_start[same]]]
    # A shared digest only proposes a copy; the bits decide (a collision just stays unmerged).
    equal = np.ones(len(rows), dtype=bool)
    for start in range(0, len(rows), _CHUNK_ROWS):
        part = slice(start, start + _CHUNK_ROWS)
        equal[part] = (bits[rows[part]] == bits[leads[part]]).all(axis=1)
    first[rows[equal]] = leads[equal]
    return first


def screen_margin(d: int) -> float:
    """Proven bound on |float32 screen cosine - float64 cosine| for unit rows of dimension d.

    Let a, b be the float64 unit rows. Normalising in float64 leaves ||a||^2 <= 1 + eta with
    eta = (d + 5) u64. Rounding to float32 moves each entry by at most u32 |a_k| (plus 2^-150
    where it underflows), so |a32.b32 - a.b| <= (2 u32 + u32^2)(1 + eta). The float32 dot product
    adds at most gamma(d, u32) sum |a32_k b32_k| <= gamma(d, u32)(1 + u32)^2 (1 + eta). The float64
    recheck itself is off a.b by at most gamma(d, u64)(1 + eta), and can exceed 1 by at most
    eta + gamma(d, u64), which clipping removes. Underflow in the float32 products and sums adds at
    most 4 d 2^-150. The sum, widened by 2^-20 for the rounding of this very formula, is returned.
    """
    eta = (d + 5) * U64
    g32, g64 = _gamma(d, U32), _gamma(d, U64)
    bound = (2 * U32 + U32**2) * (1 + eta) + g32 * (1 + U32) ** 2 * (1 + eta)
    bound += 2 * g64 * (1 + eta) + eta + 4 * d * 2.0**-150
    return min(bound * (1 + 2.0**-20), 4.0)  # 4 > any cosine gap: every pair becomes a candidate


def chord_slack(d: int) -> float:
    """Proven slack on squared chord lengths so a KD-tree misses no float64-cosine candidate.

    For float64 unit rows a, b (||a||^2 within eta = (d + 5) u64 of 1) the exact squared chord is
    ||a||^2 + ||b||^2 - 2 a.b, within 2 eta of 2 - 2 a.b. A tree computes it with at most
    E = 4 gamma(d + 1, u64)(1 + eta) error, and the float64 cosine is off a.b by at most
    gamma(d, u64)(1 + eta). So cos64(j) >= cos64(k) implies chord2(j) <= chord2(k) + S with
    S = 4 eta + 2 E + 4 gamma(d, u64)(1 + eta); S is doubled for the square roots and squares of radii.
    """
    eta = (d + 5) * U64
    e = 4 * _gamma(d + 1, U64) * (1 + eta)
    return 2 * (4 * eta + 2 * e + 4 * _gamma(d, U64) * (1 + eta))


def floor32(x: np.ndarray) -> np.ndarray:
    """Float64 values (n,) rounded down to float32 (n,), so float32 comparisons never lose a candidate."""
    y = np.asarray(x, dtype=np.float64).astype(np.float32)
    up = y > x
    y[up] = np.nextafter(y[up], np.float32(-np.inf))
    return y


def dot_pairs(units: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float64 cosines (M,) of the unit-row pairs (a[k], b[k]), clipped to [-1, 1]."""
    out = np.empty(len(a))
    step = max(1, 2**21 // max(1, units.shape[1]))  # gathered rows stay ~16 MiB each
    for start in range(0, len(a), step):
        part = slice(start, start + step)
        out[part] = np.einsum("ij,ij->i", units[a[part]], units[b[part]])
    return np.clip(out, -1.0, 1.0, out=out)
