"""The ``calhub`` command: ``calhub --help`` lists every command, each has its own ``--help``.

Settings come from ``CALHUB_*`` environment variables (see the README); commands that touch the
database start the embedded PostgreSQL themselves when ``CALHUB_DATABASE_URL`` is unset.
"""

from __future__ import annotations

import typer

from calhub import __version__
from calhub.cli import (
    admin,
    benchmarks,
    connect,
    devices,
    emulate,
    join_settings,
    join_writes,
    joinlink,
    meeting_settings,
    meetings,
    presence,
    server,
    webhooks,
)

app = typer.Typer(
    name="calhub",
    help="calhub: a self-hostable calendar integration hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
server.register(app)
admin.register(app)
connect.register(app)
joinlink.register(app)
join_settings.register(app)
join_writes.register(app)
devices.register(app)
presence.register(app)
meetings.register(app)
meeting_settings.register(app)
webhooks.register(app)
app.add_typer(benchmarks.app, name="bench")
app.add_typer(emulate.app, name="emulate")


@app.command()
def version() -> None:
    """Print calhub's version."""
    typer.echo(__version__)


def run() -> None:
    app()
