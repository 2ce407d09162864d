"""`maskwatch models fetch` against a real HTTP server on 127.0.0.1."""

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from maskwatch.app.cli import main
from maskwatch.inference.fetch import YUNET, FetchError, ModelFile, fetch_model


@pytest.fixture()
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.shared
def test_fetch_yunet_verifies_and_installs(http_root: tuple[Path, str], yunet_model: Path, tmp_path: Path) -> None:
    root, base = http_root
    (root / YUNET.filename).write_bytes(yunet_model.read_bytes())
    dest = tmp_path / "models"
    assert main(["models", "fetch", "yunet", "--dest", str(dest), "--url", f"{base}/{YUNET.filename}"]) == 0
    installed = dest / YUNET.filename
    assert installed.read_bytes() == yunet_model.read_bytes()
    # Already present and verified: no second download (the server no longer has it).
    (root / YUNET.filename).unlink()
    assert fetch_model(YUNET, dest, url=f"{base}/{YUNET.filename}") == installed


def test_fetch_rejects_wrong_checksum_and_keeps_nothing(http_root: tuple[Path, str], tmp_path: Path) -> None:
    root, base = http_root
    (root / "m.onnx").write_bytes(b"tampered")
    model = ModelFile("m.onnx", f"{base}/m.onnx", "0" * 64)
    with pytest.raises(FetchError, match="expected 0000"):
        fetch_model(model, tmp_path / "d")
    assert list((tmp_path / "d").iterdir()) == []


def test_fetch_reports_http_errors(http_root: tuple[Path, str], tmp_path: Path) -> None:
    _, base = http_root
    with pytest.raises(FetchError, match="404"):
        fetch_model(ModelFile("x.onnx", f"{base}/x.onnx", "0" * 64), tmp_path / "d")
    assert main(["models", "fetch", "yunet", "--dest", str(tmp_path / "e"), "--url", f"{base}/missing"]) == 1
