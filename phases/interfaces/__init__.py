"""How people and programs reach the pipeline: the `dataraum` command and the Python library API."""
