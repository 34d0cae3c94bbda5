#!/usr/bin/env bash
# Micro-benchmarks of library code (benchmarks/micro/: collation, scoring, windowing, annotation bins) with
# pytest-benchmark, compared with the run saved in benchmarks/micro/saved/ (same machine kind), with the ratios of
# paired ways measured side by side. Not part of scripts/test.sh (a few minutes). Extra arguments go to pytest:
#   bash scripts/bench.sh                              # run and compare with the latest saved run
#   bash scripts/bench.sh --benchmark-save=NAME        # also save this run (commit it to make it the reference)
#   bash scripts/bench.sh -k collate                   # one file's benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
echo "bench.sh: load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)" >&2
exec .venv/bin/python -m pytest benchmarks/micro -p no:cacheprovider -q \
  --benchmark-enable --benchmark-storage=file://benchmarks/micro/saved --benchmark-compare \
  --benchmark-columns=min,median,mean,stddev,rounds --benchmark-sort=name "$@"
