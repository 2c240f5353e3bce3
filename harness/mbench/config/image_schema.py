"""Card blocks of image-to-image tasks: the ``image_to_image`` protocol and its seeded degradation chain.

A paired image-to-image task maps input images (MRI channels, a low-resolution CT slice) to a target image
in the target's own units (SPR x 1000, [0, 1]-scaled HU). Where the inputs are synthesised from the
targets (blind super-resolution), the card declares the random degradation chain; evaluation inputs
(val and test) are degraded once with the card's seed and frozen to files whose sha256 manifest the card
pins (:mod:`mbench.data.frozen`).

Example:
    >>> d = DegradationSpec()
    >>> d.scale, d.first.blur.iso_prob, d.final_resize_modes["bicubic"]
    (4, 0.7, 0.6)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BlurSpec", "DegradationOrderSpec", "DegradationSpec", "FrozenPins", "ImageToImageSpec"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _probabilities(v: dict[str, float]) -> dict[str, float]:
    if any(p < 0 for p in v.values()) or abs(sum(v.values()) - 1.0) > 1e-9:
        raise ValueError(f"probabilities must be non-negative and sum to 1, got {v}")
    return v


def _interval(v: tuple[float, float]) -> tuple[float, float]:
    if v[0] > v[1]:
        raise ValueError(f"interval must be (low, high) with low <= high, got {list(v)}")
    return v


class BlurSpec(_Strict):
    """One blur step: a Gaussian kernel, isotropic with ``iso_prob`` (else anisotropic, rotated), or a sinc
    (circular low-pass) kernel with ``sinc_prob``; the kernel size is drawn from ``kernel_sizes``."""

    iso_prob: float = Field(0.7, ge=0, le=1)
    kernel_sizes: list[int] = Field(default_factory=lambda: list(range(7, 22, 2)), min_length=1)
    sigma: tuple[float, float] = (0.2, 3.0)
    sinc_prob: float = Field(0.1, ge=0, le=1)

    @field_validator("sigma")
    @classmethod
    def _sigma(cls, v: tuple[float, float]) -> tuple[float, float]:
        return _interval(v)

    @field_validator("kernel_sizes")
    @classmethod
    def _odd(cls, v: list[int]) -> list[int]:
        if any(k < 3 or k % 2 == 0 for k in v):
            raise ValueError(f"kernel sizes must be odd and >= 3, got {v}")
        return v


class DegradationOrderSpec(_Strict):
    """One order of the Real-ESRGAN chain: blur (with ``blur_prob``), random resize (up / down / keep), noise
    (Gaussian with ``gaussian_noise_prob``, else Poisson), JPEG (with ``jpeg_prob``). Noise sigmas are in 1/255."""

    blur_prob: float = Field(1.0, ge=0, le=1)
    blur: BlurSpec = BlurSpec()
    resize_prob: dict[str, float] = Field(default_factory=lambda: {"up": 0.2, "down": 0.7, "keep": 0.1})
    resize_range: tuple[float, float] = (0.15, 1.5)
    resize_modes: dict[str, float] = Field(default_factory=lambda: {"bicubic": 0.6, "bilinear": 0.2, "area": 0.2})
    gaussian_noise_prob: float = Field(0.5, ge=0, le=1)
    gaussian_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    jpeg_prob: float = Field(0.3, ge=0, le=1)
    jpeg_quality: tuple[float, float] = (30.0, 95.0)

    @field_validator("resize_range", "gaussian_sigma", "poisson_scale", "jpeg_quality")
    @classmethod
    def _intervals(cls, v: tuple[float, float]) -> tuple[float, float]:
        return _interval(v)

    @field_validator("resize_prob")
    @classmethod
    def _keys(cls, v: dict[str, float]) -> dict[str, float]:
        _probabilities(v)
        if set(v) != {"up", "down", "keep"}:
            raise ValueError(f"resize_prob needs keys up, down, keep, got {sorted(v)}")
        return v

    @field_validator("resize_modes")
    @classmethod
    def _modes(cls, v: dict[str, float]) -> dict[str, float]:
        _probabilities(v)
        if not set(v) <= {"bicubic", "bilinear", "area"}:
            raise ValueError(f"resize modes are bicubic, bilinear, area; got {sorted(v)}")
        return v


def _second_order() -> DegradationOrderSpec:
    return DegradationOrderSpec(blur_prob=0.8, blur=BlurSpec(sigma=(0.2, 1.5)),
                                resize_prob={"up": 0.3, "down": 0.4, "keep": 0.3}, resize_range=(0.3, 1.2),
                                gaussian_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5))


class FrozenPins(_Strict):
    """sha256 of the frozen evaluation inputs' manifest, per data source (None: not pinned yet; the run records
    the manifest hash it produced and every later run checks the files against that manifest)."""

    standin: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    real: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class DegradationSpec(_Strict):
    """Second-order random degradation (Real-ESRGAN, Wang et al. 2021), applied to a [0, 1] target image.

    First order, then (with ``second_order_prob``) a second order, then the final step in random order:
    [resize to 1/scale (mode from ``final_resize_modes``) + sinc with ``final_sinc_prob``] and JPEG with
    ``final_jpeg_prob``; the result is quantised to 8 bits. Training inputs are degraded on the fly from each
    job's seed; val and test inputs once, with ``seed``, and frozen (pinned by ``frozen``).
    """

    scale: int = Field(4, ge=1)
    seed: int = 0
    first: DegradationOrderSpec = DegradationOrderSpec()
    second_order_prob: float = Field(1.0, ge=0, le=1)
    second: DegradationOrderSpec = Field(default_factory=_second_order)
    final_resize_modes: dict[str, float] = Field(default_factory=lambda: {"bicubic": 0.6, "bilinear": 0.2,
                                                                          "area": 0.2})
    final_sinc_prob: float = Field(0.3, ge=0, le=1)
    final_jpeg_prob: float = Field(0.3, ge=0, le=1)
    jpeg_quality: tuple[float, float] = (30.0, 95.0)
    frozen: FrozenPins = FrozenPins()
    notes: str = ""

    @field_validator("final_resize_modes")
    @classmethod
    def _final_modes(cls, v: dict[str, float]) -> dict[str, float]:
        return DegradationOrderSpec._modes(v)


class ImageToImageSpec(_Strict):
    """Paired image-to-image holdout: train on ``train`` (checkpoint chosen on ``val``), predict each ``test``
    case in the target's units and score it with the card's metrics (parameters from ``metrics.params``).

    ``inputs``: the input channels, in order (modality names of the adapter), one task variant per choice.
    ``target_window``: clip the target to (low, high) and scale it to [0, 1] (e.g. HU [-1024, 1024]); None keeps
    the target's units. ``masks``: evaluation regions the adapter provides (e.g. ``body``); each adds rows with
    that region beside the whole-image rows. ``target_mask``: a mask of the adapter outside which the target is
    set to 0 (paper 19 removes the couch from the SPR maps with the body mask). ``degradation``: inputs synthesised
    from the targets (blind SR).
    """

    name: Literal["image_to_image"]
    seeds: list[int] = Field(min_length=1)
    inputs: list[str] = Field(min_length=1)
    target_unit: str
    target_window: tuple[float, float] | None = None
    target_mask: str | None = None
    masks: list[str] = []
    degradation: DegradationSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ImageToImageSpec:
        if len(set(self.inputs)) != len(self.inputs):
            raise ValueError(f"inputs must be distinct, got {self.inputs}")
        if self.target_window is not None:
            _interval(self.target_window)
        if self.degradation is not None and self.inputs != ["degraded"]:
            raise ValueError("with a degradation chain the only input is 'degraded' (synthesised from the target)")
        return self
