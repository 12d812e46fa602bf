"""`python -m phases`: the dataraum command line."""

from phases.interfaces.cli import main

main()
