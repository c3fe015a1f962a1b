"""User text shown as text: whatever a URL, a config file, an upload or a text field holds.

Streamlit renders the strings given to st.markdown / st.warning / st.error / st.tabs as
Markdown, so a value like `[log in](https://…)` would become a live link and `![t](…)` an image
the browser fetches. `plain` neutralises just what starts Markdown, HTML or Streamlit's own
markup, so ordinary notes (`lr: 'fast' is not a valid float; using 0.01.`) read and compare
exactly as written. Use it inside a message, after some text of ours.
"""

from __future__ import annotations

import re

MAX_SHOWN = 600  # characters of one piece of user text; longer text is cut in the middle
# Backslash escapes (CommonMark). Brackets stay: "[x]" links nowhere once "(" is escaped, and a
# note such as "outside [1, 500]" keeps its text. "_" between two letters or digits never
# emphasises, so "batch_size" stays as written.
_MARKUP = re.compile(r"[\\`*()#+|~$<>&]|(?<![^\W_])_|_(?![^\W_])")
# Bare "https://…", "www.…" and "a@b.c" become links, and ":smile:", ":material/home:" icons,
# after Markdown is parsed (on the plain text, where escapes no longer count): an invisible word
# joiner splits them. A colon before a name also starts a directive (":red[…]"), so it is
# escaped too. "lr: 5" (a space after the colon) is left alone.
_JOINER = "\u2060"
_COLON = re.compile(r":(?=[\w/+\-])")
_SPLIT = re.compile(r"(?i:(?<=\bwww)(?=\.))|(?=@)")
_LINE_BREAK = re.compile(r"[\r\n]+")  # a new line could start a heading, a list or a link definition


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """text, cut in the middle when longer than limit, saying how long it was."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]} … {text[-half:]} ({len(text):,} characters)"


def plain(value: object) -> str:
    """str(value) as Markdown that shows exactly that text: no link, image, HTML, icon or formatting."""
    text = _LINE_BREAK.sub(" ", shorten(str(value)))
    text = _MARKUP.sub(lambda m: "\\" + m.group(), text)
    text = _COLON.sub(lambda m: "\\:" + _JOINER, text)
    return _SPLIT.sub(_JOINER, text)
