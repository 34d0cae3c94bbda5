"""Result files: writing them atomically (typed by core/record.py), predictions beside them, and reading them back."""
