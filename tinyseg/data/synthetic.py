"""Procedurally drawn street scenes labelled with the CamVid classes: data with no download.

Each scene is painted back to front with NumPy masks: sky with a gradient, a skyline of
buildings with windows, a road in perspective (lane dashes, kerbs) between pavements, then a
fence, trees, poles with signs or traffic lights, cars, pedestrians and bicyclists, sorted by
how far down the picture their feet are (nearer objects are lower, larger and drawn later).
Colours are drawn per scene and per object, with grain, blotchy texture and a lighting gradient,
so a model must use shape and context, not colour alone. Thin void (11) borders between regions
mimic CamVid's hand labelling.

Item i of ``SyntheticScenes(n, size, seed)`` depends only on (seed, i).

    >>> ds = SyntheticScenes(200, size=(96, 128), seed=0)
    >>> image, label = ds[0]            # uint8 (96, 128, 3), uint8 (96, 128)

Why this file is longer than the others (about 380 lines): it is one painter, the scene drawn
back to front, object by object; its brushes (masks, texture, light) are in canvas.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .canvas import Canvas, box, centres, ellipse, line, skew, trapezoid
from .classes import CAMVID, VOID_INDEX

__all__ = ["SyntheticScenes", "draw_scene"]

SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST = range(11)

FACADES = np.array(
    [
        [150, 80, 60],
        [190, 170, 140],
        [130, 130, 135],
        [210, 205, 195],
        [90, 85, 80],
        [200, 180, 115],
        [160, 110, 90],
        [120, 140, 150],
    ],
    np.float32,
)
CAR_COLOURS = np.array(
    [
        [225, 225, 225],
        [160, 160, 165],
        [35, 35, 40],
        [170, 30, 30],
        [40, 60, 140],
        [40, 80, 50],
        [210, 180, 40],
        [120, 90, 70],
    ],
    np.float32,
)
CLOTHES = np.array(
    [
        [30, 30, 35],
        [60, 60, 120],
        [150, 40, 40],
        [200, 200, 190],
        [90, 70, 50],
        [40, 90, 60],
        [180, 150, 60],
        [110, 110, 115],
    ],
    np.float32,
)
SIGN_COLOURS = np.array([[200, 30, 30], [30, 70, 180], [230, 200, 40], [235, 235, 235]], np.float32)


def draw_scene(
    rng: np.random.Generator, size: tuple[int, int] = (96, 128), void_borders: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: image uint8 (H, W, 3), label uint8 (H, W) with CamVid classes 0..11."""
    h, w = size
    c = Canvas(h, w, rng)
    hor = rng.uniform(0.36, 0.5) * h  # horizon: where the buildings meet the ground
    vx = rng.uniform(0.3, 0.7) * w  # vanishing point of the road
    left_b, right_b = rng.uniform(-0.35, 0.2) * w, rng.uniform(0.8, 1.35) * w  # road edges at the bottom

    def depth(y: float) -> float:  # 0 at the horizon, 1 at the bottom row
        return min(max((y - hor) / (h - hor), 0.0), 1.0)

    def road_edges(y: float) -> tuple[float, float]:
        t = depth(y)
        return vx + (left_b - vx) * t, vx + (right_b - vx) * t

    _sky(c, hor)
    _buildings(c, hor, vx)
    _ground(c, hor, vx, left_b, right_b)
    if rng.random() < 0.55:
        _fence(c, hor, vx, left_b, right_b)

    objects = []  # (foot row, kind, u: where across), far to near
    for _ in range(rng.integers(0, 4)):
        objects.append((hor + (h - hor) * rng.uniform(0.12, 1.0), "car", rng.random()))
    for kind, most in (("tree", 3), ("pole", 3), ("pedestrian", 4)):
        for _ in range(rng.integers(0 if kind != "pole" else 1, most + 1)):
            objects.append((hor + (h - hor) * rng.uniform(0.05, 0.95), kind, rng.random()))
    if rng.random() < 0.55:
        objects.append((hor + (h - hor) * rng.uniform(0.3, 1.0), "bicyclist", rng.random()))
    for y, kind, u in sorted(objects, key=lambda o: o[0]):
        t = max(depth(y), 0.05)
        left, right = road_edges(y)
        if kind in ("car", "bicyclist"):
            x = left + (right - left) * (0.15 + 0.7 * u)
            (_car if kind == "car" else _bicyclist)(c, y, x, t)
        else:  # on the pavement, left or right of the road
            on_left = (u < 0.5 and left > 2) or right >= w - 2
            if on_left and left <= 2:
                continue
            v = (2 * u) % 1.0
            if kind == "pole":  # poles stand at the kerb
                x = left - 1 - v * t * w * 0.1 if on_left else right + 1 + v * t * w * 0.1
            else:
                x = v * left if on_left else right + v * (w - right)
            {"tree": _tree, "pole": _pole, "pedestrian": _pedestrian}[kind](c, y, x, t)

    # lighting: overall exposure and a left-right gradient, as sun and shade do
    gain = rng.uniform(0.75, 1.15) + rng.uniform(-0.2, 0.2) * (np.arange(w) / w - 0.5)
    image = np.clip(np.rint(c.image * gain.astype(np.float32)), 0, 255).astype(np.uint8)
    image = np.ascontiguousarray(image.transpose(1, 2, 0))  # (3, H, W) -> (H, W, 3)
    return image, _void_seams(c.label, c.bits) if void_borders else c.label


def _void_seams(label: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Void (11) on about half the pixels where two classes meet, as CamVid's hand labelling
    leaves. The seam goes on the side of the class with more pixels, so 1-pixel poles survive."""
    out = label.copy()
    area = np.bincount(label.ravel(), minlength=VOID_INDEX + 1)
    for bit, (a, b, out_a, out_b) in enumerate(
        [(label[:, :-1], label[:, 1:], out[:, :-1], out[:, 1:]), (label[:-1], label[1:], out[:-1], out[1:])]
    ):
        seam = (a != b) & ((bits[: a.shape[0], : a.shape[1]] >> bit) & 1 == 1)
        on_a = seam & (area[a] >= area[b])
        out_a[on_a] = VOID_INDEX
        out_b[seam & ~on_a] = VOID_INDEX
    return out


def _sky(c: Canvas, hor: float) -> None:
    rng = c.rng
    if rng.random() < 0.5:  # overcast: CamVid's usual grey-white sky
        top = c.colour([200, 205, 212], 12)
        bottom = top + rng.uniform(5, 30)
    else:  # clear: blue fading to pale at the horizon
        top = c.colour([90, 140, 205], 15)
        bottom = c.colour([185, 205, 230], 10)
    rows = int(np.ceil(hor)) + 1
    ramp = (np.arange(rows, dtype=np.float32) / rows)[None, :, None]
    gradient = top[:, None, None] + (bottom - top)[:, None, None] * ramp  # (3, rows, 1)
    region = box(c.h, c.w, 0, rows, 0, c.w)
    if region is not None:
        c.paint(region, SKY, gradient[:, : region[0].stop - region[0].start], grain=2.0, blotch=4.0)


def _buildings(c: Canvas, hor: float, vx: float) -> None:
    rng, h, w = c.rng, c.h, c.w
    x = -rng.uniform(0, 0.1) * w
    while x < w:
        bw = rng.uniform(0.12, 0.4) * w
        if rng.random() < 0.12:  # a gap in the skyline
            x += bw * 0.5
            continue
        far = min(abs(x + bw / 2 - vx) / (0.5 * w), 1.0)  # buildings near the vanishing point are far
        top = hor - hor * rng.uniform(0.35, 1.05) * (0.35 + 0.65 * far)
        facade = c.colour(FACADES[rng.integers(len(FACADES))], 12)
        region = box(h, w, top, hor + 1, x, x + bw)
        c.paint(region, BUILDING, facade, grain=4.0, blotch=rng.uniform(3, 10))
        if region is not None and rng.random() < 0.85:  # windows: a grid of darker panes
            ys, xs, _mask = region
            py, px = rng.uniform(4, 9) * h / 96, rng.uniform(4, 10) * w / 128
            fy, fx = rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.7)
            yy, xx = centres(ys, xs)
            panes = (((yy - top) % py) / py > 1 - fy) & (((xx - x) % px) / px > 1 - fx)
            panes &= (yy > top + 2) & (yy < hor - 2) & (xx > x + 1) & (xx < x + bw - 1)
            glass = c.colour([55, 65, 80], 15) if rng.random() < 0.7 else c.colour([150, 170, 190], 15)
            c.paint((ys, xs, panes), None, glass, grain=6.0)
        x += bw


def _ground(c: Canvas, hor: float, vx: float, left_b: float, right_b: float) -> None:
    rng, h, w = c.rng, c.h, c.w
    pave = c.colour([165, 160, 150] if rng.random() < 0.7 else [170, 120, 100], 14)
    c.paint(box(h, w, hor, h, 0, w), PAVEMENT, pave, grain=6.0, blotch=6.0)
    kerb = (right_b - left_b) * 0.04
    c.paint(trapezoid(h, w, hor, h, vx, vx, left_b - kerb, right_b + kerb), PAVEMENT, pave + 35, grain=4.0)
    road = c.colour([95, 92, 98], 14)
    c.paint(trapezoid(h, w, hor, h, vx, vx, left_b, right_b), ROAD, road, grain=7.0, blotch=6.0)
    region = trapezoid(h, w, hor, h, vx, vx, (left_b + right_b) / 2 - 0.012 * w, (left_b + right_b) / 2 + 0.012 * w)
    if region is not None and rng.random() < 0.8:  # lane dashes, shorter towards the horizon
        ys, xs, mask = region
        t = np.clip((np.arange(ys.start, ys.stop) + 0.5 - hor) / (h - hor), 1e-3, 1.0)[:, None]
        dashes = mask & ((rng.uniform(0, 2) + 1.5 / t) % 2.0 < 1.0)
        c.paint((ys, xs, dashes), None, c.colour([215, 215, 200], 8), grain=5.0)


def _fence(c: Canvas, hor: float, vx: float, left_b: float, right_b: float) -> None:
    """A fence along the outer edge of one pavement, receding to the vanishing point."""
    rng, h, w = c.rng, c.h, c.w
    far_t, near_t = sorted(rng.uniform(0.05, 1.0, 2))
    side = -1.0 if rng.random() < 0.5 else 1.0
    edge = (left_b if side < 0 else right_b) + side * rng.uniform(0.1, 0.4) * w  # bottom-row x of its foot line
    xs = [vx + (edge - vx) * t for t in (far_t, near_t)]
    bottoms = [hor + (h - hor) * t for t in (far_t, near_t)]
    tall = rng.uniform(0.15, 0.3) * h
    tops = [b - tall * t for b, t in zip(bottoms, (far_t, near_t))]
    if xs[0] > xs[1]:
        xs, bottoms, tops = xs[::-1], bottoms[::-1], tops[::-1]
    region = skew(h, w, xs[0], xs[1], tops[0], bottoms[0], tops[1], bottoms[1])
    wood = c.colour([120, 90, 60] if rng.random() < 0.5 else [100, 105, 110], 15)
    c.paint(region, FENCE, wood, grain=5.0, blotch=4.0)
    if region is not None:  # darker gaps between the slats
        ys, xs_, mask = region
        assert mask is not None  # skew's regions always carry a mask
        _, xx = centres(ys, xs_)
        slats = mask & ((xx * rng.uniform(0.5, 0.9)) % 2.0 < 0.8)
        c.paint((ys, xs_, slats), None, wood * 0.6, grain=4.0)


def _tree(c: Canvas, y: float, x: float, t: float) -> None:
    rng, h, w = c.rng, c.h, c.w
    tall = t * h * rng.uniform(0.9, 1.6)
    trunk_w = max(1.0, t * w * 0.03)
    c.paint(box(h, w, y - tall * 0.55, y, x - trunk_w / 2, x + trunk_w / 2), TREE, c.colour([80, 60, 40], 10))
    leaves = c.colour([60, 100, 45] if rng.random() < 0.7 else [90, 110, 55], 15)
    cy, r = y - tall * 0.7, tall * 0.3
    for _ in range(rng.integers(3, 7)):
        dy, dx = rng.normal(0, r * 0.45, 2)
        ry, rx = r * rng.uniform(0.5, 0.9), r * rng.uniform(0.5, 1.0)
        c.paint(ellipse(h, w, cy + dy, x + dx, ry, rx), TREE, leaves + rng.normal(0, 10), grain=14.0, blotch=12.0)


def _pole(c: Canvas, y: float, x: float, t: float) -> None:
    rng, h, w = c.rng, c.h, c.w
    tall = t * h * rng.uniform(0.8, 1.3)
    pw = max(1.0, t * w * 0.018)
    c.paint(box(h, w, y - tall, y, x - pw / 2, x + pw / 2), POLE, c.colour([120, 120, 115], 25), grain=4.0)
    kind = rng.random()
    s = max(2.0, t * h * rng.uniform(0.08, 0.14))
    cy = y - tall + s * 0.6
    if kind < 0.3:  # round sign
        c.paint(ellipse(h, w, cy, x, s / 2, s / 2), SIGN, c.colour(SIGN_COLOURS[rng.integers(4)], 10))
    elif kind < 0.55:  # rectangular sign
        c.paint(
            box(h, w, cy - s / 2, cy + s / 2, x - s * 0.6, x + s * 0.6),
            SIGN,
            c.colour(SIGN_COLOURS[rng.integers(4)], 10),
        )
    elif kind < 0.7:  # warning triangle
        c.paint(
            trapezoid(h, w, cy - s / 2, cy + s / 2, x, x, x - s * 0.6, x + s * 0.6),
            SIGN,
            c.colour(SIGN_COLOURS[rng.integers(3)], 10),
        )
    elif kind < 0.9:  # traffic light: dark box, one lamp lit
        c.paint(box(h, w, cy - s, cy + s, x - s * 0.35, x + s * 0.35), SIGN, c.colour([35, 35, 35], 8))
        lit = rng.integers(3)
        lamp = [[230, 40, 30], [240, 180, 40], [60, 220, 90]][lit]
        c.paint(ellipse(h, w, cy - s * 0.6 + lit * s * 0.6, x, s * 0.22, s * 0.22), None, c.colour(lamp, 5))
    # else: a bare pole (a lamp post)


def _car(c: Canvas, y: float, x: float, t: float) -> None:
    rng, h, w = c.rng, c.h, c.w
    cw = t * w * rng.uniform(0.3, 0.45)
    ch = cw * rng.uniform(0.6, 0.8)
    c.paint(ellipse(h, w, y, x, ch * 0.08 + 0.5, cw * 0.6), None, [40, 40, 45], grain=3.0)  # shadow on the road
    body = c.colour(CAR_COLOURS[rng.integers(len(CAR_COLOURS))], 12)
    c.paint(box(h, w, y - ch * 0.62, y - ch * 0.1, x - cw / 2, x + cw / 2), CAR, body, grain=4.0, blotch=3.0)
    c.paint(
        trapezoid(h, w, y - ch, y - ch * 0.6, x - cw * 0.32, x + cw * 0.32, x - cw * 0.45, x + cw * 0.45),
        CAR,
        body,
        grain=4.0,
    )
    c.paint(
        trapezoid(h, w, y - ch * 0.93, y - ch * 0.64, x - cw * 0.28, x + cw * 0.28, x - cw * 0.4, x + cw * 0.4),
        None,
        c.colour([50, 60, 75], 12),
        grain=6.0,
    )  # windows
    for side in (-1, 1):
        c.paint(ellipse(h, w, y - ch * 0.12, x + side * cw * 0.32, ch * 0.13, cw * 0.09), CAR, [25, 25, 25])
        lx = x + side * cw * 0.42  # lights
        c.paint(
            box(h, w, y - ch * 0.5, y - ch * 0.4, lx - cw * 0.05, lx + cw * 0.05),
            None,
            c.colour([200, 40, 30] if rng.random() < 0.6 else [235, 225, 190], 8),
        )


def _person(c: Canvas, y: float, x: float, tall: float, cls: int, legs: bool = True) -> None:
    rng, h, w = c.rng, c.h, c.w
    pw = tall * 0.26
    c.paint(
        ellipse(h, w, y - tall * 0.92, x, tall * 0.08, tall * 0.065),
        cls,
        c.colour([[225, 190, 160], [160, 110, 80], [90, 60, 45]][rng.integers(3)], 8),
    )  # head
    top = c.colour(CLOTHES[rng.integers(len(CLOTHES))], 12)
    c.paint(box(h, w, y - tall * 0.84, y - tall * 0.48, x - pw / 2, x + pw / 2), cls, top, grain=5.0)
    for side in (-1, 1):  # arms
        inner, outer = x + side * pw * 0.5, x + side * pw * 0.62
        c.paint(box(h, w, y - tall * 0.82, y - tall * 0.52, min(inner, outer), max(inner, outer)), cls, top * 0.9)
    if legs:
        trousers, stride = c.colour(CLOTHES[rng.integers(len(CLOTHES))], 10), rng.uniform(0, 0.25) * tall
        for side in (-1, 1):
            c.paint(
                line(h, w, y - tall * 0.5, x + side * pw * 0.2, y - tall * 0.02, x + side * stride / 2, pw * 0.38),
                cls,
                trousers,
            )


def _pedestrian(c: Canvas, y: float, x: float, t: float) -> None:
    _person(c, y, x, t * c.h * c.rng.uniform(0.45, 0.65), PEDESTRIAN)


def _bicyclist(c: Canvas, y: float, x: float, t: float) -> None:
    rng, h, w = c.rng, c.h, c.w
    tall = t * h * rng.uniform(0.5, 0.65)
    r, gap = tall * 0.2, tall * 0.34
    frame = c.colour([[30, 30, 30], [170, 30, 30], [40, 70, 160], [200, 200, 200]][rng.integers(4)], 8)
    for side in (-1, 1):
        c.paint(ellipse(h, w, y - r, x + side * gap, r, r, inner=0.7), BICYCLIST, [30, 30, 30])
    seat, bars = (y - r * 2.3, x - gap * 0.3), (y - r * 2.5, x + gap * 0.75)
    width = max(1.0, tall * 0.035)
    for (y0, x0), (y1, x1) in [
        ((y - r, x - gap), seat),
        (seat, (y - r, x)),
        ((y - r, x), (y - r * 2.1, x + gap * 0.6)),
        (seat, (y - r * 2.1, x + gap * 0.6)),
        ((y - r * 2.1, x + gap * 0.6), (y - r, x + gap)),
        ((y - r * 2.1, x + gap * 0.6), bars),
    ]:
        c.paint(line(h, w, y0, x0, y1, x1, width), BICYCLIST, frame)
    _person(c, seat[0] + tall * 0.12, seat[1] + gap * 0.15, tall * 0.75, BICYCLIST, legs=False)
    c.paint(
        line(h, w, seat[0], seat[1], y - r * 1.2, x + gap * 0.05, tall * 0.09),
        BICYCLIST,
        c.colour(CLOTHES[rng.integers(len(CLOTHES))], 10),
    )  # leg on the pedal


class SyntheticScenes:
    """``n`` street scenes of ``size`` (H, W): ``ds[i]`` is (image uint8 (H, W, 3), label uint8 (H, W)).

    Labels use the CamVid classes 0..10 and void 11 (thin borders when ``void_borders``).
    Item i is drawn from the generator seeded by (seed, i), so it is the same every time.
    """

    classes = CAMVID
    classes_source = "CamVid's 11 classes, void 11 (synthetic scenes)"
    checks_labels = True  # labels are drawn with classes 0..10 and void 11 only: nothing to check
    num_classes = len(CAMVID)
    ignore_index = VOID_INDEX
    palette = CAMVID.palette

    def __init__(
        self, n: int = 200, size: tuple[int, int] = (96, 128), seed: int = 0, void_borders: bool = True
    ) -> None:
        if n < 1:
            raise ValueError(f"SyntheticScenes: n must be >= 1, got {n}")
        if len(size) != 2 or min(size) < 16:
            raise ValueError(f"SyntheticScenes: size must be (H, W) with both at least 16, got {size}")
        if seed < 0:
            raise ValueError(f"SyntheticScenes: seed must be >= 0, got {seed}")
        self.n, self.size, self.seed, self.void_borders = n, (int(size[0]), int(size[1])), seed, void_borders

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"SyntheticScenes(n={self.n}, size={self.size}, seed={self.seed})"

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        index = range(self.n)[index]  # IndexError out of range; negative indices allowed
        return draw_scene(np.random.default_rng([self.seed, index]), self.size, self.void_borders)

    def image_sizes(self) -> list[tuple[int, int]]:
        """(H, W) of every item's image: all ``size``."""
        return [self.size] * self.n

    def iter_labels(self) -> Iterator[np.ndarray]:
        """Every label map, for class statistics (median_frequency_weights)."""
        for i in range(self.n):
            yield self[i][1]
