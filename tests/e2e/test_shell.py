"""`make shell`: a real `rasa shell` in a pseudo-terminal, driven as a developer types.

The shell's Rasa (Rasa's "cmdline" channel) loads the trained model, finds the action
server through the project's endpoints.yml (${ACTION_PORT}, ${ACTION_SERVER_TOKEN}) and
prints what the developer sees: text lines, and buttons as Rasa's own arrow-key menu
(questionary). The action server is started here too, on a free port, so this test never
touches a `make run` on the default ports.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.conftest import PROJECT_ROOT, load_nlu_examples, migrate, response_texts
from tests.e2e.conftest import (
    ACTIONS_PYTHON,
    CUSTOMER_TOKEN_SECRET,
    RASA_BIN,
    _wait_until_up,
    free_port,
    reset_scenario,
    stop_process_groups,
)

pytestmark = pytest.mark.e2e

# Loading the model takes 1-3 minutes on two cores (more while other processes warm up);
# replies take well under a second (the first one builds TensorFlow graphs: seconds).
MODEL_LOAD_S = 240
REPLY_S = 30
# CSI (colours, cursor moves), OSC (window title) and two-character escapes.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
DOWN = "\x1b[B"
ENTER = "\r"
PROMPT = "Your input ->"
# What the shell is told to say, each one an NLU training example of its intent.
HELLO_EN, HELLO_ZH, WHAT_CAN_YOU_DO = "hello there", "你好", "你能做什么"
EXCHANGE = {"greet": [HELLO_EN, HELLO_ZH], "ask_capabilities": [WHAT_CAN_YOU_DO]}


def screen_text(raw: str) -> str:
    """What a person reads on the terminal: escapes and carriage returns removed."""
    return ANSI.sub("", raw).replace("\r", "")


class Terminal:
    """A `rasa shell` in a pty; `wait_for` reads until the new output shows a text."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.raw = ""
        self.mark = 0  # where the output of the latest input starts (in screen text)

    def screen(self) -> str:
        return screen_text(self.raw)

    def since_mark(self) -> str:
        return self.screen()[self.mark :]

    def wait_for(self, *texts: str, timeout: float = REPLY_S) -> str:
        """Read until every text is on the screen after the mark; return that output."""
        deadline = time.monotonic() + timeout
        while not all(text in self.since_mark() for text in texts):
            if time.monotonic() > deadline:
                pytest.fail(f"the shell never showed {texts!r}; it showed:\n{self.since_mark()}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                pytest.fail(f"the shell exited before showing {texts!r}:\n{self.since_mark()}")
        return self.since_mark()

    def press(self, keys: str) -> None:
        """Keys as a person presses them; the output that follows is read from here."""
        self.mark = len(self.screen())
        self.child.send(keys)

    def say(self, text: str) -> None:
        self.press(text + ENTER)

    def wait_for_exit(self, timeout: float = REPLY_S) -> int | None:
        """Read to the end of the output; the exit status (None: killed by a signal)."""
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                pytest.fail(f"the shell did not exit:\n{self.since_mark()}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
        self.child.wait()
        return self.child.exitstatus


@contextmanager
def action_server(workdir: Path, port: int, token: str) -> Iterator[subprocess.Popen[bytes]]:
    """The action server alone (no Rasa), cheap to warm up: BM25 only, template replies."""
    shop_db_url = f"sqlite:///{workdir / 'shop.db'}"
    migrate(shop_db_url)
    reset_scenario(shop_db_url)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ACTION_SERVER_TOKEN": token,
        "DATABASE_URL": shop_db_url,
        "CUSTOMER_TOKEN_SECRET": CUSTOMER_TOKEN_SECRET,
        "KB_RETRIEVAL": "bm25",
        "LLM_BACKEND": "template",
        "INDEX_DIR": str(workdir / "index"),
        "MILVUS_URI": str(workdir / "index" / "milvus.db"),
    }
    log = workdir / "actions.log"
    process = subprocess.Popen(
        [str(ACTIONS_PYTHON), "-m", "actions.server", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop_process_groups([process])


def shell_command(port: int, conversation_id: str) -> list[str]:
    """What `make shell` runs (test_make_shell_runs_this_command), on `port`."""
    return [
        str(RASA_BIN),
        "shell",
        "--model",
        "models",
        "--endpoints",
        "endpoints.yml",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--conversation-id",
        conversation_id,
    ]


@contextmanager
def rasa_shell(workdir: Path, action_port: int, token: str) -> Iterator[Terminal]:
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "ACTION_PORT": str(action_port),
        "ACTION_SERVER_TOKEN": token,
        "TRACKER_SQLITE_PATH": str(workdir / "shell-tracker.db"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        # No cursor-position request: nothing in a pty answers it.
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    for name in ("TRACKER_DB_URL", "REDIS_URL"):
        env.pop(name, None)
    [program, *args] = shell_command(free_port(), f"shell-{secrets.token_hex(6)}")
    child = pexpect.spawn(
        program,
        args,
        cwd=str(PROJECT_ROOT),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        # Wide enough that no reply (a Chinese character is two columns) wraps.
        dimensions=(50, 400),
    )
    terminal = Terminal(child)
    try:
        yield terminal
    finally:
        # The child leads its own session (pty): its process group goes with it.
        for signum in (signal.SIGTERM, signal.SIGKILL):
            if not child.isalive():
                break
            try:
                os.killpg(child.pid, signum)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 15
            while child.isalive() and time.monotonic() < deadline:
                time.sleep(0.2)
        child.close(force=True)
        (workdir / "shell.log").write_text(terminal.screen(), encoding="utf-8")


def test_exchanges_are_training_examples() -> None:
    """The shell test types literal training examples, never a borderline prediction."""
    examples = load_nlu_examples()
    for intent, texts in EXCHANGE.items():
        for text in texts:
            assert text in examples[intent], (intent, text)


def test_shell_in_english_and_chinese_with_buttons(tmp_path: Path, domain: dict[str, Any]) -> None:
    if not list((PROJECT_ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first")
    action_port, token = free_port(), secrets.token_urlsafe(16)
    with (
        action_server(tmp_path, action_port, token) as actions,
        rasa_shell(tmp_path, action_port, token) as shell,
    ):
        # Both load at once; the action server is up long before the model is.
        logs = [tmp_path / "actions.log"]
        _wait_until_up(f"http://127.0.0.1:{action_port}/health", [actions], logs)
        shell.wait_for("Bot loaded", PROMPT, timeout=MODEL_LOAD_S)

        # English: the greeting is rephrasable, so it comes through the action
        # server's /rephrase (endpoints.yml nlg url).
        shell.say(HELLO_EN)
        (greet_en,) = response_texts(domain, "utter_greet", "en")
        shell.wait_for(greet_en, PROMPT)

        shell.say(HELLO_ZH)
        (greet_zh,) = response_texts(domain, "utter_greet", "zh")
        shell.wait_for(greet_zh, PROMPT)

        # Buttons: Rasa's menu under the reply, one line a button numbered from 1, the
        # first one under the pointer.
        shell.say(WHAT_CAN_YOU_DO)
        (capabilities,) = response_texts(domain, "utter_capabilities", "zh")
        menu = shell.wait_for(
            capabilities,
            "(Use arrow keys)",
            "» 1: 找商品 (/search_product)",
            "2: 查订单 (/check_order_status)",
            "5: 转人工 (/request_human)",
        )
        assert "Custom json" not in menu
        # Down once, Enter: "查订单" sends its payload; the order form (validated by
        # the action server, endpoints.yml action_endpoint url) asks for the number.
        shell.press(DOWN)
        time.sleep(0.3)
        shell.press(ENTER)
        (ask_order,) = response_texts(domain, "utter_ask_order_id", "zh")
        picked = shell.wait_for(ask_order, PROMPT)
        assert "查订单 (/check_order_status)" in picked  # the menu shows the choice

        shell.say("/stop")
        assert shell.wait_for_exit() == 0

    transcript = shell.screen()
    assert transcript.index(greet_en) < transcript.index(greet_zh) < transcript.index(ask_order)
    # Nothing failed on the way (Rasa logs to the same terminal): both endpoints.yml
    # urls answered with the token, no raw payload was printed.
    assert "Custom json" not in transcript
    assert "Traceback" not in transcript
    assert "rephrasing unavailable" not in transcript  # addons/nlg.py's fallback
    assert "Failed to execute custom action" not in transcript
    assert "action server error" not in (tmp_path / "actions.log").read_text(errors="replace")


def test_endpoints_read_action_port_in_both_urls(tmp_path: Path) -> None:
    """Rasa's own reader substitutes ${ACTION_PORT} in the action and NLG urls."""
    script = (
        "from rasa.utils.endpoints import read_endpoint_config as read\n"
        "for name in ('action_endpoint', 'nlg'):\n"
        "    config = read('endpoints.yml', name)\n"
        "    print(name, config.url, config.token)\n"
    )
    env = {**os.environ, "ACTION_PORT": "6123", "ACTION_SERVER_TOKEN": "t0ken"}
    out = subprocess.run(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"), "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split("\n")
    assert "action_endpoint http://127.0.0.1:6123/webhook t0ken" in out
    assert "nlg http://127.0.0.1:6123/rephrase t0ken" in out


def test_make_shell_runs_this_command() -> None:
    """`make shell` exports ACTION_PORT (default 5055) and runs shell_command on 5006."""
    make = shutil.which("make")
    assert make, "make is not installed"
    recipe = subprocess.run(
        [make, "-s", "-n", "shell"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "export ACTION_PORT=${ACTION_PORT:-5055}" in recipe
    assert "ACTION_SERVER_TOKEN" in recipe  # it checks the token before loading
    [command] = [line for line in recipe.splitlines() if " shell " in line and "rasa" in line]
    argv = shlex.split(command.strip())
    expected = shell_command(5006, "x")[:-2]
    assert argv[0].endswith(".venv-rasa/bin/rasa")
    assert argv[1:] == expected[1:]
