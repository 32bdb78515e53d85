"""Code that runs inside the sandbox: standard library only, started with ``python -I -S``.

``supervisor`` (trusted, never executes candidate or test code) forks, per job, a harness
process that runs the test code and a candidate process that runs the model's code; only
``wire`` frames and plain data cross between them. I/O tests (``io_tests``) need no harness: the
supervisor runs the candidate as a program and compares its output itself.
"""
