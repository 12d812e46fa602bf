"""The entropy phase: detectors per dimension, aggregation into scores and readiness, and the
context document an agent reads."""
