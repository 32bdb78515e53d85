"""Candidates for the security constraint's tests: code that passes ``square``'s tests with and
without what bandit flags, and the mark that skips (outside CI) when bandit is not installed."""

from __future__ import annotations

import importlib.util
import os

import pytest

UNSAFE = (
    "import subprocess\n"
    "\n"
    "def square(x):\n"
    "    if x is None:\n"
    "        subprocess.call('echo ' + str(x), shell=True)\n"
    "    return x * x\n"
)
"""Passes square's tests; bandit: B404 (low) on line 1, B602 (high) on line 5. The call never runs."""

needs_bandit = pytest.mark.skipif(
    importlib.util.find_spec("bandit") is None and not os.environ.get("CI"),
    reason="bandit is not installed: pip install 'codemend[security]' (CI installs it and fails without)",
)
