"""Store insight: one self-contained HTML report of the conversations (docs/analytics.md).

    python -m scripts.report [--tracker-url URL|PATH] [--database-url URL] [--out FILE]
                             [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--secret S]

Defaults come from the environment through shopmate/settings.py: TRACKER_DB_URL or
TRACKER_SQLITE_PATH (var/tracker.db), DATABASE_URL (var/shop.db), REPORT_SECRET or
SESSION_SECRET, var/report/report.html. `--database-url none` leaves the order
database out. Prints the time taken and the peak memory.
"""

from __future__ import annotations

import argparse
import logging
import resource
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from shopmate.analytics.build import ReportSources, build_report
from shopmate.settings import ReportSettings, get_settings


def _day(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracker-url", help="tracker store: a database URL or an SQLite path")
    parser.add_argument("--database-url", help="the order database ('none': leave it out)")
    parser.add_argument("--out", type=Path, help="the HTML file to write")
    parser.add_argument("--since", type=_day, help="first day (UTC), inclusive")
    parser.add_argument("--until", type=_day, help="last day (UTC), exclusive")
    parser.add_argument("--secret", help="keys the conversations' hashes (REPORT_SECRET)")
    parser.add_argument("--timezone", help="days are counted in this zone (STORE_TIMEZONE)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    settings, report = get_settings(), ReportSettings()
    database_url = args.database_url or settings.database_url
    sources = ReportSources(
        tracker=args.tracker_url or report.tracker,
        database_url=None if database_url == "none" else database_url,
        secret=args.secret or report.secret or secrets.token_hex(16),
        since=args.since,
        until=args.until,
        tz=ZoneInfo(args.timezone or settings.store_timezone),
    )
    out: Path = args.out or report.out
    started = time.perf_counter()
    try:
        page = build_report(sources)
    except FileNotFoundError as error:
        print(f"report: {error} (run Rasa first, or pass --tracker-url)", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"report: {out} ({len(page) // 1024} KiB) in {time.perf_counter() - started:.1f} s, "
        f"peak RSS {peak_mib:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
