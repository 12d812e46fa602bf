"""The metrics phase: business metrics computed from the concepts, each value with a verdict."""
