"""`make run` supervises its processes: the shipped deploy/supervisord.conf.

A process that dies (a crash, the OOM killer) is restarted by supervisord and the
others keep serving. The test runs the shipped file itself, from a temporary working
copy of the checkout (a symlink to the file, symlinks to the code and venvs, its own
var/), so a `make run` on the default ports and its control socket stay untouched. It
starts the action server and the web page only (SHOPMATE_START_RASA=false): loading a
Rasa model would add a minute without testing anything more about supervision.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_ROOT, migrate
from tests.e2e.conftest import CUSTOMER_TOKEN_SECRET, free_port, reset_scenario

pytestmark = pytest.mark.e2e

SHIPPED_CONF = PROJECT_ROOT / "deploy" / "supervisord.conf"
BIN = PROJECT_ROOT / ".venv-actions" / "bin"
SUPERVISORD = BIN / "supervisord"
SUPERVISORCTL = BIN / "supervisorctl"
PROGRAMS = {"actions", "rasa", "web"}
# What the working copy must not share with the checkout: its own var/ and deploy/.
NOT_SHARED = {".git", "var", "deploy", ".env"}
STARTUP_SECONDS = 120
RESTART_SECONDS = 60


@dataclass
class Supervised:
    root: Path
    conf: Path
    env: dict[str, str]
    action_url: str
    web_url: str


def working_copy(root: Path) -> Path:
    """A checkout in `root`: the shipped config symlinked (so %(here)s is root/deploy),
    everything else but var/ symlinked to the project. Returns the config's path."""
    for entry in PROJECT_ROOT.iterdir():
        if entry.name not in NOT_SHARED:
            (root / entry.name).symlink_to(entry)
    (root / "deploy").mkdir()
    conf = root / "deploy" / "supervisord.conf"
    conf.symlink_to(SHIPPED_CONF)
    (root / "var" / "log").mkdir(parents=True)
    return conf


def supervisor_env(root: Path) -> dict[str, str]:
    """What scripts/run.sh exports (free ports), plus the action server's secrets."""
    shop_db_url = f"sqlite:///{root / 'shop.db'}"
    migrate(shop_db_url)
    reset_scenario(shop_db_url)
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "RASA_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
        "SHOPMATE_START_RASA": "false",
        # Starts with "-": the config must pass it in "=" form.
        "RASA_AUTH_TOKEN": "-" + secrets.token_urlsafe(16),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(16),
        "CUSTOMER_TOKEN_SECRET": CUSTOMER_TOKEN_SECRET,
        # The page signs chat sessions with it (web/server.py refuses to start without).
        "SESSION_SECRET": secrets.token_urlsafe(32),
        "DATABASE_URL": shop_db_url,
        # Cheap warm-up: no embedding or generator model, index files in the temp dir
        # (a SIGKILL mid-write must not touch the checkout's var/index).
        "KB_RETRIEVAL": "bm25",
        "LLM_BACKEND": "template",
        "INDEX_DIR": str(root / "index"),
        "MILVUS_URI": str(root / "index" / "milvus.db"),
    }
    for name in ("TRACKER_DB_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def ctl(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """supervisorctl as the README runs it: only the config file, no ShopMate env."""
    return subprocess.run(
        [str(SUPERVISORCTL), "-c", str(conf), *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def program_pid(conf: Path, name: str) -> int:
    out = ctl(conf, "pid", name).stdout.strip()
    return int(out) if out.isdigit() else 0


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def still_starting(conf: Path) -> bool:
    """Whether supervisord still counts a program as STARTING: a server can answer
    before its `startsecs` have passed, and only then is it RUNNING."""
    return any(
        line.split()[1:2] == ["STARTING"] for line in ctl(conf, "status").stdout.splitlines()
    )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@contextmanager
def running_supervisord(root: Path) -> Iterator[Supervised]:
    conf = working_copy(root)
    env = supervisor_env(root)
    log = root / "supervisord.out"
    supervisord = subprocess.Popen(
        [str(SUPERVISORD), "-c", str(conf)],
        cwd=root,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Supervised(
        root=root,
        conf=conf,
        env=env,
        action_url=f"http://127.0.0.1:{env['ACTION_PORT']}/health",
        web_url=f"http://127.0.0.1:{env['WEB_PORT']}/",
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (
            answers(running.action_url) and answers(running.web_url) and not still_starting(conf)
        ):
            if supervisord.poll() is not None or time.monotonic() > deadline:
                logs = "\n".join(
                    tail(path) for path in (log, *sorted((root / "var" / "log").glob("*.log")))
                )
                pytest.fail(f"supervised ShopMate did not come up:\n{logs}")
            time.sleep(1)
        yield running
    finally:
        leftovers = stop_supervisord(supervisord, conf)
    assert not leftovers, f"processes outlived supervisord: {leftovers}"


def stop_supervisord(supervisord: subprocess.Popen[bytes], conf: Path) -> list[int]:
    """What Ctrl-C in scripts/run.sh does: SIGTERM to supervisord, which stops its
    programs (each as a process group) and exits. Returns (and kills) the programs'
    pids that outlived it."""
    pids: list[int] = []
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        pids = [program_pid(conf, name) for name in PROGRAMS]
    with contextlib.suppress(ProcessLookupError):
        supervisord.send_signal(signal.SIGTERM)
    try:
        supervisord.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisord.pid, signal.SIGKILL)
        supervisord.wait(timeout=10)
    leftovers = [pid for pid in pids if pid and pid_alive(pid)]
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return leftovers


def test_shipped_config_parses_with_three_restarting_programs(tmp_path: Path) -> None:
    from supervisor.datatypes import RestartUnconditionally
    from supervisor.options import ServerOptions

    conf = working_copy(tmp_path)
    env = {
        "RASA_PORT": "5005",
        "WEB_PORT": "8080",
        "ACTION_PORT": "5055",
        "SHOPMATE_START_RASA": "true",
        "RASA_AUTH_TOKEN": "-leading-dash-token",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        options = ServerOptions()
        options.realize(args=["-c", str(conf)])

    assert options.nodaemon
    var = tmp_path / "var"
    assert Path(os.path.normpath(options.pidfile)).parent == var
    assert Path(os.path.normpath(options.logfile)) == var / "log" / "supervisord.log"
    # Control over a unix socket under var/ only, no TCP server.
    assert [server["file"] for server in options.server_configs] == [str(var / "supervisor.sock")]
    programs = {
        process.name: process
        for group in options.process_group_configs
        for process in group.process_configs
    }
    assert set(programs) == PROGRAMS
    for name, process in programs.items():
        assert process.autostart, name
        assert process.autorestart is RestartUnconditionally, name
        assert process.stopasgroup, name
        assert process.killasgroup, name
        assert Path(process.directory).resolve() == tmp_path.resolve()
        assert Path(os.path.normpath(process.stdout_logfile)) == var / "log" / f"{name}.log"
        assert process.stdout_logfile_maxbytes > 0, name
        assert process.stdout_logfile_backups > 0, name
    # Rasa loads its model for about a minute: it must count as started quickly.
    assert programs["rasa"].startsecs <= 1
    rasa_args = programs["rasa"].command.split()
    assert "--auth-token=-leading-dash-token" in rasa_args
    assert rasa_args[1:3] == ["run", "--enable-api"]
    assert rasa_args[rasa_args.index("--port") + 1] == "5005"
    assert rasa_args[rasa_args.index("--model") + 1] == "models"
    assert rasa_args[rasa_args.index("--interface") + 1] == "127.0.0.1"
    web_args = programs["web"].command.split()
    assert web_args[1] == "web/server.py"
    assert "--demo-login" in web_args
    assert web_args[web_args.index("--rasa-url") + 1] == "http://127.0.0.1:5005"
    assert web_args[web_args.index("--port") + 1] == "8080"
    assert programs["actions"].command.split()[1:] == ["-m", "actions.server", "--port", "5055"]

    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**env, "SHOPMATE_START_RASA": "false"}.items():
            patch.setenv(name, value)
        options = ServerOptions()
        options.realize(args=["-c", str(conf)])
    autostart = {
        process.name: process.autostart
        for group in options.process_group_configs
        for process in group.process_configs
    }
    assert autostart == {"actions": True, "rasa": False, "web": True}


def test_killed_action_server_restarts_while_the_page_keeps_serving(tmp_path: Path) -> None:
    with running_supervisord(tmp_path) as shop:
        states = dict(line.split()[:2] for line in ctl(shop.conf, "status").stdout.splitlines())
        assert states == {"actions": "RUNNING", "rasa": "STOPPED", "web": "RUNNING"}
        old_pid, web_pid = program_pid(shop.conf, "actions"), program_pid(shop.conf, "web")
        assert old_pid
        assert web_pid

        os.kill(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + RESTART_SECONDS
        while True:
            # The page keeps answering, and is not restarted, while the actions are down.
            assert answers(shop.web_url), "the web page stopped answering"
            new_pid = program_pid(shop.conf, "actions")
            if new_pid not in (0, old_pid) and answers(shop.action_url):
                break
            assert time.monotonic() < deadline, (
                f"the action server did not come back within {RESTART_SECONDS}s:\n"
                + tail(shop.root / "var" / "log" / "actions.log")
                + tail(shop.root / "var" / "log" / "supervisord.log")
            )
            time.sleep(0.5)

        assert not pid_alive(old_pid)
        assert program_pid(shop.conf, "web") == web_pid
        assert (
            "exited: actions (terminated by SIGKILL"
            in (shop.root / "var" / "log" / "supervisord.log").read_text()
        )
        # Rasa was not started (SHOPMATE_START_RASA=false) and stays stopped.
        assert program_pid(shop.conf, "rasa") == 0
