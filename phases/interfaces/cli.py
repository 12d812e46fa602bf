"""The `dataraum` command line (also `python -m phases`). Each command parses its
options, calls one function of phases.interfaces.api and prints the result; errors are one
line and map to exit codes in one place (`DataraumGroup.invoke`): 0 success,
1 a phase failed (or the context is missing, or stale with --fresh), 2 a usage or
configuration error, 3 the project is busy with another run. The commands live by concern in
cli_run, cli_state, cli_read and cli_project; what they draw, in terminal, live and profile_view."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from phases.core.errors import DataraumError
from phases.interfaces.cli_common import Options
from phases.interfaces.cli_metrics import metrics
from phases.interfaces.cli_project import init, serve, sources
from phases.interfaces.cli_read import context, entropy, profile
from phases.interfaces.cli_run import run
from phases.interfaces.cli_state import graph, history, reset, status, verify


class DataraumGroup(click.Group):
    """Maps every error to one line and an exit code; --debug shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DataraumError as exc:
            self._fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # `dataraum status | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            ctx.exit(141)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: one line unless --debug
            self._fail(ctx, f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", 1)

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        if isinstance(ctx.obj, Options) and ctx.obj.debug:
            raise
        click.echo(f"error: {message}", err=True)
        ctx.exit(code)


@click.group(cls=DataraumGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Project root (the folder holding dodo.py and config/, or a data folder holding .dataraum/). "
                   "Default: found from the current folder.")
@click.option("--debug", is_flag=True, help="Show tracebacks and the full output of failed tasks.")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, debug: bool) -> None:
    """Run the dataraum pipeline and look at its state: the doit tasks of
    config/pipeline.yaml, with an honest status, history and the context.

    doit's own commands (doit -n 4, doit list --status, doit forget) work on
    the same tasks.

    \b
    Examples:
      dataraum init shop                 a new project, with an example source
      dataraum run ~/exports/sales       profile a folder of CSV files (state in ~/exports/sales/.dataraum)
      dataraum run -j 4                  run everything that is not up to date
      dataraum status                    what will run, and why
      dataraum profile orders.amount     one column's profile and findings
    """
    ctx.obj = Options(root, debug)


for command in (init, run, status, sources, profile, context, entropy, metrics, reset, graph, verify, history, serve):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="dataraum")


if __name__ == "__main__":
    main()
