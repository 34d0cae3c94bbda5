"""``gonerd build``: articles -> spaCy annotation -> split -> Parquet -> manifest -> card.

Resumable: fetched texts and finished annotations are cached per article (keyed by id, text hash and the exact
pipeline), written as soon as each article is done, so an interrupted build picks up where it stopped without
refetching or re-annotating anything. Articles that cannot be fetched are listed in the manifest, never dropped
silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import untrusted
from .annotate import DEFAULT_MODEL, PipelineInfo, annotate_articles, default_processes, load_pipeline
from .card import CARD_NAME
from .errors import GonerdError
from .labels import CONFIGS
from .manifest import (
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    check_version,
    read_manifest,
    sha256_file,
    write_manifest,
)
from .quality import check_inputs as check_quality_inputs
from .quality import measure_quality
from .records import AnnotatedArticle, Article
from .split import DEFAULT_RATIOS, SPLITS
from .validate import write_card
from .versions import DATASET_VERSION
from .write import DATA_DIR, DEFAULT_MAX_ROWS_PER_SHARD, write_splits

CACHE_DIRNAME = ".cache"
MAX_CACHE_ENTRY_BYTES = 256 * 2**20  # one annotated article (tokens, spaces, tags as JSON)
STAGING_PREFIX = ".staging-"


@dataclass
class BuildReport:
    out_dir: Path
    articles: int = 0
    annotated_now: int = 0
    from_cache: int = 0
    failed: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    spacy_seconds: float = 0.0
    total_seconds: float = 0.0
    pipeline: dict = field(default_factory=dict)

    @property
    def overhead(self) -> float:
        """Build time beyond spaCy's own, as a fraction of spaCy's time."""
        return (self.total_seconds - self.spacy_seconds) / self.spacy_seconds if self.spacy_seconds else 0.0


def default_out_dir() -> Path:
    """The ``gonerd/`` folder itself: the package is also the dataset repository."""
    return Path(__file__).resolve().parent


def _refuse_other_version(out_dir: Path, version: str, force: bool) -> None:
    """A folder holding another version of the dataset (the package folder by default) is not overwritten
    silently: that needs ``force``."""
    from .manifest import read_manifest_json

    if not (out_dir / MANIFEST_NAME).exists():
        return  # nothing built there yet
    try:
        existing = read_manifest_json(out_dir / MANIFEST_NAME).get("version")
    except AttributeError:
        return  # a damaged manifest, which a rebuild repairs
    except GonerdError:
        if untrusted.not_regular(out_dir / MANIFEST_NAME):
            raise  # a FIFO or a device where the manifest goes: refused, never read or replaced
        return
    if existing and existing != version and not force:
        raise GonerdError(
            f"{out_dir} holds GONERD {existing}; refusing to overwrite it with {version} "
            "(pass --force to replace it, or --out another folder)"
        )


def _ensure_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GonerdError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise GonerdError(f"output folder {out_dir} is not writable")


class AnnotationCache:
    """One JSON file per annotated article, keyed by the pipeline, the article id and its text."""

    def __init__(self, root: Path, pipeline: PipelineInfo):
        self.root = root
        self.pipeline_key = hashlib.sha256(
            json.dumps(pipeline.to_dict(), sort_keys=True).encode()
        ).hexdigest()[:12]
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, article: Article) -> Path:
        text_hash = hashlib.sha256(article.text.encode()).hexdigest()[:16]
        safe_id = hashlib.sha256(article.id.encode()).hexdigest()[:16]
        return self.root / f"{self.pipeline_key}-{safe_id}-{text_hash}.json"

    def get(self, article: Article) -> AnnotatedArticle | None:
        path = self.path(article)
        if not path.exists():
            return None
        try:
            data = untrusted.load_json(path, limit=MAX_CACHE_ENTRY_BYTES)
            return AnnotatedArticle(**data)
        except (untrusted.Refused, TypeError):
            path.unlink(missing_ok=True)  # a damaged entry (or a FIFO) is redone, never trusted
            return None

    def put(self, ann: AnnotatedArticle, article: Article) -> None:
        """Write one entry atomically (a unique temporary file, then a rename; removed on any failure)."""
        path = self.path(article)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(ann), ensure_ascii=False))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="article")


def annotate_with_cache(
    articles: list[Article],
    nlp,
    cache: AnnotationCache,
    *,
    batch_size: int,
    n_process: int,
    progress: bool,
    report: BuildReport,
    annotate: Callable[..., Iterator[AnnotatedArticle]] = annotate_articles,
) -> list[AnnotatedArticle]:
    done: dict[str, AnnotatedArticle] = {}
    todo: list[Article] = []
    for art in articles:
        cached = cache.get(art)
        if cached is None:
            todo.append(art)
        else:
            done[art.id] = cached
    report.from_cache = len(done)
    if todo:
        start = time.perf_counter()
        cached: set[str] = set()

        def finished(art: Article, ann: AnnotatedArticle) -> None:  # as each one is done, in any order
            cache.put(ann, art)
            cached.add(art.id)

        extra = {"on_done": finished} if annotate is annotate_articles else {}
        stream = annotate(todo, nlp, batch_size=batch_size, n_process=n_process, **extra)
        for art, ann in zip(todo, _progress(stream, len(todo), "annotating", progress), strict=True):
            if art.id not in cached:
                cache.put(ann, art)
            done[art.id] = ann
            report.annotated_now += 1
        report.spacy_seconds = time.perf_counter() - start
    return [done[a.id] for a in articles]


def _fetch(selection: Path, cache_dir: Path, client, concurrency: int, progress: bool):
    from .fetch import fetch_articles
    from .selection import read_selection

    selected = read_selection(selection)
    if client is None:
        from .wiki import WikiClient

        client = WikiClient()
    fetched = fetch_articles(selected, client, cache_dir, concurrency=concurrency, progress=progress)
    failed = [{"title": f.title, "page_id": f.page_id, "error": str(f.error)} for f in fetched.failed]
    source = {
        "kind": "wikipedia",
        "api_url": getattr(client, "api_url", None),
        "selection": selection.name,
        "selection_sha256": sha256_file(selection),
        "articles": len(selected),
        # the live page moved on since selection: the fetched revision is what was annotated
        "revision_changes": [
            {"title": c.title, "page_id": c.page_id, "selected": c.expected, "fetched": c.fetched}
            for c in fetched.revision_changes
        ],
    }
    return fetched.articles, failed, source


def build(
    *,
    out_dir: str | Path | None = None,
    source: str | Path | None = None,
    selection: str | Path | None = None,
    model: str = DEFAULT_MODEL,
    version: str = DATASET_VERSION,
    batch_size: int = 1,
    n_process: int | None = None,
    max_rows_per_shard: int = DEFAULT_MAX_ROWS_PER_SHARD,
    cache_dir: str | Path | None = None,
    client=None,
    concurrency: int = 4,
    progress: bool = True,
    annotate: Callable[..., Iterator[AnnotatedArticle]] = annotate_articles,
    force: bool = False,
    quality: dict | None = None,
    gpu: bool = False,
) -> BuildReport:
    """Build the dataset from a local ``source`` JSONL file or a ``selection`` manifest fetched live."""
    started = time.perf_counter()
    if (source is None) == (selection is None):
        raise GonerdError("give exactly one of --source FILE.jsonl or --selection FILE.jsonl")
    check_version(version)
    if batch_size < 1 or (n_process is not None and n_process < 1):
        raise GonerdError("--batch-size and --n-process must be at least 1")
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    if out.exists() and not out.is_dir():
        raise GonerdError(f"--out {out}: not a folder")
    if cache_dir is not None and Path(cache_dir).exists() and not Path(cache_dir).is_dir():
        raise GonerdError(f"--cache-dir {cache_dir}: not a folder (a file is there)")
    _refuse_other_version(out, version, force)
    created = out.absolute()  # the topmost folder this build creates, if any
    while not created.parent.exists():
        created = created.parent
    created = None if created.exists() else created
    _ensure_writable(out)
    lock = OutputLock(out)  # two builds into one folder would delete each other's staging files
    try:
        lock.acquire()
        return _build(
            out,
            source=source,
            selection=selection,
            model=model,
            version=version,
            batch_size=batch_size,
            n_process=n_process,
            max_rows_per_shard=max_rows_per_shard,
            cache_dir=cache_dir,
            client=client,
            concurrency=concurrency,
            progress=progress,
            annotate=annotate,
            started=started,
            quality=quality,
            gpu=gpu,
        )
    except OSError as exc:  # disk full, a read-only cache, ...: the dataset in `out` is left as it was
        where = exc.filename or out
        raise GonerdError(
            f"{where}: {exc.strerror or type(exc).__name__}; build stopped, the dataset in {out} is unchanged "
            "and finished articles stay cached"
        ) from None
    finally:
        lock.release()
        if created is not None and not (out / MANIFEST_NAME).exists():
            _remove_empty_tree(
                created
            )  # a failed build leaves no empty --out behind (a resumable cache stays)


LOCK_NAME = ".gonerd-build.lock"


class OutputLock:
    """An exclusive ``fcntl.flock`` on ``OUT/.gonerd-build.lock`` for the whole build; the file says who holds
    it (pid, host, since), so a second build into the same folder stops at once with one line naming the first.
    The kernel drops the lock when its holder dies (kill -9 included): a stale file never blocks a build. The
    file is removed when the build ends; a build that locked a file just removed retries on the new one."""

    def __init__(self, out: Path):
        self.path = out / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        import fcntl
        import socket

        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
            except OSError as exc:
                raise GonerdError(f"{self.path}: cannot open the build lock ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise GonerdError(
                    f"{self.path.parent} is being built by another gonerd build ({holder}); wait for it to "
                    "finish or build into another --out"
                ) from None
            except OSError as exc:
                os.close(fd)
                raise GonerdError(f"{self.path}: cannot lock ({exc.strerror})") from None
            try:
                current = os.stat(self.path, follow_symlinks=False).st_ino
            except OSError:
                current = None
            if current == os.fstat(fd).st_ino:
                break
            os.close(fd)  # the holder removed that file as it finished: lock the new one
        self.fd = fd
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since}) + "\n"
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            info = untrusted.json_loads(os.pread(fd, 4096, 0), "lock")
            return f"pid {info['pid']} on {info['host']}, since {info['since']}"
        except (OSError, untrusted.Refused, KeyError, TypeError):
            return "holder unknown"

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # before the lock goes: a waiting build then retries on a new file
        os.close(self.fd)  # closing releases the lock
        self.fd = None


def _remove_empty_tree(root: Path) -> None:
    for folder, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only succeeds on an empty folder


def _build(
    out: Path,
    *,
    source,
    selection,
    model,
    version,
    batch_size,
    n_process,
    max_rows_per_shard,
    cache_dir,
    client,
    concurrency,
    progress,
    annotate,
    started,
    quality,
    gpu,
) -> BuildReport:
    cache_root = Path(cache_dir) if cache_dir is not None else out / CACHE_DIRNAME
    if source is not None:  # a bad source line fails before the model loads
        from .source import read_source

        source = Path(source)
        articles = read_source(source)
    nlp, pipeline = load_pipeline(model, gpu=gpu)  # an unknown model fails here, before any fetching
    if quality:  # a bad --gold-conll or --second-model fails now, not after annotating
        check_quality_inputs(**quality)
    if n_process is None:  # the fastest setting with the same entities: one process per usable core
        n_process = default_processes()
    report = BuildReport(out_dir=out, pipeline=pipeline.to_dict())

    if source is not None:
        failed: list[dict] = []
        source_info = {
            "kind": "jsonl",
            "file": source.name,
            "sha256": sha256_file(source),
            "articles": len(articles),
        }
    else:
        articles, failed, source_info = _fetch(
            Path(selection), cache_root / "text", client, concurrency, progress
        )
    report.failed = failed
    report.articles = len(articles)
    if not articles:
        raise GonerdError("no articles to annotate (every fetch failed?); nothing was written")

    cache = AnnotationCache(cache_root / "annotations", pipeline)
    annotated = annotate_with_cache(
        articles,
        nlp,
        cache,
        batch_size=batch_size,
        n_process=n_process,
        progress=progress,
        report=report,
        annotate=annotate,
    )
    # Everything is written into a staging folder first; the old dataset is replaced only once it is complete.
    for stale in out.glob(STAGING_PREFIX + "*"):  # left by a build that was killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    try:
        _write_dataset(
            staging,
            annotated,
            max_rows_per_shard,
            version,
            source_info,
            pipeline,
            batch_size,
            failed,
            nlp=nlp,
            quality=quality,
        )
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.files = sorted(read_manifest(out)["files"])
    report.total_seconds = time.perf_counter() - started
    return report


def _write_dataset(
    out,
    annotated,
    max_rows_per_shard,
    version,
    source_info,
    pipeline,
    batch_size,
    failed,
    *,
    nlp=None,
    quality=None,
):
    written = write_splits(annotated, out, max_rows_per_shard=max_rows_per_shard)
    files = {w.path: {"sha256": sha256_file(out / w.path), "rows": w.rows} for w in written}
    manifest = {
        "name": "GONERD",
        "version": version,
        "schema": MANIFEST_SCHEMA,
        "source": source_info,
        "annotation": {**pipeline.to_dict(), "batch_size": batch_size},
        "split": {
            "method": "sha256(id) mod 100",
            "ratios": dict(zip(SPLITS, DEFAULT_RATIOS, strict=True)),
        },
        "configs": {name: {"types": list(types)} for name, types in CONFIGS.items()},
        "files": files,
        "failed": failed,
    }
    write_manifest(out, manifest)
    # label quality (gonerd/quality.py): within documents always; against gold / a second model when given
    measure_quality(out, nlp=nlp, pipeline=pipeline, card=False, **(quality or {}))
    write_card(out)  # validates the staged data first


def _swap_in(staging: Path, out: Path) -> None:
    """Move the staged config folders, then the card, then the manifest (last) over the old dataset. The old
    config folders are renamed aside first and put back if a move fails."""
    (out / DATA_DIR).mkdir(exist_ok=True)
    aside = staging / "old"
    aside.mkdir()
    moved: list[str] = []
    try:
        for config in sorted(p.name for p in (staging / DATA_DIR).iterdir()):
            target = out / DATA_DIR / config
            if target.exists():
                os.replace(target, aside / config)
            moved.append(config)
            os.replace(staging / DATA_DIR / config, target)
        os.replace(staging / CARD_NAME, out / CARD_NAME)
        os.replace(staging / MANIFEST_NAME, out / MANIFEST_NAME)
    except OSError as exc:
        for config in moved:
            target = out / DATA_DIR / config
            if (aside / config).exists():
                shutil.rmtree(target, ignore_errors=True)
                os.replace(aside / config, target)
        raise GonerdError(f"cannot move the new dataset into {out}: {exc.strerror}") from None
