"""dataraum-context: from a folder of CSV files to an entropy context an agent can trust.

The package holds one module per pipeline phase plus a small core: the DAG model
(`dag`), configuration (`config`), the task contract (`context`, `manifest`,
`runner`), doit task generation (`tasks`, `doit_backend`) and the run history
(`store`). Importing it is cheap: nothing here opens a database at import time.
"""
