"""Named-entity tags and their metrics: IOB1 -> IOB2, a faithful port of ``conlleval.pl`` and seqeval's strict IOB2 F1.

``conlleval`` ports the CoNLL shared-task scorer ``conlleval`` version 2004-01-26 by Erik Tjong Kim Sang
(the script distributed with CoNLL-2000/2003; reference copy ``allanj/StatNLP-Projects`` ``eval/conlleval.pl``
@ ``bf55d45412c14d8a4a9445fdc8923be7b159355d``; the text read for this port, the same 2004-01-26 version, is
``kyzhouhzau/BERT-NER`` @ ``58c2011b`` ``conlleval.pl``), default options (no ``-r``, ``-l``, ``-d``, ``-o``).
What is reproduced exactly:

* Tags split at the *first* hyphen (``/^([^-]*)-(.*)$/``): ``B-PER`` -> (``B``, ``PER``); a tag without a
  hyphen (``O``, ``PER``) has type ``""``; a type that Perl treats as false (``"0"``) becomes ``""``.
* ``endOfChunk`` / ``startOfChunk`` verbatim, so IOB1 (an entity may start with ``I-``; ``B-`` only separates
  adjacent same-type entities), IOB2, mixed input, IOE tags and the single-token ``[``/``]`` tags are handled
  exactly as the script does. A change of type always ends/starts a chunk unless the tag is ``O`` or ``.``.
* Input is processed as the file ``tok gold pred`` lines, one blank line after each sentence. A blank line is
  a sentence boundary: both tags read as ``O`` and it is not counted as a token.
* ``accuracy`` = tokens whose prefix and type both match / tokens; overall ``precision`` = correct chunks /
  guessed chunks, ``recall`` = correct / gold chunks, ``f1`` = 2PR/(P+R); each 0.0 when its denominator is 0.
  All on a 0–100 scale, unrounded (conlleval prints them with ``%6.2f``).
* ``per_type``: every type seen in gold or predictions, sorted as Perl's ``sort`` (code point order), with the
  per-type precision/recall/FB1 as printed; conlleval's trailing count is the number of *predicted* chunks
  (``predicted`` here); ``support`` is the number of gold chunks of that type. (When the type ``""`` occurs,
  conlleval.pl prints its line twice, a quirk of its de-duplication loop; it appears once here.)

``strict_f1`` is seqeval 1.2.2's entity-level ``precision_score``/``recall_score``/``f1_score`` with
``mode="strict", scheme=IOB2, zero_division=0`` (micro average), ×100. In strict mode an entity must start
with ``B-``; IOB1-style ``I-`` starts are not entities, so use it only on IOB2 data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["conlleval", "iob1_to_iob2", "split_tag", "strict_f1"]


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 (``I-`` starts an entity unless it continues one of the same type; ``B-`` only splits two adjacent
    entities of one type) -> IOB2 (every entity starts with ``B-``)."""
    out: list[str] = []
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            out.append("B-" + tag[2:])
        else:
            out.append(tag)
        prev = tag
    return out


def _check(gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> None:
    if isinstance(gold, str) or isinstance(predictions, str):
        raise ValueError("gold and predictions must be sequences of sentences (sequences of tags)")
    if len(gold) != len(predictions):
        raise ValueError(f"gold has {len(gold)} sentences but predictions has {len(predictions)}")
    for i, (g, p) in enumerate(zip(gold, predictions, strict=True)):
        if isinstance(g, str) or isinstance(p, str):
            raise ValueError(f"sentence {i}: expected a sequence of tags, got a string")
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: gold has {len(g)} tags but prediction has {len(p)}")


def split_tag(tag: str) -> tuple[str, str]:
    """conlleval's tag split: ``/^([^-]*)-(.*)$/`` -> (prefix, type); no hyphen -> (tag, ``""``).

    Perl then applies ``$type ? $type : ""``, so the type ``"0"`` (false in Perl) becomes ``""`` too.
    """
    prefix, hyphen, chunk_type = tag.partition("-")
    if not hyphen:
        return tag, ""
    return prefix, ("" if chunk_type == "0" else chunk_type)


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, chunk_type: str) -> bool:
    """conlleval ``endOfChunk``: did a chunk end between the previous and the current word?"""
    chunk_end = False
    if prev_tag == "B" and tag == "B":
        chunk_end = True
    if prev_tag == "B" and tag == "O":
        chunk_end = True
    if prev_tag == "I" and tag == "B":
        chunk_end = True
    if prev_tag == "I" and tag == "O":
        chunk_end = True

    if prev_tag == "E" and tag == "E":
        chunk_end = True
    if prev_tag == "E" and tag == "I":
        chunk_end = True
    if prev_tag == "E" and tag == "O":
        chunk_end = True

    if prev_tag != "O" and prev_tag != "." and prev_type != chunk_type:
        chunk_end = True

    # corrected 1998-12-22: these chunks are assumed to have length 1
    if prev_tag == "]":
        chunk_end = True
    if prev_tag == "[":
        chunk_end = True
    return chunk_end


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, chunk_type: str) -> bool:
    """conlleval ``startOfChunk``: did a chunk start between the previous and the current word?"""
    chunk_start = False
    if prev_tag == "B" and tag == "B":
        chunk_start = True
    if prev_tag == "I" and tag == "B":
        chunk_start = True
    if prev_tag == "O" and tag == "B":
        chunk_start = True
    if prev_tag == "O" and tag == "I":
        chunk_start = True

    if prev_tag == "E" and tag == "E":
        chunk_start = True
    if prev_tag == "E" and tag == "I":
        chunk_start = True
    if prev_tag == "O" and tag == "E":
        chunk_start = True

    if tag != "O" and tag != "." and prev_type != chunk_type:
        chunk_start = True

    # corrected 1998-12-22: these chunks are assumed to have length 1
    if tag == "[":
        chunk_start = True
    if tag == "]":
        chunk_start = True
    return chunk_start


def _prf(correct: int, guessed: int, found: int) -> tuple[float, float, float]:
    precision = 100.0 * correct / guessed if guessed > 0 else 0.0
    recall = 100.0 * correct / found if found > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def conlleval(gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Chunk-level scores exactly as ``conlleval.pl`` computes them (see the module docstring).

    ``gold[i][j]`` / ``predictions[i][j]`` are the tags of token ``j`` of sentence ``i``. Returns
    ``{"precision", "recall", "f1", "accuracy", "per_type": {TYPE: {"precision", "recall", "f1", "support",
    "predicted"}}, "tokens", "gold_chunks", "predicted_chunks", "correct_chunks"}`` (scores 0–100; the last four
    are the counts conlleval prints in its first line). Raises ``ValueError`` (naming the sentence index) when
    the number of sentences or of tags in a sentence differ.
    """
    _check(gold, predictions)

    correct_chunk = 0
    correct_tags = 0
    found_correct = 0
    found_guessed = 0
    token_counter = 0
    correct_by_type: dict[str, int] = {}
    found_correct_by_type: dict[str, int] = {}
    found_guessed_by_type: dict[str, int] = {}

    in_correct = False
    last_correct, last_correct_type = "O", ""
    last_guessed, last_guessed_type = "O", ""

    def lines() -> Iterator[tuple[bool, str, str]]:
        for gold_sentence, pred_sentence in zip(gold, predictions, strict=True):
            for g, p in zip(gold_sentence, pred_sentence, strict=True):
                yield False, g, p
            yield True, "O", "O"  # the blank line after each sentence

    for is_boundary, gold_tag, pred_tag in lines():
        guessed, guessed_type = split_tag(pred_tag)
        correct, correct_type = split_tag(gold_tag)
        if is_boundary:  # 1999-06-26 sentence breaks should always be counted as out of chunk
            guessed = "O"

        if in_correct:
            end_correct = _end_of_chunk(last_correct, correct, last_correct_type, correct_type)
            end_guessed = _end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
            if end_correct and end_guessed and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk += 1
                correct_by_type[last_correct_type] = correct_by_type.get(last_correct_type, 0) + 1
            elif end_correct != end_guessed or guessed_type != correct_type:
                in_correct = False

        start_correct = _start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        start_guessed = _start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if start_correct and start_guessed and guessed_type == correct_type:
            in_correct = True
        if start_correct:
            found_correct += 1
            found_correct_by_type[correct_type] = found_correct_by_type.get(correct_type, 0) + 1
        if start_guessed:
            found_guessed += 1
            found_guessed_by_type[guessed_type] = found_guessed_by_type.get(guessed_type, 0) + 1
        if not is_boundary:
            if correct == guessed and guessed_type == correct_type:
                correct_tags += 1
            token_counter += 1

        last_guessed, last_correct = guessed, correct
        last_guessed_type, last_correct_type = guessed_type, correct_type

    if in_correct:
        correct_chunk += 1
        correct_by_type[last_correct_type] = correct_by_type.get(last_correct_type, 0) + 1

    precision, recall, f1 = _prf(correct_chunk, found_guessed, found_correct)
    accuracy = 100.0 * correct_tags / token_counter if token_counter > 0 else 0.0

    per_type: dict[str, dict[str, float | int]] = {}
    for chunk_type in sorted(set(found_correct_by_type) | set(found_guessed_by_type)):
        n_correct = correct_by_type.get(chunk_type, 0)
        n_guessed = found_guessed_by_type.get(chunk_type, 0)
        n_gold = found_correct_by_type.get(chunk_type, 0)
        p, r, f = _prf(n_correct, n_guessed, n_gold)
        per_type[chunk_type] = {
            "precision": p,
            "recall": r,
            "f1": f,
            "support": n_gold,
            "predicted": n_guessed,
        }

    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": accuracy,
        "per_type": per_type,
        "tokens": token_counter,
        "gold_chunks": found_correct,
        "predicted_chunks": found_guessed,
        "correct_chunks": correct_chunk,
    }


def strict_f1(gold: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> dict[str, float]:
    """seqeval strict IOB2 micro ``{"precision", "recall", "f1"}`` ×100 (``zero_division=0``).

    Calls ``seqeval.metrics.{precision,recall,f1}_score(gold, pred, mode="strict", scheme=IOB2,
    zero_division=0)``. Raises ``ValueError`` naming the sentence index when lengths differ, or naming the
    sentence and token when a tag is not ``O``/``B-TYPE``/``I-TYPE`` (seqeval would raise a bare ``KeyError``).
    """
    _check(gold, predictions)
    for which, sentences in (("gold", gold), ("predictions", predictions)):
        for i, sentence in enumerate(sentences):
            for j, tag in enumerate(sentence):
                if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
                    raise ValueError(f"{which} sentence {i}, token {j}: {tag!r} is not an IOB2 tag")
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    y_true = [list(s) for s in gold]
    y_pred = [list(s) for s in predictions]
    kwargs: dict[str, Any] = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    return {
        "precision": 100.0 * float(precision_score(y_true, y_pred, **kwargs)),
        "recall": 100.0 * float(recall_score(y_true, y_pred, **kwargs)),
        "f1": 100.0 * float(f1_score(y_true, y_pred, **kwargs)),
    }
