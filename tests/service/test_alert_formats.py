"""Slack and Teams messages, and the links in alerts, against a real receiver and a real console: the
receiver checks each message's shape and fetches its picture from the console, without a login,
as the chat service would."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from maskwatch.alerts.channels import user_agent
from maskwatch.alerts.dispatcher import Dispatcher
from maskwatch.alerts.formats import slack_message, summary, teams_message
from maskwatch.alerts.links import Links, link_notes
from maskwatch.annotate import COLOURS_BGR
from maskwatch.config import Settings, parse_settings
from maskwatch.labels import WITHOUT_MASK
from maskwatch.storage.cameras import CameraStatus
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.models import Camera, Violation
from maskwatch.storage.violations import image_views
from tests.support.console import console_settings, running_console, web_with
from tests.support.factories import record_violations
from tests.support.pictures import decoded, detail
from tests.support.receivers import slack_problems, teams_problems, webhook_receiver

FACE_BOX = (175.0, 185.0, 325.0, 335.0)  # the violator, as tests.support.factories records them


def with_alerts(settings: Settings, public_url: str | None, webhooks: list[dict[str, Any]]) -> Settings:
    """The console's settings, as the alerts stage would have them (same secrets) with these webhooks."""
    alerts = parse_settings({"alerts": {"webhooks": webhooks, "backoff_initial_s": 0.01}}).alerts
    return settings.model_copy(update={"alerts": alerts, "web": web_with(settings.web, public_url=public_url)})


def drain(settings: Settings) -> None:
    dispatcher = Dispatcher(settings, create_db_engine(settings.database.url))
    for channel in dispatcher.senders:
        dispatcher.run_channel_once(channel)
    dispatcher.close()


def camera_goes(settings: Settings, state: str, detail: str = "connection refused") -> None:
    """cam-1 goes `state` (offline, for `detail`, or online); an outage alerts at once."""
    engine = create_db_engine(settings.database.url)
    status = CameraStatus(
        settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"camera_grace_s": 0})})
    )
    with Session(engine) as s, s.begin():
        cam = s.get(Camera, "cam-1")
        assert cam is not None
        status.transition(s, cam, state, detail if state == "offline" else "", dt.datetime.now(dt.timezone.utc))
        status.check(s)
    engine.dispose()


def outline_marked(image: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """The share of points along the box's top and left edges in the colour the violator is drawn in."""
    x1, y1, x2, y2 = (round(c) for c in box)
    points = [image[y1, x] for x in range(x1 + 5, x2 - 5, 5)] + [image[y, x1] for y in range(y1 + 5, y2 - 5, 5)]
    colour = np.array(COLOURS_BGR[WITHOUT_MASK], np.int16)
    return sum(int(np.abs(p.astype(np.int16) - colour).max()) < 60 for p in points) / len(points)


def snapshot_file(settings: Settings, violation_id: int = 1) -> Path:
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s:
        v = s.get(Violation, violation_id)
        assert v is not None
        path = Path(v.snapshot_path)
    engine.dispose()
    return path


def test_slack_message_shows_the_blurred_snapshot_and_opens_the_violation(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    with running_console(settings) as server, webhook_receiver(check=slack_problems) as hook:
        alerting = with_alerts(settings, server.url, [{"url": hook.url, "format": "slack"}])
        record_violations(alerting)
        drain(alerting)
        (req,) = hook.received
        assert req["problems"] == [] and req["status"] == 200
        message = req["json"]
        assert "No mask" in message["text"] and "Entrance" in message["text"]
        blocks = {b["type"]: b for b in message["blocks"]}
        assert blocks["header"]["text"]["text"] == "No mask: Entrance"
        (button,) = blocks["actions"]["elements"]
        assert button["url"] == f"{server.url}/violations/1"
        image_url = blocks["image"]["image_url"]
        assert image_url.startswith(f"{server.url}/shared/violations/1/snapshot.jpg?")
        served = httpx.get(image_url, timeout=10)
        # The page itself still needs a login: the link opens the one picture, nothing else.
        assert httpx.get(button["url"], timeout=10).status_code == 303
    stored = decoded(snapshot_file(settings).read_bytes())
    picture = decoded(served.content)
    assert detail(picture, FACE_BOX) < detail(stored, FACE_BOX) / 10  # a chat channel sees the face blurred
    # ...and which person the alert is about: the box is drawn again over the blur.
    assert outline_marked(stored, FACE_BOX) == outline_marked(picture, FACE_BOX) == 1.0
    assert served.headers["cache-control"] == "no-store"
    views = image_views(create_db_engine(settings.database.url), 1)
    assert views and {(v.user, v.kind, v.blurred) for v in views} == {("link:webhook:0", "frame", True)}


def test_teams_card_for_violations_and_camera_outages(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    with running_console(settings) as server, webhook_receiver(check=teams_problems) as hook:
        alerting = with_alerts(settings, server.url, [{"url": hook.url, "format": "teams"}])
        record_violations(alerting)
        drain(alerting)
        camera_goes(alerting, "offline")
        drain(alerting)
        camera_goes(alerting, "online")
        drain(alerting)
    assert [(r["status"], r["problems"]) for r in hook.received] == [(200, [])] * 3
    cards = [r["json"]["attachments"][0]["content"] for r in hook.received]
    violation, offline, online = cards
    assert [e["type"] for e in violation["body"]] == ["TextBlock", "FactSet", "Image"]
    assert violation["body"][2]["url"].startswith(f"{server.url}/shared/violations/1/snapshot.jpg?")
    assert violation["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open violation", "url": f"{server.url}/violations/1"}
    ]
    assert offline["body"][0]["text"] == "Camera Entrance is not being watched"
    assert {"title": "Reason", "value": "connection refused"} in offline["body"][1]["facts"]
    assert online["body"][0]["text"] == "Camera Entrance is back online" and online["body"][0]["color"] == "Good"
    assert offline["actions"][0]["url"] == online["actions"][0]["url"] == f"{server.url}/cameras/cam-1"
    assert "Image" not in {e["type"] for e in offline["body"]}
    assert all(c["fallbackText"].startswith("maskwatch: ") for c in cards)


def test_slack_camera_alerts_and_json_links(tmp_path: Path) -> None:
    settings = console_settings(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    with (
        running_console(settings) as server,
        webhook_receiver(check=slack_problems) as slack,
        webhook_receiver(secret="s3cret") as plain,
    ):
        hooks = [{"url": slack.url, "format": "slack"}, {"url": plain.url, "secret": "s3cret"}]
        alerting = with_alerts(settings, server.url + "/", hooks)
        record_violations(alerting)
        camera_goes(alerting, "offline")
        drain(alerting)
        body = plain.accepted("violation")[0]["json"]
        assert body["console_url"] == f"{server.url}/violations/1"
        assert body["image_url"].startswith(f"{server.url}/shared/violations/1/snapshot.jpg?")
        expires = dt.datetime.fromisoformat(body["image_expires_at"].replace("Z", "+00:00"))
        assert abs((expires - dt.datetime.now(dt.timezone.utc)).total_seconds() - 168 * 3600) < 120
        assert httpx.get(body["image_url"], timeout=10).status_code == 200
    assert all(r["signature_valid"] for r in plain.received)  # json stays signed, links and all
    assert plain.accepted("camera_offline")[0]["json"]["console_url"] == f"{server.url}/cameras/cam-1"

    assert [(r["status"], r["problems"]) for r in slack.received] == [(200, [])] * 2
    offline = slack.received[1]["json"]
    assert offline["text"].startswith("maskwatch: camera Entrance is not being watched since ")
    assert {b["type"] for b in offline["blocks"]} == {"header", "section", "actions"}
    assert offline["blocks"][-1]["elements"][0]["url"] == f"{server.url}/cameras/cam-1"


def test_chat_messages_give_an_outage_in_words_without_the_retry_schedule(tmp_path: Path) -> None:
    """A message stays in the channel: a countdown frozen into it, the camera named twice over and a
    time to the microsecond are noise there."""
    detail = (
        "camera cam-1 (rtsp://127.0.0.1:1/stream1): connection refused: is the camera on, and the port right?; "
        "retry 6 in 37.2 s"
    )
    reason = "connection refused: is the camera on, and the port right?"
    settings = console_settings(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    with (
        webhook_receiver(check=slack_problems) as slack,
        webhook_receiver(check=teams_problems) as teams,
        webhook_receiver() as plain,
    ):
        hooks = [{"url": slack.url, "format": "slack"}, {"url": teams.url, "format": "teams"}, {"url": plain.url}]
        alerting = with_alerts(settings, None, hooks)
        record_violations(alerting)
        camera_goes(alerting, "offline", detail)
        drain(alerting)
        camera_goes(alerting, "online")
        drain(alerting)
    body = plain.accepted("camera_offline")[0]["json"]
    assert (body["detail"], body["reason"]) == (detail, reason)  # JSON: as it was, and as messages say it
    since = dt.datetime.fromisoformat(body["down_since"])
    words = f"{since:%Y-%m-%d %H:%M:%S} UTC"
    for receiver in (slack, teams):
        assert [(r["status"], r["problems"]) for r in receiver.received] == [(200, [])] * 3
        assert all(r["headers"]["User-Agent"] == user_agent() for r in receiver.received)

    offline, online = slack.received[1]["json"], slack.received[2]["json"]
    fields = [f["text"] for f in offline["blocks"][1]["fields"]]
    # Slack shows the time in each reader's own zone; the fallback is in words, in UTC.
    assert fields[1] == f"*Since*\n<!date^{int(since.timestamp())}^{{date_short_pretty}} {{time}}|{words}>"
    assert fields[2] == f"*Reason*\n{reason}"
    assert offline["text"] == f"maskwatch: camera Entrance is not being watched since {words} ({reason})"
    assert f"from {words}" in json.dumps(online) and body["down_since"] not in json.dumps(online)

    card = teams.received[1]["json"]["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert (facts["Since"], facts["Reason"]) == (words, reason)
    assert "retry" not in json.dumps(teams.received[1]["json"]) + json.dumps(offline)


def test_without_public_url_messages_go_out_without_links_and_the_config_says_so(tmp_path: Path) -> None:
    settings = console_settings(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    with webhook_receiver(check=slack_problems) as slack, webhook_receiver() as plain:
        alerting = with_alerts(settings, None, [{"url": slack.url, "format": "slack"}, {"url": plain.url}])
        record_violations(alerting)
        drain(alerting)
    (message,) = [r["json"] for r in slack.received]
    assert slack.received[0]["status"] == 200
    assert {b["type"] for b in message["blocks"]} == {"header", "section"}
    assert not {"console_url", "image_url"} & set(plain.received[0]["json"])
    notes = link_notes(alerting)
    assert "web.public_url is not set" in notes[0] and "webhook:0 (slack)" in notes[1]
    unsigned = alerting.model_copy(
        update={"web": web_with(alerting.web, public_url="https://mw.example.org", session_secret=None)}
    )
    assert "no snapshot link" in link_notes(unsigned)[0]
    assert Links(unsigned.web, "webhook:0").image(1) is None
    assert link_notes(with_alerts(settings, "https://mw.example.org", [{"url": plain.url}])) == []


def test_image_false_leaves_the_picture_out(tmp_path: Path) -> None:
    """For a console the chat service cannot reach: Slack would refuse a message with a picture it cannot fetch."""
    settings = console_settings(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    with webhook_receiver(check=slack_problems) as slack:
        hooks = [{"url": slack.url, "format": "slack", "image": False}]
        alerting = with_alerts(settings, "https://mw.example.org", hooks)
        record_violations(alerting)
        drain(alerting)
    (req,) = slack.received
    assert req["status"] == 200 and [b["type"] for b in req["json"]["blocks"]] == ["header", "section", "actions"]
    assert req["json"]["blocks"][-1]["elements"][0]["url"] == "https://mw.example.org/violations/1"


def shared_link(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return parts._replace(query=urlencode({**query, **changes})).geturl()


@pytest.mark.attack("open a snapshot through an altered, expired or foreign link", expected="403, or 404; never a file")
def test_a_snapshot_link_opens_only_what_it_was_signed_for(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    record_violations(settings, n=2)
    with running_console(settings) as server:
        web = web_with(settings.web, public_url=server.url)
        url = Links(web, "webhook:0").image(1)
        assert url is not None
        link = url[0]

        def status(address: str) -> int:
            return httpx.get(address, timeout=10).status_code

        assert status(link) == 200
        refused = {
            "another violation": link.replace("/violations/1/", "/violations/2/"),
            "face shown": shared_link(link, faces="1"),
            "later expiry": shared_link(link, expires=str(int(parse_qs(urlsplit(link).query)["expires"][0]) + 1)),
            "another channel": shared_link(link, via="webhook:1"),
            "no signature": shared_link(link, sig=""),
            "garbage": shared_link(link, expires="-1", faces="x", sig="../../etc/passwd"),
            "no query": link.split("?")[0],
            "expired": Links(web, "webhook:0", clock=lambda: time.time() - 169 * 3600).image(1)[0],  # type: ignore[index]
        }
        other_key = web_with(web, image_link_secret="another-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
        refused["another key"] = Links(other_key, "webhook:0").image(1)[0]  # type: ignore[index]
        assert {name: status(u) for name, u in refused.items()} == dict.fromkeys(refused, 403)
        # A valid link to a violation that is gone, or whose file lies outside the snapshot folder: 404.
        assert status(Links(web, "webhook:0").image(99)[0]) == 404  # type: ignore[index]
        outside = tmp_path / "outside.jpg"
        outside.write_bytes(snapshot_file(settings, 2).read_bytes())
        engine = create_db_engine(settings.database.url)
        with Session(engine) as s, s.begin():
            s.execute(update(Violation).where(Violation.id == 2).values(snapshot_path=str(outside)))
        assert status(Links(web, "webhook:0").image(2)[0]) == 404  # type: ignore[index]
        with_face = Links(web, "webhook:0", faces=True).image(1)
        assert with_face is not None
        unblurred = httpx.get(with_face[0], timeout=10)
        assert httpx.head(link, timeout=10).status_code == 200  # a service checking the link sees no picture
    assert unblurred.content == snapshot_file(settings).read_bytes()  # image_faces: true sends the file itself
    assert [(v.user, v.blurred) for v in image_views(engine, 1)] == [
        ("link:webhook:0", False),
        ("link:webhook:0", True),
    ]
    assert image_views(engine, 2) == []  # refused links leave no opening behind
    engine.dispose()


def test_a_digest_lists_its_events_and_escapes_names() -> None:
    web = parse_settings({"web": {"public_url": "https://mw.example.org"}}).web
    events = [
        {
            "type": "violation",
            "event_id": i,
            "camera_id": "cam-1",
            "camera_name": "<!channel> & co",
            "label": "mask_incorrect",
            "score": 0.9,
            "started_at": f"2026-01-01T10:00:{i:02d}Z",
        }
        for i in range(1, 26)
    ]
    digest = {**events[0], "events": events}
    slack = slack_message(summary(digest, Links(web, "webhook:0")))
    assert slack_problems(slack) == []
    assert slack["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "25 violations: <!channel> & co",
        "emoji": False,
    }
    mrkdwn = json.dumps({**slack, "blocks": slack["blocks"][1:]})  # all but the plain_text header
    assert "<!channel>" not in mrkdwn and "&lt;!channel&gt; &amp; co" in mrkdwn
    lines = next(b for b in slack["blocks"] if b["type"] == "section" and "text" in b)["text"]["text"].splitlines()
    assert (
        len(lines) == 21
        and lines[0].startswith("• <https://mw.example.org/violations/1|")
        and lines[-1] == "• and 5 more"
    )
    assert slack["blocks"][-1]["elements"][0]["url"] == "https://mw.example.org/violations?camera=cam-1"
    teams = teams_message(summary(digest, Links(web, "webhook:0")))
    assert teams_problems(teams) == []
    assert teams["attachments"][0]["content"]["body"][0]["text"] == "25 violations: <!channel> & co"
