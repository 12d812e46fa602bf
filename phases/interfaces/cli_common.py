"""What every command of the command line shares: the global options, the project a command
works on (with a note on stderr when it was not simply found from the current folder), and
notes about choices made for the user."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from phases.interfaces import api
from phases.interfaces.selection import Chosen


@dataclass(frozen=True)
class Options:
    root: Path | None
    debug: bool


def options(ctx: click.Context) -> Options:
    return ctx.find_object(Options) or Options(None, False)


def note(text: str | None) -> None:
    """A choice made for the user (the project, the source): on stderr, so stdout stays the answer."""
    if text:
        click.echo(click.style(text, dim=True), err=True)


def project_root(ctx: click.Context) -> Path:
    """The project of this command (--root, else found from the current folder), said once when
    it was found below the current folder."""
    located = ctx.meta.get("dataraum.located")
    if located is None:
        located = api.locate(options(ctx).root)
        ctx.meta["dataraum.located"] = located
        note(located.note)
    return located.root


def chosen(name: str, why: Chosen) -> None:
    note(api.SourceChoice(name, why).note())
