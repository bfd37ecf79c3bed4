"""stackexchange."""
