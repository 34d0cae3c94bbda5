"""The gonerd-bench leaderboard: checked submissions of result directories and the views built from them.

Data lives in a leaderboard directory (``./leaderboard`` by default)::

    leaderboard/results/<model-slug>/         copied result files of one model (see :mod:`benchmark.results.files`)
    leaderboard/results/<model-slug>/submission.json   written here: partial flag, unverified splits, sha256 of
                                                       every copied file
    leaderboard/README.md, index.html, plots/  generated views (:mod:`.views`, :mod:`.plots`)

Modules: :mod:`.validate` checks a result directory (nothing from it is imported or executed, only JSON and
gzipped JSON lines are read, within :mod:`benchmark.limits`), :mod:`.rescore` recomputes every split's metrics
from its predictions against gold data identified by sha256, :mod:`.submit` copies a valid one in atomically
(``--unverified`` admits splits whose gold is not at hand, marked as such), :mod:`.entries` loads the
submitted entries, :mod:`.compare` computes a student's share of its teacher's scores, :mod:`.views` and
:mod:`.plots` render, :mod:`.references` holds the paper's published headline figures (labelled as such).
"""

from __future__ import annotations

DEFAULT_DIR = "leaderboard"
RESULTS = "results"
