"""Exit codes and small helpers shared by the commands."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_INFRA = 0, 1, 2, 3

stderr = Console(stderr=True, highlight=False)


def die(message: str, code: int) -> NoReturn:
    stderr.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    sys.exit(code)
