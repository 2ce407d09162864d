"""`maskwatch models fetch`: download a model file, verify its sha256, install it atomically."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from maskwatch.errors import MaskwatchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFile:
    filename: str
    url: str
    sha256: str


YUNET = ModelFile(
    filename="face_detection_yunet_2023mar.onnx",
    url="https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
    sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
)


class FetchError(MaskwatchError, RuntimeError):
    """The download failed or the file did not match its checksum; nothing was installed."""


def fetch_model(model: ModelFile, dest_dir: Path, url: str | None = None, timeout_s: float = 60.0) -> Path:
    """Download `model` into `dest_dir`; an existing file with the right checksum is kept."""
    target = dest_dir / model.filename
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == model.sha256:
        log.info("%s already present and verified", target)
        return target
    source = url or model.url
    dest_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=dest_dir, prefix=".download-", delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with httpx.stream("GET", source, follow_redirects=True, timeout=timeout_s) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    tmp.write(chunk)
        except httpx.HTTPError as exc:
            tmp_path.unlink(missing_ok=True)
            raise FetchError(f"download of {model.filename} from {source} failed: {exc}") from None
    if digest.hexdigest() != model.sha256:
        tmp_path.unlink(missing_ok=True)
        raise FetchError(
            f"{model.filename} from {source} has sha256 {digest.hexdigest()}, expected {model.sha256}; not installed"
        )
    tmp_path.replace(target)
    log.info("installed %s (sha256 verified)", target)
    return target
