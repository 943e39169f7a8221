"""`seqcli archs`: the architectures the registry knows, with their history."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from seqcli.cli.common import Json
from seqcli.models.catalog import SIZES
from seqcli.runs.defaults import TrainConfig


def archs(
    size: Annotated[str, typer.Option(metavar="SIZE", help=f"Size preset to count at: {' | '.join(SIZES)}.")] = TrainConfig.size,
    vocab: Annotated[int, typer.Option(metavar="N", help="Vocabulary per side to count with.")] = 1000,
    json_out: Json = False,
) -> None:
    """List every architecture with its year, parameters and key idea.

    Parameters depend on the vocabulary; aurora's default is about 1,100 a side.

    Examples:
      seqcli archs
      seqcli archs --size base --vocab 8000 --json
    """
    from rich.table import Table

    from seqcli.core.errors import unknown
    from seqcli.models.registry import REGISTRY
    from seqcli.runs.config import make_model_config
    from seqcli.views.render import stdout_console

    if size not in SIZES:
        raise unknown("size", size, SIZES)
    rows: list[dict[str, Any]] = []
    for name, arch in REGISTRY.items():
        model = arch.model(make_model_config(name, size, vocab, vocab))
        rows.append({"name": name, "family": arch.family, "year": arch.history.year,
                     "parameters": model.num_parameters(), "attention": model.has_attention,
                     "key_idea": arch.history.key_idea, "paper": arch.history.paper})
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"seqcli architectures (size {size}, vocabulary {vocab:,} per side)")
    table.add_column("name", style="bold")
    table.add_column("family")
    table.add_column("year", justify="right")
    table.add_column("params", justify="right")
    table.add_column("attention")
    table.add_column("key idea", overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["family"], str(r["year"]), f"{r['parameters'] / 1e6:.2f}M",
                      "yes" if r["attention"] else "no", r["key_idea"])
    stdout_console().print(table)
