"""The review console (`maskwatch serve`): server-rendered pages and a JSON API over the database."""
