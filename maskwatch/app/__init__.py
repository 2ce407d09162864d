"""The composition root: the command line, the runtime that runs stages, and whole-pipeline evaluation."""
