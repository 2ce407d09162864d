"""Storage: the violation database (tables, migrations, shared queries), snapshots on disk,
camera status, reports and periodic jobs. The record stage, which writes it, is `record/`."""
