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
  grep -q '^LLM_BACKEND=' .env || echo "LLM_BACKEND=template" >> .env
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
# The generator. template (the default): replies are the domain's texts, every fact
# from the services. transformers: a local model (LLM_MODEL_PATH; the bundled
# SmolLM2-135M takes ~2.5 s a reply on 2 cores and improves little, so it is not on by
# default); openai: an OpenAI-compatible server (OPENAI_BASE_URL, OPENAI_MODEL,
# OPENAI_API_KEY). Answers fall back to the template when a model is late or ungrounded.
LLM_BACKEND=template
ENV
echo "created .env with new secrets"
