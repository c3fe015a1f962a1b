"""A headless Streamlit session over the app's own websocket: what a browser tab sends and gets.

One `Session` is one tab: it connects to `/_stcore/stream`, asks for a page (with a query
string) the way the browser does (`BackMsg.rerun_script`), and collects the text of the
elements the script draws until the run ends. Polling a page again is how a tab's
`run_every` fragments refresh; closing the socket is closing the tab. Far lighter than a
browser, so a test can open twenty at once on two cores.
"""

from __future__ import annotations

import asyncio
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


def _texts(msg: ForwardMsg) -> list[str]:
    """The human-readable text of one delta: markdown, alerts, captions, progress bars."""
    if not msg.HasField("delta") or not msg.delta.HasField("new_element"):
        return []
    el = msg.delta.new_element
    kind = el.WhichOneof("type")
    if kind in ("markdown", "alert"):
        return [getattr(el, kind).body]
    if kind == "progress":
        return [el.progress.text]
    return []


class Session:
    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = None
        self.session_id: str | None = None

    async def __aenter__(self) -> Session:
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=2**26)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def run(self, page: str = "", query: str = "", timeout: float = 120.0) -> tuple[list[str], float]:
        """Run a page once: (the texts it drew, seconds until the script finished)."""
        back = BackMsg()
        back.rerun_script.query_string = query
        back.rerun_script.page_name = page
        t0 = time.monotonic()
        await self.ws.send(back.SerializeToString())
        texts: list[str] = []
        async with asyncio.timeout(timeout):
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await self.ws.recv())
                if msg.HasField("new_session"):
                    self.session_id = msg.new_session.initialize.session_id
                texts += _texts(msg)
                if msg.HasField("script_finished"):
                    if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        texts = []  # the script asked for a fresh run (st.rerun): read that one
                        continue
                    return texts, time.monotonic() - t0
