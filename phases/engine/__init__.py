"""Runs the DAG with doit: task generation, the per-task runner process, the durable doit backend,
the run history store, status and the graph. Only the interfaces import it."""
