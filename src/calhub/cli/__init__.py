"""The ``calhub`` command line (Typer)."""
