"""Helpers the tests share: seeded databases, a running console, real receivers, a pipeline of
real processes, private Redis and Postgres servers, synthetic face observations."""
