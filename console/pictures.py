"""A violation's pictures as the console serves them: the file as stored, or, for someone who may
not see faces, with the violator's face blurred too (the others are blurred in every copy)."""

from __future__ import annotations

from pathlib import Path

import cv2
from fastapi import HTTPException
from fastapi.responses import FileResponse, Response

from maskwatch.annotate import blur_faces


def picture(path: Path, kind: str, face_box: tuple[float, float, float, float], blurred: bool) -> Response:
    if not blurred:
        return FileResponse(path, media_type="image/jpeg")  # no-store, like every page: these are people
    image = cv2.imread(str(path))
    if image is None:
        raise HTTPException(status_code=404, detail="snapshot not readable")
    h, w = image.shape[:2]
    # The crop is the face: all of it goes. In the frame, the violator's box does.
    box = (0.0, 0.0, float(w), float(h)) if kind == "crop" else face_box
    ok, data = cv2.imencode(".jpg", blur_faces(image, [box]), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise HTTPException(status_code=500, detail="snapshot could not be encoded")
    return Response(data.tobytes(), media_type="image/jpeg")
