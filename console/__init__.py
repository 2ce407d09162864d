"""The review console: a web UI and JSON API over the violation log, for operators and reviewers."""
