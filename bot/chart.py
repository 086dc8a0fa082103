"""The digest's picture: each agency's tasks by latest status, as a PNG (matplotlib).

Headless (the Agg backend), no global pyplot state, so it is safe in a server process
and in a worker thread. matplotlib is imported on first use: it costs about 50 MB and
0.4 s, which a bot that never draws should not pay at start-up.
"""

from __future__ import annotations

import io
from collections import Counter

from bot.heap import settle
from bot.i18n import _

# Order and colours of the stacked bars: done, on track, at risk, blocked, no answer.
_SERIES = (
    ("done", "#2e7d32"),
    ("on_track", "#81c784"),
    ("at_risk", "#fb8c00"),
    ("blocked", "#d32f2f"),
    ("none", "#bdbdbd"),
)
MAX_AGENCIES = 40
_first_drawn = False


def _labels() -> dict[str, str]:
    return {
        "done": _("Done"),
        "on_track": _("On track"),
        "at_risk": _("At risk"),
        "blocked": _("Blocked"),
        "none": _("No answer"),
    }


def reporting_chart(per_agency: dict[str, Counter[str]], title: str) -> bytes | None:
    """A horizontal stacked bar per agency; None when there is nothing to draw."""
    agencies = sorted(per_agency)[:MAX_AGENCIES]
    if not agencies:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = _labels()
    height = max(2.5, 0.32 * len(agencies) + 1.4)
    figure = Figure(figsize=(8, height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    left = [0] * len(agencies)
    for key, colour in _SERIES:
        values = [per_agency[a].get(key, 0) for a in agencies]
        axes.barh(agencies, values, left=left, color=colour, label=labels[key])
        left = [x + v for x, v in zip(left, values, strict=True)]
    axes.invert_yaxis()
    axes.set_xlabel(_("Tasks"))
    axes.set_title(title, fontsize=11)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="lower right", fontsize=8, ncols=3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    del figure, axes
    global _first_drawn
    if not _first_drawn:
        _first_drawn = True
        # matplotlib's modules, fonts and caches now stay for the life of the process.
        settle()
    return buffer.getvalue()
