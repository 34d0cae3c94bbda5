"""gonerd-bench harness: any encoder through its tasks, scored on quality and inference cost."""

__version__ = "0.1.0"
