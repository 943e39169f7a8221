"""Runs: the resolved configuration and the run directory every command reads and writes."""
