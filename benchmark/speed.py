"""``benchmark speed``: the inference-cost curve of an encoder over input lengths.

For each length, synthetic inputs of exactly that many real tokens (:func:`benchmark.timing.speed_batches`) are
prepared for the architecture (:func:`benchmark.timing.prepare_model_inputs`) and measured with
:func:`benchmark.timing.measure_inference`. Lengths the model cannot take are reported as skipped with the
reason. The result is schema-versioned JSON (``speed.json``) and a text table; both carry the device.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import BenchmarkError
from .hardware import hardware_info, resolve_device
from .record import SPEED_SCHEMA
from .timing import (
    MEMORY_KINDS,
    TimingConfig,
    TimingReport,
    attention_path,
    max_input_length,
    measure_inference,
    prepare_model_inputs,
    quiet_transformers,
    speed_batches,
)

SCHEMA = SPEED_SCHEMA  # the shape: benchmark.record.SpeedRecord
DEFAULT_LENGTHS = (512, 1024, 2048, 4096)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SPECIAL_ID_FIELDS = (
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "sep_token_id",
    "cls_token_id",
    "unk_token_id",
    "mask_token_id",
)


@dataclass
class SpeedEntry:
    """One requested length: measured (``status == "ok"``, with ``report``) or ``"skipped"`` (with ``reason``).

    ``input_length`` is the number of positions fed to the model after architecture padding (Nyströmformer pads
    up to ``segment_means_seq_len``); the report's ``n_tokens`` counts only the ``length`` real ones.
    """

    length: int
    status: str
    input_length: int | None = None
    attention_path: str | None = None
    reason: str | None = None
    report: TimingReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "status": self.status,
            "input_length": self.input_length,
            "attention_path": self.attention_path,
            "reason": self.reason,
            "timing": self.report.to_dict() if self.report else None,
        }


@dataclass
class SpeedResult:
    """The cost curve of one model on one device: per-length entries plus what was measured, and where."""

    model_id: str
    model_type: str
    model_class: str
    n_params: int
    max_input_length: int
    device: str
    device_name: str
    dtype: str
    batch_size: int
    timing_config: TimingConfig
    hardware: dict[str, Any]
    entries: list[SpeedEntry] = field(default_factory=list)
    created_at: str = ""
    revision: str | None = None  # the Hub commit read, or sha256 of a local directory's config and weights

    @property
    def measured(self) -> list[SpeedEntry]:
        return [e for e in self.entries if e.status == "ok"]

    @property
    def skipped(self) -> list[SpeedEntry]:
        return [e for e in self.entries if e.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, schema-versioned (``"schema": "gonerd-bench/speed/v1"``)."""
        return {
            "schema": SCHEMA,
            "package_version": __version__,
            "created_at": self.created_at,
            "model": {
                "id": self.model_id,
                "revision": self.revision,
                "model_type": self.model_type,
                "class": self.model_class,
                "n_params": self.n_params,
                "max_input_length": self.max_input_length,
            },
            "device": self.device,
            "device_name": self.device_name,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            "timing_config": self.timing_config.to_dict(),
            "memory_kinds": MEMORY_KINDS,
            "hardware": self.hardware,
            "lengths": [e.to_dict() for e in self.entries],
        }


def parse_lengths(text: str | Iterable[int]) -> tuple[int, ...]:
    """``"512,1024"`` (or integers) -> ``(512, 1024)``: sorted, duplicates dropped; one-line error otherwise."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise BenchmarkError(f"--lengths {text!r}: give comma-separated token counts, e.g. 512,1024")
        values = []
        for part in parts:
            try:
                values.append(int(part))
            except ValueError:
                raise BenchmarkError(f"--lengths {text!r}: {part!r} is not an integer") from None
    else:
        values = list(text)
    if not values:
        raise BenchmarkError("--lengths: no lengths given")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise BenchmarkError(f"--lengths: {value!r} is not a positive number of tokens")
    return tuple(sorted(set(values)))


def _load_model(
    model_path: str, dtype: torch.dtype, trust_remote_code: bool, revision: str | None = None
) -> tuple[torch.nn.Module, Any, str]:
    """(encoder from ``AutoModel`` in eval mode, tokenizer or None, revision read); one-line errors for non-models.

    ``revision`` pins a Hub model (branch, tag or commit), resolved once so config and weights share a commit."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from .modeling import check_config_sizes, check_weights, content_sha256, load_errors, refuse_remote_code

    local = Path(model_path).expanduser()
    pinned: Any = None
    if local.exists():
        if revision:
            raise BenchmarkError(
                f"--revision {revision} applies to Hub models; {model_path} is a local directory"
            )
        if not (local.is_dir() and (local / "config.json").is_file()):
            raise BenchmarkError(f"{model_path} is not a model: no config.json in it")
        source = str(local)
        commit = content_sha256(local)
    elif model_path.count("/") == 1 and not model_path.startswith((".", "/", "~")):
        from transformers.utils.hub import resolve_revision

        source = model_path  # Hub id: only works online or cached
        pinned = resolve_revision(source, revision)
        commit = getattr(pinned, "resolved", None) or pinned or "unknown"
    else:
        raise BenchmarkError(f"{model_path} is not a model: no such directory and not a Hub model id")
    at = {"revision": pinned} if pinned else {}
    with quiet_transformers():
        try:
            config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, **at)
            if getattr(config, "auto_map", None) and not trust_remote_code:
                refuse_remote_code(model_path, getattr(config, "model_type", None), config.auto_map)
        except (OSError, ValueError, KeyError) as exc:
            raise BenchmarkError(
                f"cannot load the model config of {model_path}: {_first_line(exc)}"
            ) from None
        check_config_sizes(config, model_path)
        check_weights(source)
        try:
            model = AutoModel.from_pretrained(
                source, config=config, dtype=dtype, trust_remote_code=trust_remote_code, **at
            )
        except load_errors() as exc:
            raise BenchmarkError(f"cannot load the weights of {model_path}: {_first_line(exc)}") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code, **at)
        except (OSError, ValueError, KeyError, TypeError):
            tokenizer = None  # not needed: inputs are synthetic ids from the model's vocabulary
    return model.eval(), tokenizer, str(commit)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _special_ids(config: Any, tokenizer: Any) -> set[int]:
    ids = {getattr(config, name, None) for name in SPECIAL_ID_FIELDS}
    if tokenizer is not None:
        ids |= set(getattr(tokenizer, "all_special_ids", []))
    return {int(i) for i in ids if isinstance(i, int)}


def run_speed(
    model_path: str,
    lengths: Iterable[int] | str = DEFAULT_LENGTHS,
    batch_size: int = 1,
    device: str | torch.device | None = "auto",
    dtype: str = "float32",
    config: TimingConfig | None = None,
    trust_remote_code: bool = False,
    *,
    threads: int | None = None,
    seed: int = 0,
    revision: str | None = None,
) -> SpeedResult:
    """Measure the encoder at ``model_path`` (``AutoModel``, no task head) at each of ``lengths`` tokens.

    Lengths beyond :func:`benchmark.timing.max_input_length` are skipped with the reason, as are lengths that
    run out of GPU memory; nothing else is caught. Batches hold ``batch_size`` sequences of exactly the length.
    ``threads`` sets torch's CPU intra-op threads for the run (restored afterwards; default: torch's choice).
    ``model_path`` may be ``baseline:NAME`` (the registry's Hub id at its pinned revision); ``revision`` pins a
    Hub model.
    """
    config = config or TimingConfig()
    wanted = parse_lengths(lengths)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BenchmarkError(f"--batch-size must be a positive integer, got {batch_size!r}")
    if dtype not in DTYPES:
        raise BenchmarkError(f"--dtype {dtype!r} is not supported (use {', '.join(DTYPES)})")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise BenchmarkError(f"--threads must be a positive integer, got {threads!r}")
    dev = resolve_device(device)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run_speed(
            str(model_path), wanted, batch_size, dev, dtype, config, trust_remote_code, seed, revision
        )
    finally:
        torch.set_num_threads(previous_threads)


def _run_speed(
    model_path: str,
    wanted: tuple[int, ...],
    batch_size: int,
    dev: torch.device,
    dtype: str,
    config: TimingConfig,
    trust_remote_code: bool,
    seed: int,
    revision: str | None = None,
) -> SpeedResult:
    from .model_source import resolve_baseline

    resolved = resolve_baseline(
        model_path, tokenizer_from=None, trust_remote_code=trust_remote_code, revision=revision
    )
    model, tokenizer, commit = _load_model(resolved.path, DTYPES[dtype], trust_remote_code, resolved.revision)
    model.to(dev)
    cfg = model.config
    limit = max_input_length(cfg)
    hardware = hardware_info(dev)
    result = SpeedResult(
        model_id=model_path,
        model_type=str(getattr(cfg, "model_type", "unknown")),
        model_class=type(model).__name__,
        n_params=sum(p.numel() for p in model.parameters()),
        max_input_length=limit,
        device=str(dev),
        device_name=hardware["device_name"],
        dtype=dtype,
        batch_size=batch_size,
        timing_config=config,
        hardware=hardware,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        revision=commit,
    )
    exclude = _special_ids(cfg, tokenizer)
    pad_id = getattr(cfg, "pad_token_id", None)

    def forward(batch: dict[str, Any]) -> Any:
        return model(**batch)

    for length in wanted:
        if length > limit:
            result.entries.append(
                SpeedEntry(
                    length, "skipped", reason=f"{length} tokens > the model's {limit} usable positions"
                )
            )
            continue
        input_length, path = length, None
        try:
            raw = speed_batches(
                cfg.vocab_size, [length], batch_size, seed=seed, exclude_ids=exclude, pad_id=pad_id
            )
            batches = [
                prepare_model_inputs(model, b) for b in raw[length]
            ]  # also undoes BigBird's sticky fallback
            input_length = int(batches[0]["input_ids"].shape[1])
            path = attention_path(model, input_length)
            with quiet_transformers():
                report = measure_inference(forward, batches, device=dev, config=config, dtype=dtype)
        except (torch.OutOfMemoryError, RuntimeError, MemoryError) as exc:
            if not out_of_memory(exc):
                raise
            raw = batches = None
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            result.entries.append(
                SpeedEntry(
                    length,
                    "skipped",
                    input_length,
                    path,
                    reason=f"out of memory on {dev} (batch {batch_size:,} x {length:,} tokens)",
                )
            )
            continue
        result.entries.append(SpeedEntry(length, "ok", input_length, path, report=report))
    return result


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure: CUDA's ``OutOfMemoryError``, or on CPU a ``RuntimeError`` from
    the allocator ("DefaultCPUAllocator: can't allocate memory") or Python's ``MemoryError``."""
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc)
    return "can't allocate memory" in text or "DefaultCPUAllocator" in text or "not enough memory" in text


def write_speed_result(result: SpeedResult, output_dir: str | Path) -> Path:
    """Write ``<output_dir>/speed.json`` atomically (temporary file in the same directory, then ``os.replace``),
    after checking it as a :class:`benchmark.record.SpeedRecord` (ValueError when it is not one: a bug)."""
    from .record import RecordError, SpeedRecord
    from .results import non_finite_fields

    out_dir = Path(output_dir).expanduser()
    data = result.to_dict()
    bad = non_finite_fields(data)
    if bad:  # a NaN or infinite measurement: not JSON, never written
        raise BenchmarkError(
            f"--output {output_dir}: speed.json not written: {', '.join(bad[:3])}: not a finite number"
        )
    try:
        record = SpeedRecord.from_dict(data, str(out_dir / "speed.json"))
    except RecordError as exc:
        raise ValueError(f"refusing to write an invalid {exc}") from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchmarkError(f"--output {output_dir}: cannot create the directory ({exc.strerror})") from None
    target = out_dir / "speed.json"
    tmp = out_dir / f".speed.json.{os.getpid()}.tmp"
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(record.to_dict(), handle, indent=2, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BenchmarkError(f"--output {output_dir}: cannot write speed.json ({exc.strerror})") from None
    except ValueError as exc:  # a NaN or infinite measurement: not JSON, never written
        tmp.unlink(missing_ok=True)
        raise BenchmarkError(f"--output {output_dir}: speed.json not written: {exc}") from None
    return target


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_speed_table(result: SpeedResult) -> str:
    """The cost curve as a text table: one row per length (skipped ones with their reason), each with its device;
    ``x first`` is the median ms/example relative to the first measured length."""
    cfg = result.timing_config
    lines = [
        f"model  {result.model_id} ({result.model_type}, {result.model_class}, {result.n_params / 1e6:.2f}M params, "
        f"max {result.max_input_length} tokens)",
        f"device {result.device} ({result.device_name}), {result.dtype}, batch {result.batch_size}, "
        f"torch {result.hardware.get('torch_version')}, {result.hardware.get('torch_num_threads')} threads; "
        f"warm-up {cfg.warmup}, >= {cfg.min_iterations} timed calls",
        "",
    ]
    header = [
        "length",
        "input",
        "attention",
        "ms/ex med",
        "ms/ex p90",
        "tokens/s",
        "peak MB",
        "x first",
        "device",
    ]
    rows: list[list[str]] = []
    first: float | None = None
    kinds: set[str] = set()
    for entry in result.entries:
        if entry.status != "ok" or entry.report is None:
            rows.append([str(entry.length), "-", entry.attention_path or "-", f"skipped: {entry.reason}"])
            continue
        rep = entry.report
        kinds.add(rep.memory_kind)
        med = rep.latency_ms_per_example_median
        first = med if first is None else first
        rows.append(
            [
                str(entry.length),
                str(entry.input_length),
                entry.attention_path or "-",
                _fmt(med),
                _fmt(rep.latency_ms_per_example_p90),
                _fmt(rep.tokens_per_second),
                _fmt(rep.peak_memory_mb),
                f"{med / first:.2f}x",
                rep.device,
            ]
        )
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) == len(header):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def render(cells: list[str]) -> str:
        if len(cells) < len(header):  # skipped: reason spans the remaining columns
            head = [
                c.rjust(widths[i]) if i in (0, 1) else c.ljust(widths[i]) for i, c in enumerate(cells[:3])
            ]
            return "  ".join([*head, cells[3]]).rstrip()
        return "  ".join(
            c.ljust(widths[i]) if i in (2, len(header) - 1) else c.rjust(widths[i])
            for i, c in enumerate(cells)
        ).rstrip()

    lines.append(render(header))
    lines.extend(render(r) for r in rows)
    for kind in sorted(kinds):
        lines.append(f"peak MB = {kind}: {MEMORY_KINDS[kind]}")
    if not result.measured:
        lines.append("no length could be measured")
    return "\n".join(lines)
