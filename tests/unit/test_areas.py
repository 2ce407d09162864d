"""Watch and ignore areas: which faces a camera counts, and how much of the picture is searched."""

import numpy as np
import pytest

from devtools.demo_media import DEMO_SCENES, render_scene
from maskwatch.areas import CameraAreas
from maskwatch.config import AnalyzerConfig, AreaConfig, ConfigError, parse_settings
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.inference.areas import search_region
from maskwatch.inference.detector import FaceDetector, create_backend

# Five people at x = 200, 450, 700, 950, 1150, faces 60 px tall, in a 1280 x 720 picture.
SCENE = render_scene(DEMO_SCENES["queue"])


class RecordingBackend:
    """The real detector, noting the size of every picture it is given."""

    def __init__(self) -> None:
        self.detect = create_backend(AnalyzerConfig().detector)
        self.sizes: list[tuple[int, int]] = []

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray:
        self.sizes.append(image_bgr.shape[:2])
        return self.detect(image_bgr)


@pytest.fixture(scope="module")
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture(scope="module")
def analyzer(backend: RecordingBackend) -> FaceAnalyzer:
    config = AnalyzerConfig()
    return FaceAnalyzer(config, FaceDetector(config.detector, backend=backend))


def centres_x(faces: list) -> list[float]:
    return sorted((f.box[0] + f.box[2]) / 2 for f in faces)


def test_a_watch_area_is_all_the_detector_searches_and_all_that_counts(
    analyzer: FaceAnalyzer, backend: RecordingBackend
) -> None:
    everyone = analyzer.analyze(SCENE)
    assert len(everyone) == 5 and backend.sizes[-1] == (720, 1280)
    left = CameraAreas(watch=(AreaConfig(x1=0, y1=0, x2=0.5, y2=1),))
    (faces,) = analyzer.analyze_batch([SCENE], [left])
    assert backend.sizes[-1] == (720, 768)  # the left half and a tenth of the long side beyond it
    assert [round(x, -1) for x in centres_x(faces)] == [200, 450]
    same = {(f.label, tuple(np.round(f.box, 1))) for f in faces}
    assert same <= {(f.label, tuple(np.round(f.box, 1))) for f in everyone}  # found as in the whole picture


def test_faces_centred_in_an_ignore_area_are_left_out(analyzer: FaceAnalyzer, backend: RecordingBackend) -> None:
    poster = CameraAreas(ignore=(AreaConfig(x1=0.45, y1=0, x2=0.65, y2=0.5),))
    (faces,) = analyzer.analyze_batch([SCENE], [poster])
    assert backend.sizes[-1] == (720, 1280)
    assert [round(x, -1) for x in centres_x(faces)] == [200, 450, 950, 1150]


# A floor seen at an angle: its right edge runs from x = 0.45 at the top to 0.7 at the bottom, so
# at the faces' height (y about 0.22) it lies near x = 0.5, left of the face at 700 px.
FLOOR = AreaConfig(points=[(0, 0), (0.45, 0), (0.7, 1), (0, 1)])
# A triangle around the face at 950 px only.
POSTER = AreaConfig(points=[(0.7, 0), (0.8, 0), (0.75, 0.5)])


def test_polygon_areas_count_by_their_outline_not_their_bounds(
    analyzer: FaceAnalyzer, backend: RecordingBackend
) -> None:
    (faces,) = analyzer.analyze_batch([SCENE], [CameraAreas(watch=(FLOOR,))])
    assert backend.sizes[-1] == (720, 1024)  # its bounds (0-896 px) and the margin
    assert [round(x, -1) for x in centres_x(faces)] == [200, 450]  # 700 is inside the bounds, not the floor
    (faces,) = analyzer.analyze_batch([SCENE], [CameraAreas(ignore=(POSTER,))])
    assert [round(x, -1) for x in centres_x(faces)] == [200, 450, 700, 1150]


def test_polygon_geometry() -> None:
    assert FLOOR.bounds == (0, 0, 0.7, 1) and POSTER.corners == [(0.7, 0), (0.8, 0), (0.75, 0.5)]
    # Written back (`config check`, reloads) with its own shape's fields only, and read back the same.
    assert POSTER.model_dump(mode="json") == {"points": [[0.7, 0], [0.8, 0], [0.75, 0.5]]}
    assert AreaConfig(x1=0, y1=0, x2=1, y2=0.5).model_dump() == {"x1": 0, "y1": 0, "x2": 1, "y2": 0.5}
    assert AreaConfig.model_validate(FLOOR.model_dump(mode="json")) == FLOOR
    triangle = CameraAreas(watch=(AreaConfig(points=[(0, 0), (1, 0), (0, 1)]),))
    assert triangle.counts((0, 0, 600, 300), 1000, 1000)  # centre 300, 150
    assert not triangle.counts((500, 500, 700, 700), 1000, 1000)  # centre 600, 600: inside the bounds only
    assert triangle.counts((400, 400, 600, 600), 1000, 1000)  # centre on the edge counts, as for rectangles
    mask = triangle.mask(80, 40)
    ys, xs = np.mgrid[0:40, 0:80]
    inside = (xs + 0.5) / 80 + (ys + 0.5) / 40 < 1 - 0.05
    outside = (xs + 0.5) / 80 + (ys + 0.5) / 40 > 1 + 0.05
    assert mask[inside].all() and not mask[outside].any()
    sliver = AreaConfig(points=[(0.5, 0.5), (0.51, 0.5), (0.5, 0.51)])
    assert int(CameraAreas(ignore=(sliver,)).mask(8, 4).sum()) == 31  # narrower than a pixel: still covers one


def test_search_region_grows_aligns_and_stays_in_the_picture() -> None:
    corner = CameraAreas(watch=(AreaConfig(x1=0.9, y1=0.8, x2=1.0, y2=1.0),))
    # 1152-1280 x 576-720 grown by 128 px, cut at the picture's edges, and the 272 px of height
    # widened to 288 towards the inside.
    assert search_region(corner, 1280, 720) == (1024, 432, 1280, 720)
    two = CameraAreas(watch=(AreaConfig(x1=0.1, y1=0.1, x2=0.2, y2=0.2), AreaConfig(x1=0.3, y1=0.1, x2=0.4, y2=0.3)))
    assert search_region(two, 1000, 1000) == (0, 0, 512, 416)  # one region around both
    nearly_all = CameraAreas(watch=(AreaConfig(x1=0.02, y1=0.02, x2=0.98, y2=0.98),))
    assert search_region(nearly_all, 1280, 720) is None
    assert search_region(CameraAreas(ignore=(AreaConfig(x1=0, y1=0, x2=0.1, y2=0.1),)), 1280, 720) is None


def test_a_face_counts_by_its_centre() -> None:
    areas = CameraAreas(
        watch=(AreaConfig(x1=0, y1=0, x2=0.5, y2=1),), ignore=(AreaConfig(x1=0, y1=0, x2=0.25, y2=0.25),)
    )
    assert areas.counts((500, 300, 600, 400), 1280, 720)
    assert areas.counts((100, 300, 200, 400), 1280, 720)
    assert not areas.counts((600, 300, 700, 400), 1280, 720)  # centre right of the watch area
    assert not areas.counts((100, 50, 200, 150), 1280, 720)  # centre in the ignore area


def test_areas_are_validated_with_their_path() -> None:
    camera = {"id": "a", "name": "A", "url": "rtsp://127.0.0.1/a"}
    bad = [{**camera, "watch_areas": [{"x1": 0.6, "y1": 0, "x2": 0.4, "y2": 1}], "ignore_areas": [{"x1": 0, "y1": 0}]}]
    with pytest.raises(ConfigError) as info:
        parse_settings({"cameras": bad})
    text = str(info.value)
    assert "cameras.0.watch_areas.0" in text and "x1 < x2" in text
    assert "cameras.0.ignore_areas.0: Value error, an area needs x1, y1, x2 and y2 (a rectangle) or points" in text
    with pytest.raises(ConfigError, match="less than or equal to 1"):
        parse_settings({"cameras": [{**camera, "ignore_areas": [{"x1": 0, "y1": 0, "x2": 1.5, "y2": 1}]}]})
    for area, message in [
        ({"points": [[0, 0], [1, 0], [0.5, 1.2]]}, "points.2.1: Input should be less than or equal to 1"),
        ({"points": [[0, 0], [0.5, 0.5], [1, 1]]}, "polygon encloses no area"),
        ({"points": [[0, 0], [1, 0]]}, "ignore_areas.0.points: List should have at least 3 items"),
        ({"x1": 0, "y1": 0, "x2": 1, "y2": 1, "points": [[0, 0], [1, 0], [1, 1]]}, "rectangle (x1, y1, x2, y2) or a"),
    ]:
        with pytest.raises(ConfigError) as info:
            parse_settings({"cameras": [{**camera, "ignore_areas": [area]}]})
        assert message in str(info.value)


def test_mask_marks_the_pixels_the_areas_count() -> None:
    areas = CameraAreas(
        watch=(AreaConfig(x1=0, y1=0, x2=0.5, y2=1),), ignore=(AreaConfig(x1=0, y1=0, x2=0.25, y2=0.5),)
    )
    mask = areas.mask(8, 4)
    assert mask.astype(int).tolist() == [[0, 0, 1, 1, 0, 0, 0, 0]] * 2 + [[1, 1, 1, 1, 0, 0, 0, 0]] * 2
    tiny = CameraAreas(ignore=(AreaConfig(x1=0.5, y1=0.5, x2=0.51, y2=0.51),)).mask(8, 4)
    assert int(tiny.sum()) == 31  # an area narrower than a pixel still covers one
