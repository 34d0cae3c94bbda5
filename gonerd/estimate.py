"""How long a full ``gonerd build`` takes: an estimate from throughput, for messages and docs/gonerd.md.

Annotation dominates. ``en_core_web_trf`` cannot be installed on the offline machines this was written on, so its
speed is spaCy's *published* full-pipeline throughput (spaCy v3 benchmarks, spacy.io/usage/facts-figures, source
``explosion/spaCy`` ``website/docs/usage/_benchmarks-models.mdx``): about 1,000 words/s on CPU and 8,000 on GPU.
The build runs fewer components than the full pipeline (no tagger, lemmatizer or attribute ruler), so this is a
little pessimistic. The article length is measured: the median words of the shared real Wikipedia samples'
articles that pass the selection's 1,500-word minimum (4,044 and 4,156 words in the two samples).
"""

from __future__ import annotations

DEFAULT_ARTICLES = 2232
WORDS_PER_ARTICLE = 4100
PUBLISHED_WORDS_PER_SECOND = {"en_core_web_trf": {"GPU": 8000, "CPU": 1000}}


def annotation_seconds(
    model: str = "en_core_web_trf", articles: int = DEFAULT_ARTICLES, words: int = WORDS_PER_ARTICLE
) -> dict[str, float]:
    """Seconds of spaCy annotation per device kind, from the published throughput of ``model``."""
    speeds = PUBLISHED_WORDS_PER_SECOND.get(model, {})
    return {device: articles * words / wps for device, wps in speeds.items()}


def _human(seconds: float) -> str:
    if seconds < 3600:
        return f"~{max(1, round(seconds / 60))} min"
    return f"~{seconds / 3600:.1f} h"


def build_time_phrase(model: str = "en_core_web_trf", articles: int = DEFAULT_ARTICLES) -> str:
    """E.g. ``annotating 2,232 articles with en_core_web_trf takes ~19 min on a GPU, ~2.5 h on CPU ...``."""
    est = annotation_seconds(model, articles)
    if not est:
        return ""
    return (
        f"annotating {articles:,} articles of ~{WORDS_PER_ARTICLE:,} words with {model} takes "
        f"{_human(est['GPU'])} on a GPU (--gpu), {_human(est['CPU'])} on CPU at spaCy's published speed, plus fetching"
    )
