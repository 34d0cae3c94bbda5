"""What every stage reads: task specs, plug-in registry, budgets, the architecture table, example, encoded-input and model-info types."""
