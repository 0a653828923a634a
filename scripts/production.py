"""ShopMate's production shape on one machine, and its launcher.

nginx (deploy/nginx.conf.template) in front of two Rasa instances that share a
PostgreSQL tracker store and a Redis lock store, two action servers behind nginx's
internal listener, and the page server; supervisord (a config rendered here) restarts
whatever dies. `make run-prod` runs `python -m scripts.production run`; the fault tests
and `make bench` start the same shape on free ports with `production(...)`.

    python -m scripts.production run               # .env + the variables below
    python -m scripts.production render --var DIR  # write the configs only

Variables (all optional): PUBLIC_HOST (127.0.0.1), PUBLIC_PORT (8080), WEB_PORT (8081),
RASA_PORTS (5011,5012,... one per instance; RASA_INSTANCES=2), ACTION_PORTS
(5061,5062,...; ACTION_SERVERS=2), ACTIONS_LB_PORT (5055), RASA_API_PORT (5004),
TRACKER_DB_URL (postgresql://postgres@127.0.0.1:5432/shopmate_tracker, created when
missing), REDIS_URL (redis://127.0.0.1:6379/1), NGINX_RATE_PER_ADDRESS (20r/s),
NGINX_BURST (40), TICKET_LOCK_LIFETIME (15 s, Rasa's lock on a conversation).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
ACTIONS_PYTHON = ROOT / ".venv-actions" / "bin" / "python"
SUPERVISORD = ROOT / ".venv-actions" / "bin" / "supervisord"
SUPERVISORCTL = ROOT / ".venv-actions" / "bin" / "supervisorctl"
NGINX = Path("/usr/sbin/nginx")
DEFAULT_TRACKER_DB_URL = "postgresql://postgres@127.0.0.1:5432/shopmate_tracker"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
# A turn holds its conversation's lock in Redis; if the instance holding it dies, the
# message nginx sends again waits until the lock lapses. Rasa's default is 60 s; a
# ShopMate turn ends within the action timeout (addons/action_failures.py), well
# under this.
TICKET_LOCK_LIFETIME_S = 15
STARTUP_SECONDS = 300


@dataclass(frozen=True)
class Limits:
    """nginx's limits per client address (Rasa adds per-conversation limits)."""

    rate_per_address: str = "20r/s"
    burst: int = 40
    page_rate_per_address: str = "30r/s"
    page_burst: int = 60
    sockets_per_address: int = 50
    client_max_body: str = "2m"


@dataclass(frozen=True)
class Shape:
    """Where each part listens and where the shape keeps its files."""

    var: Path
    public_port: int = 8080
    web_port: int = 8081
    actions_lb_port: int = 5055
    rasa_api_port: int = 5004
    rasa_ports: tuple[int, ...] = (5011, 5012)
    action_ports: tuple[int, ...] = (5061, 5062)
    public_host: str = "127.0.0.1"
    limits: Limits = field(default_factory=Limits)
    demo_login: bool = True
    nginx_workers: int = 1

    @property
    def log(self) -> Path:
        return self.var / "log"

    @property
    def conf_dir(self) -> Path:
        return self.var / "production"

    @property
    def supervisord_conf(self) -> Path:
        return self.conf_dir / "supervisord.conf"

    @property
    def public_url(self) -> str:
        return f"http://{self.public_host}:{self.public_port}"

    @property
    def rasa_names(self) -> list[str]:
        return [f"rasa-{n}" for n in range(1, len(self.rasa_ports) + 1)]

    @property
    def action_names(self) -> list[str]:
        return [f"actions-{n}" for n in range(1, len(self.action_ports) + 1)]


def _servers(ports: tuple[int, ...]) -> str:
    # One failure takes a server out for 5 s: a dead instance costs one retry, not one
    # per request.
    return "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports
    )


def render_nginx(shape: Shape) -> str:
    limits = shape.limits
    return fill_template(
        NGINX_TEMPLATE.read_text(encoding="utf-8"),
        NGINX_WORKERS=shape.nginx_workers,
        VAR=shape.conf_dir,
        LOG=shape.log,
        CLIENT_MAX_BODY=limits.client_max_body,
        RATE_PER_ADDRESS=limits.rate_per_address,
        PAGE_RATE_PER_ADDRESS=limits.page_rate_per_address,
        BURST=limits.burst,
        PAGE_BURST=limits.page_burst,
        SOCKETS_PER_ADDRESS=limits.sockets_per_address,
        RASA_SERVERS=_servers(shape.rasa_ports),
        ACTION_SERVERS=_servers(shape.action_ports),
        WEB_PORT=shape.web_port,
        PUBLIC_HOST=shape.public_host,
        PUBLIC_PORT=shape.public_port,
        ACTIONS_LB_PORT=shape.actions_lb_port,
        RASA_API_PORT=shape.rasa_api_port,
        FAIL_TIMEOUT="5s",
    )


def fill_template(template: str, **values: object) -> str:
    """Replace each ${NAME} (capitals only: nginx's own $variables stay as they are);
    a name without a value is an error, not an empty string."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{NGINX_TEMPLATE.name}: no value for ${{{name}}}")
        return str(values[name])

    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)\}", value, template)


def _program(name: str, command: str, log: Path, priority: int, **extra: str) -> str:
    lines = [
        f"[program:{name}]",
        f"command={command}",
        f"directory={ROOT}",
        f"priority={priority}",
        "autostart=true",
        "autorestart=true",
        "startretries=30",
        "stopsignal=TERM",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={log}",
        "stdout_logfile_maxbytes=10MB",
        "stdout_logfile_backups=5",
    ]
    lines += [f"{key}={value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def render_supervisord(shape: Shape) -> str:
    """supervisord's config for the shape. Secrets are not in it: supervisord passes its
    own environment (the launcher's, from .env) to every program."""
    conf = shape.conf_dir
    parts = [
        "; Rendered by scripts/production.py for this machine; do not edit.\n"
        f"[supervisord]\nnodaemon=true\nlogfile={shape.log / 'supervisord.log'}\n"
        f"logfile_maxbytes=10MB\nlogfile_backups=3\npidfile={conf / 'supervisord.pid'}\n"
        f"childlogdir={shape.log}\n\n"
        f"[unix_http_server]\nfile={conf / 'supervisor.sock'}\nchmod=0700\n\n"
        f"[supervisorctl]\nserverurl=unix://{conf / 'supervisor.sock'}\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
    ]
    for name, port in zip(shape.action_names, shape.action_ports, strict=True):
        parts.append(
            _program(
                name,
                f"{ACTIONS_PYTHON} -m actions.server --port {port}",
                shape.log / f"{name}.log",
                10,
                environment='PYTHONUNBUFFERED="1"',
                startsecs="3",
                stopwaitsecs="15",
            )
        )
    for name, port in zip(shape.rasa_names, shape.rasa_ports, strict=True):
        # "=" form: a token may start with "-". Sanic's graceful shutdown finishes the
        # turns in flight on SIGTERM (stopwaitsecs leaves it the time).
        parts.append(
            _program(
                name,
                f"{RASA} run --enable-api --auth-token=%(ENV_RASA_AUTH_TOKEN)s "
                f"--interface 127.0.0.1 --port {port} --model models "
                "--endpoints endpoints.yml --credentials credentials.yml",
                shape.log / f"{name}.log",
                20,
                environment=f'ACTION_PORT="{shape.actions_lb_port}",SANIC_WORKERS="1"',
                startsecs="1",
                stopwaitsecs="30",
            )
        )
    demo = " --demo-login" if shape.demo_login else ""
    parts.append(
        _program(
            "web",
            f"{ACTIONS_PYTHON} web/server.py --host 127.0.0.1 --port {shape.web_port} "
            f"--rasa-url {shape.public_url}{demo}",
            shape.log / "web.log",
            30,
            environment=(
                f'PYTHONUNBUFFERED="1",RASA_API_URL="http://127.0.0.1:{shape.rasa_api_port}"'
            ),
            startsecs="2",
            stopwaitsecs="10",
        )
    )
    parts.append(
        _program(
            "nginx",
            f"{NGINX} -c {conf / 'nginx.conf'} -p {conf}",
            shape.log / "nginx.log",
            5,
            startsecs="1",
            stopwaitsecs="10",
        )
    )
    return "\n".join(parts)


def write_configs(shape: Shape) -> None:
    for directory in (shape.log, shape.conf_dir / "nginx"):
        directory.mkdir(parents=True, exist_ok=True)
    (shape.conf_dir / "nginx.conf").write_text(render_nginx(shape), encoding="utf-8")
    shape.supervisord_conf.write_text(render_supervisord(shape), encoding="utf-8")


def shape_env(shape: Shape, env: Mapping[str, str]) -> dict[str, str]:
    """The environment every program of the shape gets: the caller's (.env's) with
    the shape's own settings; what the caller sets wins."""
    return {
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TICKET_LOCK_LIFETIME": str(TICKET_LOCK_LIFETIME_S),
        # A restarted action server refuses connections until it is warm: nginx sends
        # its share to the other one meanwhile (shopmate/settings.py).
        "ACTIONS_WARM_BEFORE_SERVING": "true",
        # Rasa listens on 127.0.0.1 only, so only nginx reaches it and its
        # X-Forwarded-For names the shopper's address (per-address limits).
        "EDGE_TRUST_FORWARDED_FOR": "true",
        "SHOP_ORIGINS": shape.public_url,
        # Rasa's tracker store pool per instance (its defaults are 50 + 100 overflow).
        "SQL_POOL_SIZE": "10",
        "SQL_MAX_OVERFLOW": "10",
        "TRACKER_DB_URL": DEFAULT_TRACKER_DB_URL,
        "REDIS_URL": DEFAULT_REDIS_URL,
        **env,
    }


def supervisorctl(shape: Shape, *args: str) -> str:
    result = subprocess.run(
        [str(SUPERVISORCTL), "-c", str(shape.supervisord_conf), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout


def program_pids(shape: Shape) -> dict[str, int]:
    """Program name → pid of those running (supervisorctl status)."""
    pids = {}
    for line in supervisorctl(shape, "status").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1] == "RUNNING" and fields[2] == "pid":
            pids[fields[0]] = int(fields[3].rstrip(","))
    return pids


def readiness_urls(shape: Shape, auth_token: str) -> list[str]:
    urls = [f"http://127.0.0.1:{port}/health" for port in shape.action_ports]
    urls += [f"http://127.0.0.1:{port}/status?token={auth_token}" for port in shape.rasa_ports]
    return [*urls, f"{shape.public_url}/", f"{shape.public_url}/webhooks/rest/"]


def wait_ready(
    shape: Shape, auth_token: str, supervisord: subprocess.Popen[bytes], seconds: float
) -> None:
    pending = readiness_urls(shape, auth_token)
    deadline = time.monotonic() + seconds
    while pending and time.monotonic() < deadline:
        if supervisord.poll() is not None:
            raise RuntimeError(f"supervisord exited; see {shape.log / 'supervisord.log'}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(pending[0], timeout=2).status_code == 200:
                pending.pop(0)
                continue
        time.sleep(1)
    if pending:
        raise RuntimeError(
            f"not up after {seconds:.0f} s: {pending[0].split('?')[0]} (logs: {shape.log})"
        )


def start_supervisord(shape: Shape, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    write_configs(shape)
    return subprocess.Popen(
        [str(SUPERVISORD), "-c", str(shape.supervisord_conf)],
        cwd=ROOT,
        env=dict(env),
        stdout=(shape.log / "supervisord.out").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_supervisord(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM: supervisord stops its programs (each as a process group), then exits."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# ------------------------------------------------------------- tests and benchmarks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Production:
    """A running production shape: its public URL and handles on each part."""

    shape: Shape
    public_url: str
    rasa_urls: list[str]
    action_urls: list[str]
    auth_token: str
    rest_token: str
    session_secret: str
    customer_token_secret: str
    database_url: str
    log_dir: Path
    env: dict[str, str]

    def pids(self) -> dict[str, int]:
        """Program name (rasa-1, rasa-2, actions-1, actions-2, web, nginx) → pid."""
        return program_pids(self.shape)

    def signal(self, program: str, signum: int) -> None:
        """Send a signal to a program's process (supervisord restarts it if it dies)."""
        os.kill(self.pids()[program], signum)

    def supervisorctl(self, *args: str) -> str:
        return supervisorctl(self.shape, *args)

    def logs(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))


@contextmanager
def production(
    workdir: Path,
    *,
    rasa_instances: int = 2,
    action_servers: int = 2,
    env: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> Iterator[Production]:
    """Start the shape on free ports with fresh secrets, files under `workdir`; `env`
    must name TRACKER_DB_URL, REDIS_URL and DATABASE_URL (migrated) and may override
    anything else. Stops everything afterwards."""
    shape = Shape(
        var=workdir,
        public_port=free_port(),
        web_port=free_port(),
        actions_lb_port=free_port(),
        rasa_api_port=free_port(),
        rasa_ports=tuple(free_port() for _ in range(rasa_instances)),
        action_ports=tuple(free_port() for _ in range(action_servers)),
        limits=limits or Limits(),
    )
    given = dict(env or {})
    missing = {"TRACKER_DB_URL", "REDIS_URL", "DATABASE_URL"} - set(given)
    if missing:
        raise ValueError(f"production(): env lacks {sorted(missing)}")
    secrets_env = {
        name: secrets.token_urlsafe(24)
        for name in (
            "RASA_AUTH_TOKEN",
            "ACTION_SERVER_TOKEN",
            "CUSTOMER_TOKEN_SECRET",
            "SESSION_SECRET",
            "REST_CHANNEL_TOKEN",
        )
    }
    base = {k: v for k, v in os.environ.items() if k not in ("TRACKER_SQLITE_PATH",)}
    full_env = shape_env(shape, {**base, **secrets_env, **given})
    supervisord = start_supervisord(shape, full_env)
    try:
        wait_ready(shape, full_env["RASA_AUTH_TOKEN"], supervisord, STARTUP_SECONDS)
        yield Production(
            shape=shape,
            public_url=shape.public_url,
            rasa_urls=[f"http://127.0.0.1:{port}" for port in shape.rasa_ports],
            action_urls=[f"http://127.0.0.1:{port}" for port in shape.action_ports],
            auth_token=full_env["RASA_AUTH_TOKEN"],
            rest_token=full_env["REST_CHANNEL_TOKEN"],
            session_secret=full_env["SESSION_SECRET"],
            customer_token_secret=full_env["CUSTOMER_TOKEN_SECRET"],
            database_url=full_env["DATABASE_URL"],
            log_dir=shape.log,
            env=full_env,
        )
    finally:
        stop_supervisord(supervisord)


# ------------------------------------------------------------------- make run-prod


def _ports(value: str | None, count: int, first: int) -> tuple[int, ...]:
    if value:
        return tuple(int(port) for port in value.split(",") if port.strip())
    return tuple(first + n for n in range(count))


def shape_from_env(env: Mapping[str, str], var: Path) -> Shape:
    limits = Limits(
        rate_per_address=env.get("NGINX_RATE_PER_ADDRESS", Limits.rate_per_address),
        burst=int(env.get("NGINX_BURST", Limits.burst)),
    )
    production_profile = env.get("SHOPMATE_PROFILE", "").lower() in ("prod", "production")
    public_host = env.get("PUBLIC_HOST", "127.0.0.1")
    return Shape(
        var=var,
        public_host=public_host,
        public_port=int(env.get("PUBLIC_PORT", 8080)),
        web_port=int(env.get("WEB_PORT", 8081)),
        actions_lb_port=int(env.get("ACTIONS_LB_PORT", 5055)),
        rasa_api_port=int(env.get("RASA_API_PORT", 5004)),
        rasa_ports=_ports(env.get("RASA_PORTS"), int(env.get("RASA_INSTANCES", 2)), 5011),
        action_ports=_ports(env.get("ACTION_PORTS"), int(env.get("ACTION_SERVERS", 2)), 5061),
        limits=limits,
        # The demo sign-in is for trying the shape on this machine, never public.
        demo_login=not production_profile and public_host in ("127.0.0.1", "localhost"),
    )


def ensure_tracker_database(url: str) -> None:
    """Create the tracker store's PostgreSQL database if it is missing."""
    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            db.execute(f'CREATE DATABASE "{name}"')
            print(f"created the tracker database {name}")


def check_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=3).ping()


def run(env: Mapping[str, str]) -> int:
    shape = shape_from_env(env, ROOT / "var")
    full_env = shape_env(shape, env)
    for problem, check in (
        (
            "PostgreSQL (TRACKER_DB_URL)",
            lambda: ensure_tracker_database(full_env["TRACKER_DB_URL"]),
        ),
        ("Redis (REDIS_URL)", lambda: check_redis(full_env["REDIS_URL"])),
    ):
        try:
            check()
        except Exception as error:  # noqa: BLE001 - said to the person starting it
            print(f"cannot reach {problem}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    if not NGINX.exists():
        print(
            "nginx is not installed: `make install-system` (Debian's nginx-light)", file=sys.stderr
        )
        return 1
    supervisord = start_supervisord(shape, full_env)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        # Only the signal here: the main thread is in supervisord.wait() (waiting
        # from a handler as well would block on the same child).
        nonlocal stopping
        stopping = True
        print("\nstopping ShopMate...", flush=True)
        with contextlib.suppress(ProcessLookupError):
            supervisord.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"logs: {shape.log}/{{rasa-N,actions-N,web,nginx*}}.log", flush=True)
    print(f"status: {SUPERVISORCTL} -c {shape.supervisord_conf} status", flush=True)
    print(f"waiting for {len(shape.rasa_ports)} Rasa instances to load the model...", flush=True)
    try:
        wait_ready(shape, full_env["RASA_AUTH_TOKEN"], supervisord, STARTUP_SECONDS)
        print(f"\n  ShopMate (production shape) is ready: {shape.public_url}\n", flush=True)
    except RuntimeError as error:
        if not stopping:
            print(error, file=sys.stderr)
    supervisord.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the shape (make run-prod)")
    render = sub.add_parser("render", help="write nginx.conf and supervisord.conf only")
    render.add_argument("--var", type=Path, default=ROOT / "var")
    args = parser.parse_args(argv)
    if args.command == "render":
        shape = shape_from_env(os.environ, args.var)
        write_configs(shape)
        print(shape.conf_dir / "nginx.conf")
        print(shape.supervisord_conf)
        return 0
    return run(os.environ)


if __name__ == "__main__":
    sys.exit(main())
