"""The contract every part shares: configuration, the DAG of phases, the project, sources, manifests,
the task contexts a phase receives, the JSON spelling of records, SQL quoting and the errors.
Imports nothing outside core."""
