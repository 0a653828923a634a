#!/usr/bin/env bash
# Create deploy/compose/.env from env.example with fresh random secrets; an existing
# .env is never overwritten.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f .env ]; then
  echo "deploy/compose/.env exists: left as it is"
  exit 0
fi
umask 077
python3 - <<'PY'
import secrets
from pathlib import Path

text = Path("env.example").read_text(encoding="utf-8")
# Hex: the password is also part of the database URLs, where it must be URL-safe.
text = text.replace("__POSTGRES_PASSWORD__", secrets.token_hex(24))
while "__SECRET__" in text:
    text = text.replace("__SECRET__", secrets.token_urlsafe(32), 1)
Path(".env").write_text(text, encoding="utf-8")
PY
echo "created deploy/compose/.env with new secrets; check SHOP_PUBLIC_URL and SHOP_ORIGINS"
