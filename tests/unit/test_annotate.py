"""What is drawn onto snapshots: labels in the console's words, kept whole inside the frame at
every edge, the camera and time burnt in, and the violator blurred yet still marked."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from maskwatch.annotate import COLOURS_BGR, blur_marked, draw_caption, draw_faces
from maskwatch.labels import CLASSES, DISPLAY_NAMES, WITHOUT_MASK, display_name
from maskwatch.storage.snapshots import caption_for, context_window

W, H = 640, 360


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]
    label: str = WITHOUT_MASK
    score: float = 0.93


def label_pixels(image: np.ndarray) -> int:
    """Pixels of the label's fill colour (the box outline is thin; the label is most of them)."""
    return int(np.all(image == np.array(COLOURS_BGR[WITHOUT_MASK], np.uint8), axis=2).sum())


def test_every_class_has_display_words_shown_on_pictures_and_pages() -> None:
    assert set(CLASSES) <= set(DISPLAY_NAMES)
    assert display_name("without_mask") == "No mask" and display_name("something_new") == "something_new"
    assert all(name.isascii() for name in DISPLAY_NAMES.values())  # OpenCV's fonts draw ASCII only


@pytest.mark.parametrize(
    "box",
    [
        (0.0, 0.0, 60.0, 60.0),  # top left corner: no room above
        (W - 30.0, 100.0, W + 10.0, 150.0),  # right edge: the label would run off
        (-20.0, 150.0, 30.0, 200.0),  # partly out on the left
        (300.0, H - 20.0, 350.0, H + 30.0),  # at the bottom
        (W - 60.0, H - 60.0, W - 1.0, H - 1.0),  # bottom right corner
    ],
)
def test_labels_stay_whole_inside_the_frame_at_every_edge(box: tuple[float, float, float, float]) -> None:
    blank = np.full((H, W, 3), 255, np.uint8)
    in_the_middle = label_pixels(draw_faces(blank, [Face((290.0, 150.0, 350.0, 210.0))]))
    at_the_edge = label_pixels(draw_faces(blank, [Face(box)]))
    # The whole label, as many pixels of it as in the middle of the picture (give or take the outline).
    assert at_the_edge == pytest.approx(in_the_middle, rel=0.15)


def test_a_frame_narrower_than_the_label_gets_smaller_letters_not_cut_ones() -> None:
    narrow = np.full((120, 60, 3), 255, np.uint8)
    drawn = draw_faces(narrow, [Face((10.0, 40.0, 50.0, 80.0))])
    filled_columns = np.all(drawn == np.array(COLOURS_BGR[WITHOUT_MASK], np.uint8), axis=2).any(axis=0)
    assert filled_columns.sum() <= 60 and label_pixels(drawn) > 0


def test_the_caption_names_the_camera_and_the_time_inside_the_frame() -> None:
    text = caption_for("Eingang Süd", 1_790_000_000.0)
    assert text == "Eingang Sud  2026-09-21 14:13:20 UTC"
    grey = np.full((H, W, 3), 128, np.uint8)
    drawn = draw_caption(grey, text)
    changed = np.any(drawn != grey, axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.min() > H * 0.8 and cols.min() == 0  # a band at the bottom left
    assert (drawn[changed] == 255).all(axis=1).sum() > 100  # white letters
    assert cols.max() < W


def test_context_pictures_frame_the_person_and_stay_inside_the_picture() -> None:
    assert context_window((600.0, 10.0, 640.0, 50.0), 640, 360) == (520, 0, 640, 120)  # moved in, not cut
    left, top, right, bottom = context_window((100.0, 100.0, 160.0, 160.0), 640, 360)
    assert right - left == bottom - top == 180 and top < 100 and bottom > 160  # head and shoulders


def detail(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Fine detail in a region (variance of its Laplacian): near zero once blurred."""
    x1, y1, x2, y2 = box
    return float(cv2.Laplacian(cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_a_blurred_violator_keeps_the_box_and_label_in_the_console_words() -> None:
    rng = np.random.default_rng(1)
    scene = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)  # all detail, like a face up close
    face = Face((250.0, 120.0, 370.0, 240.0))
    stored = draw_faces(scene, [face])  # the snapshot as the recorder writes it
    shown = blur_marked(stored, face)
    colour = np.array(COLOURS_BGR[WITHOUT_MASK], np.uint8)
    outline = [shown[120, x] for x in range(250, 371, 10)] + [shown[y, 250] for y in range(120, 241, 10)]
    assert all((px == colour).all() for px in outline)  # the box, every side of it, in its colour
    assert label_pixels(shown) == label_pixels(stored)  # the label whole, where it was
    inside = (262, 132, 358, 228)
    assert detail(shown, inside) < detail(stored, inside) / 50  # the face itself is gone
