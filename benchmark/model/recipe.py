"""What made a local model: the record ``baselines`` leaves beside the weights, summarised for result files.

``baselines distill`` writes ``distill_report.json``, ``baselines student`` (the undistilled control)
``student_init.json`` and ``baselines convert`` ``conversion.json``. Each names the model it started from and that
model's content revision (``sha256:...`` over its config and weights, the revision a result records for a local
model), so the leaderboard can pair a student with its teacher's entry by revision, whatever the folders were
called. A model with none of these files has no recipe (``None``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

# First match wins: a distilled student also carries its teacher's conversion.json only if copied by hand.
RECIPE_FILES = (
    ("distill_report.json", "distilled"),
    ("student_init.json", "student_init"),
    ("conversion.json", "converted"),
)


def read_recipe(model_dir: Path) -> dict[str, Any] | None:
    """Summary of the recipe file in ``model_dir`` (kind, what it started from, its revision, the settings that
    matter, and the file's sha256); ``None`` when there is none or it is not a JSON object."""
    for name, kind in RECIPE_FILES:
        path = model_dir / name
        if not path.is_file():
            continue
        from gonerd import untrusted

        try:  # a model folder is untrusted: a FIFO, deep or huge file is no recipe (never a hang)
            data = untrusted.read_bytes(path, limit=untrusted.MAX_CONFIG_BYTES)
            raw = untrusted.json_loads(data, str(path))
        except untrusted.Refused:
            return None
        if not isinstance(raw, dict):
            return None
        out: dict[str, Any] = {"kind": kind, "file": name, "sha256": hashlib.sha256(data).hexdigest()}
        if kind == "converted":
            out.update(
                source_revision=raw.get("source_revision"),
                target=raw.get("target"),
                max_length=raw.get("max_length"),
                equivalence_passed=(raw.get("equivalence") or {}).get("passed"),
            )
            return out
        settings = raw.get("settings") or {}
        out.update(
            teacher_revision=raw.get("teacher_revision") or settings.get("teacher_revision"),
            teacher_layers=raw.get("teacher_layers"),
            student_layers=raw.get("student_layers"),
            layer_map=raw.get("layer_map"),
            seed=raw.get("seed", settings.get("seed")),
        )
        if kind == "distilled":
            out.update(
                steps=raw.get("final_step"),
                kl_used=raw.get("kl_used"),
                corpus_sha256=settings.get("corpus_sha256"),
                settings={
                    k: settings.get(k)
                    for k in (
                        "batch_size",
                        "max_length",
                        "lr",
                        "objective",
                        "alpha_mlm",
                        "alpha_kl",
                        "alpha_cos",
                    )
                },
            )
        return out
    return None


DISTILL_REPORT = "distill_report.json"
