"""Cross-table phases: relationships (keys and foreign keys), correlations and derived columns,
and the topology of the schema."""
