"""The deployment files (deploy/compose, deploy/k8s) kept honest against the code.

- every YAML file parses;
- every environment variable they name is one ShopMate's code reads (found by a regex
  over shopmate/settings.py, addons/settings.py, web/server.py, web/agent.py,
  endpoints.yml and credentials.yml, plus the platform names addons/settings.py builds),
  or one of the few that the software underneath reads (THIRD_PARTY);
- every secret production needs is in the compose env file and in the k8s Secret, and
  each part is given the ones it reads;
- the endpoints and credentials they carry are the repository's, but for addresses;
- compose's nginx refuses Rasa's HTTP API and routes the rest as docs/deploy.md says
  (its locations are matched here as nginx matches them); the k8s Ingress routes no
  API path to Rasa and has cookie affinity on /socket.io/;
- the Dockerfiles install what the Makefile installs.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from addons.settings import PLATFORMS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_DIR = ROOT / "deploy" / "compose"
K8S_DIR = ROOT / "deploy" / "k8s"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
COMPOSE_ENV = COMPOSE_DIR / "env.example"
COMPOSE_NGINX = COMPOSE_DIR / "nginx.conf"
HELM_VALUES = K8S_DIR / "rasa-helm-values.yaml"

# Where ShopMate reads its environment: the two settings modules, the page server
# (and its agent console), and the YAML files Rasa fills ${VAR} in.
PYTHON_SOURCES = ("shopmate/settings.py", "addons/settings.py", "web/server.py", "web/agent.py")
YAML_SOURCES = ("endpoints.yml", "credentials.yml")

# What production cannot run without.
PRODUCTION_SECRETS = (
    "ACTION_SERVER_TOKEN",
    "RASA_AUTH_TOKEN",
    "CUSTOMER_TOKEN_SECRET",
    "SESSION_SECRET",
    "REST_CHANNEL_TOKEN",
    "TRACKER_DB_URL",
    "REDIS_URL",
    "DATABASE_URL",
)
# The secrets each part reads, and where it reads them. RASA_AUTH_TOKEN goes to Rasa
# as --auth-token (checked with the commands).
NEEDS = {
    "rasa": {
        "ACTION_SERVER_TOKEN": "endpoints.yml",
        "SESSION_SECRET": "addons/settings.py",
        "REST_CHANNEL_TOKEN": "addons/settings.py",
        "TRACKER_DB_URL": "addons/settings.py",
        "REDIS_URL": "addons/settings.py",
    },
    "actions": {
        "ACTION_SERVER_TOKEN": "shopmate/settings.py",
        "CUSTOMER_TOKEN_SECRET": "shopmate/settings.py",
        "DATABASE_URL": "shopmate/settings.py",
    },
    "web": {
        "SESSION_SECRET": "web/server.py",
        "RASA_AUTH_TOKEN": "web/server.py",
        # The shop's pages read the catalog as the action servers do.
        "DATABASE_URL": "shopmate/settings.py",
    },
}

# Read by the software underneath, not by ShopMate's code.
THIRD_PARTY = {
    "RASA_TELEMETRY_ENABLED": "Rasa",
    "SANIC_WORKERS": "Rasa (rasa/constants.py)",
    "TICKET_LOCK_LIFETIME": "Rasa's lock store (rasa/core/lock_store.py)",
    "SQL_POOL_SIZE": "Rasa's SQL tracker store (rasa/core/constants.py)",
    "SQL_MAX_OVERFLOW": "Rasa's SQL tracker store (rasa/core/constants.py)",
    "HF_HUB_OFFLINE": "huggingface_hub",
    # libpq: Rasa's tracker store takes no TLS options from TRACKER_DB_URL.
    "PGSSLMODE": "libpq (psycopg2 in Rasa, psycopg in the action servers)",
    "PGSSLROOTCERT": "libpq",
}
# The postgres image's, in the compose service `postgres` only.
POSTGRES_IMAGE = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}

PY_STRING_NAME = re.compile(r"[\"']([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)[\"']")
DOLLAR_BRACE = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")
DOLLAR_PAREN = re.compile(r"\$\(([A-Z][A-Z0-9_]*)\)")
ENV_LINE = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", re.M)
ACTIVE_ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.M)


# ------------------------------------------------------------------------ helpers


def deploy_yaml_files() -> list[Path]:
    files = [*COMPOSE_DIR.rglob("*.yml"), *COMPOSE_DIR.rglob("*.yaml")]
    files += [*K8S_DIR.rglob("*.yml"), *K8S_DIR.rglob("*.yaml")]
    return sorted(files)


def documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@functools.cache
def k8s_objects() -> list[dict[str, Any]]:
    objects = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        objects += [d for d in documents(path) if isinstance(d, dict) and "metadata" in d]
    return objects


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} in deploy/k8s"
    return found[0]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


def yaml_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from yaml_strings(key)
            yield from yaml_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from yaml_strings(item)


def code_variables() -> dict[str, set[str]]:
    """Environment variable name → the source files that read it."""
    found: dict[str, set[str]] = {}
    for name in PYTHON_SOURCES:
        for var in PY_STRING_NAME.findall((ROOT / name).read_text(encoding="utf-8")):
            found.setdefault(var, set()).add(name)
    for name in YAML_SOURCES:
        for text in yaml_strings(yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))):
            for var in DOLLAR_BRACE.findall(text):
                found.setdefault(var, set()).add(name)
    # addons/settings.py builds the platforms' names: {PREFIX}_{SHORT}, {PREFIX}_API_BASE,
    # {PREFIX}_MAX_AGE_S (platform_settings).
    for prefix, keys, _required, _api_base in PLATFORMS.values():
        for short in (*keys, "api_base", "max_age_s"):
            found.setdefault(f"{prefix}_{short.upper()}", set()).add("addons/settings.py")
    return found


def env_file_names(path: Path, *, active_only: bool) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    if active_only:
        return {m.group(1): m.group(2) for m in ACTIVE_ENV_LINE.finditer(text)}
    return {name: "" for name in ENV_LINE.findall(text)}


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {})
    template = spec.get("template", {}).get("spec", {})
    return [*template.get("containers", []), *template.get("initContainers", [])]


def env_entries(container: dict[str, Any]) -> list[dict[str, Any]]:
    return list(container.get("env") or [])


def deployment_env_names(name: str) -> set[str]:
    (container,) = containers(k8s_object("Deployment", name))
    return {entry["name"] for entry in env_entries(container)}


def k8s_variable_names() -> dict[str, str]:
    """Every environment variable the k8s files name → where."""
    named: dict[str, str] = {}
    for obj in k8s_objects():
        where = f"{obj['kind']} {obj['metadata']['name']}"
        if obj["kind"] == "Secret":
            for key in {**obj.get("stringData", {}), **obj.get("data", {})}:
                named[key] = where
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "shopmate-env":
            for key in obj["data"]:
                named[key] = where
        for container in containers(obj):
            for entry in env_entries(container):
                named[entry["name"]] = where
            for text in [*container.get("command", []), *container.get("args", [])]:
                for var in DOLLAR_PAREN.findall(text):
                    named[var] = where
    helm = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
    for entry in helm.get("extraEnv", []):
        named[entry["name"]] = HELM_VALUES.name
    for text in helm.get("args", []):
        for var in DOLLAR_PAREN.findall(text):
            named[var] = HELM_VALUES.name
    return named


# ----------------------------------------------------------------- nginx, as parsed


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[0] if found else None


NGINX_TOKEN = re.compile(r"#[^\n]*|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};]+")


def parse_nginx(text: str) -> Directive:
    root = Directive("main", [], [])
    stack = [root]
    words: list[str] = []
    for token in NGINX_TOKEN.findall(text):
        if token.startswith("#"):
            continue
        if token == ";":
            assert stack[-1].block is not None
            stack[-1].block.append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            node = Directive(words[0], words[1:], [])
            assert stack[-1].block is not None
            stack[-1].block.append(node)
            stack.append(node)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token[1:-1] if token[0] in "\"'" else token)
    assert len(stack) == 1, "unbalanced braces in nginx.conf"
    assert not words, f"unterminated directive {words}"
    return root


def nginx_http() -> Directive:
    http = parse_nginx(COMPOSE_NGINX.read_text(encoding="utf-8")).one("http")
    assert http is not None
    return http


def nginx_server(http: Directive, port: int) -> Directive:
    for server in http.all("server"):
        if any(d.args[0].rsplit(":", 1)[-1] == str(port) for d in server.all("listen")):
            return server
    raise AssertionError(f"no nginx server listens on {port}")


def nginx_location(server: Directive, path: str) -> Directive:
    """The location nginx picks for `path`: an exact match; else the longest prefix
    if it is ^~; else the first matching regex, in order; else the longest prefix."""
    locations = [d for d in server.all("location") if not d.args[0].startswith("@")]
    for location in locations:
        if location.args[0] == "=" and location.args[1] == path:
            return location
    prefixes = [loc for loc in locations if loc.args[0] not in ("=", "~", "~*")]
    matching = [loc for loc in prefixes if path.startswith(loc.args[-1])]
    longest = max(matching, key=lambda loc: len(loc.args[-1]), default=None)
    if longest is not None and longest.args[0] == "^~":
        return longest
    for location in locations:
        if location.args[0] in ("~", "~*"):
            flags = re.IGNORECASE if location.args[0] == "~*" else 0
            if re.search(location.args[1], path, flags):
                return location
    assert longest is not None, f"no location for {path}"
    return longest


def upstream_of(http: Directive, location: Directive) -> Directive:
    proxy_pass = location.one("proxy_pass")
    assert proxy_pass is not None, f"location {location.args} does not proxy"
    name = proxy_pass.args[0].removeprefix("http://").rstrip("/")
    for upstream in http.all("upstream"):
        if upstream.args[0] == name:
            return upstream
    raise AssertionError(f"no upstream {name}")


def upstream_hosts(upstream: Directive) -> set[str]:
    return {server.args[0] for server in upstream.all("server")}


# -------------------------------------------------------------------------- tests


def test_every_yaml_file_parses() -> None:
    files = deploy_yaml_files()
    assert {p.name for p in files} >= {
        "docker-compose.yml",
        "endpoints.yml",
        "config.yaml",
        "secret.example.yaml",
        "rasa.yaml",
        "actions.yaml",
        "web.yaml",
        "hpa.yaml",
        "ingress.yaml",
    }
    for path in files:
        assert documents(path), f"{path.relative_to(ROOT)} is empty"


def test_the_production_secrets_are_names_the_code_reads() -> None:
    read = code_variables()
    for name in PRODUCTION_SECRETS:
        assert name in read, f"{name} is read nowhere in {PYTHON_SOURCES + YAML_SOURCES}"
    for part, needs in NEEDS.items():
        for name, source in needs.items():
            assert source in read[name], f"{part}: {name} is not read in {source}"


def test_compose_names_only_variables_the_code_reads() -> None:
    known = set(code_variables()) | set(THIRD_PARTY)
    services = compose()["services"]
    for service_name, service in services.items():
        allowed = known | (POSTGRES_IMAGE if service_name == "postgres" else set())
        for var in service_environment(service):
            assert var in allowed, f"compose {service_name}: {var} is read by nothing"
    # ${VAR} in the compose file is filled from .env: the same names.
    for var in DOLLAR_BRACE.findall(COMPOSE_FILE.read_text(encoding="utf-8")):
        assert var in known | POSTGRES_IMAGE, f"docker-compose.yml: ${{{var}}} is read by nothing"
    for var in env_file_names(COMPOSE_ENV, active_only=False):
        assert var in known | POSTGRES_IMAGE, f"env.example: {var} is read by nothing"


def test_k8s_names_only_variables_the_code_reads() -> None:
    known = set(code_variables()) | set(THIRD_PARTY)
    for var, where in k8s_variable_names().items():
        assert var in known, f"{where}: {var} is read by nothing"


def test_compose_gives_every_part_its_secrets() -> None:
    env = env_file_names(COMPOSE_ENV, active_only=True)
    for name in PRODUCTION_SECRETS:
        assert name in env, f"env.example lacks {name}"
        assert env[name], f"env.example: {name} has no value (a placeholder at least)"
    services = compose()["services"]
    for name in ("rasa", "actions", "web", "prepare"):
        assert services[name].get("env_file") == ".env", f"compose {name}: env_file is not .env"
    # Placeholders that make-env.sh replaces with fresh random values.
    for name in ("ACTION_SERVER_TOKEN", "RASA_AUTH_TOKEN", "CUSTOMER_TOKEN_SECRET"):
        assert env[name] == "__SECRET__", name
    for name in ("SESSION_SECRET", "REST_CHANNEL_TOKEN"):
        assert env[name] == "__SECRET__", name
    for name in ("DATABASE_URL", "TRACKER_DB_URL"):
        assert "__POSTGRES_PASSWORD__" in env[name], name


def test_make_env_writes_fresh_secrets(tmp_path: Path) -> None:
    for name in ("env.example", "make-env.sh"):
        shutil.copy2(COMPOSE_DIR / name, tmp_path / name)
    script = tmp_path / "make-env.sh"
    subprocess.run([str(script)], check=True, capture_output=True, timeout=30)
    written = tmp_path / ".env"
    assert written.stat().st_mode & 0o077 == 0, ".env is readable by others"
    env = env_file_names(written, active_only=True)
    text = written.read_text(encoding="utf-8")
    assert "__SECRET__" not in text
    assert "__POSTGRES_PASSWORD__" not in text
    tokens = [env[name] for name in PRODUCTION_SECRETS if not name.endswith("_URL")]
    assert len(set(tokens)) == len(tokens)
    assert all(len(token) >= 32 for token in tokens)
    password = env["POSTGRES_PASSWORD"]
    assert f"shopmate:{password}@postgres" in env["DATABASE_URL"]
    assert f"shopmate:{password}@postgres" in env["TRACKER_DB_URL"]
    # A second run leaves the file as it is.
    before = written.read_text(encoding="utf-8")
    subprocess.run([str(script)], check=True, capture_output=True, timeout=30)
    assert written.read_text(encoding="utf-8") == before


def test_k8s_gives_every_part_its_secrets() -> None:
    secret = k8s_object("Secret", "shopmate-secrets")["stringData"]
    for name in PRODUCTION_SECRETS:
        assert name in secret, f"the Secret template lacks {name}"
    for part, needs in NEEDS.items():
        names = deployment_env_names(f"shopmate-{part}")
        assert set(needs) <= names, f"shopmate-{part} lacks {set(needs) - names}"
    helm_env = {
        e["name"] for e in yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))["extraEnv"]
    }
    assert set(NEEDS["rasa"]) | {"RASA_AUTH_TOKEN"} <= helm_env


def test_k8s_references_only_keys_that_exist() -> None:
    secrets = {
        obj["metadata"]["name"]: set(obj.get("stringData", {}))
        for obj in k8s_objects()
        if obj["kind"] == "Secret"
    }
    configs = {
        obj["metadata"]["name"]: set(obj.get("data", {}))
        for obj in k8s_objects()
        if obj["kind"] == "ConfigMap"
    }
    helm = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
    entries = [e for obj in k8s_objects() for c in containers(obj) for e in env_entries(c)]
    for entry in entries + helm["extraEnv"]:
        source = entry.get("valueFrom", {})
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            assert ref["key"] in secrets[ref["name"]], f"{entry['name']}: no {ref}"
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            assert ref["key"] in configs[ref["name"]], f"{entry['name']}: no {ref}"
    for obj in k8s_objects():
        for container in containers(obj):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configs
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets


def test_rasa_api_never_starts_without_its_token() -> None:
    commands = {
        "compose rasa": [str(a) for a in compose()["services"]["rasa"]["command"]],
        "k8s shopmate-rasa": containers(k8s_object("Deployment", "shopmate-rasa"))[0]["args"],
        "helm values": yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))["args"],
    }
    for where, args in commands.items():
        assert args[0] == "run", where
        assert "--enable-api" in args, where
        token = [a for a in args if a.startswith("--auth-token")]
        assert token, f"{where}: --enable-api without --auth-token"
        assert "RASA_AUTH_TOKEN" in token[0], where
        assert token[0].startswith("--auth-token="), f"{where}: a token may start with '-'"


def _without_addresses(endpoints: dict[str, Any]) -> dict[str, Any]:
    """The endpoints with each URL reduced to its path."""
    return {
        key: {k: re.sub(r"^https?://[^/]+", "", v) if k == "url" else v for k, v in value.items()}
        for key, value in endpoints.items()
    }


def test_deployed_endpoints_and_credentials_are_the_repository_s() -> None:
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    files = k8s_object("ConfigMap", "shopmate-rasa-files")["data"]
    helm = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))["applicationSettings"]
    deployed = {
        "deploy/compose/endpoints.yml": yaml.safe_load(
            (COMPOSE_DIR / "endpoints.yml").read_text(encoding="utf-8")
        ),
        "ConfigMap shopmate-rasa-files": yaml.safe_load(files["endpoints.yml"]),
        "rasa-helm-values.yaml": helm["endpoints"]["additionalEndpoints"],
    }
    for where, value in deployed.items():
        assert _without_addresses(value) == _without_addresses(endpoints), where
        for item in value.values():
            assert "127.0.0.1" not in str(item.get("url", "")), f"{where}: loopback URL"
    assert yaml.safe_load(files["credentials.yml"]) == credentials
    assert helm["credentials"]["additionalChannelCredentials"] == credentials
    # The compose Rasa instances read the compose file, mounted over the image's copy.
    volumes = compose()["services"]["rasa"]["volumes"]
    assert "./endpoints.yml:/app/endpoints.yml:ro" in volumes


def test_compose_exposes_only_nginx() -> None:
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}
    assert services["rasa"]["deploy"]["replicas"] == 2
    assert services["actions"]["deploy"]["replicas"] == 2
    for name in ("postgres", "redis", "rasa", "actions", "web"):
        assert "healthcheck" in services[name], f"compose {name} has no healthcheck"


def test_compose_nginx_refuses_rasa_s_http_api() -> None:
    public = nginx_server(nginx_http(), 8080)
    for path in ("/conversations/abc/tracker", "/conversations", "/model", "/model/parse"):
        location = nginx_location(public, path)
        status = location.one("return")
        assert status is not None, f"{path} reaches location {location.args}"
        assert status.args[0] in ("403", "404"), f"{path}: {status.args}"
        assert location.one("proxy_pass") is None
    for path in ("/status", "/version", "/domain"):
        assert nginx_location(public, path).one("return") is not None, path


def test_compose_nginx_routes_the_public_paths() -> None:
    http = nginx_http()
    public = nginx_server(http, 8080)
    services = compose()["services"]

    socketio = nginx_location(public, "/socket.io/")
    sticky = upstream_of(http, socketio)
    assert [d.args for d in sticky.all("hash")] == [["$lb_key", "consistent"]]
    maps = {tuple(d.args): d for d in http.all("map")}
    assert ("$cookie_shopmate_lb", "$lb_key") in maps
    cookie = [d.args for d in socketio.all("add_header") if d.args[0] == "Set-Cookie"]
    assert cookie
    assert cookie[0][1].startswith("shopmate_lb=$lb_key")

    webhooks = nginx_location(public, "/webhooks/rest/webhook")
    round_robin = upstream_of(http, webhooks)
    assert not round_robin.all("hash")
    retry = webhooks.one("proxy_next_upstream")
    assert retry is not None
    assert {"error", "timeout", "http_502", "http_503"} <= set(retry.args)
    assert upstream_hosts(sticky) == upstream_hosts(round_robin)

    for path in ("/", "/product/P00012", "/agent/"):
        pages = upstream_of(http, nginx_location(public, path))
        assert {h.split(":")[0] for h in upstream_hosts(pages)} == {"web"}

    # Every upstream host is a compose service; every proxying location overwrites
    # X-Forwarded-For (a location that sets any proxy header inherits none).
    for upstream in http.all("upstream"):
        for host in upstream_hosts(upstream):
            assert host.split(":")[0] in services, f"upstream {upstream.args[0]}: {host}"
    for location in public.all("location"):
        if location.one("proxy_pass"):
            headers = {tuple(d.args) for d in location.all("proxy_set_header")}
            assert ("X-Forwarded-For", "$remote_addr") in headers, location.args
            assert ("X-Request-ID", "$request_id") in headers, location.args
    for path in ("/socket.io/", "/webhooks/", "/"):
        assert nginx_location(public, path).all("limit_req"), f"{path} is not rate limited"


def test_compose_nginx_internal_listeners() -> None:
    http = nginx_http()
    endpoints = yaml.safe_load((COMPOSE_DIR / "endpoints.yml").read_text(encoding="utf-8"))
    action_url = endpoints["action_endpoint"]["url"]
    match = re.match(r"http://nginx:(\d+)/", action_url)
    assert match, action_url
    actions_lb = nginx_server(http, int(match.group(1)))
    assert upstream_hosts(upstream_of(http, nginx_location(actions_lb, "/webhook"))) == {
        "actions:5055"
    }
    rasa_api_url = service_environment(compose()["services"]["web"])["RASA_API_URL"]
    match = re.match(r"http://nginx:(\d+)$", rasa_api_url)
    assert match, rasa_api_url
    rasa_api = nginx_server(http, int(match.group(1)))
    assert upstream_hosts(upstream_of(http, nginx_location(rasa_api, "/status"))) == {"rasa:5005"}
    # Rasa's calls carry ?token= in the URL: no access log there.
    for server in (actions_lb, rasa_api):
        assert [d.args for d in server.all("access_log")] == [["off"]]
    published = {p.split(":")[-1] for p in compose()["services"]["nginx"]["ports"]}
    assert published == {"8080"}, "only the public listener is published"


def test_compose_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed")
    if not Path("/etc/nginx/mime.types").exists():
        pytest.skip("no /etc/nginx/mime.types")
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True, timeout=10)
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version.stderr)
    text = COMPOSE_NGINX.read_text(encoding="utf-8")
    if found and tuple(int(n) for n in found.groups()) < (1, 27, 3):
        # `resolve` on upstream servers is newer than this nginx: check the rest.
        text = re.sub(r" resolve(?=[ ;])", "", text)
    # Compose service names do not resolve here.
    text = re.sub(r"server (rasa|actions|web):", "server 127.0.0.1:", text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def _ingress_routes() -> list[tuple[str, dict[str, Any], str]]:
    routes = []
    for obj in k8s_objects():
        if obj["kind"] != "Ingress":
            continue
        for rule in obj["spec"]["rules"]:
            for item in rule["http"]["paths"]:
                assert item["pathType"] == "Prefix", item
                routes.append((item["path"], obj, item["backend"]["service"]["name"]))
    return routes


def ingress_route(path: str) -> tuple[dict[str, Any], str]:
    """The Ingress and Service that Kubernetes' Prefix matching picks for `path`:
    the longest prefix, by whole path elements."""
    parts = [p for p in path.split("/") if p]
    best: tuple[int, dict[str, Any], str] | None = None
    for prefix, ingress, service in _ingress_routes():
        elements = [p for p in prefix.split("/") if p]
        if parts[: len(elements)] == elements and (best is None or len(elements) > best[0]):
            best = (len(elements), ingress, service)
    assert best is not None, f"no Ingress path for {path}"
    return best[1], best[2]


def service_component(name: str) -> str:
    return str(k8s_object("Service", name)["spec"]["selector"]["app.kubernetes.io/component"])


def test_k8s_ingress_has_cookie_affinity_on_socketio_and_no_api() -> None:
    prefix = "nginx.ingress.kubernetes.io/"
    ingress, service = ingress_route("/socket.io/")
    assert service_component(service) == "rasa"
    annotations = ingress["metadata"]["annotations"]
    assert annotations[prefix + "affinity"] == "cookie"
    assert annotations[prefix + "session-cookie-name"] == "shopmate_lb"
    assert annotations[prefix + "session-cookie-path"] == "/socket.io/"

    ingress, service = ingress_route("/webhooks/rest/webhook")
    assert service_component(service) == "rasa"
    annotations = ingress["metadata"]["annotations"]
    assert prefix + "affinity" not in annotations
    assert {"error", "timeout", "http_502", "http_503"} <= set(
        annotations[prefix + "proxy-next-upstream"].split()
    )
    # The sticky backend is a Service of its own, so its affinity is not the webhooks'.
    assert ingress_route("/socket.io/")[1] != service

    for path in ("/conversations/abc/tracker", "/model/parse", "/model", "/status", "/version"):
        _, service = ingress_route(path)
        assert service_component(service) != "rasa", f"{path} reaches Rasa"
    assert service_component(ingress_route("/")[1]) == "web"
    for obj in k8s_objects():
        if obj["kind"] == "Ingress":
            assert obj["spec"].get("tls"), f"Ingress {obj['metadata']['name']} has no TLS"


def test_k8s_autoscales_rasa_and_actions() -> None:
    for name in ("shopmate-rasa", "shopmate-actions"):
        hpa = k8s_object("HorizontalPodAutoscaler", name)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["minReplicas"] >= 2


def _makefile_recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M)
    assert match, f"Makefile: no {target}"
    return match.group(1)


def _installs(text: str) -> tuple[set[str], set[str]]:
    """The -r files and the --no-deps packages of the pip installs in `text`."""
    text = text.replace("\\\n", " ")
    requirements = set(re.findall(r"-r\s+(\S+)", text))
    no_deps = set(re.findall(r"--no-deps\s+(?:--no-build-isolation\s+)?([\w.=-]+)", text))
    return requirements, no_deps


def test_dockerfiles_install_what_the_makefile_installs() -> None:
    for venv, dockerfile, not_shipped in (
        ("$(RASA_VENV)/.installed", "Dockerfile.rasa", set()),
        ("$(ACTIONS_VENV)/.installed", "Dockerfile.actions", {"tests/requirements.txt"}),
    ):
        make_requirements, make_no_deps = _installs(_makefile_recipe(venv))
        text = (COMPOSE_DIR / dockerfile).read_text(encoding="utf-8")
        docker_requirements, docker_no_deps = _installs(text)
        assert docker_requirements == make_requirements - not_shipped, dockerfile
        assert docker_no_deps == make_no_deps, dockerfile
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
            for path in source.split():
                assert (ROOT / path).exists(), f"{dockerfile}: COPY {path}: no such path"


def test_the_images_train_with_the_makefile_s_command() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    nlu_data = re.search(r"^NLU_DATA := (.+)$", makefile, re.M)
    command = re.search(r"\$\(RASA\) (train .+?);", _makefile_recipe("train"))
    assert nlu_data
    assert command
    expected = command.group(1).replace("$(NLU_DATA)", nlu_data.group(1)).split()
    dockerfile = (COMPOSE_DIR / "Dockerfile.rasa").read_text(encoding="utf-8")
    built_in = re.search(r"RUN rasa (train .+?)(?:&&|$)", dockerfile.replace("\\\n", " "), re.M)
    assert built_in
    assert built_in.group(1).split() == expected
    assert [str(a) for a in compose()["services"]["train"]["command"]] == expected
