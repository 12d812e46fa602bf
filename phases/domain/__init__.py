"""Domain phases over the annotated source: slicing, business cycles and validation checks."""
