"""The seqcli command line: thin Typer commands over the engine.

`app.py` assembles the application; each command lives in its own module and only
parses, resolves config, calls one engine function and renders (STYLE.md, point 10).
The commands import the engine (and so torch) inside their bodies, so `seqcli --help`
stays fast.
"""
