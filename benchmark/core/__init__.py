"""What every stage reads: task specs, the plug-in registry, budget checks, the architecture table, example and encoded-input types, and the typed records (record.py) of what the stages make."""
