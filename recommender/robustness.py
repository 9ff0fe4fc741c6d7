"""Photos shoppers actually take: held-out queries re-shot badly, and what each costs.

Each perturbation turns a catalogue-style studio photo into something closer
to a phone photo: cropped, tilted, small on a busy background, too dark or
too flat, heavily compressed, mirrored.  :func:`robustness_evaluation` embeds
the held-out queries under each (the network runs: these are new photos) and
measures articleType and baseColour P@5 against the same index as the clean
queries, with 95% bootstrap intervals
(:func:`recommender.evaluate.robustness_evaluation`).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from .images import border_colour, foreground_mask

CLEAN = "clean photo"
# The goal: no perturbation costs more than this much articleType P@5 (points of 100).
MAX_DROP_POINTS = 5.0


def _crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    side = np.sqrt(0.7)  # a window holding 70% of the frame, anywhere in it
    width, height = image.size
    w, h = int(round(width * side)), int(round(height * side))
    left, top = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return image.crop((left, top, left + w, top + h))


def _rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    angle = float(rng.uniform(10, 15) * rng.choice([-1, 1]))
    return image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=border_colour(image))


def _clutter(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A busy background: overlapping shapes in random colours over a noisy texture."""
    noise = rng.integers(90, 200, size=(size[1], size[0], 3), dtype=np.uint8)
    canvas = Image.fromarray(noise)
    draw = ImageDraw.Draw(canvas)
    for _ in range(30):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        x1, y1 = x0 + int(rng.integers(5, size[0] // 2)), y0 + int(rng.integers(5, size[1] // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)((x0, y0, x1, y1), fill=colour)
    return canvas


def _small_on(background: Callable[[tuple[int, int], np.random.Generator], Image.Image]):
    def perturb(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        width, height = image.size
        canvas = background((width * 2, height * 2), rng)
        mask = Image.fromarray(foreground_mask(image).astype(np.uint8) * 255)
        left, top = int(rng.integers(0, width + 1)), int(rng.integers(0, height + 1))
        canvas.paste(image, (left, top), mask)
        return canvas
    return perturb


def _plain(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    return Image.new("RGB", size, tuple(int(c) for c in rng.integers(200, 256, 3)))


def _jpeg(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=20)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


PERTURBATIONS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "crop 70% of the frame": _crop,
    "rotated 10-15 degrees": _rotate,
    "small, off-centre, plain background": _small_on(_plain),
    "small on a cluttered background": _small_on(_clutter),
    "darker (brightness x0.6)": lambda image, rng: ImageEnhance.Brightness(image).enhance(0.6),
    "brighter (brightness x1.4)": lambda image, rng: ImageEnhance.Brightness(image).enhance(1.4),
    "flat (contrast x0.5)": lambda image, rng: ImageEnhance.Contrast(image).enhance(0.5),
    "JPEG quality 20": _jpeg,
    "mirrored": lambda image, rng: ImageOps.mirror(image),
}


def robustness_report(table: dict) -> str:
    """The robustness table as text, with the goal."""
    lines = [f"{'photo':<38}{'type P@5':>10}{'95% CI':>15}{'colour P@5':>12}{'drop':>7}"]
    for name, row in table.items():
        low, high = row["articleType_interval"]
        lines.append(f"{name:<38}{row['articleType']:>10.3f}{f'{low:.3f}-{high:.3f}':>15}"
                     f"{row['baseColour']:>12.3f}{row['drop_points']:>7.1f}")
    worst = max(row["drop_points"] for row in table.values())
    lines.append(f"largest drop {worst:.1f} points (goal: at most {MAX_DROP_POINTS:g})")
    return "\n".join(lines)
