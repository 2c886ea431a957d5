"""The launcher's log files (``<data dir>/logs/*.log``, and Postgres' log), kept bounded.

Each child writes its own file, opened for appending (``O_APPEND``: every write goes to the file's
end as it is *now*). So a file can be rotated under a running process the way logrotate's
``copytruncate`` does: copy it aside, then truncate it; the next line lands at the start of the
emptied file, nobody restarts. What is written between the copy and the truncation (a few
milliseconds) is lost, which a development log can afford; in a cluster the log pipeline keeps the
services' stdout and this module is not used.
"""

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LogRotation:
    max_bytes: int
    """a file larger than this is rotated"""
    keep: int
    """rotated copies kept (``x.log.1`` the newest … ``x.log.<keep>``); older ones are deleted"""

    def rotate_if_large(self, path: Path) -> bool:
        """True when ``path`` was rotated."""
        try:
            if path.stat().st_size <= self.max_bytes:
                return False
        except FileNotFoundError:
            return False
        for n in range(self.keep, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if n == self.keep:
                older.unlink(missing_ok=True)
            elif older.exists():
                older.replace(path.with_name(f"{path.name}.{n + 1}"))
        if self.keep > 0:
            shutil.copyfile(path, path.with_name(f"{path.name}.1"))
        with path.open("r+b") as handle:
            handle.truncate(0)
        return True

    def rotate_all(self, paths: Iterable[Path]) -> list[Path]:
        return [p for p in paths if self.rotate_if_large(p)]
