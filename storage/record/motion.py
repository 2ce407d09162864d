"""Where a face will be: a constant-velocity Kalman filter on the face box, as SORT and ByteTrack use.

State: centre, width and height, and their velocities per second. Samples arrive 0.2 to 2 s
apart, so the time step is the real gap between captures, and the noises scale with the face's
height: a face of 200 px moves and jitters in pixels five times as much as one of 40 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]

#: Detector jitter, in face heights (standard deviation of centre and size).
MEASUREMENT_STD = 0.06
#: How fast a face may be moving when first seen, in face heights per second: people walk in
#: at several face widths a second, so a new track's next sighting can be far from its first.
INITIAL_SPEED_STD = 4.0
#: Changes of speed, in face heights per second squared: someone walking in at 5 face heights a
#: second stops at a counter within half a second.
ACCELERATION_STD = 8.0
#: The fastest a face moves, in its heights per second (a brisk walk across the picture, close
#: to the camera): a face farther from where it was last seen than this allows is someone else.
MAX_SPEED = 8.0
#: Squared Mahalanobis distance beyond which a detection is not this track's (chi-square, 4 degrees
#: of freedom, 99 %).
GATE = 13.28

_H = np.hstack([np.eye(4), np.zeros((4, 4))])


def _measure(box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float64)


def _box(z: np.ndarray) -> Box:
    cx, cy, w, h = (float(v) for v in z[:4])
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


@dataclass
class FaceMotion:
    """One track's Kalman state, at the time of its latest update."""

    x: np.ndarray  # (8,) centre x, y, width, height, then their velocities per second
    p: np.ndarray  # (8, 8) covariance
    last: np.ndarray  # (4,) the latest measured centre and size

    @classmethod
    def start(cls, box: Box) -> FaceMotion:
        z = _measure(box)
        h = max(z[3], 1.0)
        x = np.concatenate([z, np.zeros(4)])
        pos = (2 * MEASUREMENT_STD * h) ** 2
        speed = (INITIAL_SPEED_STD * h) ** 2
        p = np.diag([pos, pos, pos, pos, speed, speed, speed / 16, speed / 16])
        return cls(x, p, z)

    def reach(self, boxes: np.ndarray, dt: float) -> np.ndarray:
        """How far each box (N, 4) is from where the face was last seen, `dt` s before, as a share
        of the farthest a face moves in that time (1: just within reach).

        The Kalman gate alone is too tight at a few samples a second: a person standing at a
        counter who turns to leave covers three face heights before the next sample, and one who
        walked up and stopped is nowhere near the prediction that they walk on."""
        z = np.stack([_measure(tuple(b)) for b in boxes]) if len(boxes) else np.zeros((0, 4))
        h = max(self.last[3], 1.0)
        moved = np.linalg.norm(z[:, :2] - self.last[:2], axis=1)
        return moved / (h * (1.0 + MAX_SPEED * abs(dt)))

    def _predicted(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """The state `dt` seconds on; a negative `dt` looks back, for results that arrive late."""
        f = np.eye(8)
        f[:4, 4:] = np.eye(4) * dt
        h = max(self.x[3], 1.0)
        acc = np.array([1.0, 1.0, 0.25, 0.25]) * ACCELERATION_STD * h
        # Piecewise white acceleration: position noise dt^4/4, cross dt^3/2, velocity dt^2.
        q = np.zeros((8, 8))
        gap = abs(dt)
        q[:4, :4] = np.diag(acc**2 * gap**4 / 4)
        q[:4, 4:] = q[4:, :4] = np.diag(acc**2 * gap**3 / 2)
        q[4:, 4:] = np.diag(acc**2 * gap**2)
        x = f @ self.x
        x[2:4] = np.maximum(x[2:4], 1.0)  # a face shrinking to nothing is not a prediction
        return x, f @ self.p @ f.T + q

    def predict_box(self, dt: float) -> Box:
        return _box(self._predicted(dt)[0])

    def distances(self, boxes: np.ndarray, dt: float) -> np.ndarray:
        """Squared Mahalanobis distance of each box (N, 4) from this track's prediction `dt` s ahead."""
        x, p = self._predicted(dt)
        h = max(x[3], 1.0)
        s = _H @ p @ _H.T + np.eye(4) * (MEASUREMENT_STD * h) ** 2
        z = np.stack([_measure(tuple(b)) for b in boxes]) if len(boxes) else np.zeros((0, 4))
        y = z - x[:4]
        return np.einsum("ni,ij,nj->n", y, np.linalg.inv(s), y)

    def update(self, box: Box, dt: float) -> None:
        x, p = self._predicted(dt)
        h = max(x[3], 1.0)
        s = _H @ p @ _H.T + np.eye(4) * (MEASUREMENT_STD * h) ** 2
        k = p @ _H.T @ np.linalg.inv(s)
        self.last = _measure(box)
        self.x = x + k @ (self.last - x[:4])
        self.p = (np.eye(8) - k @ _H) @ p
