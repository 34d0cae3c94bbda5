"""Build tiny, complete, offline model directories for tests (tokenizer + config + random weights).

The Hub is unreachable in tests, so every model a test needs is made here: a tokenizer trained on a small built-in
English corpus with ``tokenizers`` (WordPiece for BERT-style models, its vocabulary counted here so that it is
the same in every process; byte-level BPE for RoBERTa-style ones), wrapped in ``PreTrainedTokenizerFast``, and a
model built from a tiny config. The directory reloads with ``AutoTokenizer.from_pretrained`` /
``AutoModel...from_pretrained`` and ``HF_HUB_OFFLINE=1``.

    >>> from tests.tiny_models import build_tiny_model
    >>> path = build_tiny_model("longformer", tmp_path / "lf", task="token_classification", num_labels=5)

Quirks handled for the caller (transformers 5.23):

- ``max_length`` is the number of usable tokens; RoBERTa-style models (roberta, longformer) get 2 extra position
  rows (padding offset), Nyströmformer adds its own 2 internally.
- Longformer: ``attention_window`` defaults to 16 (must be even); its question-answering head needs
  ``num_labels=2`` and a ``global_attention_mask``.
- Nyströmformer: sequence lengths must be a multiple of ``num_landmarks`` (default 8 here): pass
  ``pad_to_multiple_of=8`` when tokenizing.
- BigBird: ``block_size`` defaults to 8 here; below ``(5 + 2 * num_random_blocks) * block_size`` tokens it falls
  back to full attention (and stays so on that model instance).
- Today's long-context encoders (rotary positions, no offset: ``max_position_embeddings == max_length``):
  ``modernbert`` (3 layers: global, local, local; ``local_attention`` 16 here, so 128-token inputs use the local
  path; byte-level BPE), ``eurobert`` (Llama-style; byte-level BPE, no token types) and ``gte`` (BERT with RoPE
  and GLU; WordPiece with token types). EuroBERT and GTE have no question-answering head in transformers: QA
  goes through ``benchmark.model.heads`` (``build_tiny_model`` saves their base model for that task).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    PreTrainedTokenizerFast,
)

KINDS = ("bert", "roberta", "longformer", "bigbird", "nystromformer", "modernbert", "eurobert", "gte")
MODERN_KINDS = ("modernbert", "eurobert", "gte")
TASKS = ("base", "masked_lm", "token_classification", "sequence_classification", "question_answering")
_AUTO = {
    "base": AutoModel,
    "masked_lm": AutoModelForMaskedLM,
    "token_classification": AutoModelForTokenClassification,
    "sequence_classification": AutoModelForSequenceClassification,
    "question_answering": AutoModelForQuestionAnswering,
}
_MODEL_TYPE = {
    "bert": "bert",
    "roberta": "roberta",
    "longformer": "longformer",
    "bigbird": "big_bird",
    "nystromformer": "nystromformer",
    "modernbert": "modernbert",
    "eurobert": "eurobert",
    "gte": "gte",
}
_BPE_KINDS = {"roberta", "longformer", "modernbert", "eurobert"}
_NO_TOKEN_TYPES = {"modernbert", "eurobert"}  # their tokenizers return input_ids and attention_mask only

_SUBJECTS = (
    "The city council",
    "A young engineer",
    "The old library",
    "Marie Curie",
    "The river Thames",
    "An orchestra from Vienna",
    "The football club",
    "A small company in Berlin",
    "The research team",
    "Barack Obama",
    "The United Nations",
    "A ship named Endeavour",
)
_VERBS = (
    "announced",
    "built",
    "visited",
    "described",
    "studied",
    "published",
    "opened",
    "crossed",
    "founded",
    "discovered",
)
_OBJECTS = (
    "a new bridge over the river in 1901.",
    "the history of the region during the war.",
    "an archive of letters and photographs.",
    "the first public museum of the country.",
    "several papers on radioactivity and chemistry.",
    "a concert hall near the central station.",
    "the northern coast of Australia.",
    "a school for children in the village.",
    "an agreement between the two governments.",
    "the results of the election on Monday.",
)


def tiny_corpus(n: int = 600) -> list[str]:
    """Deterministic English sentences (names, places, dates) for training tokenizers and tiny models."""
    out = []
    for i in range(n):
        s = _SUBJECTS[i % len(_SUBJECTS)]
        v = _VERBS[(i * 7) % len(_VERBS)]
        o = _OBJECTS[(i * 3) % len(_OBJECTS)]
        out.append(f"{s} {v} {o} It was number {i} of {n}.")
    return out


def _wordpiece_vocab(tok: Tokenizer, corpus: list[str], vocab_size: int) -> dict[str, int]:
    """A WordPiece vocabulary made the same in every process (the ``tokenizers`` trainer breaks ties between equally
    frequent merges differently from one process to the next, so its ids were not reproducible).

    Special tokens, then every character of the normalised corpus alone and as a ``##`` continuation (so any word
    of it tokenizes without ``[UNK]``), then whole words by falling frequency (ties alphabetically) up to
    ``vocab_size``; a word left out splits into characters.
    """
    counts: dict[str, int] = {}
    for line in corpus:
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(line)):
            counts[word] = counts.get(word, 0) + 1
    chars = sorted({c for word in counts for c in word})
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + [f"##{c}" for c in chars]
    seen = set(tokens)
    for word in sorted(counts, key=lambda w: (-counts[w], w)):
        if len(tokens) >= vocab_size:
            break
        if word not in seen:
            tokens.append(word)
            seen.add(word)
    return {t: i for i, t in enumerate(tokens)}


@functools.lru_cache(maxsize=8)
def _train_tokenizer(style: str, vocab_size: int) -> str:
    """Train once per process; returns the tokenizer JSON (cheap to copy into many directories)."""
    corpus = tiny_corpus()
    if style == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.model = models.WordPiece(_wordpiece_vocab(tok, corpus, vocab_size), unk_token="[UNK]")
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
        )
        tok.decoder = decoders.WordPiece()
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        tok.train_from_iterator(corpus, trainer=trainer)
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True)
        tok.decoder = decoders.ByteLevel()
    return tok.to_str()


def build_tokenizer(
    kind: str, *, vocab_size: int = 400, model_max_length: int = 512
) -> PreTrainedTokenizerFast:
    """A fast tokenizer for ``kind``: WordPiece (``[CLS]``/``[SEP]``, pad id 0) or byte-level BPE (``<s>``, pad id 1)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    if kind in _BPE_KINDS:
        tok = Tokenizer.from_str(_train_tokenizer("bpe", vocab_size))
        extra = {"model_input_names": ["input_ids", "attention_mask"]} if kind in _NO_TOKEN_TYPES else {}
        return PreTrainedTokenizerFast(
            tokenizer_object=tok,
            **extra,
            bos_token="<s>",
            eos_token="</s>",
            cls_token="<s>",
            sep_token="</s>",
            pad_token="<pad>",
            unk_token="<unk>",
            mask_token="<mask>",
            model_max_length=model_max_length,
        )
    tok = Tokenizer.from_str(_train_tokenizer("wordpiece", vocab_size))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
    )


def tiny_config(
    kind: str,
    *,
    vocab_size: int,
    pad_token_id: int,
    max_length: int = 512,
    max_position_embeddings: int | None = None,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    intermediate_size: int = 64,
    attention_window: int = 16,
    block_size: int = 8,
    num_random_blocks: int = 2,
    num_landmarks: int = 8,
    **overrides,
):
    """A small config of ``kind`` whose position table fits ``max_length`` usable tokens."""
    model_type = _MODEL_TYPE[kind]
    if kind in MODERN_KINDS:
        return _modern_config(
            kind,
            vocab_size=vocab_size,
            pad_token_id=pad_token_id,
            max_position_embeddings=max_position_embeddings or max_length,
            hidden_size=hidden_size,
            num_hidden_layers=num_hidden_layers,
            num_attention_heads=num_attention_heads,
            intermediate_size=intermediate_size,
            **overrides,
        )
    if max_position_embeddings is None:
        max_position_embeddings = max_length + (pad_token_id + 1 if kind in _BPE_KINDS else 0)
    kwargs = dict(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=pad_token_id,
        hidden_act="gelu",
        type_vocab_size=1 if kind in _BPE_KINDS else 2,
    )
    if kind in _BPE_KINDS:
        kwargs.update(bos_token_id=0, eos_token_id=2)
    if kind == "longformer":
        kwargs.update(attention_window=attention_window, sep_token_id=2)
    if kind == "bigbird":
        kwargs.update(
            attention_type="block_sparse", block_size=block_size, num_random_blocks=num_random_blocks
        )
    if kind == "nystromformer":
        kwargs.update(num_landmarks=num_landmarks, segment_means_seq_len=num_landmarks, conv_kernel_size=3)
    kwargs.update(overrides)
    return AutoConfig.for_model(model_type, **kwargs)


def _modern_config(kind: str, *, num_hidden_layers: int, **kwargs):
    """ModernBERT / EuroBERT / GTE: rotary positions, so the table is exactly the usable length."""
    if kind == "modernbert":
        ids = {"bos_token_id": 0, "cls_token_id": 0, "eos_token_id": 2, "sep_token_id": 2}
        defaults = {"local_attention": 16, "global_attn_every_n_layers": 3, **ids}
        if "layer_types" not in kwargs:
            num_hidden_layers = max(num_hidden_layers, 3)  # global, local, local
    elif kind == "eurobert":
        defaults = {
            "num_key_value_heads": kwargs["num_attention_heads"],
            "bos_token_id": 0,
            "eos_token_id": 2,
        }
    else:  # gte: BERT-style WordPiece with token types
        defaults = {"type_vocab_size": 2, "hidden_act": "gelu"}
    return AutoConfig.for_model(
        _MODEL_TYPE[kind], num_hidden_layers=num_hidden_layers, **{**defaults, **kwargs}
    )


def build_tiny_model(
    kind: str,
    out_dir: str | os.PathLike[str],
    *,
    task: str = "base",
    num_labels: int = 2,
    max_length: int = 512,
    max_position_embeddings: int | None = None,
    vocab_size: int = 400,
    seed: int = 0,
    id2label: dict[int, str] | None = None,
    **config_overrides,
) -> Path:
    """Build and save a complete tiny model directory; returns its path.

    Args:
        kind: ``bert``, ``roberta``, ``longformer``, ``bigbird``, ``nystromformer``, ``modernbert``, ``eurobert``
            or ``gte``.
        out_dir: Directory to write (created; existing files of the same names are overwritten).
        task: ``base`` (``AutoModel``), ``masked_lm``, ``token_classification``, ``sequence_classification`` or
            ``question_answering`` (Longformer QA: ``num_labels`` is forced to 2).
        num_labels: Labels of a classification head (ignored for ``base``/``masked_lm``).
        max_length: Usable tokens; also the tokenizer's ``model_max_length``.
        max_position_embeddings: Override the config value (default: ``max_length`` plus the padding offset of
            RoBERTa-style models).
        vocab_size: Target vocabulary of the trained tokenizer (the real one may be a little smaller).
        seed: ``torch.manual_seed`` before building, so the weights are reproducible.
        id2label: Label names of a classification head (default ``LABEL_i``).
        **config_overrides: Any further config field (``hidden_size``, ``num_hidden_layers``, ``attention_window``,
            ``block_size``, ``num_landmarks``...).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(kind, vocab_size=vocab_size, model_max_length=max_length)
    config = tiny_config(
        kind,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        max_length=max_length,
        max_position_embeddings=max_position_embeddings,
        **config_overrides,
    )
    if task in ("token_classification", "sequence_classification", "question_answering"):
        n = 2 if task == "question_answering" else num_labels
        config.num_labels = n
        if id2label is not None and task != "question_answering":
            config.id2label = dict(id2label)
            config.label2id = {v: k for k, v in id2label.items()}
    torch.manual_seed(seed)
    if task == "question_answering" and config.model_type not in _QA_TYPES():
        task = "base"  # no QA head in transformers: the base model (benchmark.model.heads adds the span head)
    model = _AUTO[task].from_config(config)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _QA_TYPES():
    from transformers.models.auto.modeling_auto import MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES

    return MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES


# A stand-in for a model that ships its own modelling code, shaped like LSG: config.json keeps a known model_type
# ("roberta") and adds an ``auto_map`` pointing at classes in a .py file of the model directory.
REMOTE_CODE_MODULE = "modeling_lsg_like"
REMOTE_CODE_SOURCE = '''"""Tiny stand-in for remote code (LSG-like): RoBERTa classes under their own names."""
from transformers import (
    RobertaForMaskedLM,
    RobertaForQuestionAnswering,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
    RobertaModel,
)


class LSGLikeRobertaModel(RobertaModel):
    pass


class LSGLikeRobertaForMaskedLM(RobertaForMaskedLM):
    pass


class LSGLikeRobertaForTokenClassification(RobertaForTokenClassification):
    pass


class LSGLikeRobertaForQuestionAnswering(RobertaForQuestionAnswering):
    pass


class LSGLikeRobertaForSequenceClassification(RobertaForSequenceClassification):
    pass
'''


def add_remote_code(model_dir: str | os.PathLike[str]) -> Path:
    """Turn a tiny RoBERTa directory into a remote-code model: writes the module and the config's ``auto_map``."""
    import json

    model_dir = Path(model_dir)
    (model_dir / f"{REMOTE_CODE_MODULE}.py").write_text(REMOTE_CODE_SOURCE)
    config = json.loads((model_dir / "config.json").read_text())
    names = {
        "AutoModel": "LSGLikeRobertaModel",
        "AutoModelForMaskedLM": "LSGLikeRobertaForMaskedLM",
        "AutoModelForTokenClassification": "LSGLikeRobertaForTokenClassification",
        "AutoModelForQuestionAnswering": "LSGLikeRobertaForQuestionAnswering",
        "AutoModelForSequenceClassification": "LSGLikeRobertaForSequenceClassification",
    }
    config["auto_map"] = {auto: f"{REMOTE_CODE_MODULE}.{cls}" for auto, cls in names.items()}
    (model_dir / "config.json").write_text(json.dumps(config, indent=2))
    return model_dir
