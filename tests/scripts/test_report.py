"""`python -m scripts.report` writes one self-contained page: no resource from another
host, no sender id, no phone number or e-mail, pictures inline, both languages."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.report import main
from tests.shopmate.analytics.known_store import EMAIL, PHONE, SENDERS, write_shop, write_tracker


def test_the_cli_writes_a_self_contained_private_report(tmp_path: Path) -> None:
    tracker = write_tracker(tmp_path / "tracker.db")
    shop = write_shop(f"sqlite:///{tmp_path / 'shop.db'}")
    out = tmp_path / "out" / "report.html"
    code = main(
        [
            "--tracker-url",
            str(tracker),
            "--database-url",
            shop,
            "--out",
            str(out),
            "--secret",
            "s3cret",
            "--timezone",
            "UTC",
        ]
    )
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # Nothing is loaded from anywhere: no src/href but data: URIs and in-page anchors.
    for attribute in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page):
        assert attribute.startswith("data:image/png;base64,") or attribute.startswith("#")
    assert "<script" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert not re.search(r"https?://", page)
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) >= 8
    for sender in SENDERS:
        assert f">{sender}<" not in page
        assert f'"{sender}"' not in page
    assert PHONE not in page
    assert EMAIL not in page
    assert "A1234567" not in page
    assert "自助解决率" in page
    assert "Containment" in page
    assert 'id="lang-en"' in page


def test_a_missing_tracker_store_is_a_clear_error(tmp_path: Path) -> None:
    code = main(
        [
            "--tracker-url",
            str(tmp_path / "none.db"),
            "--database-url",
            "none",
            "--out",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 1
    assert not (tmp_path / "r.html").exists()
