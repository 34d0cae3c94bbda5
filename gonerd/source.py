"""Local article sources: ``--source FILE.jsonl`` builds from articles on disk instead of live Wikipedia.

Each line: ``{"title": ..., "page_id": int|null, "revision_id": int|null, "text": ...}`` (extra keys such as
``category`` are kept when known, others ignored). Articles without a page id get a stable id derived from
title and text (see :attr:`gonerd.records.Article.id`).
"""

from __future__ import annotations

from pathlib import Path

from .annotate import MAX_ARTICLE_CHARS
from .errors import ManifestError
from .records import Article, iter_json_objects, page_url


def read_source(path: str | Path) -> list[Article]:
    path = Path(path)
    articles: list[Article] = []
    seen: dict[str, int] = {}
    for lineno, obj in iter_json_objects(path, "source file"):
        if not isinstance(obj.get("title"), str):
            raise ManifestError(f"{path}:{lineno}: expected an object with a string 'title'")
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ManifestError(f"{path}:{lineno}: article {obj['title']!r} has no text")
        for key in ("page_id", "revision_id"):
            value = obj.get(key)
            # a bool is not an id, and Parquet stores ids as int64
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63
            ):
                raise ManifestError(
                    f"{path}:{lineno}: {key} must be a non-negative integer or null, got {value!r}"
                )
        if obj.get("category") is not None and not isinstance(obj["category"], str):
            raise ManifestError(
                f"{path}:{lineno}: category must be a string or null, got {obj['category']!r}"
            )
        if len(text.strip()) > MAX_ARTICLE_CHARS:
            raise ManifestError(
                f"{path}:{lineno}: article {obj['title']!r} is {len(text.strip()):,} characters, more than "
                f"the {MAX_ARTICLE_CHARS:,} one article may have (spaCy's max_length); split or shorten it"
            )
        article = Article(
            title=obj["title"],
            page_id=obj.get("page_id"),
            revision_id=obj.get("revision_id"),
            text=text.strip(),
            category=obj.get("category"),
            url=page_url(obj["title"]) if obj.get("page_id") is not None else None,
        )
        if article.id in seen:
            raise ManifestError(
                f"{path}:{lineno}: duplicate article id {article.id} (first on line {seen[article.id]})"
            )
        seen[article.id] = lineno
        articles.append(article)
    if not articles:
        raise ManifestError(f"{path}: no articles")
    return articles
