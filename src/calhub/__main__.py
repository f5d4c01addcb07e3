"""``python -m calhub`` runs the command line."""

from calhub.cli.main import run

run()
