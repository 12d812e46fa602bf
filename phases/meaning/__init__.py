"""The semantic phase: roles, concepts, units from the ontologies, optional LLM refinement."""
