"""Backups and restores (manage.py backup / restore, geogrid/core/backup.py): the demo city and a
few media files survive a round trip row for row, geometry for geometry and byte for byte; a
changed backup, a non-empty database and a non-empty media folder are refused before anything
is written."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from psycopg import sql

from geogrid.core.backup import prune_backups
from geogrid.core.backup_db import Database, database_contents, user_relations
from geogrid.core.backup_folder import sha256_file
from tests.committed import assert_test_database

# Every test here reads the rows the module's fixture commits. The mark also tells pytest-django
# that this module needs the test database: without it, a run of this file alone creates none,
# and the fixture would load (and then truncate) the development database.
pytestmark = [pytest.mark.django_db, pytest.mark.demo]

MEDIA_FILES = {
    "photos/2026/12/03/0f3a9c.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40,
    "photos/2026/12/03/7b21e4.jpg": b"\xff\xd8\xff\xe0" + b"\x00\x01" * 5000,
    "photos/东城/说明.txt": "东华门街道 井盖缺失\n".encode(),
}


def _admin() -> psycopg.Connection:
    return Database.from_settings().connect(dbname="postgres")


def _drop(name: str) -> None:
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _exists(name: str) -> bool:
    with _admin() as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def fingerprint(name: str) -> dict[str, object]:
    """Row count of every table and an md5 of every geometry column (EWKB in primary-key
    order) of a database."""
    result: dict[str, object] = {}
    with Database.from_settings(name=name).connect() as conn:
        tables = {f"{s}.{t}" for s, t, kind in user_relations(conn) if kind in ("r", "p")}
        for table in sorted(tables):
            schema, relname = table.split(".")
            result[table] = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(relname)
                )
            ).fetchone()[0]
        for schema, relname, column in conn.execute(
            "SELECT f_table_schema, f_table_name, f_geometry_column FROM geometry_columns "
            "ORDER BY 1, 2, 3"
        ).fetchall():
            if f"{schema}.{relname}" not in tables:
                continue
            key = [
                row[0]
                for row in conn.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                    "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND "
                    "i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
                    (f'"{schema}"."{relname}"',),
                ).fetchall()
            ]
            order = sql.SQL(", ").join(sql.Identifier(k) for k in key)
            result[f"{schema}.{relname}.{column}"] = conn.execute(
                sql.SQL(
                    "SELECT md5(string_agg(encode(ST_AsEWKB({c}), 'hex'), ',' ORDER BY {o})) "
                    "FROM {s}.{t}"
                ).format(
                    c=sql.Identifier(column),
                    o=order,
                    s=sql.Identifier(schema),
                    t=sql.Identifier(relname),
                )
            ).fetchone()[0]
    return result


def _media_sums(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): sha256_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def backup(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo city in the test database plus three media files, backed up once."""
    base = tmp_path_factory.mktemp("backup")
    media = base / "media"
    for name, content in MEDIA_FILES.items():
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(content)
    with django_db_blocker.unblock():
        assert_test_database()
        with override_settings(
            DEBUG=True, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
        ):
            call_command("load_demo", verbosity=0)
        call_command("backup", output_dir=base / "backups", media_root=media, verbosity=0)
        (folder,) = (base / "backups").iterdir()
        yield {
            "folder": folder,
            "media": media,
            "base": base,
            "source": connection.settings_dict["NAME"],
        }
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE grids_grid, components_componentclass, "
                "components_department, components_componentserial, accounts_user, "
                "cases_calendarday, cases_open311key, cases_open311keyevent, "
                "reference_referencelayer CASCADE"
            )


@pytest.fixture
def target():
    # A database name on the test server that no one uses; dropped afterwards.
    name = f"{connection.settings_dict['NAME']}_restored"
    _drop(name)
    yield name
    _drop(name)


def test_backup_folder_holds_a_dump_the_media_and_a_manifest_of_checksums(backup):
    folder = backup["folder"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["name"] == backup["source"]
    assert manifest["postgresql"].startswith("15.") and manifest["postgis"].startswith("3.")
    assert "cases.0007_open311_key_events" in manifest["migrations"]
    assert manifest["tables"]["public.grids_grid"] > 4_000
    assert manifest["tables"]["public.components_component"] > 190_000
    assert set(manifest["files"]) == {"database.dump"} | {f"media/{n}" for n in MEDIA_FILES}
    for name, entry in manifest["files"].items():
        assert entry == {
            "sha256": sha256_file(folder / name),
            "size": (folder / name).stat().st_size,
        }
    assert folder.stat().st_mode & 0o077 == 0  # personal data: owner only
    sums = (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert f"{manifest['files']['database.dump']['sha256']}  database.dump" in sums


def test_backup_round_trip_restores_every_row_geometry_and_media_file(backup, target, capsys):
    restored_media = backup["base"] / "restored-media"
    call_command(
        "restore",
        str(backup["folder"] / "manifest.json"),
        database_name=target,
        media_root=restored_media,
    )
    out = capsys.readouterr().out
    assert "as in the manifest" in out
    before, after = fingerprint(backup["source"]), fingerprint(target)
    assert after == before
    geometry_columns = [key for key in before if key.count(".") == 2]
    assert {
        "public.grids_grid.geom",
        "public.components_component.geom",
        "public.cases_case.geom",
    } <= set(geometry_columns)
    assert all(
        before[key] for key in ("public.grids_grid.geom", "public.components_component.geom")
    )
    assert _media_sums(restored_media) == {
        name: hashlib.sha256(content).hexdigest() for name, content in MEDIA_FILES.items()
    }


def test_restore_that_fails_midway_leaves_an_empty_database_and_no_media(backup, target, tmp_path):
    # A dump cut short after its manifest was rewritten to match (a copy that broke before
    # the checksums were made): the manifest passes, pg_restore fails in the data.
    copy = tmp_path / backup["folder"].name
    shutil.copytree(backup["folder"], copy)
    dump = copy / "database.dump"
    with dump.open("r+b") as handle:
        handle.truncate(int(dump.stat().st_size * 0.7))
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["database.dump"] = {"sha256": sha256_file(dump), "size": dump.stat().st_size}
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CommandError, match="pg_restore failed"):
        call_command("restore", str(copy), database_name=target, media_root=tmp_path / "media")
    with Database.from_settings(name=target).connect() as conn:
        assert database_contents(conn) == []  # one transaction: nothing of it stayed
    assert not (tmp_path / "media").exists()
    assert not (tmp_path / ".media.restoring").exists()


@pytest.mark.parametrize("change", ["dump byte flipped", "media file edited", "file added"])
def test_restore_refuses_a_changed_backup_before_touching_anything(
    backup, target, tmp_path, change
):
    copy = tmp_path / backup["folder"].name
    shutil.copytree(backup["folder"], copy)
    if change == "dump byte flipped":
        with (copy / "database.dump").open("r+b") as dump:
            dump.seek(50_000)
            byte = dump.read(1)
            dump.seek(50_000)
            dump.write(bytes([byte[0] ^ 0xFF]))
    elif change == "media file edited":
        (copy / "media" / "photos/2026/12/03/7b21e4.jpg").write_bytes(b"\xff\xd8 not the photo")
    else:
        (copy / "media" / "photos" / "planted.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(CommandError, match="changed|damaged") as refused:
        call_command("restore", str(copy), database_name=target, media_root=tmp_path / "media")
    assert "Use another backup" in str(refused.value)
    assert not _exists(target)
    assert not (tmp_path / "media").exists()


def test_restore_refuses_a_non_empty_database_and_leaves_it_untouched(backup, tmp_path):
    before = fingerprint(backup["source"])
    with pytest.raises(CommandError, match="is not empty") as refused:
        # The configured database: the test database, which holds the demo city.
        call_command("restore", str(backup["folder"]), media_root=tmp_path / "media")
    assert "Nothing was changed" in str(refused.value)
    assert fingerprint(backup["source"]) == before
    assert not (tmp_path / "media").exists()


def test_restore_refuses_a_media_folder_with_files(backup, target, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "kept.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(CommandError, match="holds files already"):
        call_command("restore", str(backup["folder"]), database_name=target, media_root=media)
    assert not _exists(target)
    assert [p.name for p in media.iterdir()] == ["kept.jpg"]


def test_restore_of_a_folder_without_manifest_says_what_to_give(tmp_path):
    with pytest.raises(CommandError, match="give a backup folder"):
        call_command("restore", str(tmp_path))


def test_backup_never_prints_or_records_the_database_password(backup, tmp_path, capsys):
    # The test server trusts loopback, so a password is accepted and ignored: what matters is
    # that it appears nowhere.
    params = connection.settings_dict
    saved = params.get("PASSWORD")
    params["PASSWORD"] = "s3cret-Pa55word"
    try:
        call_command("backup", output_dir=tmp_path / "backups", media_root=tmp_path / "none")
    finally:
        params["PASSWORD"] = saved
    captured = capsys.readouterr()
    (folder,) = (tmp_path / "backups").iterdir()
    assert "s3cret-Pa55word" not in captured.out + captured.err
    assert "s3cret-Pa55word" not in (folder / "manifest.json").read_text(encoding="utf-8")


def test_prune_keeps_the_newest_complete_backups_only(tmp_path):
    for stamp in ("20261201T020000Z", "20261202T020000Z", "20261203T020000Z"):
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / "manifest.json").write_text("{}", encoding="utf-8")
    (tmp_path / "20261130T020000Z.partial").mkdir()  # unfinished: not a backup, left alone
    (tmp_path / "notes").mkdir()
    deleted = prune_backups(tmp_path, keep=2)
    assert [p.name for p in deleted] == ["20261201T020000Z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20261130T020000Z.partial",
        "20261202T020000Z",
        "20261203T020000Z",
        "notes",
    ]
