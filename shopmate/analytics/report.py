"""The report as one self-contained HTML page: both languages in one file.

Every picture is a matplotlib figure (Agg backend) inlined as a base64 PNG; the page
loads nothing from anywhere (no CDN, no font, no script). The language switch is two
radio buttons and CSS (``#lang-en:checked ~ main .zh {display: none}``), so it works
under the console's Content-Security-Policy (no inline script; the console serves the
same stylesheet from its own URL instead of the inline ``<style>``). The pictures carry
only numbers and ASCII names (intents, actions, dates); every word around them is in
both languages, so no CJK font is needed to draw them.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from shopmate.analytics.labels import TEXT
from shopmate.analytics.metrics import Insight
from shopmate.analytics.store import StoreFigures

TOP_INTENTS = 15
TOP_ACTIONS = 15
COLOR = "#2f6db5"
ACCENT = "#d9822b"

CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2f4f;color:#fff;padding:16px 24px}
header h1{margin:0 0 6px;font-size:1.5em}
.switch{padding:8px 24px;background:#e6eaf1}
.switch input{margin-left:12px}
main{padding:8px 24px 40px;max-width:1100px}
section{background:#fff;border-radius:8px;padding:12px 18px;margin:14px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1.2em;margin:4px 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#eef3fb;border-radius:6px;padding:8px 12px;min-width:150px}
.card b{display:block;font-size:1.4em}
img{max-width:100%;height:auto}
table{border-collapse:collapse;margin:6px 0}
td,th{border-bottom:1px solid #e3e6eb;padding:3px 10px;text-align:left;font-size:.92em}
.note{color:#555;font-size:.9em}
#lang-zh:checked~main .en,#lang-zh:checked~header .en,
#lang-en:checked~main .zh,#lang-en:checked~header .zh{display:none}
"""


@dataclass(frozen=True)
class ReportMeta:
    generated: datetime
    since: datetime | None = None
    until: datetime | None = None
    source: str = ""  # a description without credentials


def t(key: str) -> str:
    """Both languages' spans of one text; the CSS shows one of them."""
    zh, en = TEXT[key]
    return f'<span class="zh">{html.escape(zh)}</span><span class="en">{html.escape(en)}</span>'


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _bars(
    labels: Sequence[str], values: Sequence[float], alt: str, horizontal: bool = False
) -> str:
    if not labels:
        return f'<p class="note">{t("none")}</p>'
    height = max(2.4, 0.32 * len(labels) + 0.8) if horizontal else 3.0
    figure, axes = plt.subplots(figsize=(8, height))
    if horizontal:
        axes.barh(list(labels)[::-1], list(values)[::-1], color=COLOR)
    else:
        axes.bar(list(labels), list(values), color=COLOR)
        if len(labels) > 8:
            axes.tick_params(axis="x", labelrotation=60)
    axes.spines[["top", "right"]].set_visible(False)
    return _img(_png(figure), alt)


def _line(xs: Sequence[str], ys: Sequence[float], alt: str, marker: bool = True) -> str:
    if not xs:
        return f'<p class="note">{t("none")}</p>'
    figure, axes = plt.subplots(figsize=(8, 3))
    axes.plot(range(len(xs)), list(ys), color=COLOR, marker="o" if marker else None)
    step = max(1, len(xs) // 12)
    axes.set_xticks(list(range(0, len(xs), step)), [xs[i] for i in range(0, len(xs), step)])
    axes.tick_params(axis="x", labelrotation=45)
    axes.spines[["top", "right"]].set_visible(False)
    return _img(_png(figure), alt)


def _table(rows: Iterable[tuple[str, str]], head: tuple[str, str] = ("", "count")) -> str:
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    if not body:
        return f'<p class="note">{t("none")}</p>'
    first = t(head[0]) if head[0] else ""
    return f"<table><tr><th>{first}</th><th>{t(head[1])}</th></tr>{body}</table>"


def _counter_rows(counter: Counter[str] | Counter[int]) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def _card(key: str, value: str) -> str:
    return f'<div class="card">{t(key)}<b>{html.escape(value)}</b></div>'


def _section(key: str, *parts: str) -> str:
    return f'<section id="{key}"><h2>{t(key)}</h2>{"".join(parts)}</section>'


def _note(key: str) -> str:
    return f'<p class="note">{t(key)}</p>'


def _mean_rating(ratings: Counter[int]) -> float | None:
    count = sum(ratings.values())
    return sum(r * n for r, n in ratings.items()) / count if count else None


def render(
    insight: Insight,
    store: StoreFigures | None,
    meta: ReportMeta,
    stylesheet_href: str | None = None,
) -> str:
    """The page; its CSS inline, or from `stylesheet_href` (a same-origin URL)."""
    store = store or StoreFigures()
    ratings = store.ratings + insight.chat_ratings
    first_median = insight.first_reply_s.percentile(50)
    cards = "".join(
        [
            _card("conversations", str(insight.conversations)),
            _card("messages", str(insight.messages)),
            _card("containment", _pct(insight.containment_rate)),
            _card("handoff_rate", _pct(insight.handoff_rate)),
            _card("fallback_rate", _pct(insight.fallback_rate)),
            _card("first_reply", _num(first_median, " s")),
            _card("rating", _num(_mean_rating(ratings))),
            _card(
                "cart_conversion",
                _pct(insight.carted / insight.searched if insight.searched else None),
            ),
        ]
    )
    sections = [
        _section("overview", f'<div class="cards">{cards}</div>'),
        _daily(insight),
        _section(
            "per_channel",
            _bars(list(insight.per_channel), list(insight.per_channel.values()), "channels"),
            _table(_counter_rows(insight.per_channel)),
        ),
        _section(
            "languages",
            _bars(list(insight.languages), list(insight.languages.values()), "languages"),
            _table(_counter_rows(insight.languages)),
        ),
        _intents(insight),
        _fallbacks(insight),
        _handoffs(insight, store),
        _first_reply(insight),
        _sentiment(insight),
        _funnel(insight),
        _section(
            "offers",
            _note("offers_text"),
            f"<p><b>{insight.offers}</b> / <b>{insight.conversations_with_offer}</b></p>",
        ),
        _after_sales(insight, store),
        _satisfaction(insight, store),
        _latency(insight),
        _least(insight),
        _definitions(),
    ]
    period = (
        f"{meta.since.date() if meta.since else '…'} – {meta.until.date() if meta.until else '…'}"
        if meta.since or meta.until
        else t("all_time")
    )
    style = (
        f'<link rel="stylesheet" href="{html.escape(stylesheet_href)}">'
        if stylesheet_href
        else f"<style>{CSS}</style>"
    )
    return (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(TEXT['title'][0])} / {html.escape(TEXT['title'][1])}</title>"
        f"{style}</head><body>"
        '<input type="radio" name="lang" id="lang-zh" checked>'
        '<label for="lang-zh">中文</label>'
        '<input type="radio" name="lang" id="lang-en"><label for="lang-en">English</label>'
        f"<header><h1>{t('title')}</h1><div>{t('window')}: {period} · {t('generated')}: "
        f"{html.escape(meta.generated.strftime('%Y-%m-%d %H:%M'))} UTC"
        f"{' · ' + html.escape(meta.source) if meta.source else ''}</div></header>"
        f"<main>{''.join(sections)}</main></body></html>"
    )


def _daily(insight: Insight) -> str:
    days = sorted(insight.per_day)
    return _section(
        "per_day", _line(days, [insight.per_day[d] for d in days], "per day", len(days) < 40)
    )


def _intents(insight: Insight) -> str:
    top = insight.intents.most_common(TOP_INTENTS)
    return _section(
        "intents",
        _bars([k for k, _ in top], [v for _, v in top], "intents", horizontal=True),
    )


def _fallbacks(insight: Insight) -> str:
    rows = [
        (TEXT["fallback_rate"][1], _pct(insight.fallback_rate)),
        (TEXT["messages"][1], str(insight.messages)),
        ("fallback messages", str(insight.fallback_messages)),
        (TEXT["conversations_with_fallback"][1], str(insight.conversations_with_fallback)),
    ]
    return _section("fallbacks", _note("fallback_text"), _table(rows, ("", "value")))


def _handoffs(insight: Insight, store: StoreFigures) -> str:
    shares = [insight.contained, insight.handed_over, insight.ticket_without_handoff]
    names = ["contained", "handed over", "ticket only"]
    rows = [
        (TEXT["containment"][1], _pct(insight.containment_rate)),
        (TEXT["handoff_rate"][1], _pct(insight.handoff_rate)),
        (TEXT["contained"][1], str(insight.contained)),
        (TEXT["handed_over"][1], str(insight.handed_over)),
        (TEXT["ticket_only"][1], str(insight.ticket_without_handoff)),
        (TEXT["tickets"][1], str(store.tickets)),
    ]
    return _section(
        "handoffs",
        _bars(names, shares, "containment"),
        _table(rows, ("", "value")),
        f"<h3>{t('reasons')}</h3>",
        _bars(list(store.reasons), list(store.reasons.values()), "reasons", horizontal=True),
        _table(_counter_rows(store.reasons)),
        f"<h3>{t('categories')}</h3>",
        _table(_counter_rows(store.complaint_categories)),
    )


def _first_reply(insight: Insight) -> str:
    sample = insight.first_reply_s
    minutes = [v / 60 for v in sample.values]
    picture = f'<p class="note">{t("none")}</p>'
    if minutes:
        figure, axes = plt.subplots(figsize=(8, 3))
        axes.hist(minutes, bins=min(30, max(5, len(minutes) // 5)), color=COLOR)
        axes.set_xlabel("min")
        axes.spines[["top", "right"]].set_visible(False)
        picture = _img(_png(figure), "first reply")
    rows = [
        (TEXT["agent_replied"][1], str(insight.agent_replied)),
        ("median (s)", _num(sample.percentile(50))),
        ("p90 (s)", _num(sample.percentile(90))),
    ]
    return _section("first_reply_title", picture, _table(rows, ("", "value")))


def _sentiment(insight: Insight) -> str:
    points = [
        (str(i + 1) if i < len(insight.sentiment_sum) - 1 else f"{i + 1}+", v)
        for i, v in enumerate(insight.sentiment_by_position)
        if v is not None
    ]
    picture = f'<p class="note">{t("none")}</p>'
    if points:
        figure, axes = plt.subplots(figsize=(8, 3))
        axes.plot(range(len(points)), [p[1] for p in points], color=ACCENT, marker="o")
        axes.set_xticks(range(len(points)), [p[0] for p in points])
        axes.axhline(0, color="#999", linewidth=0.8)
        axes.set_ylim(-1, 1)
        axes.spines[["top", "right"]].set_visible(False)
        picture = _img(_png(figure), "sentiment")
    rows = [
        (TEXT["improved"][1], str(insight.sentiment_improved)),
        (TEXT["worsened"][1], str(insight.sentiment_worsened)),
        *(
            (f"{TEXT['labels'][1]}: {k}", str(v))
            for k, v in sorted(insight.sentiment_labels.items())
        ),
    ]
    return _section("sentiment", _note("sentiment_text"), picture, _table(rows, ("", "value")))


def _funnel(insight: Insight) -> str:
    steps = [insight.searched, insight.detailed, insight.carted]
    rows = [
        (TEXT["searched"][1], str(insight.searched)),
        (TEXT["detailed"][1], str(insight.detailed)),
        (TEXT["carted"][1], str(insight.carted)),
    ]
    return _section(
        "funnel",
        _bars(["search", "detail", "cart"], steps, "funnel"),
        _table(rows, ("", "count")),
    )


def _after_sales(insight: Insight, store: StoreFigures) -> str:
    return _section(
        "after_sales",
        _table(
            [
                (TEXT["cancellations"][1], str(store.cancellations)),
                (TEXT["refunded"][1], f"¥{store.refunded_cents / 100:.2f}"),
            ],
            ("", "value"),
        ),
        f"<h3>{t('returns_by_reason')}</h3>",
        _table(_counter_rows(store.returns_by_reason)),
        f"<h3>{t('returns_by_status')}</h3>",
        _table(_counter_rows(store.returns_by_status)),
        f"<h3>{t('exchanges_by_status')}</h3>",
        _table(_counter_rows(store.exchanges_by_status)),
        f"<h3>{t('refunds_by_status')}</h3>",
        _table(_counter_rows(store.refunds_by_status)),
        f"<h3>{t('refusals')}</h3>",
        _bars(list(insight.refusals), list(insight.refusals.values()), "refusals", True),
        _table(_counter_rows(insight.refusals)),
        f"<h3>{t('done_in_chat')}</h3>",
        _table(_counter_rows(insight.done_in_chat)),
    )


def _satisfaction(insight: Insight, store: StoreFigures) -> str:
    scale = [1, 2, 3, 4, 5]
    figure, axes = plt.subplots(figsize=(8, 3))
    axes.bar([s - 0.2 for s in scale], [store.ratings[s] for s in scale], 0.4, color=COLOR)
    axes.bar([s + 0.2 for s in scale], [insight.chat_ratings[s] for s in scale], 0.4, color=ACCENT)
    axes.legend(["tickets", "rate_service"])
    axes.set_xticks(scale)
    axes.spines[["top", "right"]].set_visible(False)
    rows = [
        (TEXT["ticket_ratings"][1], _num(_mean_rating(store.ratings))),
        (TEXT["chat_ratings"][1], _num(_mean_rating(insight.chat_ratings))),
        *(
            (f"{s} ★ (tickets / chat)", f"{store.ratings[s]} / {insight.chat_ratings[s]}")
            for s in scale
        ),
    ]
    return _section("satisfaction", _img(_png(figure), "ratings"), _table(rows, ("", "value")))


def _latency(insight: Insight) -> str:
    p95 = sorted(insight.latency_p95().items(), key=lambda kv: -kv[1])[:TOP_ACTIONS]
    rows = [
        (name, f"{seconds * 1000:.0f} ms (n={insight.action_latency_s[name].count})")
        for name, seconds in p95
    ]
    turn = insight.turn_latency_s
    rows += [
        (f"{TEXT['turn_latency'][1]} p50", _num(_ms(turn.percentile(50)), " ms")),
        (f"{TEXT['turn_latency'][1]} p95", _num(_ms(turn.percentile(95)), " ms")),
    ]
    return _section(
        "latency",
        _note("latency_text"),
        _bars([n for n, _ in p95], [s * 1000 for _, s in p95], "latency", horizontal=True),
        _table(rows, ("", "p95")),
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _least(insight: Insight) -> str:
    body = "".join(
        f"<tr><td>{u.confidence:.2f}</td><td>{html.escape(u.intent)}</td>"
        f"<td>{html.escape(u.text)}</td><td><code>{html.escape(u.conversation)}</code></td></tr>"
        for u in insight.least_understood
    )
    table = (
        f"<table><tr><th>{t('confidence')}</th><th>{t('intent')}</th><th>{t('text')}</th>"
        f"<th>{t('conversation')}</th></tr>{body}</table>"
        if body
        else f'<p class="note">{t("none")}</p>'
    )
    return _section("least", _note("least_text"), table)


def _definitions() -> str:
    keys = ("def_conversation", "def_containment", "def_handoff", "def_first_reply", "def_funnel")
    items = "".join(f"<li>{t(key)}</li>" for key in (*keys, "def_privacy"))
    return _section("definitions", f"<ul>{items}</ul>")
