"""Encoding a split into model inputs: windowed features, their collation, and length-grouped batches."""
