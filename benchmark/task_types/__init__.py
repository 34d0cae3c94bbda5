"""Task types: everything the harness does differently per type of task, one module per type.

- :mod:`.sequence`: ``classification`` and ``regression`` (one label / number per text or text pair);
- :mod:`.tokens`: ``token_classification`` (one IOB2 tag per word);
- :mod:`.qa`: ``extractive_qa`` (an answer span of the context, or yes/no);
- :mod:`.choice`: ``multiple_choice`` (the index of the right ending among N, SWAG-style).

Each type (a :class:`~.base.TaskType`) owns, in that one place: its example class, the conversion of Hub-schema
rows into examples and the fields a reader's rows need, encoding into windowed features, collating labels into a
batch, extracting per-feature outputs from the model's output, merging window outputs into one prediction per
example, gold-as-prediction, the gold-missing check, the prediction shape check, the ``--allow-missing`` policy,
the transformers Auto class and head check, and its scorers by registered name (:class:`~.base.Scorer`; a task's
YAML ``metrics:`` list picks among them, a YAML ``scorer:`` hook replaces them).

Generic code (the collator's padding, the prediction loop, training, the timing protocol, the validation of a
predictions file, windowing) calls ``get(spec.task_type)`` and never branches on the type. It also asks the type for
the shape of an example (:meth:`~.base.TaskType.feature_width`, :meth:`~.base.TaskType.feature_tokens`,
:meth:`~.base.TaskType.collate`, :meth:`~.base.TaskType.batch_width`): one sequence per feature by default, N per
example for multiple choice.

**A new task type** (as :mod:`.choice` was) is one new module here whose class subclasses
:class:`~.base.TaskType` and is decorated with :func:`~.base.register`, plus its module name in
:data:`~.base.BUILTIN_MODULES` (the one place that lists them). Nothing else changes: the task registry accepts
the new ``task_type`` and validates ``metrics:`` against its scorers.
"""

from .base import BUILTIN_MODULES, Scorer, TaskType, for_example, get, names, register, unregister

__all__ = [
    "BUILTIN_MODULES",
    "TASK_TYPES",
    "Scorer",
    "TaskType",
    "for_example",
    "get",
    "names",
    "register",
    "unregister",
]


def __getattr__(name: str):
    if name == "TASK_TYPES":  # computed on access: a module may register a type at any time
        return names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
