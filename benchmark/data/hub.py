"""Hub-schema rows -> typed examples, and reading a split with ``datasets.load_dataset``.

Every task's rows are handled in the schema its Hub dataset uses (ClassLabel columns as ints, ``sequence`` of
structs as a dict of lists). The official-file readers in :mod:`benchmark.data.local` produce rows in the same
schema, so one converter per layout serves both sources. The task type's module (:mod:`benchmark.task_types`)
converts rows; for extractive QA it calls the converter of ``spec.fields["layout"]`` here (``squad``,
``hotpotqa``, ``triviaqa``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BenchmarkError
from ..examples import Example, QAExample
from ..tasks.spec import TaskSpec

Row = Mapping[str, Any]


# --------------------------------------------------------------------------------------------- ids and labels


def make_id(spec: TaskSpec, role: str, index: int, row: Row) -> str:
    """The example id from ``spec.fields["id_format"]``: row fields plus ``{task}``, ``{split}``, ``{index}``."""
    try:
        return spec.fields["id_format"].format(**row, task=spec.name, split=role, index=index)
    except (KeyError, IndexError) as exc:
        raise BenchmarkError(f"{spec.name}: id_format needs field {exc} that the rows lack") from None


def label_name(spec: TaskSpec, value: Any, where: str) -> str | None:
    """A ClassLabel id or a label name -> the label name; -1 / None (unlabelled test rows) -> None."""
    if value is None or (isinstance(value, int) and value == -1):
        return None
    names = spec.label_names
    if isinstance(value, str):
        if value in names:
            return value
        if value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise BenchmarkError(f"{where}: label {value!r} is not one of {', '.join(names)}")
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    raise BenchmarkError(f"{where}: label id {value!r} is outside 0..{len(names) - 1}")


def find_all(context: str, text: str, *, ignore_case: bool = False) -> list[int]:
    """Start offsets of every (non-overlapping) occurrence of ``text`` in ``context``."""
    if not text:
        return []
    flags = re.IGNORECASE if ignore_case else 0
    return [m.start() for m in re.finditer(re.escape(text), context, flags)]


def _squad(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    out: list[Example] = []
    for i, row in enumerate(rows):
        answers = row.get("answers") or {"text": [], "answer_start": []}
        ex_id = make_id(spec, role, i, row)
        starts = tuple(int(s) for s in answers["answer_start"])
        for start in starts:
            if not 0 <= start < len(row["context"]):
                raise BenchmarkError(
                    f"{spec.name} {role} ({spec.hub.path}): question {ex_id}: answer_start {start} lies outside "
                    f"its context ({len(row['context'])} characters)"
                )
        out.append(
            QAExample(
                id=ex_id,
                question=row["question"],
                context=row["context"],
                answers=tuple(answers["text"]),
                answer_starts=starts,
                meta={"title": row.get("title")},
            )
        )
    return out


def hotpot_context(context: Mapping[str, list]) -> tuple[str, list[tuple[str, int, int]]]:
    """Join the paragraphs as ``"<title>: <sentences>"`` blocks; also return (title, start, end) per block."""
    parts: list[str] = []
    spans: list[tuple[str, int, int]] = []
    pos = 0
    for title, sentences in zip(context["title"], context["sentences"], strict=True):
        block = f"{title}: {''.join(sentences).strip()}"
        spans.append((title, pos, pos + len(block)))
        parts.append(block)
        pos += len(block) + 2
    return "\n\n".join(parts), spans


def _hotpotqa(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    out: list[Example] = []
    for i, row in enumerate(rows):
        context, blocks = hotpot_context(row["context"])
        answer = row.get("answer")
        supporting = list(dict.fromkeys(row.get("supporting_facts", {}).get("title", [])))
        starts: list[int] = []
        if answer and answer.lower() not in ("yes", "no"):
            gold_blocks = [(s, e) for t, s, e in blocks if t in supporting]
            found = find_all(context, answer)
            in_gold = [p for p in found if any(s <= p < e for s, e in gold_blocks)]
            starts = in_gold + [p for p in found if p not in in_gold]
        out.append(
            QAExample(
                id=make_id(spec, role, i, row),
                question=row["question"],
                context=context,
                answers=(answer,) if answer is not None else (),
                answer_starts=tuple(starts),
                meta={"type": row.get("type"), "level": row.get("level"), "supporting_titles": supporting},
            )
        )
    return out


def _triviaqa(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    from ..metrics.triviaqa import ground_truths_from_answer

    out: list[Example] = []
    for i, row in enumerate(rows):
        pages = row.get("entity_pages") or {}
        context = "\n\n".join(t.strip() for t in pages.get("wiki_context", []))
        answer = row.get("answer") or {}
        truths: list[str] = []
        spans: list[tuple[int, int]] = []
        if answer.get("normalized_aliases"):
            human = {"HumanAnswers": answer["human_answers"]} if answer.get("human_answers") else {}
            truths = ground_truths_from_answer({"NormalizedAliases": answer["normalized_aliases"], **human})
            found: set[tuple[int, int]] = set()
            for alias in dict.fromkeys([*answer.get("aliases", []), *truths]):
                found.update((p, p + len(alias)) for p in find_all(context, alias, ignore_case=True))
            spans = sorted(found)
        out.append(
            QAExample(
                id=make_id(spec, role, i, row),
                question=row["question"],
                context=context,
                answers=tuple(truths),
                answer_starts=tuple(s for s, _ in spans),
                meta={
                    "spans": spans,
                    "documents": list(pages.get("title", [])),
                    "value": answer.get("value"),
                },
            )
        )
    return out


_QA_LAYOUTS: dict[str, Callable[[TaskSpec, str, Iterable[Row]], list[Example]]] = {
    "squad": _squad,
    "hotpotqa": _hotpotqa,
    "triviaqa": _triviaqa,
}


def rows_to_examples(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    """Convert rows in the task's Hub schema to examples (ids per ``fields.id_format``), with the converter of
    the task's type (:meth:`benchmark.task_types.TaskType.rows_to_examples`)."""
    from .. import task_types

    return task_types.get(spec.task_type).rows_to_examples(spec, role, rows)


def qa_rows_to_examples(spec: TaskSpec, role: str, rows: Iterable[Row]) -> list[Example]:
    """Extractive QA rows by ``fields.layout`` (squad / hotpotqa / triviaqa)."""
    layout = spec.fields.get("layout", "")
    if layout not in _QA_LAYOUTS:
        raise BenchmarkError(f"{spec.name}: fields.layout {layout!r} is not one of {', '.join(_QA_LAYOUTS)}")
    return _QA_LAYOUTS[layout](spec, role, rows)


# --------------------------------------------------------------------------------------------- loading


def hub_split_name(spec: TaskSpec, role: str) -> str:
    """The Hub split behind a role (train/validation/test); unknown roles name the available ones."""
    if role not in spec.hub.splits:
        known = ", ".join(spec.hub.splits) or "none"
        raise BenchmarkError(f"task {spec.name!r} has no {role!r} split with labels; available: {known}")
    return spec.hub.splits[role]


def load_hub_split(
    spec: TaskSpec, role: str, *, path: str | Path | None = None, cache_dir: str | Path | None = None
) -> tuple[Any, dict]:
    """``datasets.load_dataset(path, config, revision=..., split=...)`` for one role.

    ``path`` replaces the Hub id (a local folder laid out as the Hub repository: README.md with ``configs:`` and
    ``dataset_info`` + Parquet files); everything else is the same call. Returns the ``datasets.Dataset`` and a
    ``source`` record.
    """
    import datasets

    split = hub_split_name(spec, role)
    where = spec.hub.path if path is None else str(Path(path).resolve())
    if path is not None and not Path(where).is_dir():
        raise BenchmarkError(f"{spec.name}: dataset folder {where} does not exist")
    kwargs: dict[str, Any] = {"split": split}
    if path is None:
        kwargs["revision"] = spec.hub.revision
    if cache_dir is not None:
        kwargs["cache_dir"] = str(cache_dir)
    try:
        ds = datasets.load_dataset(where, spec.hub.config, **kwargs)
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise BenchmarkError(
            f"{spec.name}: cannot load {where} (config {spec.hub.config}, split {split}"
            f"{'' if path else ', revision ' + spec.hub.revision}): {first}"
        ) from None
    source = {
        "kind": "hub" if path is None else "hub_folder",
        "path": spec.hub.path if path is None else str(Path(path).absolute()),
        "revision": spec.hub.revision if path is None else None,
        "config": spec.hub.config,
        "split": split,
        "fingerprint": getattr(ds, "_fingerprint", None),
    }
    if path is not None:
        source["files"] = _folder_files(Path(path), spec.hub.config, split)
    return ds, source


def _folder_files(folder: Path, config: str | None, split: str) -> list[dict[str, Any]]:
    """The data files ``datasets`` read for ``split`` of a local Hub-layout folder, relative to the folder and
    with their sha256, so a result names its data portably (a local folder has no revision to pin)."""
    import datasets

    from .local import file_record

    builder = datasets.load_dataset_builder(str(folder.resolve()), config)
    data_files = (builder.config.data_files or {}).get(split, [])
    return [file_record(Path(f), folder) for f in data_files]
