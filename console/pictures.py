"""A violation's pictures as the console serves them: the file as stored, or, for someone who may
not see faces, with the violator's face blurred too (the others are blurred in every copy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
from fastapi import HTTPException
from fastapi.responses import FileResponse, Response

from maskwatch.annotate import blur_faces, blur_marked


@dataclass(frozen=True)
class _Marked:
    box: tuple[float, float, float, float]
    label: str
    score: float


def picture(
    path: Path,
    kind: str,
    face_box: tuple[float, float, float, float],
    blurred: bool,
    mark: tuple[str, float] | None = None,
) -> Response:
    """`mark` (the violation's label and score): in a frame, the violator's box and label are drawn
    again over the blur, as the stored snapshot has them, so the picture still shows who is meant."""
    if not blurred:
        return FileResponse(path, media_type="image/jpeg")  # no-store, like every page: these are people
    image = cv2.imread(str(path))
    if image is None:
        raise HTTPException(status_code=404, detail="snapshot not readable")
    h, w = image.shape[:2]
    if kind == "crop":  # the crop is the face: all of it goes
        shown = blur_faces(image, [(0.0, 0.0, float(w), float(h))])
    elif kind == "frame" and mark is not None:
        shown = blur_marked(image, _Marked(face_box, *mark))
    else:  # context pictures carry no box to draw again
        shown = blur_faces(image, [face_box])
    ok, data = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise HTTPException(status_code=500, detail="snapshot could not be encoded")
    return Response(data.tobytes(), media_type="image/jpeg")
