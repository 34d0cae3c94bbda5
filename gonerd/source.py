"""Local article sources: ``--source FILE.jsonl`` builds from articles on disk instead of live Wikipedia.

Each line: ``{"title": ..., "page_id": int|null, "revision_id": int|null, "text": ...}`` (extra keys such as
``category`` are kept when known, others ignored). Articles without a page id get a stable id derived from
title and text (see :attr:`gonerd.records.Article.id`).
"""

from __future__ import annotations

from pathlib import Path

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
            if obj.get(key) is not None and not isinstance(obj[key], int):
                raise ManifestError(f"{path}:{lineno}: {key} must be an integer or null")
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
