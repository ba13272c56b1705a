"""An on-disk spool for requests the backend could not take.

One directory per backend under the ``spool_dir`` setting, private to the user (0700, files
0600). A parcel is written atomically (temporary name, then rename) and is delivered later by
whichever process claims it first: a claim is an atomic rename, so two processes sharing the
directory (gunicorn workers, a restarted service) never send the same parcel twice. The spool is
bounded in bytes; a parcel that does not fit is not written (the caller counts it as dropped).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from honeyhive import _forksafe as forksafe

if TYPE_CHECKING:
    from honeyhive._export._outbox import Parcel

__all__ = ["Spool", "SpooledParcel"]

_SUFFIX = ".parcel"
_CLAIM = ".claim-"
_counter = itertools.count()


@dataclass(frozen=True)
class SpooledParcel:
    """A parcel read back from disk, claimed by this process until released or deleted."""

    path: Path
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    count: int
    kind: str


class Spool:
    """Parcels on disk for one backend."""

    def __init__(self, directory: str, backend: str, max_bytes: int) -> None:
        digest = hashlib.sha256(backend.encode()).hexdigest()[:16]
        # Only our own subdirectories are created and made private; the directory the user
        # named is never touched (it may be /tmp).
        self.directory = Path(directory).expanduser() / f"honeyhive-{os.getuid()}" / digest
        self._max_bytes = max_bytes
        self._lock = forksafe.Lock()
        self._ensure_directory()
        self._release_stale_claims()

    def _ensure_directory(self) -> None:
        private = self.directory.parent
        private.parent.mkdir(parents=True, exist_ok=True)
        for path in (private, self.directory):
            path.mkdir(mode=0o700, exist_ok=True)
            if path.stat().st_uid != os.getuid():
                raise PermissionError(13, f"{path} belongs to another user")
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask

    def _release_stale_claims(self) -> None:
        """Give back parcels claimed by processes that no longer exist (or by an earlier
        process that had our pid, as after a container restart)."""
        for claimed in self.directory.glob(f"*{_SUFFIX}{_CLAIM}*"):
            owner = claimed.name.rpartition(_CLAIM)[2]
            pid_text, _, token = owner.partition("-")
            if not pid_text.isdigit():
                continue
            stale = not _alive(int(pid_text)) or (
                int(pid_text) == os.getpid() and token != _process_token()
            )
            if stale:
                with contextlib.suppress(OSError):
                    claimed.rename(claimed.with_name(claimed.name.partition(_CLAIM)[0]))

    def size(self) -> int:
        total = 0
        for entry in self.directory.iterdir():
            with contextlib.suppress(OSError):
                total += entry.stat().st_size
        return total

    def has_pending(self) -> bool:
        return next(iter(self.directory.glob(f"*{_SUFFIX}")), None) is not None

    def write(self, parcel: Parcel) -> bool:
        """Store a parcel; False when it does not fit (or the disk refuses it)."""
        header = {
            "method": parcel.method,
            "url": parcel.url,
            "headers": _storable(parcel.headers),
            "count": parcel.count,
            "kind": parcel.kind,
        }
        data = json.dumps(header).encode() + b"\n" + parcel.body
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}{_SUFFIX}"
        with self._lock:
            try:
                if self.size() + len(data) > self._max_bytes:
                    return False
                temporary = self.directory / f".{name}.tmp"
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                temporary.rename(self.directory / name)
            except OSError:
                return False
        return True

    def claim_oldest(self) -> Optional[SpooledParcel]:
        """Take the oldest parcel no other process holds; None when there is none."""
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            claimed = path.with_name(f"{path.name}{_CLAIM}{os.getpid()}-{_process_token()}")
            try:
                path.rename(claimed)
            except OSError:
                continue  # another process took it first
            try:
                raw = claimed.read_bytes()
                header_bytes, _, body = raw.partition(b"\n")
                header = json.loads(header_bytes)
                return SpooledParcel(
                    path=claimed,
                    method=str(header["method"]),
                    url=str(header["url"]),
                    headers={str(k): str(v) for k, v in header["headers"].items()},
                    body=body,
                    count=int(header["count"]),
                    kind=str(header["kind"]),
                )
            except (OSError, ValueError, KeyError, TypeError):
                with contextlib.suppress(OSError):
                    claimed.unlink()  # unreadable: it can never be delivered
                continue
        return None

    def release(self, parcel: SpooledParcel) -> None:
        """Give a claimed parcel back (delivery failed; someone may try again later)."""
        with contextlib.suppress(OSError):
            parcel.path.rename(parcel.path.with_name(parcel.path.name.partition(_CLAIM)[0]))

    def delete(self, parcel: SpooledParcel) -> None:
        with contextlib.suppress(OSError):
            parcel.path.unlink()


def _storable(headers: dict[str, str]) -> dict[str, str]:
    # The API key is not written to disk: the sending process adds its own credentials.
    return {k: v for k, v in headers.items() if k.lower() != "authorization"}


_token: tuple[int, str] = (0, "")


def _process_token() -> str:
    """A random token for this process (new after a fork), to tell our claims from a
    previous process's that happened to have the same pid."""
    global _token
    if _token[0] != os.getpid():
        _token = (os.getpid(), secrets.token_hex(4))
    return _token[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
