"""Fine-tuning on a task, with or without a teacher's soft labels."""
