"""Real-ESRGAN-style second-order random degradation of a [0, 1] grey image (numpy, scipy and Pillow; no torch).

Blur (isotropic / anisotropic Gaussian or sinc kernel), random resize (bicubic / bilinear / area), Gaussian or
Poisson noise and JPEG, twice, then the final resize to 1/scale with a sinc filter and JPEG in random order,
quantised to 8 bits as Real-ESRGAN does (``round(x * 255) / 255``). Every random draw comes from the generator
passed in, so one seed gives one output: :func:`degrade_case` seeds it from the chain's seed and the case id,
which makes the frozen evaluation inputs independent of the order cases are processed in.

Resizing uses Pillow on 32-bit float images (``BICUBIC``, ``BILINEAR``, ``BOX`` for area), which antialiases
when shrinking; Real-ESRGAN's torch ``interpolate`` does not. The JPEG step encodes 8-bit grey with Pillow's
libjpeg at the drawn quality.

Example:
    >>> import numpy as np
    >>> from mbench.config.image_schema import DegradationSpec
    >>> hr = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    >>> lr = degrade(hr, DegradationSpec(), np.random.default_rng(1))
    >>> lr.shape, lr.dtype, bool((degrade(hr, DegradationSpec(), np.random.default_rng(1)) == lr).all())
    ((16, 16), dtype('float32'), True)
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from scipy import ndimage, special

from mbench.config.image_schema import BlurSpec, DegradationOrderSpec, DegradationSpec

__all__ = ["case_seed", "degrade", "degrade_case", "gaussian_kernel", "jpeg", "quantise", "resize", "sinc_kernel"]

_PIL_MODES = {"bicubic": "BICUBIC", "bilinear": "BILINEAR", "area": "BOX", "nearest": "NEAREST"}


def _choice(rng: np.random.Generator, probs: dict[str, float]) -> str:
    keys = list(probs)
    return keys[int(rng.choice(len(keys), p=np.asarray([probs[k] for k in keys], float)))]


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """A normalised (anisotropic, rotated by ``theta``) Gaussian kernel of odd ``size``.

    Example:
        >>> k = gaussian_kernel(7, 1.0, 1.0, 0.0)
        >>> k.shape, round(float(k.sum()), 6), bool(k[3, 3] == k.max())
        ((7, 7), 1.0, True)
    """
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * x + s * y, -s * x + c * y
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return k / k.sum()


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """Circular low-pass (2D sinc, ``cutoff`` in radians per pixel) kernel of odd ``size``, normalised to sum 1.

    Example:
        >>> k = sinc_kernel(11, np.pi / 3)
        >>> k.shape, round(float(k.sum()), 6)
        ((11, 11), 1.0)
    """
    half = size // 2
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cutoff * special.j1(cutoff * r) / (2 * np.pi * r)
    k[half, half] = cutoff ** 2 / (4 * np.pi)
    return k / k.sum()


def resize(image: np.ndarray, shape: tuple[int, int], mode: str) -> np.ndarray:
    """Resize a float image to ``shape`` (rows, cols) with Pillow's ``mode`` filter (bicubic, bilinear, area, nearest).

    Example:
        >>> resize(np.ones((8, 8), np.float32), (4, 2), "area").shape
        (4, 2)
    """
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F")
    out = img.resize((int(shape[1]), int(shape[0])), getattr(Image.Resampling, _PIL_MODES[mode]))
    return np.asarray(out, dtype=np.float32)


def quantise(image: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to 8 bits (as float32 in [0, 1])."""
    return (np.clip(np.round(np.clip(image, 0, 1) * 255.0), 0, 255) / 255.0).astype(np.float32)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode a [0, 1] grey image as 8-bit JPEG at ``quality`` and decode it.

    Example:
        >>> jpeg(np.full((16, 16), 0.5, np.float32), 90).shape
        (16, 16)
    """
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((quantise(image) * 255).astype(np.uint8), mode="L").save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf), dtype=np.float32) / 255.0


def _kernel(spec: BlurSpec, rng: np.random.Generator) -> np.ndarray:
    size = int(rng.choice(spec.kernel_sizes))
    if rng.random() < spec.sinc_prob:
        cutoff = rng.uniform(np.pi / 3, np.pi) if size < 13 else rng.uniform(np.pi / 5, np.pi)
        return sinc_kernel(size, cutoff)
    if rng.random() < spec.iso_prob:
        sigma = rng.uniform(*spec.sigma)
        return gaussian_kernel(size, sigma, sigma, 0.0)
    sx, sy = rng.uniform(*spec.sigma), rng.uniform(*spec.sigma)
    return gaussian_kernel(size, sx, sy, rng.uniform(-np.pi, np.pi))


def _noise(image: np.ndarray, order: DegradationOrderSpec, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < order.gaussian_noise_prob:
        return image + rng.normal(0.0, rng.uniform(*order.gaussian_sigma) / 255.0, image.shape)
    scale = rng.uniform(*order.poisson_scale)
    img = np.clip(np.round(np.clip(image, 0, 1) * 255.0), 0, 255) / 255.0
    vals = 2 ** np.ceil(np.log2(max(len(np.unique(img)), 1)))
    return image + (rng.poisson(img * vals) / vals - img) * scale


def _order(image: np.ndarray, order: DegradationOrderSpec, rng: np.random.Generator,
           floor: tuple[int, int]) -> np.ndarray:
    if rng.random() < order.blur_prob:
        image = ndimage.convolve(image, _kernel(order.blur, rng), mode="reflect")
    updown = _choice(rng, order.resize_prob)
    factor = (rng.uniform(1, order.resize_range[1]) if updown == "up"
              else rng.uniform(order.resize_range[0], 1) if updown == "down" else 1.0)
    mode = _choice(rng, order.resize_modes)
    shape = tuple(max(int(s * factor), f) for s, f in zip(image.shape, floor))
    if shape != image.shape:
        image = resize(image, shape, mode)  # type: ignore[arg-type]
    image = np.clip(_noise(image, order, rng), 0, 1)
    if rng.random() < order.jpeg_prob:
        image = jpeg(image, int(rng.uniform(*order.jpeg_quality)))
    return image.astype(np.float32)


def degrade(image: np.ndarray, spec: DegradationSpec, rng: np.random.Generator) -> np.ndarray:
    """Degrade a [0, 1] grey image (H, W) to (H / scale, W / scale), 8-bit quantised float32; see the module doc."""
    image = np.asarray(image, dtype=np.float32)
    h, w = image.shape
    out_shape = (h // spec.scale, w // spec.scale)
    floor = (max(out_shape[0] // 2, 4), max(out_shape[1] // 2, 4))
    image = _order(image, spec.first, rng, floor)
    if rng.random() < spec.second_order_prob:
        image = _order(image, spec.second, rng, floor)
    sinc_size = int(rng.choice(spec.second.blur.kernel_sizes))
    sinc_cutoff = rng.uniform(np.pi / 3, np.pi)

    def resize_and_sinc(x: np.ndarray) -> np.ndarray:
        x = resize(x, out_shape, _choice(rng, spec.final_resize_modes))
        if rng.random() < spec.final_sinc_prob:
            x = ndimage.convolve(x, sinc_kernel(sinc_size, sinc_cutoff), mode="reflect")
        return x

    def compress(x: np.ndarray) -> np.ndarray:
        return jpeg(x, int(rng.uniform(*spec.jpeg_quality))) if rng.random() < spec.final_jpeg_prob else x

    if rng.random() < 0.5:
        image = compress(resize_and_sinc(image))
    else:
        image = resize_and_sinc(compress(image))
    return quantise(image)


def case_seed(seed: int, case_id: str) -> int:
    """A 32-bit seed from the chain's seed and a case id (independent of processing order).

    Example:
        >>> case_seed(0, "a") == case_seed(0, "a"), case_seed(0, "a") == case_seed(0, "b")
        (True, False)
    """
    digest = hashlib.sha256(f"{seed}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def degrade_case(image: np.ndarray, spec: DegradationSpec, case_id: str) -> np.ndarray:
    """The frozen degradation of one evaluation case: :func:`degrade` seeded by ``(spec.seed, case_id)``."""
    return degrade(image, spec, np.random.default_rng(case_seed(spec.seed, case_id)))
