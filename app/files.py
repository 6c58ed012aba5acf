"""Files and folders the service creates are private to its user: 0600 and 0700.

The mode is given at creation (`os.open`, `mkdir`), never set by a chmod afterwards, so that no
other user can open a file in the moment between the two. Files that already exist keep the
mode their owner gave them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dirs(path: Path) -> None:
    """Create `path` and any missing parents, each 0700; existing folders are left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        # One made by someone else meanwhile is theirs, with their mode.
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)


def create_private(path: Path) -> bool:
    """Create `path` empty with mode 0600 (folders 0700); False if it already existed."""
    private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` as a new 0600 file that replaces any old one in one step."""
    private_dirs(path.parent)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
