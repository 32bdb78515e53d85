"""The ``codemend`` command line: one module per command."""

from codemend.cli.main import main

__all__ = ["main"]
