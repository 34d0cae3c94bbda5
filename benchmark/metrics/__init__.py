"""Pure metric functions over (gold, predictions): no model, no torch; every score on a 0–100 scale.

Modules (each ports an official scorer; see their docstrings for the exact reference and any deviation):

* ``squad``: SQuAD v1.1 EM/F1 (``evaluate-v1.1.py``).
* ``hotpotqa``: HotpotQA answer EM/F1/precision/recall (``hotpot_evaluate_v1.py``).
* ``triviaqa``: TriviaQA EM/F1 over aliases (``triviaqa_evaluation.py``).
* ``ner``: ``conlleval.pl`` port and seqeval strict IOB2 F1.
* ``classification``: accuracy, F1, MCC, Pearson, Spearman (numpy only).
* ``glue``: per-subtask GLUE metrics and the GLUE score (registered as an aggregation).
* ``suites``: aggregations of a suite's sub-task scores (``aggregate: mean``).
"""

from benchmark.metrics import classification, glue, hotpotqa, ner, squad, suites, triviaqa

__all__ = ["classification", "glue", "hotpotqa", "ner", "squad", "suites", "triviaqa"]
