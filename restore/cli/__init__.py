"""The command line: a thin layer over the library. Nothing imports it.

One module per command group; each turns options into library calls and library errors
into one line (``restore: error: …``) and an exit status.
"""

from __future__ import annotations

import sys

import click

from restore.cli.batch import batch_command
from restore.cli.build import build
from restore.cli.evaluate import eval_command
from restore.cli.fix import fix, scan
from restore.cli.lexicon import lexicon
from restore.cli.options import Failure
from restore.cli.qc import qc_command
from restore.cli.review import diff_command, export_command, review
from restore.errors import RestoreError


class _Restore(click.Group):
    """The top-level group: any of restore's own errors that a command did not catch
    itself (a corpus read deep inside a build, an output path, a missing model) is one
    line and exit status 1, whoever invokes the command line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RestoreError as exc:
            raise Failure(str(exc)) from None


@click.group(cls=_Restore, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="restore")
def main() -> None:
    """Find and restore text that keyword filters silently deleted from Chinese documents."""


for command in (scan, fix, batch_command, qc_command, eval_command, review, export_command, diff_command):
    main.add_command(command)
main.add_command(lexicon)
main.add_command(build)


def run() -> None:
    """Entry point that never shows a traceback for expected failures."""
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("restore: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
