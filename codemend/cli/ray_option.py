"""``--ray [ADDRESS]``, shared by the commands that can run on a Ray cluster; imports no Ray."""

from __future__ import annotations

from typing import Any, TypeVar

import click

from codemend.settings import get_settings

_F = TypeVar("_F", bound=Any)
_BARE = "\0bare"


def ray_option(func: _F) -> _F:
    """Add ``--ray [ADDRESS]`` to a command; read its value with ``ray_address``."""
    return click.option(
        "--ray",
        "ray",
        is_flag=False,
        flag_value=_BARE,
        default=None,
        metavar="[ADDRESS]",
        help="Run on an existing Ray cluster: auto, ray://HOST:PORT or HOST:PORT (a bare --ray: "
        "CODEMEND_RAY_ADDRESS, else auto). Needs pip install 'codemend[ray]'.",
    )(func)


def ray_address(value: str | None) -> str | None:
    """The cluster address ``--ray`` asks for (None: run locally); checked, Ray not imported."""
    if value is None:
        return None
    if value == _BARE:
        value = get_settings().ray_address or "auto"
    from codemend.cluster.connect import check_address  # only with --ray: it imports Ray

    return check_address(value)
