"""Alerts stage: webhook and e-mail delivery from a durable outbox."""
