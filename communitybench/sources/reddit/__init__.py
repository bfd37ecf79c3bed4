"""reddit."""
