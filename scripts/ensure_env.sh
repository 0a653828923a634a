#!/usr/bin/env bash
# Create .env with fresh random secrets on first run; never overwrite an existing one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .env ]; then exit 0; fi
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
umask 077
cat > .env <<ENV
# Created by make on $(date -u +%Y-%m-%d). Secrets for this machine only: never commit.
RASA_AUTH_TOKEN=$(secret)
ACTION_SERVER_TOKEN=$(secret)
ENV
echo "created .env with new secrets"
