"""Writing user-visible files without ever losing data.

- A regular file is written to a temporary name beside it and renamed over it, so an
  interrupted run never leaves half a file; temporaries a killed run left are swept.
- A FIFO, a device or a terminal is written in place: renaming over ``/dev/null`` or a
  pipe would replace it with a regular file. A symlink is followed, and its target is
  replaced, so the link stays a link.
- An output that is one of the inputs is refused before anything is written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from restore.errors import OutputError
from restore.io.names import cut_bytes

__all__ = ["OutputError", "check_outputs", "is_special", "same_file", "temp_for", "finish_temp", "write_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name one file (through links, ``..`` and hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs: Iterable[Path], inputs: Iterable[Path | str]) -> None:
    """Refuse, before anything is written, an output that is an input or that two inputs share."""
    sources = [Path(i) for i in inputs if str(i) not in ("-", "<stdin>")]
    seen: dict[str, Path] = {}
    for out in outputs:
        for src in sources:
            if same_file(out, src):
                raise OutputError(f"refusing to write {out}: it is the input {src} (the original is never altered)")
        key = os.path.realpath(out)
        if key in seen:
            raise OutputError(f"refusing to write {out} twice: two inputs would share it")
        seen[key] = out


def is_special(path: Path) -> bool:
    """A FIFO, device, socket or terminal: written in place, never renamed over."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _target(path: Path) -> Path:
    # Follow a symlink so the link survives and its target gets the text.
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temp_stem(path: Path) -> str:
    # Cut so that the decorated name still fits in 255 bytes, whatever the output's name.
    return "." + cut_bytes(path.name, 200) + "."


def _sweep(path: Path) -> None:
    """Remove temporaries of ``path`` whose writer was killed (its pid is gone)."""
    stem = _temp_stem(path)
    try:
        stale = [p for p in path.parent.iterdir() if p.name.startswith(stem) and p.name.endswith(".tmp")]
    except OSError:
        return
    for tmp in stale:
        pid = tmp.name[len(stem) : -4].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)


_counter = [0]


def temp_for(path: Path) -> Path:
    """A temporary name beside ``path`` (or its symlink's target), tagged with this pid."""
    target = _target(path)
    _counter[0] += 1
    _sweep(target)
    return target.with_name(f"{_temp_stem(target)}{os.getpid()}.{_counter[0]}.tmp")


def finish_temp(tmp: Path, path: Path) -> None:
    """Put a finished temporary in place: renamed over a regular file, copied into a special one."""
    target = _target(path)
    if is_special(target):
        with tmp.open("rb") as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        tmp.unlink(missing_ok=True)
        return
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


def write_atomic(path: Path, text: str, inputs: Iterable[Path | str] = ()) -> None:
    """Write ``text`` as UTF-8 to ``path``; never half a file, never over an input.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> write_atomic(out, "一带一路")
    >>> out.read_text("utf-8")
    '一带一路'
    """
    path = Path(path)
    check_outputs([path], inputs)
    target = _target(path)
    try:
        if is_special(target):
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_for(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        finish_temp(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        if isinstance(exc, UnicodeEncodeError):
            raise OutputError(f"cannot write {path}: the text holds a lone surrogate, not valid Unicode") from None
        raise
