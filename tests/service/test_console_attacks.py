"""The console's newer surfaces under attack, over HTTP against a real server on 127.0.0.1: the signed
snapshot links of alerts, the cameras' live pictures and the files behind them, bulk reviews,
context pictures, and text reflected into error pages."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import cv2
import httpx
import itsdangerous
import numpy as np
import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from maskwatch.alerts.links import Links
from maskwatch.config import Settings
from maskwatch.config.web import image_link_signature
from maskwatch.messages import CameraHealth, FrameMessage, FrameResult
from maskwatch.storage.cameras import CameraStatus
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.erase import erase_range
from maskwatch.storage.models import Camera, Violation, ViolationFrame
from maskwatch.storage.record.live import LIVE_FOLDER, LivePicture, LivePictures, live_path
from maskwatch.storage.violations import get_violation, image_views
from tests.support.console import (
    ConsoleServer,
    bearer,
    console_settings,
    csrf_of,
    login,
    running_console,
    seed,
    web_with,
)
from tests.support.factories import record_violations
from tests.support.pictures import decoded, detail
from tests.support.results import JPEG, MASKED, UNMASKED

FACE_BOX = (175.0, 185.0, 325.0, 335.0)  # the violator, as tests.support.factories records them
START = 1_790_000_000.0  # when record_violations dates its first violation


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return console_settings(f"sqlite:///{tmp_path / 'maskwatch.db'}", tmp_path)


@pytest.fixture()
def console(settings: Settings) -> Iterator[ConsoleServer]:
    seed(settings)
    with running_console(settings) as server:
        yield server


# 1. The signed snapshot link of an alert


def signed(server: ConsoleServer, violation_id: int = 1, **links: Any) -> str:
    made = Links(web_with(server.settings.web, public_url=server.url), "webhook:0", **links).image(violation_id)
    assert made is not None
    return made[0]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_a_valid_link_opens_the_blurred_snapshot(console: ConsoleServer) -> None:
    """The baseline the attacks below are measured against: without it, every 403 would pass."""
    answer = httpx.get(signed(console), timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert detail(decoded(answer.content), FACE_BOX) < 50


@pytest.mark.attack("forge a snapshot link's numbers and text", expected="403 or 422, never the picture, never 500")
@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("expires", "²"),  # a digit to str.isdigit, not to int()
        ("expires", "١٢٣"),  # Arabic-Indic digits int() reads as 123
        ("expires", " 99999999999"),
        ("expires", "+99999999999"),
        ("expires", "1e30"),
        ("expires", "NaN"),
        ("expires", "inf"),
        ("expires", "-1"),
        ("expires", "0x7fffffff"),
        ("expires", "9" * 64),
        ("expires", "9" * 65),
        ("faces", "01"),
        ("faces", "true"),
        ("faces", " 1"),
        ("faces", "1\x00"),
        ("via", "webhook:0\x00"),
        ("via", "webhook:0|1"),
        ("via", "é" * 64),
        ("sig", "é" * 43),
        ("sig", "=" * 43),
        ("sig", "A" * 64),
        ("sig", "A" * 65),
    ],
)
def test_forged_link_parts_are_refused(console: ConsoleServer, part: str, value: str) -> None:
    link = signed(console)
    for method in ("GET", "HEAD"):
        answer = httpx.request(method, with_query(link, **{part: value}), timeout=10)
        assert answer.status_code in (403, 422), (method, answer.status_code, answer.text[:300])
        assert answer.headers["content-type"] != "image/jpeg"


@pytest.mark.attack("alter a link to unblur, extend it or open another violation", expected="403; nothing opened")
def test_every_signed_part_is_bound(console: ConsoleServer) -> None:
    link = signed(console)
    q = query_of(link)
    other = signed(console, 2)
    altered = {
        "unblur": with_query(link, faces="1"),
        "one second longer": with_query(link, expires=str(int(q["expires"]) + 1)),
        "another channel": with_query(link, via="email"),
        "violation 2 with violation 1's link": link.replace("/violations/1/", "/violations/2/"),
        "violation 1 with violation 2's signature": with_query(link, sig=query_of(other)["sig"]),
        "id written 01": link.replace("/violations/1/", "/violations/01/"),
        "faces twice, the last unblurring": f"{link}&faces=1",
        "padded signature": with_query(link, sig=q["sig"] + "="),
        "signature upper-cased": with_query(link, sig=q["sig"].upper()),
    }
    standard = q["sig"].replace("-", "+").replace("_", "/")
    if standard != q["sig"]:  # the two alphabets differ only where the signature has - or _
        altered["signature in another base64"] = with_query(link, sig=standard)
    answers = {name: httpx.get(url, timeout=10).status_code for name, url in altered.items()}
    # A leading zero parses to the same id and the signature holds for it: the same picture, no other.
    assert answers.pop("id written 01") in (200, 403, 422)
    assert answers == dict.fromkeys(answers, 403)
    engine = create_db_engine(console.settings.database.url)
    opened = [(v.violation_id, v.blurred) for i in (1, 2) for v in image_views(engine, i)]
    engine.dispose()
    assert all(blurred for _, blurred in opened)


@pytest.mark.attack("use a link signed for longer than web.image_link_hours", expected="403")
def test_a_link_valid_longer_than_the_console_allows_is_refused(console: ConsoleServer) -> None:
    hours = console.settings.web.image_link_hours
    # Signed with a clock two days ahead (or by a config with longer links, or a key that leaked).
    far = signed(console, clock=lambda: time.time() + 2 * 86400)
    assert httpx.get(far, timeout=10).status_code == 403
    # A few minutes of clock skew between the alerts stage and the console are fine.
    assert httpx.get(signed(console, clock=lambda: time.time() + 120), timeout=10).status_code == 200
    # Shortening image_link_hours shortens the links already out.
    link = signed(console)
    shorter = console.settings.model_copy(update={"web": web_with(console.settings.web, image_link_hours=hours / 2)})
    with running_console(shorter) as strict:
        assert httpx.get(link.replace(console.url, strict.url), timeout=10).status_code == 403


@pytest.mark.attack("replay a link after it expired", expected="403 at and after the expiry second")
def test_an_expired_link_is_refused_to_the_second(console: ConsoleServer) -> None:
    hours = console.settings.web.image_link_hours
    just_expired = signed(console, clock=lambda: time.time() - hours * 3600 - 1)
    assert httpx.get(just_expired, timeout=10).status_code == 403
    assert httpx.head(just_expired, timeout=10).status_code == 403
    expiring = signed(console, clock=lambda: time.time() - hours * 3600 + 3)
    assert httpx.get(expiring, timeout=10).status_code == 200
    time.sleep(4)
    assert httpx.get(expiring, timeout=10).status_code == 403


@pytest.mark.attack("use a link after its key rotated", expected="403 for every link of the old key")
def test_links_of_a_rotated_key_stop_working(settings: Settings) -> None:
    seed(settings)
    derived_secret = "derived-session-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
    own_secret = "image-link-secret-0123456789-abcdefghijklmnopqrstuvwxyz-AB"
    generations = [
        {"session_secret": settings.web.session_secret.get_secret_value()},  # type: ignore[union-attr]
        {"session_secret": derived_secret},  # the session secret rotated: the derived link key with it
        {"session_secret": derived_secret, "image_link_secret": own_secret},  # a key of its own now
        {"session_secret": derived_secret, "image_link_secret": own_secret[::-1]},
    ]
    links: list[str] = []
    for changes in generations:
        web = web_with(settings.web, **changes)
        with running_console(settings.model_copy(update={"web": web})) as server:
            links = [u.replace("http://X", server.url) for u in links]
            assert all(httpx.get(u, timeout=10).status_code == 403 for u in links), changes
            current = signed(server)
            assert httpx.get(current, timeout=10).status_code == 200, changes
            links = [u.replace(server.url, "http://X") for u in (*links, current)]


@pytest.mark.attack("pass a session signature as a link signature, or the reverse", expected="403; not logged in")
def test_link_and_session_keys_are_separate(console: ConsoleServer) -> None:
    secret = console.settings.web.session_secret.get_secret_value()  # type: ignore[union-attr]
    link = signed(console)
    q = query_of(link)
    message = f"1|{q['expires']}|0|webhook:0".encode()
    # The link's MAC under the session secret itself (no derivation), and the session signer's MAC.
    raw = image_link_signature(secret.encode(), 1, int(q["expires"]), False, "webhook:0")
    session_mac = itsdangerous.TimestampSigner(secret).get_signature(message).decode()
    for sig in (raw, session_mac):
        assert httpx.get(with_query(link, sig=sig), timeout=10).status_code == 403
    # A real session cookie with a link's signature in place of its own: no session.
    with login(console.url, "rita") as client:
        cookie = client.cookies["maskwatch_session"]
    forged = f"{cookie.rsplit('.', 1)[0]}.{q['sig']}"
    for value, status in ((cookie, 200), (forged, 303)):
        with httpx.Client(base_url=console.url, cookies={"maskwatch_session": value}, timeout=10) as c:
            assert c.get("/violations").status_code == status


@pytest.mark.attack("open an erased violation through its link", expected="404 without anything of it")
def test_a_link_to_an_erased_violation_is_404_and_leaks_nothing(console: ConsoleServer) -> None:
    link = signed(console, 7, faces=True)
    assert httpx.get(link, timeout=10).status_code == 200
    engine = create_db_engine(console.settings.database.url)
    v, _, _ = get_violation(engine, 7)
    snapshot = Path(v.snapshot_path)
    erased = erase_range(engine, "cam-1", v.started_at, v.started_at + dt.timedelta(seconds=1), by="test")
    assert erased.violations == 1 and not snapshot.exists()
    for method in ("GET", "HEAD"):
        gone = httpx.request(method, link, timeout=10)
        assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
        assert snapshot.name not in gone.text and str(console.settings.snapshots.dir) not in gone.text
    assert image_views(engine, 7) == []  # the erasure took the openings too, and none was added after it
    engine.dispose()


@pytest.mark.attack("open a new violation with the link of an erased one of the same id", expected="404")
def test_an_erased_violations_link_never_opens_a_later_one(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    record_violations(settings, n=3, start=START)
    engine = create_db_engine(settings.database.url)
    with running_console(settings) as server:
        link = signed(server, 3, faces=True)
        first = httpx.get(link, timeout=10)
        assert first.status_code == 200
        since, until = (dt.datetime.fromtimestamp(START + t, dt.timezone.utc) for t in (2, 3))
        assert erase_range(engine, "cam-1", since, until, by="test").violations == 1
        record_violations(settings, n=1, camera_id="cam-2", start=START + 100)  # another person, later
        answer = httpx.get(link, timeout=10)
    engine.dispose()
    assert answer.status_code == 404 and answer.content != first.content


@pytest.mark.attack("point a violation's stored path outside the snapshot folder", expected="404; the file unread")
@pytest.mark.parametrize("how", ["dot-dot", "absolute", "symlink", "fifo", "folder"])
def test_stored_paths_outside_the_snapshot_folder_are_never_served(
    console: ConsoleServer, tmp_path: Path, how: str
) -> None:
    root = console.settings.snapshots.dir
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(JPEG)
    planted = {
        "dot-dot": str(root / ".." / "secret.jpg"),
        "absolute": str(secret),
        "symlink": str(root / "cam-1" / "link.jpg"),
        "fifo": str(root / "cam-1" / "fifo.jpg"),
        "folder": str(root / "cam-1"),
    }[how]
    if how == "symlink":
        Path(planted).symlink_to(secret)
    if how == "fifo":
        os.mkfifo(planted)
    engine = create_db_engine(console.settings.database.url)
    with Session(engine) as s, s.begin():
        s.execute(update(Violation).where(Violation.id == 3).values(snapshot_path=planted, crop_path=planted))
    engine.dispose()
    assert httpx.get(signed(console, 3, faces=True), timeout=10).status_code == 404
    with login(console.url, "rita") as client:
        for kind in ("frame", "crop"):
            assert client.get(f"/violations/3/image/{kind}").status_code == 404


# 2. Live pictures


def camera_online(settings: Settings, camera_id: str = "cam-1") -> None:
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s, s.begin():
        cam = s.get(Camera, camera_id)
        assert cam is not None
        CameraStatus(settings).apply_health(s, cam, CameraHealth(camera_id, "online", "", 10, 0, time.time()))
    engine.dispose()


def write_live(settings: Settings, camera_id: str = "cam-1") -> Path:
    live = LivePictures(settings.snapshots.dir)
    now = time.time()
    for at in (now - 1, now - 0.5):
        live.offer(FrameResult(FrameMessage(camera_id, int(at), at, 1280, 720, JPEG), (MASKED, UNMASKED)))
    assert live.write_due() == 1
    return live_path(settings.snapshots.dir, camera_id)


def with_comment(body: bytes, jpeg: bytes = JPEG) -> bytes:
    """`jpeg` with a comment segment saying `body` after the tag, where maskwatch puts its own."""
    at = 4 + int.from_bytes(jpeg[4:6], "big") if jpeg[2:4] == b"\xff\xe0" else 2
    segment = b"maskwatch-live " + body
    return jpeg[:at] + b"\xff\xfe" + min(len(segment) + 2, 0xFFFF).to_bytes(2, "big") + segment + jpeg[at:]


def facts(**changes: Any) -> bytes:
    base: dict[str, Any] = {
        "camera_id": "cam-1",
        "captured_at": time.time(),
        "width": 1280,
        "height": 720,
        "fps": 2.0,
        "faces": [list(MASKED.box), list(UNMASKED.box)],
    }
    return json.dumps(base | changes).encode()  # NaN and Infinity as JSON writes them


CRAFTED = {
    "nested 60000 deep": b"[" * 60000,
    "nested object": b'{"a":' * 20000,
    "NaN time": facts(captured_at=math.nan),
    "infinite time": facts(captured_at=math.inf),
    "time past year 9999": facts(captured_at=1e20),
    "negative time": facts(captured_at=-1e20),
    "NaN frame rate": facts(fps=math.nan),
    "infinite frame rate": facts(fps=math.inf),
    "infinite width": facts(width=math.inf),
    "width with 5000 digits": facts(width=0).replace(b'"width": 0', b'"width": ' + b"9" * 5000),
    "size unlike the picture's": facts(width=320, height=180),
    "NaN face": facts(faces=[[math.nan, 185, 325, 335]]),
    "infinite face": facts(faces=[[175, 185, math.inf, 335]]),
    "inverted face": facts(faces=[list(UNMASKED.box)[2:] + list(UNMASKED.box)[:2]]),
    "3000 faces": facts(faces=[[0, 0, 1280, 720]] * 3000),
    "faces not boxes": facts(faces="abcd"),
    "faces a dict": facts(faces={"a": 1}),
    "facts a list": b"[1,2,3]",
    "camera id a list": facts(camera_id=["cam-1"]),
    "not UTF-8": b"\xff\xfe\xfd",
    "length past the end": b"{",
}


def plant(settings: Settings, data: bytes, camera_id: str = "cam-1") -> Path:
    path = live_path(settings.snapshots.dir, camera_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.write_bytes(data)
    return path


@pytest.fixture()
def live_console(settings: Settings) -> Iterator[ConsoleServer]:
    seed(settings)
    camera_online(settings)
    with running_console(settings) as server:
        yield server


def live_pages_hold(server: ConsoleServer) -> dict[str, Any]:
    """What the pages and API answer with the camera's live file as it is now."""
    with login(server.url, "rita") as reviewer, login(server.url, "victor") as viewer:
        api = reviewer.get("/api/cameras")
        answers = {
            "api": api.status_code,
            "grid": reviewer.get("/cameras").status_code,
            "page": viewer.get("/cameras/cam-1").status_code,
            "reviewer": reviewer.get("/cameras/cam-1/live.jpg"),
            "viewer": viewer.get("/cameras/cam-1/live.jpg"),
            "live": {c["id"]: c["live"] for c in api.json()} if api.status_code == 200 else None,
        }
    return answers


@pytest.mark.attack("plant a live picture with a crafted comment", expected="pages 200; no picture, never unblurred")
@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_live_comment_is_not_trusted(live_console: ConsoleServer, name: str) -> None:
    body = CRAFTED[name]
    data = with_comment(body)
    if name == "length past the end":
        data = JPEG[:20] + b"\xff\xfe\xff\xff" + b"maskwatch-live {"
    plant(live_console.settings, data)
    began = time.monotonic()
    answers = live_pages_hold(live_console)
    assert time.monotonic() - began < 10  # no blur of thousands of boxes
    assert (answers["api"], answers["grid"], answers["page"]) == (200, 200, 200)
    assert answers["live"]["cam-1"] is None  # not shown as a live picture at all
    assert answers["viewer"].status_code == 404 and answers["reviewer"].status_code == 404


@pytest.mark.attack("send a picture that is not a JPEG behind a valid comment", expected="never run as a page")
def test_html_behind_a_live_comment_is_never_served_as_a_page(live_console: ConsoleServer) -> None:
    comment = with_comment(facts(faces=[]), b"\xff\xd8")
    plant(live_console.settings, comment + b"<html><script>alert(1)</script></html>")
    answers = live_pages_hold(live_console)
    assert answers["viewer"].status_code == 404  # it cannot be decoded, so not blurred: not shown
    served = answers["reviewer"]
    if served.status_code == 200:
        assert served.headers["content-type"] == "image/jpeg" and served.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in served.headers["content-security-policy"]


@pytest.mark.attack("plant a symlink or device in <snapshots>/@live/", expected="404 at once; nothing outside read")
@pytest.mark.parametrize(
    "target",
    ["outside picture", "/etc/passwd", "/dev/zero", "fifo", "another camera", "folder"],
    ids=["outside-picture", "etc-passwd", "dev-zero", "fifo", "another-camera", "folder"],
)
def test_a_planted_live_link_is_not_followed(live_console: ConsoleServer, tmp_path: Path, target: str) -> None:
    settings = live_console.settings
    real = write_live(settings)
    outside = tmp_path / "outside" / "cam-1.jpg"
    outside.parent.mkdir()
    outside.write_bytes(real.read_bytes())  # a picture maskwatch wrote for cam-1, moved out of the folder
    real.unlink()
    (real.parent / "cam-2.jpg").write_bytes(with_comment(facts(camera_id="cam-2")))
    if target == "fifo":
        os.mkfifo(real)
    elif target == "folder":
        real.mkdir()
    else:
        points_to = {"outside picture": outside, "another camera": real.parent / "cam-2.jpg"}.get(target, target)
        real.symlink_to(points_to)
    began = time.monotonic()
    answers = live_pages_hold(live_console)
    assert time.monotonic() - began < 10
    assert (answers["api"], answers["grid"], answers["page"]) == (200, 200, 200)
    assert answers["live"]["cam-1"] is None
    assert answers["viewer"].status_code == 404 and answers["reviewer"].status_code == 404


@pytest.mark.attack("make the recorder write through a planted symlink", expected="the target left untouched")
def test_the_recorder_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / LIVE_FOLDER
    folder.mkdir()
    live = LivePictures(tmp_path)
    # Every name the recorder might write through: the picture's and any temporary one it could pick.
    for name in ["cam-1.jpg", *(f"cam-1.{os.getpid()}-{i}.tmp" for i in range(3))]:
        (folder / name).symlink_to(victim)
    (folder / f"cam-1.{os.getpid()}-{threading.get_ident()}.tmp").symlink_to(victim)
    now = time.time()
    live.offer(FrameResult(FrameMessage("cam-1", 1, now, 1280, 720, JPEG), (MASKED, UNMASKED)))
    live.write_due()
    assert victim.read_text() == "precious"
    picture = folder / "cam-1.jpg"
    assert not picture.is_symlink() and LivePicture.decode(picture.read_bytes()) is not None


def raw_status(client: httpx.Client, path: str) -> int:
    """The status of GET `path` sent exactly as written, with the client's cookies: httpx would
    remove dot segments from the path before sending it."""
    url = client.base_url
    assert url.port is not None
    conn = http.client.HTTPConnection(url.host, url.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.attack("probe live pictures with odd camera ids", expected="404/422, never 500 or another file")
def test_odd_camera_ids_reach_no_file(live_console: ConsoleServer) -> None:
    settings = live_console.settings
    write_live(settings)
    # Files an id with path characters might reach, if it were joined into a path.
    (settings.snapshots.dir / "cam-1.jpg").write_bytes(live_path(settings.snapshots.dir, "cam-1").read_bytes())
    ids = [
        "..",
        ".",
        "%2e%2e",
        "..%2fcam-1",
        "..%2F..%2Fcam-1",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "cam-1%00",
        "cam-1%0a",
        "cam-1%20",
        "c%C3%A4m",
        "%EF%BC%8E%EF%BC%8E",  # fullwidth dots
        "a" * 65,
        "a" * 5000,
        "cam-1.jpg%3F",
        "@live",
    ]
    with login(live_console.url, "rita") as client:
        answers = {i: raw_status(client, f"/cameras/{i}/live.jpg") for i in ids}
        pages = {i: raw_status(client, f"/cameras/{i}") for i in ids}
        assert client.get("/cameras/cam-1/live.jpg").status_code == 200
    assert set(answers.values()) <= {404, 422}, answers
    assert set(pages.values()) <= {404, 422}, pages


@pytest.mark.attack("see live pictures without logging in, or as a viewer", expected="login; faces blurred")
def test_live_pictures_need_a_login_and_blur_for_viewers(live_console: ConsoleServer) -> None:
    write_live(live_console.settings)
    with httpx.Client(base_url=live_console.url, timeout=10) as anonymous:
        assert anonymous.get("/cameras/cam-1/live.jpg").status_code == 303
        assert anonymous.get("/api/cameras").status_code == 401
        assert anonymous.get("/cameras/cam-1/live.jpg", headers={"Authorization": "Bearer nope"}).status_code == 303
    with httpx.Client(base_url=live_console.url, headers=bearer("read-bot"), timeout=10) as token_viewer:
        served = token_viewer.get("/cameras/cam-1/live.jpg")
    assert served.status_code == 200
    original = decoded(JPEG)
    blurred = decoded(served.content)
    for box in (MASKED.box, UNMASKED.box):
        assert detail(blurred, box) < 0.2 * detail(original, box)


# 3. Bulk reviews


@pytest.fixture()
def review_console(database_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(database_url, tmp_path)
    seed(settings)  # violations 1..7
    with running_console(settings) as server:
        yield server


def untouched(server: ConsoleServer) -> bool:
    """No violation reviewed and no review in any audit trail."""
    engine = create_db_engine(server.settings.database.url)
    try:
        found = [get_violation(engine, i) for i in range(1, 8)]
    finally:
        engine.dispose()
    return all(v.review_state == "unreviewed" and not events for v, _, events in found)


@pytest.mark.attack("bulk-review as a viewer, without CSRF, or by a viewer's token", expected="403; nothing changed")
def test_bulk_review_refuses_who_may_not_review(review_console: ConsoleServer) -> None:
    url = review_console.url
    body = {"ids": [1, 2], "state": "confirmed"}
    with login(url, "victor") as viewer:
        form = {"ids": ["1", "2"], "state": "confirmed", "csrf": csrf_of(viewer)}
        assert viewer.post("/violations/review", data=form).status_code == 403
        assert (
            viewer.post("/api/violations/review", json=body, headers={"X-CSRF-Token": str(form["csrf"])}).status_code
            == 403
        )
    with login(url, "rita") as reviewer:
        assert reviewer.post("/violations/review", data={"ids": ["1"], "state": "confirmed"}).status_code in (403, 422)
        wrong = {"ids": ["1"], "state": "confirmed", "csrf": "x" * 32}
        assert reviewer.post("/violations/review", data=wrong).status_code == 403
        assert reviewer.post("/api/violations/review", json=body).status_code == 403
        assert (
            reviewer.post("/api/violations/review", json=body, headers={b"X-CSRF-Token": "é".encode()}).status_code
            == 403
        )
    with httpx.Client(base_url=url, headers=bearer("read-bot"), timeout=10) as viewer_token:
        assert viewer_token.post("/api/violations/review", json=body).status_code == 403
    with httpx.Client(base_url=url, headers=bearer("review-bot"), timeout=10) as bot:  # no session: no form
        assert bot.post("/violations/review", data={"ids": ["1"], "state": "confirmed", "csrf": ""}).status_code in (
            403,
            422,
        )
    assert untouched(review_console)


BAD_ID_LISTS: list[tuple[str, list[Any]]] = [
    ("10,000 ids", list(range(1, 10_001))),
    ("one known, one unknown", [1, 2, 999]),
    ("negative", [1, -1]),
    ("zero", [0, 1]),
    ("past 32 bits", [1, 2**31]),
    ("past 64 bits", [1, 2**64]),
    ("text", [1, "one"]),
    ("fraction", [1, 2.5]),
    ("SQL", [1, "1 OR 1=1"]),
]


@pytest.mark.attack("bulk-review absurd id lists through the API", expected="422, all or nothing, never 500")
@pytest.mark.parametrize(("name", "ids"), BAD_ID_LISTS, ids=[n for n, _ in BAD_ID_LISTS])
def test_bulk_review_of_bad_id_lists_through_the_api_changes_nothing(
    review_console: ConsoleServer, name: str, ids: list[Any]
) -> None:
    with httpx.Client(base_url=review_console.url, headers=bearer("review-bot"), timeout=60) as bot:
        api = bot.post("/api/violations/review", json={"ids": ids, "state": "confirmed"})
    assert api.status_code == 422 and api.headers["content-type"] == "application/json", api.text[:300]
    assert untouched(review_console)


@pytest.mark.attack("bulk-review absurd id lists through the list's form", expected="4xx, all or nothing, never 500")
@pytest.mark.parametrize(("name", "ids"), BAD_ID_LISTS, ids=[n for n, _ in BAD_ID_LISTS])
def test_bulk_review_of_bad_id_lists_through_the_form_changes_nothing(
    request: pytest.FixtureRequest, review_console: ConsoleServer, name: str, ids: list[Any]
) -> None:
    with login(review_console.url, "rita") as reviewer:
        form = {"ids": [str(i) for i in ids], "state": "confirmed", "csrf": csrf_of(reviewer)}
        page = reviewer.post("/violations/review", data=form)
    assert page.status_code in (400, 413, 422), page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert untouched(review_console)


@pytest.mark.attack("bulk-review with duplicate ids or an injected label/state", expected="one review each; 422")
def test_bulk_review_duplicates_and_injected_labels(review_console: ConsoleServer) -> None:
    with httpx.Client(base_url=review_console.url, headers=bearer("review-bot"), timeout=10) as bot:
        for body in (
            {"ids": [1], "state": "confirmed", "label": "<script>alert(1)</script>"},
            {"ids": [1], "state": "confirmed", "label": "with_mask' OR '1'='1"},
            {"ids": [1], "state": "confirmed'; DROP TABLE violations; --"},
            {"ids": [1], "state": "confirmed", "reviewed_by": "someone-else"},
        ):
            assert bot.post("/api/violations/review", json=body).status_code == 422, body
        with login(review_console.url, "rita") as reviewer:
            form = {"ids": ["1"], "state": "<b>confirmed</b>", "csrf": csrf_of(reviewer)}
            assert reviewer.post("/violations/review", data=form).status_code == 422
        assert untouched(review_console)
        done = bot.post("/api/violations/review", json={"ids": [3, 3, 3, 4, 3], "state": "false_positive"})
        assert done.status_code == 200 and [r["id"] for r in done.json()["reviewed"]] == [3, 4]
    engine = create_db_engine(review_console.settings.database.url)
    _, _, events = get_violation(engine, 3)
    engine.dispose()
    assert [(e.user, e.state, e.label) for e in events] == [("token:review-bot", "false_positive", "with_mask")]


# 4. Context pictures


@pytest.fixture()
def context_console(settings: Settings) -> Iterator[ConsoleServer]:
    """Violation 1 with two context pictures (its own snapshot, the face at FACE_BOX), violation 2
    with one that is another picture entirely."""
    seed(settings)
    engine = create_db_engine(settings.database.url)
    folder = settings.snapshots.dir / "cam-1"
    other = folder / "context-2-0.jpg"
    other.write_bytes(cv2.imencode(".jpg", np.full((720, 1280, 3), 200, np.uint8))[1].tobytes())
    with Session(engine) as s, s.begin():
        v1 = s.get(Violation, 1)
        assert v1 is not None
        at = dt.datetime.now(dt.timezone.utc)
        for position in (0, 1):
            s.add(ViolationFrame(violation_id=1, position=position, path=v1.snapshot_path, captured_at=at,
                                 label="without_mask", score=0.9, box=list(FACE_BOX)))  # fmt: skip
        s.add(ViolationFrame(violation_id=2, position=0, path=str(other), captured_at=at, label="without_mask",
                             score=0.9, box=list(FACE_BOX)))  # fmt: skip
        s.add(ViolationFrame(violation_id=3, position=0, path=str(settings.snapshots.dir / ".." / "maskwatch.db"),
                             captured_at=at, label="without_mask", score=0.9, box=list(FACE_BOX)))  # fmt: skip
    engine.dispose()
    with running_console(settings) as server:
        yield server


@pytest.mark.attack("open context pictures out of range or of another violation", expected="404/422; its own only")
def test_context_pictures_are_bounded_and_per_violation(context_console: ConsoleServer) -> None:
    with login(context_console.url, "rita") as reviewer:
        own = reviewer.get("/violations/1/context/1")
        assert own.status_code == 200
        probes = {
            n: reviewer.get(f"/violations/{v}/context/{n}").status_code
            for v, n in [(1, "-1"), (1, "2"), (1, "100"), (1, str(2**63)), (1, "abc")]
        }
        assert set(probes.values()) <= {404, 422}, probes
        assert reviewer.get("/violations/2/context/1").status_code == 404  # violation 1 has a position 1
        assert reviewer.get("/violations/3/context/0").status_code == 404  # the database file, outside
        assert reviewer.get(f"/violations/{2**31}/context/0").status_code in (404, 422)
        theirs = reviewer.get("/violations/2/context/0")
        assert theirs.status_code == 200 and theirs.content != own.content


@pytest.mark.attack("see a context picture's face as a viewer", expected="the violator's face blurred")
def test_context_pictures_are_blurred_for_viewers(context_console: ConsoleServer) -> None:
    with login(context_console.url, "rita") as reviewer:
        clear = decoded(reviewer.get("/violations/1/context/0").content)
    with login(context_console.url, "victor") as viewer:
        seen = viewer.get("/violations/1/context/0")
    assert seen.status_code == 200
    assert detail(decoded(seen.content), FACE_BOX) < 0.2 * detail(clear, FACE_BOX)
    engine = create_db_engine(context_console.settings.database.url)
    views = [(v.user, v.kind, v.blurred) for v in image_views(engine, 1)]
    engine.dispose()
    assert ("victor", "context", True) in views and ("rita", "context", False) in views


# 5. Error pages


SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(1)">'
REFLECTED = [
    f"/violations/{SCRIPT}",
    f"/violations/1/image/{SCRIPT}",
    f"/violations/1/context/{IMG}",
    f"/cameras/{SCRIPT}",
    f"/cameras/{IMG}/live.jpg",
    f"/nope?x={IMG}",
    f"/nope/{IMG}",
    f"/violations?since={IMG}",
    f"/violations?camera={SCRIPT}&page={SCRIPT}",
    f"/dashboard?camera={SCRIPT}&days={SCRIPT}",
    f"/shared/violations/1/snapshot.jpg?via={SCRIPT}&sig={IMG}",
    f"/shared/violations/{SCRIPT}/snapshot.jpg",
]


@pytest.mark.attack("reflect script through a path or query into a page", expected="escaped; never markup")
@pytest.mark.parametrize("path", REFLECTED, ids=[f"reflected-{i}" for i in range(len(REFLECTED))])
def test_nothing_from_the_url_comes_back_as_markup(console: ConsoleServer, path: str) -> None:
    with login(console.url, "victor") as client:
        answer = client.get(path)
    assert answer.status_code < 500
    body = answer.text
    for raw in (SCRIPT, "<img", 'onerror="alert', "<script>"):
        assert raw not in body, (path, raw)
    if answer.headers["content-type"].startswith("text/html"):
        assert "default-src 'none'" in answer.headers["content-security-policy"]


@pytest.mark.attack("make a camera page or the live picture crash", expected="500 page without code or SQL")
def test_a_crash_on_the_camera_pages_shows_no_traceback(live_console: ConsoleServer) -> None:
    write_live(live_console.settings)
    engine = create_db_engine(live_console.settings.database.url)
    with engine.begin() as conn:  # a database the console cannot read
        conn.execute(text("ALTER TABLE camera_status_events RENAME TO camera_status_events_gone"))
    engine.dispose()
    with login(live_console.url, "rita") as client:
        page = client.get("/cameras/cam-1")
    assert page.status_code == 500
    for leak in ("Traceback", "camera_status_events", "SELECT", 'File "', "sqlalchemy", str(Path.cwd())):
        assert leak not in page.text, leak
