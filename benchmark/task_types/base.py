"""The interface every task type implements (:class:`TaskType`), scorers by registered name (:class:`Scorer`), and
the registry (:func:`register`, :func:`get`, :func:`names`, :func:`for_example`).

Generic code (the collator's padding, the prediction loop, the validation of a predictions file, windowing) never
asks which type a task is: it calls the methods below on ``get(spec.task_type)``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import BenchmarkError

if TYPE_CHECKING:
    import torch

    from ..core.encoded import EncodedSplit, Feature
    from ..core.record import Model
    from ..core.task_spec import TaskSpec

IGNORE = -100  # label of a position the loss skips (token classification)

# The built-in task-type modules, imported on first use (each registers its types with @register). A new task
# type is one new module in this package, added here.
BUILTIN_MODULES = ("sequence", "tokens", "qa", "choice")


@dataclass(frozen=True)
class Scorer:
    """A scorer registered by name (:data:`benchmark.core.plugins.SCORERS`): the metric names it ``reports`` and
    ``score(spec, examples, predictions)``, which returns them (0-100) in one dict. Predictions of every example
    are present, except where the type's ``--allow-missing`` policy leaves a missing one out to count as 0
    (extractive QA). ``task_types``: the types whose examples it scores (empty: any)."""

    name: str
    reports: frozenset[str]
    score: Callable[[TaskSpec, Sequence[Any], Mapping[str, Any]], dict[str, Any]]
    task_types: frozenset[str] = frozenset()


class TaskType(ABC):
    """One task type: everything the harness does differently per type, in one place."""

    name: ClassVar[str]  # the YAML's task_type
    example_class: ClassVar[type]  # benchmark.core.examples class its loaders produce
    auto_class: ClassVar[str]  # transformers Auto class of its head, e.g. "AutoModelForTokenClassification"
    head_mapping: ClassVar[
        str
    ]  # transformers.models.auto.modeling_auto mapping of model types with that head
    head_suffix: ClassVar[str]  # architecture class-name suffix of a checkpoint with that head
    needs_label_names: ClassVar[bool] = False
    row_fields: ClassVar[tuple[str, ...]] = ()  # field roles a reader's rows need (spec.fields maps them)
    allows_missing: ClassVar[bool] = False  # --allow-missing: a missing prediction has an official score

    def check_spec(self, spec: TaskSpec) -> str | None:
        """A problem of the spec this type alone knows about (e.g. a bad ``fields`` value), or None; the task
        registry reports it naming the YAML file."""
        return None

    # ------------------------------------------------------------------------------------------ model head
    @abstractmethod
    def num_labels(self, spec: TaskSpec) -> int:
        """Output size of the head."""

    @abstractmethod
    def head_labels(self, spec: TaskSpec) -> dict[str, Any]:
        """``from_pretrained`` keywords that (re)initialise the head for ``spec`` (id2label, problem_type...)."""

    def check_head_labels(self, config: Any, spec: TaskSpec, model_path: str) -> None:
        """``--eval-only``: the checkpoint's head must already predict what ``spec`` needs (one-line error);
        nothing to check by default."""
        return None

    def tokenizer_kwargs(self, spec: TaskSpec, model_type: str) -> dict[str, Any]:
        """Extra keywords for loading the tokenizer (byte-level BPE on pre-split words needs a prefix space)."""
        return {}

    def auto_model_class(self):
        import transformers

        return getattr(transformers, self.auto_class)

    def head_supported(self, model_type: str) -> bool:
        from transformers.models.auto import modeling_auto

        return model_type in getattr(modeling_auto, self.head_mapping)

    # ------------------------------------------------------------------------------------------ data
    @abstractmethod
    def rows_to_examples(self, spec: TaskSpec, role: str, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Examples from rows in the task's Hub schema (ids per ``fields.id_format``)."""

    def needed_row_fields(self, spec: TaskSpec) -> list[str]:
        """Source field names a reader hook's rows must carry."""
        defaults = {"tokens": "tokens"}
        return [spec.fields.get(role, defaults.get(role, role)) for role in self.row_fields]

    # ------------------------------------------------------------------------------------------ features
    @abstractmethod
    def encode(
        self,
        examples: Sequence[Any],
        tokenizer: Any,
        spec: TaskSpec,
        info: Model,
        length: int,
        *,
        stride: int | None = None,
        with_labels: bool = True,
    ) -> EncodedSplit:
        """Tokenise ``examples`` into model inputs of at most ``length`` tokens (windows where longer)."""

    @abstractmethod
    def collate_labels(
        self, features: Sequence[Feature], width: int, padding_side: str = "right"
    ) -> dict[str, torch.Tensor]:
        """The label tensors of a batch padded to ``width`` (every feature has a label). ``padding_side`` is the
        tokenizer's: per-position labels and label positions follow the tokens (:func:`pad_offset`)."""

    # ------------------------------------------------------------------------------------------ shape of an example
    # What generic code (batching, training, prediction, timing) asks about the shape of a feature or a batch. The
    # defaults are one sequence per feature: ``len(feature)`` tokens, padded into ``[batch, width]`` tensors. A type
    # whose feature is several sequences (multiple choice: ``[batch, choices, width]``) overrides them.
    def feature_width(self, feature: Feature) -> int:
        """The width ``feature`` needs in a padded batch (its longest sequence): what batches are sorted on."""
        return len(feature)

    def feature_tokens(self, feature: Feature) -> int:
        """The real tokens (padding excluded) the model reads for ``feature``: the padding ratio's denominator."""
        return len(feature)

    def feature_sequences(self, feature: Feature) -> int:
        """The sequences the model reads for ``feature``, each padded to the batch's width (what the dry run counts
        positions over): one by default."""
        return 1

    def collate(
        self, collator: Any, features: Sequence[Feature], *, with_labels: bool = True
    ) -> dict[str, torch.Tensor]:
        """The tensors of a batch of ``features`` (what ``collator``, a :class:`benchmark.encode.features.Collator`,
        returns): by default its :meth:`~benchmark.encode.features.Collator.pad`, one padded row per feature."""
        return collator.pad(features, with_labels=with_labels)

    def batch_width(self, batch: Mapping[str, torch.Tensor]) -> int:
        """The padded sequence length of a collated batch (the attention path it takes, the length timed): the
        last dimension of its ``input_ids``."""
        return int(batch["input_ids"].shape[-1])

    # ------------------------------------------------------------------------------------------ prediction
    @abstractmethod
    def extract_outputs(
        self, output: Any, features: Sequence[Feature], padding_side: str = "right"
    ) -> list[Any]:
        """One CPU output per feature of a batch from the model's output, trimmed to the feature's tokens (after
        the padding when ``padding_side`` is "left": :func:`pad_offset`)."""

    @abstractmethod
    def merge(
        self, spec: TaskSpec, examples: Sequence[Any], encoded: EncodedSplit, outputs: Sequence[Any]
    ) -> dict[str, Any]:
        """``{example id: prediction}`` from the outputs of every window."""

    # ------------------------------------------------------------------------------------------ scoring
    @abstractmethod
    def gold_as_prediction(self, example: Any) -> Any:
        """The prediction equal to the gold (first gold answer for QA)."""

    @abstractmethod
    def gold_missing(self, example: Any) -> bool:
        """Whether the example has no gold (a split without public labels)."""

    @abstractmethod
    def gold_fingerprint(self, example: Any) -> Any:
        """What scoring reads from the example's gold, JSON-ready (for the split's ``gold_sha256``)."""

    @abstractmethod
    def shape_problem(self, spec: TaskSpec, example: Any, prediction: Any) -> str | None:
        """Why ``prediction`` is not valid for ``example`` (phrased to follow "N predictions"), or None."""

    def missing_prediction(self, spec: TaskSpec, example: Any) -> Any:
        """``--allow-missing``: what a missing prediction counts as; None leaves it out (the scorer counts it 0).
        Only called when :attr:`allows_missing`."""
        return None

    @abstractmethod
    def scorers(self, spec: TaskSpec) -> tuple[Scorer, ...]:
        """The scorers registered for ``spec`` (by name; the type's default first)."""


def token_type_ids(tokenizer: Any, enc: Mapping[str, Any], row: int) -> list[int] | None:
    """Row ``row``'s token type ids in a tokenizer output, when the model takes them (the tokenizer's
    ``model_input_names``) and the tokenizer returned them; else None (the feature has no token types)."""
    if "token_type_ids" in tokenizer.model_input_names and "token_type_ids" in enc:
        return enc["token_type_ids"][row]
    return None


def pad_offset(length: int, width: int, padding_side: str) -> int:
    """Position of the first token of a ``length``-token feature in a batch row padded to ``width`` on
    ``padding_side`` (the tokenizer's ``padding_side``)."""
    return width - length if padding_side == "left" else 0


# --------------------------------------------------------------------------------------------- registry

_REGISTRY: dict[str, TaskType] = {}
_LOADED = False


def register(cls: type[TaskType]) -> type[TaskType]:
    """Class decorator: make ``cls`` (a :class:`TaskType`) the implementation of ``cls.name``."""
    _REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    """Forget a registered type (tests that register a type of their own)."""
    _REGISTRY.pop(name, None)


def load_builtins() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"{__package__}.{module}")


def names() -> tuple[str, ...]:
    """Every registered task type."""
    load_builtins()
    return tuple(_REGISTRY)


def get(task_type: str) -> TaskType:
    """The implementation of ``task_type``; one-line error naming the known ones when there is none."""
    load_builtins()
    try:
        return _REGISTRY[task_type]
    except KeyError:
        raise BenchmarkError(f"task_type {task_type!r} is not one of {', '.join(_REGISTRY)}") from None


def for_example(example: Any) -> TaskType:
    """The first registered type whose examples are of ``example``'s class (classification and regression share
    one class and agree on everything decided per example)."""
    load_builtins()
    for impl in _REGISTRY.values():
        if isinstance(example, impl.example_class):
            return impl
    raise BenchmarkError(f"no task type handles examples of class {type(example).__name__}")
