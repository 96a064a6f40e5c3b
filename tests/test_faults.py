"""Faults under load (issue 20, "Load and faults"), each against `make serve`'s stack on the test database with the
locustfile of `make load` running: the functions of bench/load/faults.py, which `make load` runs on the benchmark
province too. Each prints its row of the fault table. In each: no accepted write lost, no duplicate verification,
clear errors while it lasts, service back by itself afterwards."""

import json

import pytest
from django.db import connection

from bench.load import faults
from bench.load.plan import plan_prepare


@pytest.fixture
def plan(live_map_world, tmp_path):
    plan_prepare(tmp_path / "plan.json", sample=60)
    return tmp_path / "plan.json"


def show(row: dict) -> None:
    print("\n" + faults.table([row]) + "\n" + json.dumps(row, ensure_ascii=False, default=str))


def test_a_gunicorn_worker_killed_mid_load(plan, tmp_path):
    row = faults.worker_kill(faults.url_of(connection), tmp_path, plan=plan, users=8, seconds=24)
    show(row)
    assert row["master_kept"] and row["workers"] == [2, 2]  # the master replaced the worker
    assert row["respawn_s"] < 10
    assert row["failed_before"] == 0 and row["failed_after"] == 0
    assert row["failed_during"] <= 2  # the killed worker's two threads: only its requests in flight
    assert row["after"]["requests"] > 0 and row["after"]["failures"] == 0  # served again, by itself
    assert row["verifications"] > 0 and row["lost"] == 0 and row["duplicates"] == 0
    assert row["ok"]


def test_the_media_disk_full_mid_load(plan, tmp_path):
    """The media folder on a small tmpfs (mounted as root, as `make test` runs), filled mid-load, then emptied."""
    row = faults.media_full(faults.url_of(connection), tmp_path, plan=plan, users=8, seconds=30)
    show(row)
    status, retry_after, detail = row["probe_during"]
    assert status == 507 and int(retry_after) > 0 and "磁盘已满" in detail  # clear, in the user's language
    assert row["readyz_during"] == [503, "fail"]  # the readiness probe says why
    assert set(row["statuses_during"]) <= {507}  # uploads refused clearly, nothing else failed
    assert set(row["failed_groups_during"]) <= {"verification"}
    assert row["failed_before"] == 0 and row["failed_after"] == 0
    assert row["probe_after"] == 201 and row["probe_records"] == 1  # the same client_id again, once room is made
    assert row["photo_files_missing"] == 0 and row["orphan_files"] == 0  # nothing half-saved
    assert row["lost"] == 0 and row["duplicates"] == 0
    assert row["ok"]


def test_the_import_worker_stopped_mid_import(plan, tmp_path):
    """The worker killed while it writes an import's rows: nothing of it in the register (one transaction), the job
    still says it is running; the worker started again requeues it at once (nobody holds its lock) and imports it
    whole, once."""
    row = faults.import_stop(faults.url_of(connection), tmp_path, plan=plan, users=4, seconds=30, rows=3000)
    show(row)
    assert row["killed_mid_write"]
    assert row["written_after_kill"] == 0 and row["status_after_kill"] == "importing"  # never half-written
    assert row["status"] == "done" and row["imported"] == row["rows"]  # resumed, nothing twice
    assert "重新排队" in row["message"]  # the job says it was interrupted and requeued
    assert row["failed_before"] == 0 and row["failed_after"] == 0  # the web served on
    assert row["lost"] == 0 and row["duplicates"] == 0
    assert row["ok"]


# ------------------------------------------------------------------------------------------------ disk full, in process

def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 90, 60)).save(out, "JPEG")
    return out.getvalue()


def test_a_full_disk_mid_photo_answers_507_and_leaves_no_file_nor_row(own_map_world, settings, monkeypatch):
    """The second of a photo's three files finds the disk full after writing part of itself: 507 with Retry-After
    and a message, no verification, no file of it left; the same client_id sent again once there is room: 201."""
    import errno
    import uuid
    from pathlib import Path

    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from verification.models import Verification

    original_save, calls = FileSystemStorage._save, []

    def save_until_full(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            partial = Path(self.path(name))
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(b"\xff\xd8 half a photo")
            raise OSError(errno.ENOSPC, "No space left on device")
        return original_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", save_until_full)
    token = Token.objects.create(user=own_map_world.admin)
    client_id = str(uuid.uuid4())
    road = own_map_world.road

    def send():
        return Client().post("/api/v1/verifications/", {
            "asset_code": road.code, "finding": "intact", "lon": road.location.x, "lat": road.location.y,
            "accuracy_m": 5, "observed_at": "2026-12-01T08:00:00+08:00", "client_id": client_id,
            "photos": [SimpleUploadedFile("site.jpg", _jpeg(), "image/jpeg")]}, HTTP_AUTHORIZATION=f"Token {token.key}")

    response = send()  # through the token: the upload guard knows API clients (geo_assets.uploads)
    assert response.status_code == 507
    assert int(response["Retry-After"]) > 0 and response["Cache-Control"] == "no-store"
    assert "磁盘已满" in response.json()["detail"]
    assert not Verification.objects.filter(client_id=client_id).exists()
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []  # the whole and the half file removed

    monkeypatch.setattr(FileSystemStorage, "_save", original_save)
    again = send()
    assert again.status_code == 201, again.content
    assert Verification.objects.filter(client_id=client_id).count() == 1
    assert len([p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]) == 3  # original, public copy, thumbnail


def test_the_database_restarted_mid_load(plan, tmp_path):
    """On a private cluster holding a copy of the test database (never the shared one): stopped for 5 s under
    load, then started again."""
    row = faults.db_restart(faults.url_of(connection), tmp_path, plan=plan, users=8, seconds=30, down_s=5)
    show(row)
    status, retry_after, detail = row["probe_during"]
    assert status == 503 and int(retry_after) > 0 and "数据库" in detail  # clear, in the user's language
    assert row["readyz_during"] == [503, "fail"]
    assert row["page_during"][0] == 503 and row["page_during"][1]  # a page too, whatever failed first
    assert set(row["statuses_during"]) <= {503}
    assert row["failed_before"] == 0 and row["failed_after"] == 0  # back by itself
    assert row["probe_after"] == 201 and row["probe_records"] == 1  # sent again: recorded once
    assert row["lost"] == 0 and row["duplicates"] == 0
    assert row["ok"]
