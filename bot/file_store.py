"""Report files on disk: FILES_DIR/ab/abcdef….ext, named by the SHA-256 of the content.

A file is written to a temporary name in its final folder, flushed to the disk, then
renamed: a crash leaves either the whole file or none under the final name (a stray
temporary file at worst), and the same content stored twice is one file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

# Extensions kept on the stored name: the ones report files may have (the content is
# what counts; the extension only helps whoever opens the folder).
_SAFE_EXTENSION = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".odt", ".ods", ".jpg", ".jpeg", ".png"}
)


class StorageError(Exception):
    """FILES_DIR cannot take the file (unwritable, full…); str() says why, in one line."""


def extension_for(file_name: str | None, kind: str) -> str:
    if kind == "photo":
        return ".jpg"
    suffix = PurePosixPath(file_name or "").suffix.casefold()
    return suffix if suffix in _SAFE_EXTENSION else ""


def relative_path(sha256: str, extension: str) -> str:
    return f"{sha256[:2]}/{sha256}{extension}"


def store(files_dir: Path, data: bytes, extension: str) -> tuple[str, str]:
    """Keep `data` under FILES_DIR; returns (sha256, path relative to FILES_DIR)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = relative_path(digest, extension)
    target = files_dir / relative
    try:
        if target.exists() and sha256_of(target) == digest:
            return digest, relative
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise StorageError(f"{files_dir}: {error.strerror or error}") from error
    return digest, relative


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
