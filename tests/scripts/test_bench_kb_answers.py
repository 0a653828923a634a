"""Smoke test of scripts/bench_kb_answers.py's metrics: no model, no knowledge base."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_kb_answers.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_kb_answers", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


ZH = "签收后7天内可以无理由退货，请保持吊牌完好。"
EN = "You can return items within 7 days of delivery without a reason."


def test_bleu_of_identical_text_is_100(bench: ModuleType) -> None:
    assert bench.bleu([EN], [EN], "en") == pytest.approx(100.0)
    assert bench.bleu([ZH], [ZH], "zh") == pytest.approx(100.0)


def test_bleu_of_disjoint_text_is_0(bench: ModuleType) -> None:
    assert bench.bleu(["Gift cards never expire"], [EN], "en") == pytest.approx(0.0)
    assert bench.bleu(["会员积分永久有效。"], ["人工客服每天在线"], "zh") == pytest.approx(0.0)


def test_chinese_rouge_l_uses_jieba_words(bench: ModuleType) -> None:
    assert bench.segment_zh(ZH).split()[:2] == ["签收", "后"]
    assert bench.rouge_l(ZH, ZH, "zh") == pytest.approx(1.0)
    assert bench.rouge_l("会员积分永久有效。", "人工客服每天在线", "zh") == pytest.approx(0.0)
    partial = bench.rouge_l("签收后7天内可以退货。", ZH, "zh")
    assert 0.0 < partial < 1.0


def test_english_rouge_l(bench: ModuleType) -> None:
    assert bench.rouge_l(EN, EN, "en") == pytest.approx(1.0)
    assert bench.rouge_l("Gift cards never expire.", EN, "en") == pytest.approx(0.0)
    assert bench.mean_rouge_l([EN, "nothing alike"], [EN, EN], "en") == pytest.approx(0.5)


def test_percentile_and_spread(bench: ModuleType) -> None:
    assert bench.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert bench.spread(list(range(10)), 3) == [0, 3, 6]
    assert bench.spread(list(range(4)), None) == [0, 1, 2, 3]
