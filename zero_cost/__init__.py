"""zero_cost package."""
