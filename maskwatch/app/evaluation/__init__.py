"""Event-level evaluation: clips with known people played through the real pipeline and scored."""
