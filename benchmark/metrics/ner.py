"""Named-entity metrics (``conlleval.pl`` port and seqeval strict IOB2 F1): they live in :mod:`gonerd.ner`, below
both packages, so the dataset's label-quality report (:mod:`gonerd.quality`) and the harness score with the same
code without ``gonerd`` importing the harness; this name stays the harness's."""

from gonerd.ner import conlleval, split_tag, strict_f1

__all__ = ["conlleval", "split_tag", "strict_f1"]
