"""`seqcli data`: corpus statistics and downloads."""

from __future__ import annotations

import typer

from seqcli.cli import app

data_app = typer.Typer(help="Inspect, fetch and prepare corpora.", no_args_is_help=True)
app.add_typer(data_app, name="data")
