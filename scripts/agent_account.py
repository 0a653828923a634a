"""Add (or change) an agent of the console in .env: `make agent-account`.

    python -m scripts.agent_account NAME      # asks for the password twice

The password is stored only as its argon2 hash, in AGENT_ACCOUNTS (whitespace-separated
`name:hash` pairs, single-quoted so the shell that reads .env keeps the `$` signs).
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

from argon2 import PasswordHasher

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
LINE = re.compile(r"^AGENT_ACCOUNTS=(.*)$", re.M)


def with_account(env_text: str, name: str, hashed: str) -> str:
    """The .env text with `name` set to `hashed` in AGENT_ACCOUNTS."""
    found = LINE.search(env_text)
    accounts: dict[str, str] = {}
    if found:
        for item in found.group(1).strip().strip("'\"").split():
            key, _, value = item.partition(":")
            if key and value:
                accounts[key] = value
    accounts[name] = hashed
    line = "AGENT_ACCOUNTS='" + " ".join(f"{k}:{v}" for k, v in accounts.items()) + "'"
    if found:
        return env_text[: found.start()] + line + env_text[found.end() :]
    return env_text.rstrip("\n") + ("\n" if env_text else "") + line + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("--env-file", type=Path, default=ENV_FILE)
    args = parser.parse_args()
    if not NAME.match(args.name):
        sys.exit("a name is 1-64 letters, digits, '.', '_' or '-'")
    password = getpass.getpass("password (10+ characters): ")
    if len(password) < 10 or password != getpass.getpass("again: "):
        sys.exit("passwords differ or are shorter than 10 characters")
    text = args.env_file.read_text(encoding="utf-8") if args.env_file.exists() else ""
    args.env_file.write_text(with_account(text, args.name, PasswordHasher().hash(password)))
    print(f"agent {args.name} saved in {args.env_file}; restart `make run` to use it")


if __name__ == "__main__":
    main()
