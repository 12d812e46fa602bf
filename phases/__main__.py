"""`python -m phases`: the dataraum command line."""

from phases.interfaces.entry import main

main()
