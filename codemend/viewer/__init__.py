"""A static, offline site of a run: the problem list and every trajectory, step by step."""

from codemend.viewer.load import RunSource, open_run
from codemend.viewer.outcome import CATEGORIES, Outcome, classify
from codemend.viewer.site import Site, build_site, page_name

__all__ = ["CATEGORIES", "Outcome", "RunSource", "Site", "build_site", "classify", "open_run", "page_name"]
