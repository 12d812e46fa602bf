"""`python -m phases`: the dataraum command line."""

from phases.cli import main

main()
