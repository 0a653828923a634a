#!/usr/bin/env bash
# Start the action server, Rasa and the web page under supervisord
# (deploy/supervisord.conf): a process that dies is restarted by itself and the others
# keep running. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . ./.env; set +a
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1
# Read by deploy/supervisord.conf; supervisord passes its environment to every program.
export RASA_PORT=${RASA_PORT:-5005}
export WEB_PORT=${WEB_PORT:-8080}
# The action server's port; endpoints.yml reads it too (${ACTION_PORT}).
export ACTION_PORT=${ACTION_PORT:-5055}
export SHOPMATE_START_RASA=${SHOPMATE_START_RASA:-true}
# The pages whose widget may open a socket to Rasa (addons/edge.py).
export SHOP_ORIGINS=${SHOP_ORIGINS:-http://127.0.0.1:$WEB_PORT,http://localhost:$WEB_PORT}
mkdir -p var/log

supervisord_pid=""
stop() {
  trap - EXIT INT TERM
  if [ -n "$supervisord_pid" ] && kill -0 "$supervisord_pid" 2>/dev/null; then
    echo "stopping ShopMate..."
    # supervisord stops its programs (each as a process group), then exits.
    kill -TERM "$supervisord_pid" 2>/dev/null || true
    wait "$supervisord_pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

.venv-actions/bin/supervisord -c deploy/supervisord.conf &
supervisord_pid=$!

echo "logs: var/log/{actions,rasa,web}.log (supervisord: var/log/supervisord.log)"
echo "status: .venv-actions/bin/supervisorctl -c deploy/supervisord.conf status"
echo "waiting for Rasa to load the model..."
ready=false
for _ in $(seq 1 180); do
  if ! kill -0 "$supervisord_pid" 2>/dev/null; then
    echo "supervisord exited; see var/log/supervisord.log" >&2
    exit 1
  fi
  if curl -fsS "http://127.0.0.1:$RASA_PORT/status?token=$RASA_AUTH_TOKEN" >/dev/null 2>&1; then
    ready=true
    echo
    echo "  ShopMate is ready: open http://127.0.0.1:$WEB_PORT in your browser"
    echo "  (Ctrl-C stops everything)"
    echo
    break
  fi
  sleep 1
done
if [ "$ready" != true ]; then
  echo "Rasa is not up after 180 s (it keeps being restarted): see var/log/rasa.log" >&2
fi
# supervisord restarts whichever program dies; this script ends when supervisord does.
wait "$supervisord_pid"
