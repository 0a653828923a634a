"""The WeCom, Feishu and DingTalk connectors (addons/platforms/wecom.py, feishu.py,
dingtalk.py) in the Rasa runtime: the platforms' published crypto examples, callbacks
built as each platform builds them, refusals, dedupe, tokens and rendering
(tests/addons/rasa_runtime/check_platforms_china.py)."""

from __future__ import annotations

from tests.conftest import run_in_rasa_runtime


def test_china_platform_connectors_check_verify_and_render_as_documented() -> None:
    result = run_in_rasa_runtime("tests.addons.rasa_runtime.check_platforms_china")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "platforms china: ok" in result.stdout
