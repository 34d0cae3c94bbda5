"""A small MediaWiki client for the GONERD build, on top of ``wikipediaapi.Wikipedia`` (wikipedia-api 0.16).

The real wikipedia-api client is the transport and the primary path: it owns the ``httpx`` client (User-Agent,
timeout, connection pool, optional custom ``transport``), turns HTTP failures into typed exceptions, and lists
category members (with ``cmcontinue`` pagination) through its own ``categorymembers`` method.

Two things it has no method for go through the *same* client's request method (``_get``), so they share its
User-Agent, timeout and retry policy:

* batched page info (``prop=info|pageprops``, up to 50 titles per request): page id, latest revision id
  (``lastrevid``), wikitext length, disambiguation flag (``pageprops.disambiguation``) and redirect resolution;
* the plain-text extract of a whole article together with its page id and revision id, in **one** request
  (``prop=extracts|info|pageprops``, ``explaintext``, ``exsectionformat=wiki``), so text and revision id always
  belong together. TextExtracts always serves the latest revision: an older revision cannot be extracted.

:class:`WikiClient` can point at any MediaWiki ``api.php`` (``api_url``); wikipedia-api itself only knows
``https://<lang>.wikipedia.org/w/api.php``, so a subclass overrides its URL builder.

Retries (:class:`RetryPolicy`): HTTP 429 (waiting ``Retry-After`` seconds when given, capped by
``max_retry_after``), HTTP 5xx, timeouts, connection errors, truncated or invalid JSON and the MediaWiki
``maxlag``/``ratelimited``/``readonly`` API errors are retried with exponential backoff; other 4xx replies and
other API errors fail at once. A missing page is an answer, not a failure: it raises :class:`MissingPageError`
at once and is never retried. Every failure reaches the caller as a one-line :class:`~gonerd.errors.FetchError`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import wikipediaapi
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from wikipediaapi.exceptions import (
    WikiConnectionError,
    WikiHttpError,
    WikiHttpTimeoutError,
    WikiInvalidJsonError,
    WikipediaException,
    WikiRateLimitError,
)

from . import __version__
from .errors import FetchError

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_USER_AGENT",
    "INFO_BATCH_SIZE",
    "PROJECT_URL",
    "CategoryMembers",
    "MissingPageError",
    "PageInfo",
    "PageText",
    "RetryPolicy",
    "WikiClient",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://en.wikipedia.org/w/api.php"
PROJECT_URL = "https://github.com/gonerd-bench/gonerd-bench"
CONTACT_ENV = "GONERD_CONTACT"


def user_agent_for(contact: str | None = None) -> str:
    """The User-Agent the Wikimedia policy asks for: project, version and a way to reach whoever runs the build.

    ``contact`` (an e-mail address or URL of the person or team running it) defaults to ``$GONERD_CONTACT``,
    then to the project's URL. Operators of large builds should give their own."""
    who = (contact or os.environ.get(CONTACT_ENV) or "").strip()
    return f"gonerd-bench/{__version__} ({who + '; ' if who else ''}{PROJECT_URL}; GONERD dataset build)"


DEFAULT_USER_AGENT = user_agent_for()
INFO_BATCH_SIZE = 50  # the MediaWiki limit on ``titles``/``pageids`` per query for normal clients

MAIN_NAMESPACE = 0
CATEGORY_NAMESPACE = 14
_TRANSIENT_API_ERRORS = frozenset({"maxlag", "ratelimited", "readonly", "internal_api_error_DBQueryError"})


class MissingPageError(FetchError):
    """The wiki answered that the page does not exist (never retried)."""


class _TransientApiError(WikipediaException):
    """A MediaWiki API error reply (HTTP 200 with ``{"error": ...}``) that is worth retrying."""

    def __init__(self, code: str, info: str, url: str) -> None:
        self.code, self.info, self.url = code, info, url
        super().__init__(f"{code}: {info}")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a request counts as failed.

    Args:
        max_retries: retries after the first attempt (``0`` disables retrying).
        backoff: base wait in seconds; attempt ``n`` waits ``backoff * 2 ** (n - 1)``, at most ``max_backoff``.
        max_backoff: cap on one exponential-backoff wait.
        max_retry_after: cap on a server's ``Retry-After`` (a 429 asking for an hour should not hang a build).
    """

    max_retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy values must be >= 0")

    def wait(self, retry_state: RetryCallState) -> float:
        """Seconds to sleep before the next attempt (a ``tenacity`` wait strategy)."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, WikiRateLimitError) and exc.retry_after is not None:
            return min(float(exc.retry_after), self.max_retry_after)
        return min(self.backoff * 2 ** (retry_state.attempt_number - 1), self.max_backoff)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, WikiHttpError):  # includes WikiRateLimitError (429)
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(
        exc,
        (
            WikiHttpTimeoutError,
            WikiConnectionError,
            WikiInvalidJsonError,
            _TransientApiError,
            httpx.TransportError,  # e.g. the connection dropped in the middle of the body
        ),
    )


@dataclass(frozen=True)
class PageInfo:
    """What the wiki says about one requested title.

    ``title`` is the canonical title after normalisation and redirects; ``redirected_from`` is the requested
    title when it was a redirect. ``length`` is the size of the wikitext in bytes.
    """

    requested: str
    title: str
    page_id: int | None
    revision_id: int | None
    ns: int | None
    length: int | None = None
    missing: bool = False
    disambiguation: bool = False
    redirected_from: str | None = None


@dataclass(frozen=True)
class PageText:
    """The plain-text extract of a whole article and the revision it belongs to."""

    title: str
    page_id: int
    revision_id: int | None
    text: str
    disambiguation: bool = False
    redirected_from: str | None = None


@dataclass(frozen=True)
class CategoryMember:
    title: str
    page_id: int | None
    ns: int


@dataclass(frozen=True)
class CategoryMembers:
    """The members of one category: main-namespace pages and subcategories (other namespaces are dropped)."""

    category: str
    pages: list[CategoryMember]
    subcategories: list[str]


class _PointedWikipedia(wikipediaapi.Wikipedia):
    """``wikipediaapi.Wikipedia`` sending every request to one ``api.php`` URL, with GONERD's retry policy."""

    def __init__(self, api_url: str, retry: RetryPolicy, **kwargs: Any) -> None:
        self._api_url = api_url
        self._policy = retry
        super().__init__(max_retries=retry.max_retries, retry_wait=retry.backoff, **kwargs)

    def _build_url(self, language: str) -> str:  # type: ignore[override]
        return self._api_url

    def _do_get(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = super()._do_get(url, params)
        error = reply.get("error") if isinstance(reply, dict) else None
        if error:
            code, info = str(error.get("code", "unknown")), str(error.get("info", ""))
            if code in _TRANSIENT_API_ERRORS:
                raise _TransientApiError(code, info, url)
            raise FetchError(f"MediaWiki API error {code!r} from {url}: {info}")
        return reply

    def _get(self, language: str, params: dict[str, Any]) -> dict[str, Any]:
        url = self._build_url(language)

        def _log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("retrying %s (attempt %d): %s", url, state.attempt_number, _describe(exc))

        retryer = Retrying(
            stop=stop_after_attempt(1 + self._policy.max_retries),
            wait=self._policy.wait,
            retry=retry_if_exception(_is_transient),
            before_sleep=_log_retry,
            reraise=True,
        )
        return retryer(self._do_get, url, params)  # type: ignore[no-any-return]


def _describe(exc: BaseException | None) -> str:
    """A short human description of a request failure."""
    if isinstance(exc, WikiRateLimitError):
        return "HTTP 429 Too Many Requests" + (
            f" (Retry-After {exc.retry_after}s)" if exc.retry_after else ""
        )
    if isinstance(exc, WikiHttpError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, WikiHttpTimeoutError):
        return "timed out"
    if isinstance(exc, WikiInvalidJsonError):
        return "invalid or truncated JSON reply"
    if isinstance(exc, WikiConnectionError):
        return "could not connect"
    if isinstance(exc, _TransientApiError):
        return f"API error {exc.code}"
    if isinstance(exc, httpx.TransportError):
        return f"connection error ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _batched(items: Sequence[str], n: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


class WikiClient:
    """MediaWiki access for the GONERD build.

    Args:
        api_url: the wiki's ``api.php`` endpoint.
        user_agent: identifies the project to the wiki operators (name, version, contact URL), as the Wikimedia
            User-Agent policy asks (default: :func:`user_agent_for`, which reads ``$GONERD_CONTACT``);
            wikipedia-api appends its own name.
        timeout: seconds per request (connect and read).
        retry: the retry policy; see :class:`RetryPolicy`.
        transport: optional ``httpx`` transport (for example ``httpx.MockTransport`` or a caching transport).

    The client is safe to share between threads (one ``httpx.Client`` with a connection pool).
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        user_agent: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_url.startswith(("http://", "https://")):
            raise FetchError(f"not an HTTP(S) api.php URL: {api_url!r}")
        user_agent = user_agent_for() if user_agent is None else user_agent
        if len(user_agent.strip()) < 5:
            raise FetchError("the User-Agent must name the project and a contact (at least 5 characters)")
        self.api_url = api_url
        self.retry = retry or RetryPolicy()
        extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self._wiki = _PointedWikipedia(
            api_url,
            self.retry,
            user_agent=user_agent,
            language="en",
            extract_format=wikipediaapi.ExtractFormat.WIKI,
            timeout=timeout,
            **extra,
        )

    @property
    def wikipedia(self) -> wikipediaapi.Wikipedia:
        """The underlying ``wikipediaapi.Wikipedia`` client (pointed at ``api_url``)."""
        return self._wiki

    @property
    def user_agent(self) -> str:
        """The full User-Agent header sent with every request."""
        return str(self._wiki._default_headers["User-Agent"])

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._wiki._client.close()

    def __enter__(self) -> WikiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------------------------

    def _query(self, params: dict[str, Any], what: str) -> dict[str, Any]:
        """One ``action=query`` request through wikipedia-api's client; failures become one-line FetchErrors."""
        full = {"action": "query", "format": "json", "redirects": 1, **params}
        try:
            reply = self._wiki._get(self._wiki.language, full)
        except FetchError:
            raise
        except (WikipediaException, httpx.HTTPError) as exc:
            raise FetchError(f"{what}: {_describe(exc)} from {self.api_url} {self._attempts()}") from exc
        if not isinstance(reply, dict) or not isinstance(reply.get("query"), dict):
            raise FetchError(f"{what}: unexpected reply from {self.api_url} (no 'query' object)")
        return reply

    def _attempts(self) -> str:
        n = 1 + self.retry.max_retries
        return f"(gave up after {n} attempt{'s' if n != 1 else ''})"

    def category_members(self, category: str) -> CategoryMembers:
        """List a category's main-namespace pages and its subcategories (all continuation pages).

        ``category`` may be given with or without the ``Category:`` prefix. A category that does not exist has
        no members (MediaWiki does not distinguish the two).
        """
        title = category if category.startswith("Category:") else f"Category:{category}"
        page = self._wiki.page(title, ns=wikipediaapi.Namespace.CATEGORY)
        try:
            members = self._wiki.categorymembers(page)
        except FetchError:
            raise
        except (WikipediaException, httpx.HTTPError) as exc:
            raise FetchError(
                f"members of {title!r}: {_describe(exc)} from {self.api_url} {self._attempts()}"
            ) from exc
        pages: list[CategoryMember] = []
        subcategories: list[str] = []
        for member_title, member in members.items():
            ns = member.namespace
            if ns == MAIN_NAMESPACE:
                pages.append(CategoryMember(member_title, member.pageid, ns))
            elif ns == CATEGORY_NAMESPACE:
                subcategories.append(member_title)
        return CategoryMembers(title, pages, subcategories)

    def page_info(self, titles: Sequence[str]) -> dict[str, PageInfo]:
        """Page id, latest revision, length, disambiguation flag and redirect target for each title.

        Titles are sent :data:`INFO_BATCH_SIZE` per request. The result has one entry per requested title
        (missing pages included, with ``missing=True``).
        """
        result: dict[str, PageInfo] = {}
        for batch in _batched(list(dict.fromkeys(titles)), INFO_BATCH_SIZE):
            reply = self._query(
                {"prop": "info|pageprops", "ppprop": "disambiguation", "titles": "|".join(batch)},
                f"page info for {len(batch)} title(s) starting {batch[0]!r}",
            )
            result.update(_parse_info(reply["query"], batch))
        return result

    def extract(self, title: str | None = None, *, page_id: int | None = None) -> PageText:
        """The plain-text extract of a whole article (``== Section ==`` headings) with page id and revision id.

        Give ``page_id`` to address the page by id (stable across renames), else ``title``. Raises
        :class:`MissingPageError` at once when the page does not exist and :class:`~gonerd.errors.FetchError`
        when it could not be fetched after all retries.
        """
        if page_id is None and not title:
            raise FetchError("extract() needs a title or a page id")
        params: dict[str, Any] = {
            "prop": "extracts|info|pageprops",
            "ppprop": "disambiguation",
            "explaintext": 1,
            "exsectionformat": "wiki",
        }
        if page_id is not None:
            params["pageids"] = str(page_id)
            name = f"page id {page_id}" + (f" ({title!r})" if title else "")
        else:
            params["titles"] = title
            name = repr(title)
        reply = self._query(params, f"text of {name}")
        pages = list((reply["query"].get("pages") or {}).values())
        if not pages:
            raise FetchError(f"text of {name}: the reply lists no page")
        page = pages[0]
        if "missing" in page or "invalid" in page:
            reason = page.get("invalidreason", "page does not exist")
            raise MissingPageError(f"{name}: {reason} on {self.api_url}")
        if "extract" not in page:
            raise FetchError(
                f"text of {name}: the reply has no extract (is TextExtracts installed on the wiki?)"
            )
        redirects = {r["to"]: r["from"] for r in reply["query"].get("redirects", [])}
        return PageText(
            title=page["title"],
            page_id=int(page["pageid"]),
            revision_id=_int_or_none(page.get("lastrevid")),
            text=page["extract"],
            disambiguation="disambiguation" in (page.get("pageprops") or {}),
            redirected_from=redirects.get(page["title"]),
        )


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _parse_info(query: dict[str, Any], requested: Sequence[str]) -> dict[str, PageInfo]:
    """Map each requested title through ``normalized`` and ``redirects`` to its page entry."""
    normalized = {n["from"]: n["to"] for n in query.get("normalized", [])}
    redirects = {r["from"]: r["to"] for r in query.get("redirects", [])}
    by_title = {p["title"]: p for p in (query.get("pages") or {}).values() if "title" in p}
    out: dict[str, PageInfo] = {}
    for req in requested:
        name = normalized.get(req, req)
        target = redirects.get(name)
        page = by_title.get(target or name)
        if page is None or "missing" in page or "invalid" in page:
            out[req] = PageInfo(
                req, target or name, None, None, page.get("ns") if page else None, missing=True
            )
            continue
        out[req] = PageInfo(
            requested=req,
            title=page["title"],
            page_id=_int_or_none(page.get("pageid")),
            revision_id=_int_or_none(page.get("lastrevid")),
            ns=page.get("ns"),
            length=_int_or_none(page.get("length")),
            disambiguation="disambiguation" in (page.get("pageprops") or {}),
            redirected_from=name if target else None,
        )
    return out
