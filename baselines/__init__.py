"""Bundled distilled efficient-attention baselines, their teachers, and the convert-then-distill recipe."""
