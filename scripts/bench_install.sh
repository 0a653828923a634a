#!/usr/bin/env bash
# Cold install time of both runtimes: fresh venvs, pip's cache disabled.
# Usage: scripts/bench_install.sh [workdir]   (prints seconds per runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
py310=$(make -s print-PY310)
py311=$(make -s print-PY311)
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
start=$(date +%s)
"$py310" -m venv "$work/rasa"
"$work/rasa/bin/pip" install -q --upgrade "pip<25" "setuptools<71" wheel
"$work/rasa/bin/pip" install -q -r requirements.txt
mid=$(date +%s)
"$py311" -m venv "$work/actions"
"$work/actions/bin/pip" install -q --upgrade pip
"$work/actions/bin/pip" install -q -r actions/requirements.txt -r tests/requirements.txt
end=$(date +%s)
echo "rasa runtime: $((mid - start)) s, action runtime: $((end - mid)) s, total: $((end - start)) s"
du -sh "$work/rasa" "$work/actions"
rm -rf "$work"
