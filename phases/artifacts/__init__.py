"""The typed records of every artifact in config/pipeline.yaml, with their file names and readers:
the one contract between phases. Imports only core; no phase algorithm lives here."""
