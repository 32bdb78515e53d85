"""A counted candidate's program, run by valgrind in a fresh interpreter: ``counted.py MODE``.

valgrind moved its log out of the client's reach and left a copy at ``counting.LOG_FD``; that
copy is closed here, before the candidate's code is read, so no descriptor of the candidate's
leads to the log. Then the candidate runs as an uncounted one does (``candidate.serve`` or
``candidate.run_program``) and the process exits at once, without the interpreter's teardown.
Standard library only.
"""

import os
import sys

if __package__:
    from codemend.sandbox.runtime import candidate, counting
else:  # inside the sandbox, started as a script
    import candidate  # type: ignore[import-not-found, no-redef]
    import counting  # type: ignore[import-not-found, no-redef]


def main() -> None:
    """A counted candidate's entry under valgrind: close valgrind's log descriptor, then serve calls
    (``serve``) or run the program (otherwise)."""
    os.close(counting.LOG_FD)
    if sys.argv[1] == "serve":
        candidate.serve()
    else:
        candidate.run_program()


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        os._exit(70)
    os._exit(0)
