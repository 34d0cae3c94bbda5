"""benchmark run as a library: its options, its plan, the dry run, and the pipeline over tasks."""
