#!/usr/bin/env bash
# Create .env with fresh random secrets on first run; never overwrite an existing one.
set -euo pipefail
cd "$(dirname "$0")/.."
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
if [ -f .env ]; then
  # Add secrets that a newer version needs to an older .env.
  grep -q '^CUSTOMER_TOKEN_SECRET=' .env || echo "CUSTOMER_TOKEN_SECRET=$(secret)" >> .env
  grep -q '^SESSION_SECRET=' .env || echo "SESSION_SECRET=$(secret)" >> .env
  grep -q '^REST_CHANNEL_TOKEN=' .env || echo "REST_CHANNEL_TOKEN=$(secret)" >> .env
  grep -q '^LLM_BACKEND=' .env || echo "LLM_BACKEND=transformers" >> .env
  exit 0
fi
umask 077
cat > .env <<ENV
# Created by make on $(date -u +%Y-%m-%d). Secrets for this machine only: never commit.
RASA_AUTH_TOKEN=$(secret)
ACTION_SERVER_TOKEN=$(secret)
CUSTOMER_TOKEN_SECRET=$(secret)
# Signs the widget's conversation ids (web page server → Rasa's Socket.IO channel).
SESSION_SECRET=$(secret)
# The REST channel is for servers only: they send "Authorization: Bearer <this>".
REST_CHANNEL_TOKEN=$(secret)
# The generator: transformers = the local SmolLM2-135M model (every answer falls back
# to its template when the model is late or not grounded); template = no model;
# openai = an OpenAI-compatible server (set OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_API_KEY).
LLM_BACKEND=transformers
ENV
echo "created .env with new secrets"
