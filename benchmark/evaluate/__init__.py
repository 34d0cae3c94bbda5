"""Predicting, scoring predictions against gold, and intervals over examples and seeds."""
