#!/usr/bin/env bash
# The test command: builds the environment if needed, installs what the tests need outside Python (Debian's
# chromium for the leaderboard page test), lints, then runs the whole suite offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/chromium.sh  # Debian's chromium for the page test (installed as root, or said loudly)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Every submission valid and every generated leaderboard file fresh (scores re-checked where gold data is here).
data_dir=()
[ -d ../shared/fixtures ] && data_dir=(--data-dir ../shared/fixtures)
.venv/bin/benchmark leaderboard --check "${data_dir[@]}"
exec .venv/bin/python -m pytest "$@"
