"""The production shape's configs as scripts/production.py renders them: nginx accepts
its file, supervisord has one program per part, and nothing secret is written."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest

from scripts.production import NGINX, Shape, fill_template, render_supervisord, write_configs
from tests.conftest import require_service


def shape(tmp_path: Path, instances: int = 2) -> Shape:
    return Shape(
        var=tmp_path,
        rasa_ports=tuple(15011 + n for n in range(instances)),
        action_ports=tuple(15061 + n for n in range(instances)),
    )


def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    require_service("nginx", NGINX.stat)
    rendered = shape(tmp_path)
    write_configs(rendered)
    conf = rendered.conf_dir / "nginx.conf"
    result = subprocess.run(
        [str(NGINX), "-t", "-c", str(conf), "-p", str(rendered.conf_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = conf.read_text()
    # Both instances behind the sticky and the round-robin upstreams, both action servers.
    assert text.count("server 127.0.0.1:15011") == 2
    assert text.count("server 127.0.0.1:15062") == 1
    assert "hash $lb_key consistent" in text
    assert "$request " not in text  # the access log never writes a query string


@pytest.mark.parametrize("instances", [1, 3])
def test_supervisord_runs_one_program_per_part(tmp_path: Path, instances: int) -> None:
    parser = configparser.RawConfigParser()
    parser.read_string(render_supervisord(shape(tmp_path, instances)))
    programs = {s.removeprefix("program:") for s in parser.sections() if s.startswith("program:")}
    names = {f"rasa-{n}" for n in range(1, instances + 1)}
    names |= {f"actions-{n}" for n in range(1, instances + 1)}
    assert programs == names | {"web", "nginx"}
    rasa = parser.get("program:rasa-1", "command")
    # The token comes from supervisord's environment, never written into the file.
    assert "--auth-token=%(ENV_RASA_AUTH_TOKEN)s" in rasa
    assert parser.get("program:rasa-1", "environment").startswith('ACTION_PORT="5055"')


def test_a_template_name_without_a_value_is_an_error() -> None:
    assert fill_template("listen ${PORT}; $remote_addr", PORT=8080) == "listen 8080; $remote_addr"
    with pytest.raises(KeyError):
        fill_template("listen ${PORT};")
