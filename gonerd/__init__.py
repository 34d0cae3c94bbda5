"""GONERD: a long-context named-entity dataset of whole English Wikipedia articles.

The folder is both this Python package (the build pipeline) and the dataset repository (``README.md`` is the
dataset card, ``data/`` holds the Parquet splits, ``manifest.json`` pins every file by sha256).
"""

__version__ = "0.1.0"  # package version; the dataset's own semantic version lives in manifest.json
