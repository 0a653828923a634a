"""`make agent-account` keeps AGENT_ACCOUNTS readable by the shell and the console."""

from __future__ import annotations

import subprocess

from argon2 import PasswordHasher

from scripts.agent_account import with_account
from tests.conftest import load_web_module


def test_accounts_are_added_and_replaced_in_the_env_file() -> None:
    first = PasswordHasher().hash("first password")
    text = with_account("SESSION_SECRET=x\n", "mei", first)
    assert text == f"SESSION_SECRET=x\nAGENT_ACCOUNTS='mei:{first}'\n"
    second = PasswordHasher().hash("second password")
    text = with_account(text, "li", second)
    text = with_account(text, "mei", second)
    assert text.count("AGENT_ACCOUNTS=") == 1
    accounts = load_web_module("agent").parse_accounts(
        text.split("AGENT_ACCOUNTS=")[1].strip().strip("'")
    )
    assert accounts == {"mei": second, "li": second}


def test_the_shell_reads_the_hashes_intact(tmp_path: object) -> None:
    hashed = PasswordHasher().hash("a password here")
    env = with_account("", "mei", hashed)
    shell = subprocess.run(
        ["/bin/bash", "-c", 'set -a; eval "$ENV_TEXT"; printf %s "$AGENT_ACCOUNTS"'],
        env={"ENV_TEXT": env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == f"mei:{hashed}"
