"""What a page derives from a result (arrays, figures), computed once per result and session.

A rerun that only moves a slider or picks a sample should not rebuild a 10,000-point map or
recount a confusion matrix. Results are plain Python objects held by the session (its memo of
runs), so the memo is keyed by the result itself (its identity), in the session.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")
MAX_RESULTS = 8  # results whose derived values a session keeps (the oldest go first)
KEY = "derived_memo"


def derived(result: object, name: Hashable, make: Callable[[], T]) -> T:
    """make(), computed once per (result, name) in this session; the caller must not change it."""
    memo = st.session_state.setdefault(KEY, {})
    entry = memo.get(id(result))
    if entry is None or entry[0] is not result:  # an id can be reused once a result is gone
        memo.pop(id(result), None)
        entry = memo[id(result)] = (result, {})
        while len(memo) > MAX_RESULTS:
            memo.pop(next(iter(memo)))
    values = entry[1]
    if name not in values:
        values[name] = make()
    return values[name]
