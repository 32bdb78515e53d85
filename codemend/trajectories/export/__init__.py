"""Exports of stored trajectories in the formats trainers read."""

from codemend.trajectories.export.api import (
    FORMATS,
    EmptyExport,
    ExportOptions,
    ExportResult,
    Format,
    export_trajectories,
)
from codemend.trajectories.export.formats import from_raw_row
from codemend.trajectories.export.pairs import Pair, preference_pairs
from codemend.trajectories.export.select import SelectMode, normalise_code

__all__ = [
    "FORMATS",
    "EmptyExport",
    "ExportOptions",
    "ExportResult",
    "Format",
    "Pair",
    "SelectMode",
    "export_trajectories",
    "from_raw_row",
    "normalise_code",
    "preference_pairs",
]
