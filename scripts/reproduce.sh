#!/usr/bin/env bash
# The paper's student-vs-teacher comparison, one command at two scales (see baselines/reproduce.py):
#   bash scripts/reproduce.sh mini              # CPU, offline: real MiniLM weights, the ../shared samples
#   bash scripts/reproduce.sh paper --dry-run   # the registry's baselines on the built-in tasks (GPU + network)
#   bash scripts/reproduce.sh modern --dry-run  # ModernBERT-base, the Ettin ladder, half-depth students (GPU-h est.)
# A rerun resumes after the last finished step. mini submits to a board of its own (WORK/leaderboard; --leaderboard
# leaderboard for the committed one), paper and modern to leaderboard/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TOKENIZERS_PARALLELISM=false
if [ "${1:-}" = mini ]; then
  export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
fi
exec .venv/bin/baselines reproduce "$@"
