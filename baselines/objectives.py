"""The loss terms of ``baselines distill``, each with its weight: ``--objective NAME:WEIGHT,...``.

=======================  ===========================================================================================
``mlm``                  masked-LM cross-entropy of the student (15% masking, 80/10/10; DistilBERT)
``kl``                   ``T^2 * KL(softmax(teacher / T) || softmax(student / T))`` of the MLM logits on masked
                         positions (DistilBERT); needs a teacher with a trained MLM head
``cos``                  ``1 - cos`` of the last hidden states on non-padding positions (DistilBERT)
``hidden``               layer-wise hidden-state loss (TinyBERT): the output of student layer ``i`` against the output
                         of teacher layer ``hidden_layer_map[i]``, MSE or ``1 - cos``, mean over the student layers;
                         a learned linear projection where the widths differ
``attention-relations``  MiniLMv2's self-attention relations: query-query, key-key and value-value relations
                         ``softmax(A A^T / sqrt(d_r))`` of one teacher layer and one student layer, split into
                         ``relation_heads`` relation heads, ``KL(teacher || student)`` summed over Q, K, V, mean over
                         heads and non-padding query positions
=======================  ===========================================================================================

Layers are numbered from 0 (layer ``i`` is ``hidden_states[i + 1]`` of transformers; the embeddings are not a
layer), and a negative layer counts from the last (``-1``). The default hidden-state map is TinyBERT's uniform one:
student layer ``i`` of ``S`` learns teacher layer ``(i + 1) * T // S - 1`` of ``T``, so the last layers meet.

Q, K and V are read with forward hooks on the attention's own projections (``attention.self.query``/``key``/
``value`` of BERT, RoBERTa, Longformer, BigBird and Nyströmformer layers; the fused ``attn.Wqkv`` of ModernBERT),
so the relations are those of the model's real projections, whatever attention pattern it then applies. They need
eager attention: ``distill`` loads the teacher and builds the student with ``attn_implementation="eager"`` when the
term is on (ModernBERT's other paths unpad the batch, and fused kernels keep no per-token layout to read back) and
says so in one line; the saved student's config keeps no attention implementation. Memory grows with the square of
the sequence: ``3 * relation_heads * tokens^2`` floats per sequence and model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from baselines.errors import BaselinesError

TERMS = ("mlm", "kl", "cos", "hidden", "attention-relations")
DISTILBERT = {"mlm": 2.0, "kl": 5.0, "cos": 1.0}  # DistilBERT's weights: a teacher with a trained MLM head
WITHOUT_MLM_HEAD = {
    "hidden": 1.0,
    "cos": 1.0,
}  # a bare encoder (all-MiniLM-L6-v2): nothing from a random head
HIDDEN_LOSSES = ("mse", "cosine")


def format_objective(objective: Mapping[str, float]) -> str:
    """``{"hidden": 1.0, "cos": 0.5}`` -> ``"hidden:1.0,cos:0.5"`` (what ``--objective`` takes)."""
    return ",".join(f"{name}:{weight:g}" for name, weight in objective.items())


def parse_objective(spec: str | Mapping[str, float]) -> dict[str, float]:
    """Terms and weights from ``"hidden:1.0,attention-relations:1.0"`` (or a mapping); terms of weight 0 are left
    out.

    Raises:
        BaselinesError: an unknown or repeated term, a weight that is not a finite number >= 0, or no term left.
    """
    items: list[tuple[str, object]]
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = []
        for part in str(spec).split(","):
            name, sep, weight = part.strip().partition(":")
            if not sep:
                raise BaselinesError(
                    f"--objective: {part.strip()!r} is not NAME:WEIGHT (e.g. --objective hidden:1,cos:1)"
                )
            items.append((name.strip(), weight.strip()))
    objective: dict[str, float] = {}
    for name, raw in items:
        if name not in TERMS:
            raise BaselinesError(f"--objective: unknown term {name!r}; choose from {', '.join(TERMS)}")
        if name in objective:
            raise BaselinesError(f"--objective: {name} is given twice")
        try:
            weight = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise BaselinesError(f"--objective: the weight of {name} is not a number: {raw!r}") from None
        if not math.isfinite(weight) or weight < 0:
            raise BaselinesError(f"--objective: the weight of {name} must be a finite number >= 0, got {raw}")
        objective[name] = weight
    objective = {name: weight for name, weight in objective.items() if weight > 0}
    if not objective:
        raise BaselinesError("--objective: no term with a weight > 0")
    return objective


def uniform_layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """TinyBERT's uniform map: student layer ``i`` learns teacher layer ``(i + 1) * T // S - 1`` (0-based)."""
    return [(i + 1) * teacher_layers // student_layers - 1 for i in range(student_layers)]


def _layer_index(value: int, layers: int, flag: str) -> int:
    if not -layers <= value < layers:
        raise BaselinesError(f"{flag} {value}: the model has layers 0-{layers - 1} (or -1 for the last)")
    return value % layers


def parse_layer_map(spec: str | Sequence[int] | None, teacher_layers: int, student_layers: int) -> list[int]:
    """The teacher layer of each student layer for the ``hidden`` term (``"1,3,5"``, 0-based, ``-1`` = last);
    ``None``: :func:`uniform_layer_map`.

    Raises:
        BaselinesError: not one teacher layer per student layer, or a layer the teacher lacks.
    """
    if spec is None:
        return uniform_layer_map(teacher_layers, student_layers)
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        values = [int(str(p).strip()) for p in parts]
    except ValueError:
        raise BaselinesError(
            f"--hidden-layer-map {spec}: give comma-separated teacher layers, e.g. 1,3,5"
        ) from None
    if len(values) != student_layers:
        raise BaselinesError(
            f"--hidden-layer-map {spec}: give one teacher layer per student layer ({student_layers}), "
            f"got {len(values)}"
        )
    return [_layer_index(v, teacher_layers, "--hidden-layer-map") for v in values]


def relation_layer(value: int, layers: int, flag: str) -> int:
    """A 0-based layer (``-1`` = last) checked against ``layers``."""
    return _layer_index(value, layers, flag)


def _seeded(seed: int, name: str) -> torch.Generator:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


class HiddenStateLoss(torch.nn.Module):
    """TinyBERT's hidden-state loss over a student-to-teacher layer map.

    Args:
        layer_map: Teacher layer (0-based) for each student layer.
        student_width / teacher_width: Hidden sizes. Where they differ, one learned ``Linear(student_width,
            teacher_width)`` (TinyBERT's ``W_h``, shared by all layers, drawn from ``seed``) maps the student's
            states first; ``distill``'s students keep the teacher's width, so there it is absent.
        kind: ``"mse"`` or ``"cosine"`` (``1 - cos`` per token).
        seed: Seeds the projection.
    """

    def __init__(
        self,
        layer_map: Sequence[int],
        student_width: int,
        teacher_width: int,
        kind: str = "mse",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if kind not in HIDDEN_LOSSES:
            raise BaselinesError(f"--hidden-loss {kind!r}: choose from {', '.join(HIDDEN_LOSSES)}")
        self.layer_map, self.kind = list(layer_map), kind
        self.projection: torch.nn.Linear | None = None
        if student_width != teacher_width:
            self.projection = torch.nn.Linear(student_width, teacher_width)
            std = 1.0 / math.sqrt(student_width)
            with torch.no_grad():
                self.projection.weight.copy_(
                    torch.randn(self.projection.weight.shape, generator=_seeded(seed, "hidden.projection"))
                    * std
                )
                self.projection.bias.zero_()

    def forward(
        self,
        student_states: Sequence[torch.Tensor],
        teacher_states: Sequence[torch.Tensor],
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Mean loss over the mapped layers; ``*_states`` are transformers' ``hidden_states`` (embeddings first),
        ``mask`` the ``(batch, tokens)`` attention mask (cut to its length: models that pad inside keep more)."""
        attended, length = mask.bool(), mask.shape[1]
        losses = []
        for i, j in enumerate(self.layer_map):
            s, t = student_states[i + 1][:, :length][attended], teacher_states[j + 1][:, :length][attended]
            if self.projection is not None:
                s = self.projection(s)
            if self.kind == "mse":
                losses.append(F.mse_loss(s, t))
            else:
                losses.append((1.0 - F.cosine_similarity(s, t, dim=-1)).mean())
        return torch.stack(losses).mean()


def encoder_layers(model: torch.nn.Module) -> tuple[str, torch.nn.ModuleList]:
    """Name and module list of the transformer layers (``bert.encoder.layer``, ``model.layers`` of ModernBERT...):
    the ``ModuleList`` of ``config.num_hidden_layers`` modules named ``layer`` or ``layers``.

    Raises:
        BaselinesError: no such list (an architecture this recipe does not know).
    """
    n = model.config.num_hidden_layers
    for name, module in model.named_modules():
        if (
            isinstance(module, torch.nn.ModuleList)
            and len(module) == n
            and name.rsplit(".", 1)[-1] in ("layer", "layers")
        ):
            return name, module
    raise BaselinesError(f"cannot find the {n} transformer layers of a {model.config.model_type} model")


class QKVCapture:
    """Forward hooks that keep the query, key and value projections of one layer from the last forward.

    ``states(batch, length)`` returns them as three ``(batch, length, width)`` tensors: Longformer projects a
    ``(tokens, batch, width)`` layout and is turned back; models that pad the sequence inside (Longformer to its
    window, BigBird to its blocks) are cut to ``length``; ModernBERT's fused ``Wqkv`` is split in three.
    Use as a context manager (the hooks are removed on exit).

    Raises:
        BaselinesError: the layer has neither ``query``/``key``/``value`` nor ``Wqkv`` projections.
    """

    def __init__(self, model: torch.nn.Module, layer: int) -> None:
        _, layers = encoder_layers(model)
        block = layers[layer]
        self.seq_first = model.config.model_type == "longformer"
        self.outputs: dict[str, torch.Tensor] = {}
        found = {}
        for name, module in block.named_modules():
            leaf = name.rsplit(".", 1)[-1]
            if isinstance(module, torch.nn.Linear) and leaf in ("query", "key", "value", "Wqkv"):
                found.setdefault(leaf, module)
        if "Wqkv" in found:
            found = {"Wqkv": found["Wqkv"]}
        elif set(found) != {"query", "key", "value"}:
            raise BaselinesError(
                f"attention-relations: layer {layer} of the {model.config.model_type} model has no query/key/value "
                "projections to read"
            )
        self.handles = [
            module.register_forward_hook(self._keep(leaf)) for leaf, module in sorted(found.items())
        ]

    def _keep(self, leaf: str):
        def hook(_module, _inputs, output):
            self.outputs[leaf] = output.clone()  # Longformer scales its query in place right after

        return hook

    def states(self, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        def layout(x: torch.Tensor) -> torch.Tensor:
            if self.seq_first:
                x = x.transpose(0, 1)
            return x.reshape(batch, -1, x.shape[-1])[:, :length]

        if "Wqkv" in self.outputs:
            q, k, v = layout(self.outputs["Wqkv"]).chunk(3, dim=-1)
            return q, k, v
        return layout(self.outputs["query"]), layout(self.outputs["key"]), layout(self.outputs["value"])

    def __enter__(self) -> QKVCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()
        self.outputs.clear()


def _log_relations(x: torch.Tensor, mask: torch.Tensor, heads: int) -> torch.Tensor:
    """``log softmax(x_h x_h^T / sqrt(d_r))`` per relation head ``h``: ``(batch, heads, tokens, tokens)``; padding
    keys get no weight."""
    batch, length, width = x.shape
    d = width // heads
    x = x.reshape(batch, length, heads, d).transpose(1, 2)
    scores = x @ x.transpose(-1, -2) / math.sqrt(d)
    scores = scores.masked_fill(~mask[:, None, None, :], torch.finfo(scores.dtype).min)
    return F.log_softmax(scores, dim=-1)


def relation_loss(
    teacher_qkv: Sequence[torch.Tensor], student_qkv: Sequence[torch.Tensor], mask: torch.Tensor, heads: int
) -> torch.Tensor:
    """MiniLMv2's loss: ``sum over Q, K, V of KL(teacher relations || student relations)``, mean over relation heads
    and non-padding query positions. ``heads`` must divide both widths (the teacher's may differ from the
    student's: the relations are ``tokens x tokens`` either way)."""
    attended = mask.bool()
    total = teacher_qkv[0].new_zeros(())
    for t, s in zip(teacher_qkv, student_qkv, strict=True):
        log_t = _log_relations(t.detach(), attended, heads)
        log_s = _log_relations(s, attended, heads)
        kl = (log_t.exp() * (log_t - log_s)).sum(-1)  # (batch, heads, tokens)
        total = total + kl.transpose(1, 2)[attended].mean()
    return total
