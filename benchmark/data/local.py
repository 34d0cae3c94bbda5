"""Readers for the official files as their authors distribute them (``--data-dir DIR``, files under
``DIR/<task>/``; a suite's sub-tasks share ``DIR/<suite>/``). Each reader returns rows in the task's *Hub* schema,
so :func:`benchmark.data.hub.rows_to_examples` turns both sources into identical examples.

Every format is a reader registered by name (:func:`benchmark.core.plugins.register_reader`) and named by
``local.format``: ``glue_tsv`` (glue_data ``<TASK>/dev.tsv``), ``squad_json`` (``dev-v1.1.json``), ``conll``
(``eng.testb``: 4-column IOB1, converted to IOB2; or a 2-column IOB2 copy, read as is), ``hotpotqa_json``
(``hotpot_dev_distractor_v1.json``), ``triviaqa_rc`` (``triviaqa-rc/qa/wikipedia-dev.json`` +
``triviaqa-rc/evidence/wikipedia/``), ``csv`` (a header line names the fields; ``local.header: false``: fields
are the 0-based column numbers ``"0"``, ``"1"``...) and ``jsonl`` (one JSON object per line). ``hub_folder`` (a
copy of the Hub repository) is read by the Hub code.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gonerd.ner import iob1_to_iob2

from .. import limits
from ..core.plugins import READERS, Reader, ReadResult, register_reader
from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError
from ..limits import check_regular, open_regular
from .sources import file_record

Row = dict[str, Any]


# --------------------------------------------------------------------------------------------- files


def resolve_file(task_dir: Path, name: str, what: str) -> Path:
    """``task_dir / name`` (``name`` may be absolute or a glob matching exactly one file)."""
    path = Path(name) if Path(name).is_absolute() else task_dir / name
    if any(c in name for c in "*?["):
        matches = sorted(Path(p) for p in glob.glob(str(path)))
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise BenchmarkError(f"{what}: no file matches {path}")
        listed = ", ".join(m.name for m in matches[:5])
        raise BenchmarkError(
            f"{what}: {path} matches {len(matches)} files ({listed}); name one with --data-file"
        )
    if not path.exists():
        raise BenchmarkError(f"{what}: file {path} not found")
    if not path.is_dir():  # (an evidence folder is named here too)
        check_regular(path, f"{what}: {path}")  # a FIFO would hang the first read
    return path


def read_text(path: Path, expected: str) -> str:
    """The whole file as UTF-8 text; one line naming the file if it is binary or another encoding."""
    try:
        with open_regular(path) as fh:  # a FIFO is refused, never waited on
            data = fh.read()
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchmarkError(
            f"{path}: not a UTF-8 text file (byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r}); "
            f"expected {expected}"
        ) from None
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read: {exc.strerror or exc}") from None


def sniff_json(path: Path, what: str) -> None:
    """Cheap check of a large JSON file without parsing it: not empty, UTF-8, starts like a JSON document."""
    try:
        with open_regular(path) as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise BenchmarkError(f"{path}: not a UTF-8 text file (byte {exc.start}); expected {what}") from None
    first = text.lstrip()[:1]
    if not first:
        raise BenchmarkError(f"{path}: empty file; expected {what}")
    if first not in "{[":
        raise BenchmarkError(f"{path}: not JSON (starts with {text.lstrip()[:20]!r}); expected {what}")


# --------------------------------------------------------------------------------------------- GLUE


def _column(header: list[str] | None, spec_col: str, path: Path) -> int:
    if spec_col.isdigit():
        return int(spec_col)
    if header is None or spec_col not in header:
        raise BenchmarkError(f"{path}: no column {spec_col!r} (header: {header})")
    return header.index(spec_col)


def read_glue_tsv(spec: TaskSpec, path: Path) -> list[Row]:
    """A glue_data TSV -> rows with the Hub fields (``idx`` = 0-based data row, as the Hub's ``idx``).

    Read with ``csv.QUOTE_NONE`` (GLUE sentences contain unbalanced quotes) and ``utf-8-sig`` (MRPC starts with
    a byte-order mark)."""
    csv.field_size_limit(sys.maxsize)
    text = read_text(path, "a GLUE TSV file")
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not any(lines):
        raise BenchmarkError(f"{path}: empty file; expected a GLUE TSV file")
    header = lines[0] if spec.local.header else None
    body = lines[1:] if spec.local.header else lines
    cols = {role: _column(header, col, path) for role, col in spec.local.columns.items()}
    rows: list[Row] = []
    for i, line in enumerate(body):
        if not line:
            continue
        if len(line) <= max(cols.values()):
            raise BenchmarkError(
                f"{path}:{i + 1 + spec.local.header}: {len(line)} columns, need {max(cols.values()) + 1}"
            )
        row: Row = {"idx": len(rows)}
        for role, col in cols.items():
            row[spec.fields[role]] = line[col]
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------- SQuAD


def _load_json(path: Path) -> Any:
    return limits.loads(read_text(path, "a JSON file"), str(path))


def read_squad_json(path: Path) -> list[Row]:
    """Official SQuAD v1.1 JSON (``data[].paragraphs[].qas[]``) -> Hub ``plain_text`` rows."""
    rows: list[Row] = []
    for article in _load_json(path)["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                context = paragraph["context"]
                for answer in qa["answers"]:
                    start = int(answer["answer_start"])
                    if not 0 <= start < len(context):
                        raise BenchmarkError(
                            f"{path}: question {qa['id']}: answer_start {start} lies outside its context "
                            f"({len(context)} characters)"
                        )
                rows.append(
                    {
                        "id": qa["id"],
                        "title": article["title"],
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": {
                            "text": [a["text"] for a in qa["answers"]],
                            "answer_start": [int(a["answer_start"]) for a in qa["answers"]],
                        },
                    }
                )
    return rows


# --------------------------------------------------------------------------------------------- CoNLL


_IOB_TAG = re.compile(r"O|[BI]-\S+")


def _holds_json(text: str) -> bool:
    """A JSON document or JSON Lines (first non-blank line an object or array) rather than CoNLL columns."""
    stripped = text.lstrip()
    if stripped[:1] not in ("{", "["):
        return False
    for candidate in (stripped, stripped.split("\n", 1)[0]):
        try:
            if isinstance(json.loads(candidate), dict | list):
                return True
        except ValueError:
            continue
    return False


def read_conll(path: Path) -> tuple[list[Row], dict[str, Any]]:
    """CoNLL-2003 sentences -> rows ``{tokens, ner_tags}`` (tag names, IOB2). ``-DOCSTART-`` lines are skipped.

    4-column files (``TOKEN POS CHUNK NER``, the original release) are IOB1 and converted; 2-column files
    (``TOKEN TAG``) are taken as IOB2 as they are. Returns the rows and ``{"columns", "tag_scheme"}``."""
    sentences: list[list[list[str]]] = []
    current: list[list[str]] = []
    widths: set[int] = set()
    text = read_text(path, "CoNLL columns ('TOKEN ... TAG' per line)")
    if _holds_json(text):
        raise BenchmarkError(
            f"{path}: holds JSON, not CoNLL columns ('TOKEN ... TAG' per line, a blank line between sentences)"
        )
    for lineno, line in enumerate(io.StringIO(text, newline=None), 1):
        parts = line.split()
        if not parts:
            if current:
                sentences.append(current)
                current = []
            continue
        if parts[0] == "-DOCSTART-":
            continue
        if len(parts) < 2:
            raise BenchmarkError(f"{path}:{lineno}: expected 'TOKEN ... TAG', got {line.strip()[:60]!r}")
        if not _IOB_TAG.fullmatch(parts[-1]):
            raise BenchmarkError(
                f"{path}:{lineno}: last column {parts[-1][:40]!r} is not an IOB tag (O, B-TYPE or I-TYPE)"
            )
        widths.add(len(parts))
        current.append(parts)
    if current:
        sentences.append(current)
    if not sentences:
        raise BenchmarkError(f"{path}: no sentences in it (an empty CoNLL file?)")
    if len(widths) > 1:
        raise BenchmarkError(f"{path}: lines have different column counts {sorted(widths)}")
    columns = widths.pop() if widths else 0
    iob1 = columns >= 4
    rows = []
    for sent in sentences:
        tags = [p[-1] for p in sent]
        rows.append({"tokens": [p[0] for p in sent], "ner_tags": iob1_to_iob2(tags) if iob1 else tags})
    return rows, {"columns": columns, "tag_scheme": "IOB1 converted to IOB2" if iob1 else "IOB2 as read"}


# --------------------------------------------------------------------------------------------- HotpotQA


def read_hotpotqa_json(path: Path) -> list[Row]:
    """Official HotpotQA JSON (``_id, answer, question, supporting_facts, context, type, level``) -> Hub rows."""
    rows: list[Row] = []
    for rec in _load_json(path):
        rows.append(
            {
                "id": rec["_id"],
                "question": rec["question"],
                "answer": rec.get("answer"),
                "type": rec.get("type"),
                "level": rec.get("level"),
                "supporting_facts": {
                    "title": [t for t, _ in rec.get("supporting_facts", [])],
                    "sent_id": [int(s) for _, s in rec.get("supporting_facts", [])],
                },
                "context": {
                    "title": [t for t, _ in rec["context"]],
                    "sentences": [list(s) for _, s in rec["context"]],
                },
            }
        )
    return rows


# --------------------------------------------------------------------------------------------- TriviaQA


_ANSWER_KEYS = {
    "aliases": "Aliases",
    "normalized_aliases": "NormalizedAliases",
    "matched_wiki_entity_name": "MatchedWikiEntityName",
    "normalized_matched_wiki_entity_name": "NormalizedMatchedWikiEntityName",
    "normalized_value": "NormalizedValue",
    "type": "Type",
    "value": "Value",
}


def read_triviaqa_rc(qa_path: Path, evidence_dir: Path) -> tuple[list[Row], list[Path]]:
    """Official ``qa/wikipedia-*.json`` + ``evidence/wikipedia/*.txt`` -> Hub ``rc.wikipedia`` rows (the
    evidence text in ``entity_pages.wiki_context``). Returns the rows and the evidence files read."""
    data = _load_json(qa_path)
    if isinstance(data, dict) and data.get("Domain") == "Web":
        raise BenchmarkError(
            f"{qa_path}: a TriviaQA Web-domain file (evidence from SearchResults, scored once per question and "
            "document); the triviaqa task is the Wikipedia domain (qa/wikipedia-*.json, qa/verified-wikipedia-dev.json)"
        )
    records = data["Data"]
    if data.get("VerifiedEval"):  # as the official read_triviaqa_data: the verified questions only
        records = [rec for rec in records if rec.get("QuestionPartOfVerifiedEval")]
    rows: list[Row] = []
    used: list[Path] = []
    for rec in records:
        pages = rec.get("EntityPages", [])
        texts = []
        for page in pages:
            doc = evidence_dir / page["Filename"]
            if not doc.exists():
                raise BenchmarkError(
                    f"{qa_path}: evidence file {doc} of question {rec['QuestionId']} not found"
                )
            texts.append(read_text(doc, "an evidence text"))
            used.append(doc)
        answer = rec.get("Answer")
        rows.append(
            {
                "question": rec["Question"],
                "question_id": rec["QuestionId"],
                "question_source": rec.get("QuestionSource", ""),
                "entity_pages": {
                    "doc_source": [p.get("DocSource", "") for p in pages],
                    "filename": [p["Filename"] for p in pages],
                    "title": [p.get("Title", "") for p in pages],
                    "wiki_context": texts,
                },
                "answer": None
                if answer is None
                else {
                    **{k: answer.get(v) for k, v in _ANSWER_KEYS.items()},
                    **({"human_answers": answer["HumanAnswers"]} if "HumanAnswers" in answer else {}),
                },
            }
        )
    return rows, used


# --------------------------------------------------------------------------------------------- CSV, JSON Lines


def read_csv(spec: TaskSpec, path: Path) -> list[Row]:
    """A CSV file (comma-separated, ``"``-quoted, UTF-8) -> one row per record, keyed by the header line's
    names, or with ``local.header: false`` by the 0-based column numbers as text (``"0"``, ``"1"``...). Every
    value is text (a label name or id, a number for regression: the task type converts it)."""
    csv.field_size_limit(sys.maxsize)
    text = read_text(path, "a CSV file")
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BenchmarkError(f"{path}: not a CSV file ({exc})") from None
    if not any(lines):
        raise BenchmarkError(f"{path}: empty file; expected a CSV file")
    header = lines[0] if spec.local.header else [str(i) for i in range(len(lines[0]))]
    if len(set(header)) != len(header) or not all(header):
        raise BenchmarkError(
            f"{path}:1: the header line names a column twice or leaves one unnamed: {header}"
        )
    start = 2 if spec.local.header else 1
    rows: list[Row] = []
    for lineno, line in enumerate(lines[start - 1 :], start):
        if not line:  # a blank line
            continue
        if len(line) != len(header):
            raise BenchmarkError(
                f"{path}:{lineno}: {len(line)} fields, expected {len(header)} like the first line"
            )
        rows.append(dict(zip(header, line, strict=True)))
    return rows


def read_jsonl(path: Path) -> list[Row]:
    """A JSON Lines file -> one row per line (a JSON object; blank lines are skipped)."""
    text = read_text(path, "a JSON Lines file (one JSON object per line)")
    rows: list[Row] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        row = limits.loads(line, f"{path}:{lineno}")
        if not isinstance(row, dict):
            raise BenchmarkError(
                f"{path}:{lineno}: a JSON {type(row).__name__}, not an object (one row per line)"
            )
        rows.append(row)
    if not rows:
        raise BenchmarkError(f"{path}: empty file; expected a JSON Lines file (one JSON object per line)")
    return rows


# --------------------------------------------------------------------------------------------- the readers by name
# Each built-in format registered under its ``local.format`` name: read(spec, path, role, task_dir).


@register_reader("glue_tsv", preflight=True)
def _glue_tsv(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    return ReadResult(read_glue_tsv(spec, path))


@register_reader("squad_json", preflight=True)
def _squad_json(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    return ReadResult(read_squad_json(path))


@register_reader("conll", preflight=True)
def _conll(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    rows, extra = read_conll(path)
    return ReadResult(rows, extra)


@register_reader("hotpotqa_json")  # hundreds of MB: only sniffed before a model loads
def _hotpotqa_json(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    return ReadResult(read_hotpotqa_json(path))


@register_reader("triviaqa_rc")  # hundreds of MB with the evidence: only sniffed before a model loads
def _triviaqa_rc(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    what = f"{spec.name} {role}"
    evidence = resolve_file(
        task_dir, spec.local.files.get("evidence", "triviaqa-rc/evidence/wikipedia"), what
    )
    rows, docs = read_triviaqa_rc(path, evidence)
    return ReadResult(rows, also_read=list(dict.fromkeys(docs)))


@register_reader("csv", preflight=True)
def _csv(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    return ReadResult(read_csv(spec, path))


@register_reader("jsonl", preflight=True)
def _jsonl(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> ReadResult:
    return ReadResult(read_jsonl(path))


@register_reader("hub_folder", folder=True)
def _hub_folder(spec: TaskSpec, path: Path, role: str, task_dir: Path) -> tuple[Any, dict[str, Any]]:
    """A copy of the Hub repository under ``DIR/<task>/``, read with the same ``datasets`` code as the Hub
    (:func:`benchmark.data.hub.load_hub_split`). A folder reader returns ``(rows, source)``, its own source."""
    from .hub import load_hub_split

    return load_hub_split(spec, role, path=task_dir)


def reader_of(spec: TaskSpec) -> Reader:
    """The registered reader of ``spec.local.format``; one line naming the task when there is none."""
    return READERS.get(spec.local.format, spec.name)


def reads_folder(spec: TaskSpec) -> bool:
    """Whether the task's local data is a whole folder (a copy of its Hub repository), not ``local.files``."""
    return spec.reader is None and spec.local.format in READERS and reader_of(spec).folder


def read_folder(spec: TaskSpec, role: str, data_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """Rows and source of ``role`` from the task's folder ``data_dir/<task>/`` (a folder reader)."""
    folder = Path(data_dir) / task_folder(spec)
    return reader_of(spec).read(spec, folder, role, folder)


# --------------------------------------------------------------------------------------------- dispatch


def locate_local(
    spec: TaskSpec, role: str, data_dir: str | Path, *, data_file: str | Path | None = None
) -> Path:
    """The official file of ``role`` under ``data_dir/<task>/`` without reading it; one-line error if missing."""
    task_dir = Path(data_dir) / task_folder(spec)
    if not task_dir.is_dir():
        raise BenchmarkError(
            f"{spec.name}: data folder {task_dir} not found (expected DIR/{task_folder(spec)}/)"
        )
    files = spec.local.files
    name = str(data_file) if data_file is not None else files.get(role)
    if name is None:
        known = ", ".join(r for r in files if r != "evidence") or "none"
        raise BenchmarkError(f"{spec.name}: no local file for split {role!r}; splits with files: {known}")
    return resolve_file(task_dir, name, f"{spec.name} {role}")


def read_local(
    spec: TaskSpec, role: str, data_dir: str | Path, *, data_file: str | Path | None = None
) -> tuple[list[Row], dict[str, Any]]:
    """Rows (Hub schema) of one split from the official files under ``data_dir/<task>/`` and a ``source``
    record (format, files read with sha256). ``data_file`` overrides the file the spec names for ``role``. The
    reader is the one registered as ``local.format`` (:data:`benchmark.core.plugins.READERS`)."""
    task_dir = Path(data_dir) / task_folder(spec)
    path = locate_local(spec, role, data_dir, data_file=data_file)
    reader = reader_of(spec)
    fmt = spec.local.format
    try:
        got = reader.read(spec, path, role, task_dir)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        # JSON of another shape (a list where an object belongs, a missing key, a text where a number does)
        problem = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:120]
        raise BenchmarkError(f"{path}: not laid out as {fmt} ({problem})") from None
    result = got if isinstance(got, ReadResult) else ReadResult(list(got))
    rows = result.rows
    _check_rows(spec, rows, f"{spec.name} {role}: local.format {fmt}", path)
    source = {
        "kind": "local",
        "format": fmt,
        "data_dir": str(Path(data_dir).resolve()),
        "files": [file_record(p, task_dir) for p in [path, *result.also_read]],
        **result.source,
    }
    return rows, source


def _check_rows(spec: Any, rows: Any, what: str, path: Path) -> None:
    """Every row a mapping with the fields the task's type reads (one line naming the file and the row)."""
    from .. import task_types

    needed = task_types.get(spec.task_type).needed_row_fields(spec)
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise BenchmarkError(f"{what}: row {i} of {path} is a {type(row).__name__}, not a mapping")
        lacking = [f for f in needed if f not in row]
        if lacking:
            raise BenchmarkError(f"{what}: row {i} of {path} lacks field(s) {', '.join(lacking)}")


def preflight_local(spec: TaskSpec, role: str, data_dir: str | Path) -> list[Row] | None:
    """Before any model loads: the rows of a small official file (so a binary, empty or malformed file fails
    in seconds), or None after a cheap look at a large JSON file."""
    if spec.reader is not None:  # a user task's own reader and format: the file must exist; read when it runs
        locate_local(spec, role, data_dir)
        return None
    if reader_of(spec).preflight:
        return read_local(spec, role, data_dir)[0]
    sniff_json(locate_local(spec, role, data_dir), f"{spec.name}'s official JSON file")
    return None


def task_folder(spec: TaskSpec) -> str:
    """The folder of a task's files under ``--data-dir``: a suite's sub-tasks share their suite's (GLUE's
    ``DIR/glue/``); every other task has ``DIR/<name>/``."""
    return spec.suite or spec.name


# --------------------------------------------------------------------------------------------- reader hook


def read_with_reader(
    spec: Any, role: str, data_dir: str | Path, *, data_file: str | Path | None = None
) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
    """Rows (Hub schema) of ``role`` from the spec's ``reader`` hook and a ``source`` record (the files read
    with their sha256, the reader and the sha256 of its module when it lies beside the YAML)."""
    from ..tasks.hooks import resolve, spec_file

    where = spec_file(spec)
    func = resolve(spec.reader, spec.source_dir, where, "reader")
    path = locate_local(spec, role, data_dir, data_file=data_file)
    what = f"{spec.name} {role}: reader {spec.reader}"
    try:
        rows = list(func(path, role))
    except BenchmarkError:
        raise
    except Exception as exc:  # the user's reader failed on their file: one line naming both
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise BenchmarkError(f"{what} failed on {path} ({exc.__class__.__name__}: {first})") from None
    _check_rows(spec, rows, what, path)
    task_dir = Path(data_dir) / task_folder(spec)
    source: dict[str, Any] = {
        "kind": "local",
        "format": "reader",
        "reader": spec.reader,
        "data_dir": str(Path(data_dir).resolve()),
        "files": [file_record(path, task_dir)],
    }
    if spec.reader_sha256 is not None:
        source["reader_sha256"] = spec.reader_sha256
    return rows, source
