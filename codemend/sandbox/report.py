"""What running a candidate against tests produced: data, never exceptions (the types live in
``codemend.records``, which every layer speaks)."""

from codemend.records import Isolation, TestReport, TestResult, TestStatus

__all__ = ["Isolation", "TestReport", "TestResult", "TestStatus"]
