"""``python -m stereodiff`` runs the command line."""

from stereodiff.cli.main import entry

entry()
