"""Alerts stage: webhook (JSON, Slack, Teams), e-mail and MQTT delivery from a durable outbox."""
