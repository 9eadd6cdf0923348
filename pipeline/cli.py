"""The ``digest`` command line: a thin click layer over the library."""

import click


@click.group()
def cli() -> None:
    """AI-news digest pipeline."""
