"""B-spline free-form deformation optimising Mattes mutual information (SimpleITK): the classical multimodal
baseline beside paper 13's distance-transform metrics.

The fixed and moving images are put on a unit-spacing, zero-origin grid, so ITK's physical points are voxel indices
(ITK orders axes x, y[, z] = the array's last axis first). A B-spline transform with ``mesh_size`` control intervals
per axis is optimised by L-BFGS-B on Mattes MI (``bins`` histogram bins, ``sampling`` fraction of voxels, fixed
seed) over ``levels`` shrink levels; the transform is then sampled into a displacement field on the fixed grid,
which pulls back exactly as the harness's :func:`~mbench.metrics.functional.warp`.

Example:
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> fixed = ndimage.gaussian_filter(np.pad(np.ones((16, 16)), 8), 2)
    >>> moving = np.roll(fixed, 2, axis=1)
    >>> u = SitkBSplineRegistrar(mesh_size=4, iterations=50).register(moving, fixed)
    >>> round(float(np.median(u[1][fixed > 0.5])))
    2
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mbench.errors import MbenchError

__all__ = ["SitkBSplineRegistrar"]


def _sitk():
    try:
        import SimpleITK as sitk
    except ImportError:
        raise MbenchError("the B-spline MI baseline needs SimpleITK", expected="SimpleITK importable",
                          found="not installed", fix="pip install SimpleITK (or mbench[models])") from None
    return sitk


class SitkBSplineRegistrar:
    """A :class:`~mbench.models.capabilities.Registrar` (no training): B-spline FFD on Mattes MI.

    Args:
        mesh_size: B-spline control-grid intervals per axis.
        bins: Mattes MI histogram bins.
        iterations: L-BFGS-B iterations per level.
        levels: multi-resolution levels (shrink factors 2^(levels-1) .. 1).
        sampling: fraction of voxels sampled for the metric (fixed seed, so results repeat).
        seed: the sampling seed.
        threads: ITK threads of the registration (more threads are faster but not bit-repeatable).
    """

    def __init__(self, mesh_size: int = 8, bins: int = 32, iterations: int = 100, levels: int = 3,
                 sampling: float = 0.5, seed: int = 0, threads: int = 1) -> None:
        self.mesh_size, self.bins, self.iterations = int(mesh_size), int(bins), int(iterations)
        self.levels, self.sampling, self.seed, self.threads = int(levels), float(sampling), int(seed), int(threads)

    def fit(self, *args, **kwargs) -> dict:
        """Nothing to train."""
        return {"n_parameters": 0}

    def register(self, moving: np.ndarray, fixed: np.ndarray, *, moving_labels: np.ndarray | None = None,
                 fixed_labels: np.ndarray | None = None, spacing: Sequence[float] | None = None) -> np.ndarray:
        """The displacement field (ndim, *spatial) in voxels warping ``moving`` onto ``fixed``."""
        sitk = _sitk()
        fix = sitk.GetImageFromArray(np.asarray(fixed, dtype=np.float32))
        mov = sitk.GetImageFromArray(np.asarray(moving, dtype=np.float32))
        ndim = fix.GetDimension()
        transform = sitk.BSplineTransformInitializer(fix, [self.mesh_size] * ndim)
        reg = sitk.ImageRegistrationMethod()
        reg.SetNumberOfThreads(self.threads)  # one thread (default): repeatable metric sampling
        reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=self.bins)
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentage(self.sampling, self.seed + 1)  # SimpleITK's seed 0 means the wall clock
        reg.SetInterpolator(sitk.sitkLinear)
        reg.SetOptimizerAsLBFGSB(gradientConvergenceTolerance=1e-5, numberOfIterations=self.iterations)
        shrink = [2 ** k for k in reversed(range(self.levels))]
        reg.SetShrinkFactorsPerLevel(shrink)
        reg.SetSmoothingSigmasPerLevel([s / 2 for s in shrink])
        reg.SetInitialTransform(transform, inPlace=True)
        reg.Execute(fix, mov)
        to_field = sitk.TransformToDisplacementFieldFilter()
        to_field.SetReferenceImage(fix)
        to_field.SetOutputPixelType(sitk.sitkVectorFloat64)
        field = sitk.GetArrayFromImage(to_field.Execute(transform))  # (*spatial, ndim) in x, y[, z] order
        return np.moveaxis(field[..., ::-1], -1, 0).astype(np.float32)
