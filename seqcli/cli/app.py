"""The `seqcli` application: every command registered in help order, and `main`.

Each command lives in its own module and only parses, resolves config, calls one
engine function and renders (STYLE.md, point 10). Errors the user can fix are
`SeqcliError`s: one red line on stderr, exit 1. Usage errors exit 2 (click).
"""

from __future__ import annotations

import os
import sys

import typer

from seqcli.cli import attend, bleu, compare, data, importer, info, train, translate
from seqcli.core.errors import SeqcliError
from seqcli.views.render import error_line

HELP = """Train, run, look inside and compare every stage of the sequence-model
evolution (ANN → RNN → LSTM/GRU → BiRNN → attention → Transformer) on one
translation task.

Every command has examples in its --help; results go to stdout, progress to stderr.

Examples:
  seqcli train && echo "The cat is on the mat." | seqcli translate
  seqcli compare --archs rnn,gru,bahdanau --budget 2m
"""

app = typer.Typer(
    name="seqcli",
    help=HELP,
    rich_markup_mode="rich",  # panels and kept line breaks, whatever typer's default
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# The order here is the order in `seqcli --help`.
app.command()(train.train)
app.command()(translate.translate)
app.command()(attend.attend)
app.command()(bleu.bleu)
app.command()(compare.compare)
app.command()(compare.evolution)
app.command()(info.archs)
app.add_typer(data.data_app, name="data")
app.command("import")(importer.import_)  # a keyword: the function cannot carry the name


def _fail(message: str, code: int = 1) -> None:
    error_line(message)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; turn every error into one line on stderr and a non-zero exit."""
    debug = os.environ.get("SEQCLI_DEBUG") == "1"
    try:
        app(args=argv, prog_name="seqcli")
    except SeqcliError as e:
        if debug:
            raise
        _fail(f"error: {e}")
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error of ours.
        sys.stderr.close()
        sys.exit(0)
    except (SystemExit, typer.Exit):
        raise
    except OSError as e:  # a file we could not read or write: the user can act on it
        if debug:
            raise
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        _fail(f"error: {e.strerror or e}{where}")
    except Exception as e:  # a bug of ours: still one line, the traceback on request
        if debug:
            raise
        _fail(f"internal error: {type(e).__name__}: {e} (SEQCLI_DEBUG=1 shows the traceback)")
