"""``calhub bench ...``: benchmarks. Each prints one JSON object as its last line of output."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from calhub.cli.bench.machine import ReferenceSampler
from calhub.cli.common import console


class SyncProvider(enum.StrEnum):
    MSGRAPH = "msgraph"
    GOOGLE = "google"


OutputFile = Annotated[Path | None, typer.Option(help="Also write the JSON result to this file.")]

app = typer.Typer(
    help="Benchmarks; each prints one JSON object as its last line.", no_args_is_help=True
)


@app.command()
def recurrence(
    quick: Annotated[bool, typer.Option("--quick", help="Reduced run, under a minute.")] = False,
    output: OutputFile = None,
) -> None:
    """Recurrence expansion: calhub vs recurring-ical-events vs bare dateutil, same inputs."""
    try:
        from calhub.cli.bench.recurrence import run_recurrence_benchmark
    except ImportError as exc:  # the peers come with the `bench` extra
        console.print(f"[red]{exc}; install with: pip install 'calhub[bench]'[/red]")
        raise typer.Exit(2) from exc

    _emit(
        _with_progress(lambda report: run_recurrence_benchmark(quick=quick, progress=report)),
        output,
    )


@app.command("graph-emulator")
def graph_emulator(
    quick: Annotated[
        bool, typer.Option("--quick", help="Reduced run (1,000 mailboxes), under a minute.")
    ] = False,
    mailboxes: Annotated[
        int | None,
        typer.Option(min=1, help="Mailboxes, each with a subscription (default 10,000)."),
    ] = None,
    requests: Annotated[
        int | None, typer.Option(min=2, help="GETs per timed round (default 10,000).")
    ] = None,
    output: OutputFile = None,
) -> None:
    """Graph emulator: memory per mailbox with a subscription, and GETs per second on one core."""
    from calhub.cli.bench.graph_emulator import run_graph_emulator_benchmark

    _emit(
        _with_progress(
            lambda report: run_graph_emulator_benchmark(
                quick=quick, mailboxes=mailboxes, requests=requests, progress=report
            )
        ),
        output,
    )


@app.command()
def sync(
    quick: Annotated[
        bool, typer.Option("--quick", help="Reduced run (200 calendars, 10 s), under a minute.")
    ] = False,
    provider: Annotated[
        SyncProvider,
        typer.Option(help="Whose emulated cloud: Microsoft 365 (Graph) or Google Workspace."),
    ] = SyncProvider.MSGRAPH,
    calendars: Annotated[
        int | None, typer.Option(min=2, help="Mailboxes and rooms (default 1,000).")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(min=1, help="How long changes are made (default 60 s).")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=1, help="Changes per second made in the provider (default 200)."),
    ] = None,
    notifications: Annotated[
        int | None, typer.Option(min=1, help="Notifications posted to the intake (default 20,000).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="`calhub worker` processes (default 2).")
    ] = None,
    output: OutputFile = None,
) -> None:
    """Sync: lag from a change in the provider (emulated) to calhub's mirror, and intake
    throughput."""
    from calhub.cli.bench.sync import run_sync_benchmark

    _emit(
        _with_progress(
            lambda report: run_sync_benchmark(
                quick,
                provider=provider.value,
                calendars=calendars,
                seconds=seconds,
                rate=rate,
                notifications=notifications,
                workers=workers,
                progress=report,
            )
        ),
        output,
    )


@app.command()
def joinlink(
    quick: Annotated[
        bool, typer.Option("--quick", help="Reduced run (10,000 invites), under a minute.")
    ] = False,
    corpus: Annotated[
        Path | None,
        typer.Option(
            envvar="CALHUB_JOINLINK_CORPUS",
            exists=True,
            dir_okay=False,
            help="JSON Lines invites to replicate (e.g. the shared joinlinks.jsonl); "
            "default: a built-in set of representative invites.",
        ),
    ] = None,
    output: OutputFile = None,
) -> None:
    """Join-link detection: invites per second, p99 per invite, 1 MB adversarial bodies."""
    from calhub.cli.bench.joinlink import run_joinlink_benchmark
    from calhub.cli.joinlink import InvalidInvite

    try:
        result = _with_progress(
            lambda report: run_joinlink_benchmark(quick, corpus=corpus, progress=report)
        )
    except InvalidInvite as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _emit(result, output)


@app.command()
def obtp(
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Reduced run (2,000 meetings in 400 rooms), under a minute."),
    ] = False,
    meetings: Annotated[
        int | None,
        typer.Option(min=1, help="Meetings starting at the same instant (default 10,000)."),
    ] = None,
    rooms: Annotated[
        int | None, typer.Option(min=1, help="Rooms, one device each (default 2,000).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="`calhub worker` processes (default 2).")
    ] = None,
    kill: Annotated[
        bool,
        typer.Option(
            "--kill", help="SIGKILL a worker just after the fire time and start a new one."
        ),
    ] = False,
    spread_s: Annotated[
        float,
        typer.Option(
            "--spread-s", min=0, help="Spread the starts over this many seconds (default 0)."
        ),
    ] = 0.0,
    output: OutputFile = None,
) -> None:
    """Join prompts: fire-time error, duplicates and misses when every meeting starts at once."""
    from calhub.cli.bench.obtp import run_obtp_benchmark

    if kill and (workers or 2) < 2:
        console.print("[red]--kill needs at least 2 workers[/red]")
        raise typer.Exit(2)
    _emit(
        _with_progress(
            lambda report: run_obtp_benchmark(
                quick,
                meetings=meetings,
                rooms=rooms,
                workers=workers,
                kill=kill,
                spread_s=spread_s,
                progress=report,
            )
        ),
        output,
    )


ProgressReport = Callable[[str, int, int], None]


def _with_progress(run: Callable[[ProgressReport], dict[str, Any]]) -> dict[str, Any]:
    """Run a benchmark with one progress bar per phase it reports, redrawn twice a second
    (rich's default of ten took about 2% of a core from the machine being measured), and add
    what the result depends on besides calhub: the machine and how fast it ran meanwhile."""
    with (
        ReferenceSampler() as machine,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            refresh_per_second=2,
        ) as progress,
    ):
        tasks: dict[str, TaskID] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        result = run(report)
    return result | machine.facts()


def _emit(result: dict[str, Any], output: Path | None) -> None:
    """The result as one JSON line, last on stdout (and in ``output`` when given)."""
    text = json.dumps(result, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    typer.echo(text)
