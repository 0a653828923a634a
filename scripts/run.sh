#!/usr/bin/env bash
# Start the action server, Rasa and the web page; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . ./.env; set +a
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1
RASA_PORT=${RASA_PORT:-5005}
WEB_PORT=${WEB_PORT:-8080}
mkdir -p var/log

pids=()
stop() {
  trap - EXIT INT TERM
  echo "stopping ShopMate..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

.venv-actions/bin/python -m actions.server &
pids+=($!)
.venv-rasa/bin/rasa run --enable-api --auth-token "$RASA_AUTH_TOKEN" \
  --interface 127.0.0.1 --port "$RASA_PORT" --model models \
  --endpoints endpoints.yml --credentials credentials.yml &
pids+=($!)
.venv-actions/bin/python web/server.py --host 127.0.0.1 --port "$WEB_PORT" \
  --rasa-url "http://127.0.0.1:$RASA_PORT" --demo-login &
pids+=($!)

echo "waiting for Rasa to load the model..."
for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$RASA_PORT/status?token=$RASA_AUTH_TOKEN" >/dev/null 2>&1; then
    echo
    echo "  ShopMate is ready: open http://127.0.0.1:$WEB_PORT in your browser"
    echo "  (Ctrl-C stops everything)"
    echo
    break
  fi
  sleep 1
done
# Stop everything as soon as any one of the three exits.
wait -n
