"""Hub-schema rows: what every task type's ``rows_to_examples`` shares: the example id from
``fields.id_format`` (:func:`make_id`) and a ClassLabel id or label name as the label name (:func:`label_name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.task_spec import TaskSpec
from ..errors import BenchmarkError

Row = Mapping[str, Any]


def make_id(spec: TaskSpec, role: str, index: int, row: Row) -> str:
    """The example id from ``spec.fields["id_format"]``: row fields plus ``{task}``, ``{split}``, ``{index}``."""
    try:
        return spec.fields["id_format"].format(**row, task=spec.name, split=role, index=index)
    except (KeyError, IndexError) as exc:
        raise BenchmarkError(f"{spec.name}: id_format needs field {exc} that the rows lack") from None


def label_name(spec: TaskSpec, value: Any, where: str) -> str | None:
    """A ClassLabel id or a label name -> the label name; -1 / None (unlabelled test rows) -> None."""
    if value is None or (isinstance(value, int) and value == -1):
        return None
    names = spec.label_names
    if isinstance(value, str):
        if value in names:
            return value
        if value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise BenchmarkError(f"{where}: label {value!r} is not one of {', '.join(names)}")
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    raise BenchmarkError(f"{where}: label id {value!r} is outside 0..{len(names) - 1}")
