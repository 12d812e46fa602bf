"""Phases that bring a CSV file in: import (all-text load, quarantine) and typing (type inference)."""
