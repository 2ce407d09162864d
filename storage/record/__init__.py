"""The record stage: tracks people across frames, confirms violations, and writes them with
camera health to the database."""
