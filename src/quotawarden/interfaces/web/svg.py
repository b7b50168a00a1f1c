"""Small charts drawn on the server as inline SVG: a sparkline per account and the capacity-left bar chart.

No script draws them, so they show with JavaScript off and cost the page a few hundred bytes each. Colours come
from the stylesheet's classes (``spark``, ``cap-seg GREEN``...), so they follow the light and dark themes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

SPARK_W, SPARK_H = 120, 28
CAP_ROW, CAP_LABEL, CAP_VALUE, CAP_W = 26, 120, 70, 640


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _pct(v: float) -> str:
    return f"{round(v * 100)}%"


def sparkline(values: Sequence[float | None], status: str = "UNKNOWN", hours: int = 24) -> Markup:
    """A line of ``values`` (0..1, None for gaps) left to right; empty when no value is known."""
    known = [v for v in values if v is not None]
    if not known:
        return Markup('<span class="meta">no samples</span>')
    step = SPARK_W / max(len(values) - 1, 1)
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((i * step, SPARK_H - 2 - min(max(v, 0.0), 1.0) * (SPARK_H - 4)))
    body = ""
    for run in runs:
        if len(run) > 1:
            body += '<path class="spark-line" d="M' + " L".join(f"{_n(x)},{_n(y)}" for x, y in run) + '"/>'
        elif run:  # a lone reading has no line: a dot
            body += f'<circle class="spark-dot" cx="{_n(run[0][0])}" cy="{_n(run[0][1])}" r="1.5"/>'
    last = known[-1]
    label = f"Most-used window over the last {hours} h: now {_pct(last)}, peak {_pct(max(known))}"
    return Markup(
        f'<svg class="spark {escape(status)}" viewBox="0 0 {SPARK_W} {SPARK_H}" width="{SPARK_W}" '
        f'height="{SPARK_H}" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<line class="spark-base" x1="0" y1="{SPARK_H - 2}" x2="{SPARK_W}" y2="{SPARK_H - 2}"/>{body}</svg>')


def capacity_chart(rows: Sequence[dict[str, Any]]) -> Markup:
    """One bar per provider, as long as its number of accounts; each account's part is filled by what it has
    left. ``rows``: ``{"provider", "accounts": [{"id", "left" (0..1), "status"}]}``."""
    rows = [r for r in rows if r["accounts"]]
    if not rows:
        return Markup('<p class="meta">No account with a quota to show.</p>')
    most = max(len(r["accounts"]) for r in rows)
    unit = (CAP_W - CAP_LABEL - CAP_VALUE) / most
    height = CAP_ROW * len(rows) + 4
    parts = []
    for i, r in enumerate(rows):
        y = 2 + i * CAP_ROW
        left = sum(a["left"] for a in r["accounts"])
        name = escape(r["provider"])
        parts.append(f'<text class="cap-label" x="0" y="{y + 15}">{name}</text>')
        parts.append(f'<rect class="cap-room" x="{CAP_LABEL}" y="{y + 3}" width="{_n(unit * len(r["accounts"]))}" '
                     f'height="{CAP_ROW - 8}" rx="3"/>')
        x = float(CAP_LABEL)
        for a in r["accounts"]:
            w = unit * min(max(a["left"], 0.0), 1.0)
            tip = escape(f"{a['id']}: {_pct(a['left'])} left")
            parts.append(f'<rect class="cap-seg {escape(a["status"])}" x="{_n(x)}" y="{y + 3}" width="{_n(w)}" '
                         f'height="{CAP_ROW - 8}"><title>{tip}</title></rect>')
            x += w
        value_x = CAP_LABEL + unit * len(r["accounts"]) + 6
        parts.append(f'<text class="cap-value" x="{_n(value_x)}" y="{y + 15}">'
                     f'{_n(left)} of {len(r["accounts"])}</text>')
    label = "Capacity left by provider: " + "; ".join(
        f"{r['provider']} {_n(sum(a['left'] for a in r['accounts']))} of {len(r['accounts'])} accounts"
        for r in rows)
    return Markup(f'<svg class="capacity" viewBox="0 0 {CAP_W} {height}" role="img" aria-label="{escape(label)}">'
                  f'<title>{escape(label)}</title>{"".join(parts)}</svg>')
