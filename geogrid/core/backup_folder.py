"""A backup folder on disk: its layout, checksums, manifest and verification, and the error
every backup and restore step raises (the format is described in core/backup.py)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FORMAT = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
DUMP = "database.dump"
MEDIA = "media"
PARTIAL = ".partial"
TIMESTAMP = "%Y%m%dT%H%M%SZ"
TIMESTAMP_RE = re.compile(r"^\d{8}T\d{6}Z$")
CHUNK = 1 << 20

Progress = Callable[[str], None]


class BackupError(Exception):
    """A plain, actionable message for the person running backup or restore."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"


def count_files(count: int) -> str:
    return f"{count:,} file" + ("" if count == 1 else "s")


def media_files(root: Path) -> Iterator[Path]:
    """Regular files under root, sorted (symbolic links are not followed: a link could point
    anywhere, and MEDIA_ROOT holds uploaded files only)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def copy_with_sha256(source: Path, target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    shutil.copystat(source, target)
    return digest.hexdigest(), size


def read_manifest(given: Path) -> tuple[Path, dict[str, Any]]:
    """The backup folder and its manifest, from the folder or the manifest's path."""
    folder = given.parent if given.name == MANIFEST else given
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{path} does not exist: give a backup folder (var/backups/<time>) "
            "or its manifest.json."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is not a readable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown manifest format (this GeoGrid reads format {FORMAT}).")
    if not isinstance(manifest.get("files"), dict) or DUMP not in manifest["files"]:
        raise BackupError(f"{path} lists no {DUMP}.")
    return folder, manifest


def _safe_member(folder: Path, name: str) -> Path:
    # A manifest comes from disk: a name must stay inside the backup folder.
    parts = Path(name).parts
    if (
        not name
        or Path(name).is_absolute()
        or ".." in parts
        or not (name == DUMP or (parts[0] == MEDIA and len(parts) > 1))
    ):
        raise BackupError(f"The manifest names a file outside the backup: {name!r}.")
    return folder / name


def verify_backup(
    folder: Path, manifest: dict[str, Any], progress: Progress = lambda line: None
) -> None:
    """Every listed file is there with its size and SHA-256, and no unlisted file is."""
    listed = set()
    for name, entry in manifest["files"].items():
        path = _safe_member(folder, name)
        listed.add(path)
        if not path.is_file():
            raise BackupError(f"The backup is incomplete: {name} is missing.")
        if path.stat().st_size != entry.get("size") or sha256_file(path) != entry.get("sha256"):
            raise BackupError(
                f"The backup is damaged or was changed: {name} does not match "
                "its checksum in the manifest. Use another backup."
            )
    extra = (
        [p for p in (folder / MEDIA).rglob("*") if p.is_file() and p not in listed]
        if (folder / MEDIA).is_dir()
        else []
    )
    if extra:
        raise BackupError(
            f"The backup holds files its manifest does not list "
            f"({extra[0].relative_to(folder)}, ...): it was changed. "
            "Use another backup."
        )
    progress(f"Manifest verified: {count_files(len(listed))}, checksums match.")
