"""When a page's charts reach a tab: one run over the app's websocket, every Plotly chart timed.

`tests/st_client.py` reads a run's texts; this reads its charts as they arrive (a chart drawn
during training and replaced later is seen here, though the final page no longer has it).
Used by `bench/bench_app.py` (first-chart times) and the Toy page's live-view test.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class ChartRun:
    """One script run as a tab saw it: seconds from the request to each chart and to the end."""

    charts: list[tuple[float, str]] = field(default_factory=list)  # (seconds, figure title)
    texts: list[str] = field(default_factory=list)  # markdown, alerts and progress texts, in order
    finished: float | None = None

    @property
    def first_chart(self) -> float | None:
        return self.charts[0][0] if self.charts else None


def _title(spec: str) -> str:
    title = json.loads(spec).get("layout", {}).get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title)


async def chart_run(url: str, page: str = "", query: str = "", timeout: float = 300.0) -> ChartRun:
    """Open a new session (a new tab), run page once, and time its charts; reruns the script asks
    for (st.rerun) are followed to the run that finishes."""
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    run = ChartRun()
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2**26) as ws:
        back = BackMsg()
        back.rerun_script.query_string = query
        back.rerun_script.page_name = page
        t0 = time.monotonic()
        await ws.send(back.SerializeToString())
        async with asyncio.timeout(timeout):
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await ws.recv())
                if msg.HasField("delta") and msg.delta.HasField("new_element"):
                    el = msg.delta.new_element
                    kind = el.WhichOneof("type")
                    if kind == "plotly_chart":
                        run.charts.append((time.monotonic() - t0, _title(el.plotly_chart.spec)))
                    elif kind in ("markdown", "alert"):
                        run.texts.append(getattr(el, kind).body)
                    elif kind == "progress":
                        run.texts.append(el.progress.text)
                if (
                    msg.HasField("script_finished")
                    and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
                ):
                    run.finished = time.monotonic() - t0
                    return run
