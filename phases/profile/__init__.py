"""Per-table profiling phases: statistics, temporal profiles and statistical quality."""
