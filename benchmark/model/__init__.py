"""Loading a model for a task: architectures' needs applied, heads, precision and attention, where --model points."""
