"""Publish a built GONERD dataset folder to the Hugging Face Hub as one commit plus an immutable version tag.

Only the dataset itself is uploaded: ``README.md`` (the dataset card), ``manifest.json``, the Parquet files under
``data/`` and, when present, a top-level licence or citation file. The Python package that shares the folder
(``*.py``, ``__pycache__``), build caches and hidden files never leave the machine. Before anything is sent,
every data file is checked against the sha256 recorded in ``manifest.json``.

A release is ``main`` updated in one commit (files no longer part of ``data/`` are deleted in that same commit)
and a tag ``vX.Y.Z`` on that commit, where ``X.Y.Z`` is the manifest's version. Tags are never moved or
overwritten: publishing a version that is already tagged is refused, so ``revision="v0.1.0"`` always means the
same bytes.

Example::

    >>> from gonerd.publish import publish, format_publish_plan
    >>> print(format_publish_plan(publish("gonerd", "my-org/gonerd", dry_run=True)))
    >>> publish("gonerd", "my-org/gonerd")  # token from `hf auth login` or HF_TOKEN
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import untrusted
from .card import CARD_NAME
from .errors import GonerdError, ValidationError
from .manifest import MANIFEST_NAME, read_manifest_json
from .write import DATA_DIR

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"
BRANCH = "main"
#: Top-level files uploaded when present, besides the card and the manifest.
EXTRA_FILES = (
    "LICENSE",
    "LICENSE.md",
    "LICENSE.txt",
    "CITATION.cff",
    "CITATION.bib",
    "CITATION.md",
    "CITATION.txt",
)
VERSION_TAG = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_LOGIN_HINT = "log in with `hf auth login` or set HF_TOKEN to a token with write access"

T = TypeVar("T")


@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` uploaded, or would upload with ``dry_run=True``.

    Attributes:
        repo_id: the dataset repository, ``namespace/name``.
        files: paths relative to the dataset folder (and in the repository), sorted.
        commit_oid: the commit holding the release; ``None`` for a dry run.
        tag: the version tag created (for a dry run: the tag that would be created).
        url: web address of the tagged release (of the repository for a dry run).
        sizes: size in bytes of each file in ``files``.
        deleted: files under ``data/`` removed from the repository by the release commit (stale shards).
        dry_run: whether nothing was sent.
    """

    repo_id: str
    files: list[str]
    commit_oid: str | None
    tag: str | None
    url: str
    sizes: dict[str, int] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def total_bytes(self) -> int:
        """Total size of ``files`` in bytes."""
        return sum(self.sizes.values())


# --------------------------------------------------------------------------- local checks (no network)
def _is_hidden_or_cache(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in rel.parts)


def publishable_files(dataset_dir: str | Path) -> list[str]:
    """The files of a dataset folder that belong on the Hub, as sorted POSIX paths relative to ``dataset_dir``.

    ``README.md``, ``manifest.json``, ``data/**/*.parquet`` and any of :data:`EXTRA_FILES` that exist; never
    Python files, ``__pycache__``, caches or hidden files.

    Raises:
        GonerdError: the folder does not exist, or lacks ``README.md``, ``manifest.json`` or Parquet files.
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise GonerdError(f"{root}: no such dataset folder")
    # the manifest first: without one, `gonerd card` cannot help and `gonerd build` is the way
    for required, hint in ((MANIFEST_NAME, "run `gonerd build`"), (CARD_NAME, "run `gonerd card`")):
        if not (root / required).exists():  # (a FIFO or folder there is refused by name when it is read)
            raise GonerdError(f"{root}: no {required}, refusing to publish ({hint} first)")
    files = [CARD_NAME, MANIFEST_NAME] + [name for name in EXTRA_FILES if (root / name).is_file()]
    data = root / DATA_DIR
    parquet = sorted(
        rel.as_posix()
        for path in (data.rglob("*.parquet") if data.is_dir() else ())
        if path.is_file() and not _is_hidden_or_cache(rel := path.relative_to(root))
    )
    if not parquet:
        raise GonerdError(
            f"{root}: no Parquet files under {DATA_DIR}/, refusing to publish (run `gonerd build` first)"
        )
    return sorted(files + parquet)


def _sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with untrusted.open_regular(path, error=GonerdError) as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_release_manifest(dataset_dir: str | Path) -> dict[str, Any]:
    """The parts of ``manifest.json`` a release needs: a semantic ``version`` and ``files`` with sha256 each.

    Raises:
        GonerdError: unreadable JSON, or a missing or malformed ``version`` or ``files``.
    """
    path = Path(dataset_dir) / MANIFEST_NAME
    if not path.exists():
        raise GonerdError(f"{path}: no manifest (run `gonerd build` first)")
    manifest = read_manifest_json(path)
    if not isinstance(manifest, dict):
        raise GonerdError(f"{path}: corrupt manifest, expected a JSON object")
    version = manifest.get("version")
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise GonerdError(f"{path}: 'version' must be a semantic version X.Y.Z, got {version!r}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(meta, dict) and isinstance(meta.get("sha256"), str) for meta in files.values()
    ):
        raise GonerdError(f"{path}: 'files' must map each path to an object with its sha256")
    return manifest


def check_files_against_manifest(dataset_dir: str | Path, files: list[str], manifest: dict[str, Any]) -> None:
    """Refuse a release whose files do not match ``manifest.json``.

    Every Parquet file in ``files`` must be listed in the manifest, every listed file must exist and be part of
    ``files``, and every listed file's sha256 must match.

    Raises:
        ValidationError: naming the first problem and how many more there are.
    """
    root = Path(dataset_dir)
    listed: dict[str, dict] = manifest["files"]
    uploading = set(files)
    problems: list[str] = []
    for rel in files:
        if rel.endswith(".parquet") and rel not in listed:
            problems.append(f"{rel} is not listed in {MANIFEST_NAME}")
    for rel, meta in sorted(listed.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel} is listed in {MANIFEST_NAME} but missing")
        elif rel not in uploading:
            problems.append(f"{rel} is listed in {MANIFEST_NAME} but is not a publishable file")
        elif _sha256(path) != meta["sha256"].lower():
            problems.append(f"{rel} does not match its sha256 in {MANIFEST_NAME}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationError(
            f"{root}: refusing to publish, {problems[0]}{more}; rebuild the dataset or run `gonerd validate`"
        )


def _check_valid(root: Path) -> None:
    """Refuse what ``gonerd validate`` refuses (schema, rows, card out of date with the data), dry run included."""
    from .validate import validate

    problems = validate(root).problems
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationError(f"{root}: refusing to publish, {problems[0]}{more}; run `gonerd validate`")


def resolve_version_tag(manifest_version: str, revision_tag: str | None = None) -> str:
    """The tag for a release: ``revision_tag`` if given (it must be ``v`` + the manifest version), else ``v<version>``.

    Raises:
        GonerdError: ``revision_tag`` is not ``vX.Y.Z`` or names another version than the manifest.
    """
    if revision_tag is None:
        return f"v{manifest_version}"
    if not VERSION_TAG.match(revision_tag):
        raise GonerdError(
            f"revision tag {revision_tag!r} is not a semantic version tag like v{manifest_version}"
        )
    if revision_tag != f"v{manifest_version}":
        raise GonerdError(
            f"revision tag {revision_tag} does not match the dataset version {manifest_version} in {MANIFEST_NAME}"
        )
    return revision_tag


def _check_repo_id(repo_id: str) -> None:
    if (
        not isinstance(repo_id, str)
        or not _REPO_ID.match(repo_id)
        or ".." in repo_id
        or repo_id.endswith(".git")
    ):
        raise GonerdError(f"{repo_id!r} is not a Hub dataset repository id: expected 'namespace/name'")


# --------------------------------------------------------------------------- Hub access
def _redact(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def _resolve_token(token: str | None) -> str:
    if token:
        return token
    from huggingface_hub import get_token

    try:
        found = get_token()
    except Exception as exc:  # e.g. a failed OIDC exchange: report the kind, never the value
        raise GonerdError(
            f"could not read the Hugging Face token ({type(exc).__name__}); {_LOGIN_HINT}"
        ) from None
    if not found:
        raise GonerdError(f"no Hugging Face token: {_LOGIN_HINT}")
    return found


def _hub_error(
    exc: BaseException, *, step: str, repo_id: str, endpoint: str, tag: str, token: str
) -> GonerdError:
    """One line for a failed Hub call, never containing the token."""
    http = _hub_http()
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, OfflineModeIsEnabled):
        message = f"cannot publish {repo_id} in offline mode: unset HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE)"
    elif isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        detail = (exc.server_message or "").strip().splitlines()
        detail_text = f" ({detail[0]})" if detail else ""
        if status == 401:
            message = f"{repo_id}: the Hub rejected the token (401 Unauthorized) while {step}; {_LOGIN_HINT}"
        elif status == 403:
            message = (
                f"{repo_id}: the token may not write to this repository (403 Forbidden) while {step}; "
                f"use a token with write access to {repo_id.split('/')[0]}"
            )
        elif status == 404:
            message = f"{repo_id}: not found on {endpoint} (404) while {step}{detail_text}"
        elif status == 409 and step.startswith("tagging"):
            message = (
                f"{repo_id}: tag {tag} already exists (409); a published version is immutable, "
                f"bump 'version' in {MANIFEST_NAME} to publish again"
            )
        elif status == 412:
            message = f"{repo_id}: the main branch changed while {step} (412); publish again"
        else:
            message = f"{repo_id}: the Hub answered {status} while {step}{detail_text}"
    elif isinstance(exc, ValueError) and "README.md" in str(exc):
        reason = " ".join(str(exc).split())
        message = f"{CARD_NAME}: the Hub refused the dataset card metadata: {reason}"
    elif isinstance(exc, (KeyError, TypeError, AttributeError, IndexError)):
        message = (
            f"{repo_id}: {endpoint} answered with unexpected content while {step} ({type(exc).__name__}: "
            f"{str(exc)[:80]}); is it a Hugging Face Hub endpoint?"
        )
    elif isinstance(exc, (http.TransportError, ConnectionError)):
        message = f"cannot reach the Hub at {endpoint} while {step} ({type(exc).__name__})"
    else:
        message = f"{repo_id}: the Hub request failed while {step} ({type(exc).__name__})"
    return GonerdError(" ".join(_redact(message, token).split()))


def publish(
    dataset_dir: str | Path,
    repo_id: str,
    *,
    revision_tag: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    commit_message: str | None = None,
) -> PublishResult:
    """Upload a built dataset folder to the Hub dataset repository ``repo_id`` and tag the commit ``vX.Y.Z``.

    Steps: collect the publishable files (:func:`publishable_files`), check them against ``manifest.json``,
    then (unless ``dry_run``) create the repository if needed, refuse if the tag already exists, commit all files
    to ``main`` in one commit (deleting files under ``data/`` that the release no longer has) and tag that commit.

    Args:
        dataset_dir: the built dataset folder (``README.md``, ``manifest.json``, ``data/``).
        repo_id: ``namespace/name`` of the dataset repository.
        revision_tag: ``vX.Y.Z``; defaults to ``"v" + manifest["version"]`` and must equal it if given.
        private: create the repository as private (an existing repository keeps its visibility).
        dry_run: only plan: no network, no token needed.
        token: a Hugging Face token with write access; defaults to ``huggingface_hub.get_token()`` (``HF_TOKEN``
            or the login saved by ``hf auth login``). It never appears in messages or the result.
        endpoint: Hub base URL; defaults to ``HF_ENDPOINT`` or https://huggingface.co.
        commit_message: defaults to ``"Publish <name> vX.Y.Z"``.

    Returns:
        A :class:`PublishResult`; ``commit_oid`` is ``None`` for a dry run.

    Raises:
        GonerdError: a one-line explanation of any user-side problem (missing or mismatching files, bad tag,
            no token, rejected token, existing tag, unreachable Hub, offline mode).
    """
    _check_repo_id(repo_id)
    if commit_message is not None and not commit_message.strip():
        raise GonerdError("commit message must not be empty")
    root = Path(dataset_dir)
    files = publishable_files(root)
    manifest = read_release_manifest(root)
    tag = resolve_version_tag(manifest["version"], revision_tag)
    check_files_against_manifest(root, files, manifest)
    _check_valid(root)
    sizes = {rel: (root / rel).stat().st_size for rel in files}

    from huggingface_hub import constants

    base = (endpoint or constants.ENDPOINT).rstrip("/")
    if dry_run:
        return PublishResult(repo_id, files, None, tag, f"{base}/datasets/{repo_id}", sizes, [], True)

    secret = _resolve_token(token)
    name = str(manifest.get("name") or "GONERD")
    message = commit_message or f"Publish {name} {tag}"
    return _upload(root, repo_id, files, sizes, tag, private, secret, base, message)


def _hub_http():
    """The HTTP client package huggingface_hub raises the errors of: ``httpx2`` (huggingface-hub 2.x) or
    ``httpx`` (1.x; pyproject admits both). Both have ``HTTPError`` and ``TransportError``."""
    try:
        import httpx2 as http
    except ImportError:  # huggingface-hub 1.x
        import httpx as http
    return http


def _upload(
    root: Path,
    repo_id: str,
    files: list[str],
    sizes: dict[str, int],
    tag: str,
    private: bool,
    token: str,
    endpoint: str,
    message: str,
) -> PublishResult:
    http = _hub_http()
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    from . import __version__

    api = HfApi(endpoint=endpoint, token=token, library_name="gonerd", library_version=__version__)
    # KeyError/TypeError/AttributeError/IndexError: a 200 answer whose JSON is not what the Hub sends
    failures = (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        http.HTTPError,
        ConnectionError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
    )

    def call(step: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except failures as exc:
            raise _hub_error(
                exc, step=step, repo_id=repo_id, endpoint=endpoint, tag=tag, token=token
            ) from None

    def existing_repo() -> Any:
        try:
            return api.repo_info(repo_id, repo_type=REPO_TYPE)
        except RepositoryNotFoundError:
            return None

    # Look first, create only if missing: a token allowed to write to an existing repository but not to create
    # repositories in its namespace can still publish, and huggingface_hub's own fallback for that case
    # (create_repo(exist_ok=True) answering 403) only works with the default endpoint.
    info = call("looking up the repository", existing_repo)
    if info is None:
        logger.info("creating dataset repository %s on %s", repo_id, endpoint)
        call(
            "creating the repository",
            lambda: api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True),
        )
    elif private and not info.private:
        logger.warning("%s already exists and is public: private=True only applies when creating it", repo_id)
    refs = call("reading the repository's tags", lambda: api.list_repo_refs(repo_id, repo_type=REPO_TYPE))
    if any(ref.name == tag for ref in refs.tags):
        raise GonerdError(
            f"{repo_id}: tag {tag} already exists; a published version is immutable, "
            f"bump 'version' in {MANIFEST_NAME} to publish again"
        )
    head = next((ref.target_commit for ref in refs.branches if ref.name == BRANCH), None)
    remote: list[str] = []
    if head is not None:
        remote = call(
            "listing the repository's files",
            lambda: api.list_repo_files(repo_id, repo_type=REPO_TYPE, revision=head),
        )
    uploading = set(files)
    stale = sorted(p for p in remote if p.startswith(f"{DATA_DIR}/") and p not in uploading)

    operations: list[CommitOperationAdd | CommitOperationDelete] = [
        CommitOperationDelete(path_in_repo=path) for path in stale
    ]
    operations += [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(root / rel)) for rel in files]
    description = f"{len(files)} files, pinned by sha256 in {MANIFEST_NAME}; tagged {tag}."
    logger.info("committing %d files (%d stale removed) to %s", len(files), len(stale), repo_id)
    commit = call(
        "uploading the files",
        lambda: api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            commit_description=description,
            repo_type=REPO_TYPE,
            revision=BRANCH,
            parent_commit=head,
        ),
    )
    logger.info("tagging commit %s as %s", commit.oid, tag)
    try:
        api.create_tag(repo_id, tag=tag, tag_message=message, repo_type=REPO_TYPE, revision=commit.oid)
    except failures as exc:
        error = _hub_error(
            exc, step=f"tagging {tag}", repo_id=repo_id, endpoint=endpoint, tag=tag, token=token
        )
        raise GonerdError(f"{error} (files were committed as {commit.oid} but not tagged)") from None
    url = f"{endpoint}/datasets/{repo_id}/tree/{tag}"
    return PublishResult(repo_id, files, commit.oid, tag, url, sizes, stale, False)


# --------------------------------------------------------------------------- CLI helper
def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_publish_plan(result: PublishResult) -> str:
    """Human-readable listing of a :class:`PublishResult`: one line per file with its size, then a summary.

    Used by ``gonerd publish --dry-run`` (and after a real upload, where it names the commit and tag).
    """
    width = max((len(_human(s)) for s in result.sizes.values()), default=0)
    lines = [f"  {_human(result.sizes.get(rel, 0)):>{width}}  {rel}" for rel in result.files]
    lines += [f"  {'deleted':>{width}}  {rel}" for rel in result.deleted]
    count = f"{len(result.files)} files, {_human(result.total_bytes)}"
    if result.dry_run:
        head = f"Would upload {count} to dataset {result.repo_id} and tag it {result.tag} (dry run, nothing sent):"
        tail = f"Repository: {result.url}"
    else:
        head = f"Uploaded {count} to dataset {result.repo_id}:"
        tail = f"Commit {result.commit_oid}, tag {result.tag}: {result.url}"
    return "\n".join([head, *lines, tail])
