"""Generic task heads over ``AutoModel`` for encoders transformers ships no head for (EuroBERT, GTE and NomicBERT
have no question-answering head in transformers 5.23).

:func:`head_class` gives, for a config and a task type, transformers' own head class (through its ``Auto`` class)
where one exists, else a generic one built here for that architecture:

- ``question_answering``: start/end span logits, a ``Linear(hidden, 2)`` over every token's last hidden state (as
  BERT's ``BertForQuestionAnswering``), loss the mean of the start and end cross-entropies, positions outside the
  input ignored;
- ``token_classification``: dropout and a ``Linear(hidden, num_labels)`` over every token (labels ``-100``
  ignored);
- ``sequence_classification``: the first token's state (``cls``) or the mean over the attention mask (``mean``,
  from the config's ``classifier_pooling``), then dropout and a ``Linear(hidden, num_labels)``; cross-entropy, or
  mean squared error for regression (``num_labels == 1`` / ``problem_type: regression``).

A generic head is a ``PreTrainedModel`` of the architecture (a subclass of its ``<Arch>PreTrainedModel``, the
encoder under the architecture's ``base_model_prefix``), so it loads a base or masked-LM checkpoint's encoder
weights, trains under the ``Trainer``, and ``save_pretrained`` / ``from_pretrained`` round-trip it like a
transformers head: the saved ``config.json`` keeps the architecture's ``model_type`` and names the class
(``GenericEuroBertForQuestionAnswering``), and :func:`head_class` finds the same class again from it. Results record
which kind of head ran (``model.head``: ``transformers`` or ``generic``).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

GENERIC_PREFIX = "Generic"
GENERIC_SUFFIXES = ("ForQuestionAnswering", "ForTokenClassification", "ForSequenceClassification")


def has_encoder(model_type: str) -> bool:
    """Whether transformers has a bare encoder (``AutoModel``) for ``model_type``: what a generic head needs."""
    from transformers.models.auto import modeling_auto

    return model_type in modeling_auto.MODEL_MAPPING_NAMES


def head_kind(model_type: str, task_type: str) -> str | None:
    """``transformers`` (its own head for the task type), ``generic`` (this module's, where the architecture allows
    one: ``benchmark.core.architectures``' ``generic_heads``) or None (no head at all)."""
    from .. import task_types
    from ..core import architectures

    impl = task_types.get(task_type)
    if impl.head_supported(model_type):
        return "transformers"
    if (
        impl.head_suffix in GENERIC_SUFFIXES
        and architectures.get(model_type).generic_heads
        and has_encoder(model_type)
    ):
        return "generic"
    return None


def head_class(config: Any, task_type: str):
    """The class whose ``from_pretrained`` loads a model of ``config``'s architecture with a ``task_type`` head:
    the generic class a saved checkpoint names (``architectures: [GenericEuroBertForQuestionAnswering]``), else
    transformers' ``Auto`` class where it has that head, else the generic class (one per architecture and task)."""
    from .. import task_types

    impl = task_types.get(task_type)
    saved = [
        a
        for a in getattr(config, "architectures", None) or []
        if a.startswith(GENERIC_PREFIX) and a.endswith(impl.head_suffix)
    ]
    if (saved and has_encoder(config.model_type)) or head_kind(config.model_type, task_type) == "generic":
        return generic_class(config.model_type, impl.head_suffix)
    return impl.auto_model_class()


@functools.cache
def generic_class(model_type: str, suffix: str) -> type:
    """``Generic<Arch>For<Task>`` for ``model_type`` (cached: the same class object every time)."""
    import transformers
    from transformers import PreTrainedModel
    from transformers.models.auto import modeling_auto

    encoder_cls = getattr(transformers, modeling_auto.MODEL_MAPPING_NAMES[model_type])
    pretrained = next(
        c for c in encoder_cls.__mro__[1:] if issubclass(c, PreTrainedModel) and c is not PreTrainedModel
    )
    body = {"ForQuestionAnswering": _QAHead, "ForTokenClassification": _TokenHead}.get(suffix, _SequenceHead)
    arch = encoder_cls.__name__.removesuffix("Model")
    name = f"{GENERIC_PREFIX}{arch}{suffix}"
    cls = type(name, (body, pretrained), {"_encoder_class": encoder_cls, "__module__": __name__})
    cls.__qualname__ = name
    return cls


def is_generic(model: Any) -> bool:
    return isinstance(model, _GenericHead)


class _GenericHead(nn.Module):
    """What the three generic heads share: the encoder under ``base_model_prefix``, its forward, the dropout, a
    ``Linear(hidden, num_labels)`` classifier (the span head has its own layer) and the output it returns."""

    _encoder_class: type

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        setattr(self, self.base_model_prefix, self._encoder_class(config))
        dropout = getattr(config, "classifier_dropout", None)
        if dropout is None:
            dropout = getattr(config, "hidden_dropout_prob", 0.0) or 0.0
        self.dropout = nn.Dropout(float(dropout))
        self.build_head(config)
        self.post_init()

    def build_head(self, config) -> None:
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    @property
    def encoder_module(self) -> nn.Module:
        return getattr(self, self.base_model_prefix)

    @functools.cached_property
    def _accepts(self) -> set[str]:
        params = inspect.signature(self.encoder_module.forward).parameters
        return {name for name, p in params.items() if p.kind is not p.VAR_KEYWORD}

    def encode(self, input_ids, attention_mask, token_type_ids=None, position_ids=None, inputs_embeds=None):
        """The encoder's last hidden state; inputs it does not take (EuroBERT: token types) are left out."""
        extra = {
            "token_type_ids": token_type_ids,
            "position_ids": position_ids,
            "inputs_embeds": inputs_embeds,
        }
        kwargs = {k: v for k, v in extra.items() if v is not None and k in self._accepts}
        out = self.encoder_module(
            input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **kwargs
        )
        return out.last_hidden_state, out

    @staticmethod
    def output(output_class: type, out: Any, **fields: Any) -> Any:
        """``output_class(**fields)`` with the encoder's hidden states and attentions (where it returned them)."""
        hidden_states, attentions = getattr(out, "hidden_states", None), getattr(out, "attentions", None)
        return output_class(**fields, hidden_states=hidden_states, attentions=attentions)


class _QAHead(_GenericHead):
    def build_head(self, config) -> None:
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        start_positions=None,
        end_positions=None,
        **kwargs,
    ):
        from transformers.modeling_outputs import QuestionAnsweringModelOutput

        hidden, out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        logits = self.qa_outputs(hidden)
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored = start_logits.size(1)  # positions outside the input are ignored, as in BERT's head
            start = start_positions.view(-1).clamp(0, ignored)
            end = end_positions.view(-1).clamp(0, ignored)
            ce = nn.CrossEntropyLoss(ignore_index=ignored)
            loss = (ce(start_logits, start) + ce(end_logits, end)) / 2
        return self.output(
            QuestionAnsweringModelOutput, out, loss=loss, start_logits=start_logits, end_logits=end_logits
        )


class _TokenHead(_GenericHead):
    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ):
        from transformers.modeling_outputs import TokenClassifierOutput

        hidden, out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        logits = self.classifier(self.dropout(hidden))
        loss = None
        if labels is not None:
            loss = nn.CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))
        return self.output(TokenClassifierOutput, out, loss=loss, logits=logits)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None, how: str) -> torch.Tensor:
    """One vector per row: the first token (``cls``, also ``bos``) or the mean over the real tokens (``mean``)."""
    if how == "mean":
        if attention_mask is None:
            return hidden.mean(dim=1)
        mask = attention_mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return hidden[:, 0]


class _SequenceHead(_GenericHead):
    @property
    def pooling(self) -> str:
        return "mean" if getattr(self.config, "classifier_pooling", None) == "mean" else "cls"

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        inputs_embeds=None,
        labels=None,
        **kwargs,
    ):
        from transformers.modeling_outputs import SequenceClassifierOutput

        hidden, out = self.encode(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        logits = self.classifier(self.dropout(pool(hidden, attention_mask, self.pooling)))
        loss = None
        if labels is not None:
            if self.num_labels == 1 or self.config.problem_type == "regression":
                loss = nn.MSELoss()(logits.squeeze(-1), labels.to(logits.dtype).view(-1))
            else:
                loss = nn.CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))
        return self.output(SequenceClassifierOutput, out, loss=loss, logits=logits)
