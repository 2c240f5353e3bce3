"""Liver datasets of the CT -> MR transfer papers (3 and 7): LiTS (NIfTI) and CHAOS T2-SPIR (DICOM + PNG).

LiTS: ``<root>/**/volume-<N>.nii[.gz]`` with ``segmentation-<N>.nii[.gz]`` beside it (the release's
"Training Batch 1/2" folders or one flat folder); labels 0 background, 1 liver, 2 tumour. Liver is
``label > 0`` (tumour merged into liver, the usual convention; the papers do not say). Case id ``volume-<N>``.

CHAOS: ``<root>/[CHAOS_Train_Sets/]Train_Sets/MR/<patient>/T2SPIR/DICOM_anon/*.dcm`` with one ground-truth PNG
per slice, same stem, in ``T2SPIR/Ground/``; PNG grey values liver 63 (55-70), right kidney 126, left kidney 189,
spleen 252 (the CHAOS documentation's ranges). Slices are ordered along the slice normal from
ImagePositionPatient / ImageOrientationPatient. Case id = patient folder name.

DLDS (Duke Liver Dataset, Macdonald et al., Zenodo 10.5281/zenodo.6328447), segmentation part. ASSUMED layout
(from the dataset description; not verified against the files -- check it, and adjust the card parameters, before an
official run): ``<root>/[Segmentation/]<patient>/<series>/<image_dir>/<image_glob>`` DICOM slices (one series, any
file names) with the series' liver mask as one NIfTI volume ``<series>/<mask_dir>/<mask_glob>`` (non-zero = liver).
The NIfTI array is assumed to be (columns, rows, slices) as ITK / dcm2niix write it (``mask_transpose: true``)
with slices in the order of increasing position along the slice normal; ``mask_flip_axes`` flips axes of the
(rows, columns, slices) mask if the release turns out to differ. Case id ``<patient>-<series>``; groups = patient.

All adapters return volumes as (H, W, Z) and can resize in-plane (``size``: bilinear images, nearest masks,
spacing rescaled) and rotate in-plane by ``rotate90`` quarter turns (paper 7 rotates MR slices by 90 degrees
to match the LiTS orientation), so slices of every domain stack at one size.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mbench.data.adapter import DatasetAdapter
from mbench.data.slices import resize_image
from mbench.errors import MbenchError

__all__ = ["CHAOS_LIVER_RANGE", "ChaosT2SpirAdapter", "DLDSAdapter", "LiTSAdapter"]

CHAOS_LIVER_RANGE = (55, 70)
_LITS_RE = re.compile(r"^volume-(\d+)\.nii(\.gz)?$")


def _reshape(volume: np.ndarray, size: int | None, rotate90: int, labels: bool) -> np.ndarray:
    """In-plane resize to ``size`` x ``size`` and ``rotate90`` quarter turns of an (H, W, Z) volume."""
    out = volume
    if size is not None and tuple(volume.shape[:2]) != (size, size):
        out = np.stack([resize_image(volume[:, :, z], (size, size), labels=labels)
                        for z in range(volume.shape[2])], axis=-1)
    return np.rot90(out, k=rotate90, axes=(0, 1)).copy() if rotate90 % 4 else out


class _LiverAdapter(DatasetAdapter):
    modality = "image"

    def __init__(self, root: Path, size: int | None = None, rotate90: int = 0) -> None:
        super().__init__(root, size=size, rotate90=rotate90)
        self.size, self.rotate90 = size, int(rotate90)

    def _scaled_spacing(self, spacing: tuple[float, float, float], shape: tuple[int, ...]) -> tuple[float, ...]:
        sy, sx, sz = spacing
        if self.size is not None:
            sy, sx = sy * shape[0] / self.size, sx * shape[1] / self.size
        return (sx, sy, sz) if self.rotate90 % 2 else (sy, sx, sz)


class LiTSAdapter(_LiverAdapter):
    """LiTS training release (131 CT volumes); input modality ``ct`` in HU, reference 1 = liver (incl. tumour)."""

    modality = "ct"

    def __init__(self, root: Path, size: int | None = None, rotate90: int = 0) -> None:
        super().__init__(root, size, rotate90)
        if not self.root.is_dir():
            raise MbenchError(f"LiTS data folder not found: {self.root}",
                              expected="volume-<N>.nii and segmentation-<N>.nii files (any sub-folder)",
                              fix="set data.root to the unpacked LiTS training release")
        self._vols: dict[str, Path] = {}
        for path in sorted(self.root.rglob("volume-*.nii*")):
            m = _LITS_RE.match(path.name)
            if m:
                self._vols[f"volume-{int(m.group(1))}"] = path
        if not self._vols:
            raise MbenchError(f"no LiTS volumes under {self.root}", expected="volume-<N>.nii[.gz]",
                              found=", ".join(sorted(p.name for p in self.root.iterdir())[:8]) or "an empty folder",
                              fix="point data.root at the LiTS training release (Training Batch 1/2)")

    def case_ids(self) -> list[str]:
        return sorted(self._vols, key=lambda c: int(c.split("-")[1]))

    def _paths(self, case_id: str) -> tuple[Path, Path]:
        vol = self.case_entry(self._vols, case_id)
        seg = vol.with_name(vol.name.replace("volume-", "segmentation-"))
        if not seg.exists():
            raise MbenchError(f"missing file {seg}", expected=f"{seg.name} beside {vol.name}",
                              fix="extract the segmentation files of the LiTS release")
        return vol, seg

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        import nibabel as nib

        vol = np.asanyarray(nib.load(str(self._paths(case_id)[0])).dataobj).astype(np.float32)
        return {"ct": _reshape(vol, self.size, self.rotate90, labels=False)}

    def load_reference(self, case_id: str) -> np.ndarray:
        import nibabel as nib

        seg = np.asanyarray(nib.load(str(self._paths(case_id)[1])).dataobj)
        unexpected = set(np.unique(seg).astype(int).tolist()) - {0, 1, 2}
        if unexpected:
            raise MbenchError(f"{case_id}: unexpected labels in segmentation", expected="0, 1, 2",
                              found=str(sorted(unexpected)), fix="check the file is a LiTS segmentation")
        return _reshape((seg > 0).astype(np.uint8), self.size, self.rotate90, labels=True)

    def files(self, case_id: str) -> list[Path]:
        return list(self._paths(case_id))

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import nibabel as nib

        img = nib.load(str(self._paths(case_id)[1]))
        return self._scaled_spacing(tuple(float(z) for z in img.header.get_zooms()[:3]), img.shape)


class ChaosT2SpirAdapter(_LiverAdapter):
    """CHAOS MR training set, T2-SPIR sequence; input modality ``t2spir``, reference 1 = liver."""

    modality = "t2spir"

    def __init__(self, root: Path, size: int | None = None, rotate90: int = 0) -> None:
        super().__init__(root, size, rotate90)
        if not self.root.is_dir():
            raise MbenchError(f"CHAOS data folder not found: {self.root}",
                              expected="Train_Sets/MR/<patient>/T2SPIR/{DICOM_anon,Ground}",
                              fix="set data.root to the unpacked CHAOS_Train_Sets folder")
        mr = next((p for p in (self.root / "Train_Sets" / "MR", self.root / "CHAOS_Train_Sets" / "Train_Sets" / "MR",
                                self.root / "MR", self.root) if p.is_dir() and any(p.glob("*/T2SPIR"))), None)
        if mr is None:
            raise MbenchError(f"no CHAOS T2-SPIR series under {self.root}",
                              expected="Train_Sets/MR/<patient>/T2SPIR/DICOM_anon/*.dcm",
                              found=", ".join(sorted(p.name for p in self.root.iterdir())[:8]) or "an empty folder",
                              fix="point data.root at the CHAOS training release")
        self._dirs = {d.name: d / "T2SPIR" for d in mr.iterdir() if (d / "T2SPIR" / "DICOM_anon").is_dir()}
        self._cache: dict[str, tuple[list[Path], list[Path]]] = {}

    def case_ids(self) -> list[str]:
        return sorted(self._dirs, key=lambda c: (len(c), c))

    def _series(self, case_id: str) -> tuple[list[Path], list[Path]]:
        """DICOM and PNG paths of a case, ordered along the slice normal."""
        if case_id in self._cache:
            return self._cache[case_id]
        folder = self.case_entry(self._dirs, case_id)
        import pydicom

        keyed = []
        for dcm in sorted((folder / "DICOM_anon").glob("*.dcm")):
            ds = pydicom.dcmread(str(dcm), stop_before_pixels=True)
            row, col = np.asarray(ds.ImageOrientationPatient[:3], float), np.asarray(ds.ImageOrientationPatient[3:], float)
            keyed.append((float(np.dot(np.cross(row, col), np.asarray(ds.ImagePositionPatient, float))),
                          int(ds.InstanceNumber), dcm))
        keyed.sort(key=lambda t: (t[0], t[1]))
        dicoms = [k[2] for k in keyed]
        pngs = [folder / "Ground" / (d.stem + ".png") for d in dicoms]
        missing = [p.name for p in pngs if not p.exists()]
        if not dicoms or missing:
            raise MbenchError(f"CHAOS case {case_id}: DICOM slices without ground truth",
                              expected="one Ground/<stem>.png per DICOM_anon/<stem>.dcm",
                              found=f"{len(dicoms)} DICOM files, missing {missing[:3]}",
                              fix="re-extract the case from the CHAOS release")
        self._cache[case_id] = (dicoms, pngs)
        return dicoms, pngs

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        import pydicom

        slices = []
        for path in self._series(case_id)[0]:
            ds = pydicom.dcmread(str(path))
            arr = ds.pixel_array.astype(np.float32)
            slices.append(arr * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0)))
        return {"t2spir": _reshape(np.stack(slices, axis=-1), self.size, self.rotate90, labels=False)}

    def load_reference(self, case_id: str) -> np.ndarray:
        from PIL import Image

        lo, hi = CHAOS_LIVER_RANGE
        masks = [np.asarray(Image.open(p).convert("L")) for p in self._series(case_id)[1]]
        liver = np.stack([((m >= lo) & (m <= hi)).astype(np.uint8) for m in masks], axis=-1)
        return _reshape(liver, self.size, self.rotate90, labels=True)

    def files(self, case_id: str) -> list[Path]:
        dicoms, pngs = self._series(case_id)
        return [*dicoms, *pngs]

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import pydicom

        ds = pydicom.dcmread(str(self._series(case_id)[0][0]), stop_before_pixels=True)
        sz = float(getattr(ds, "SpacingBetweenSlices", None) or ds.SliceThickness)
        return self._scaled_spacing((float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]), sz), (ds.Rows, ds.Columns))


def _position_order(paths: list[Path]) -> list[Path]:
    """DICOM files ordered along the slice normal (ImagePositionPatient / ImageOrientationPatient)."""
    import pydicom

    keyed = []
    for path in paths:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        row, col = np.asarray(ds.ImageOrientationPatient[:3], float), np.asarray(ds.ImageOrientationPatient[3:], float)
        keyed.append((float(np.dot(np.cross(row, col), np.asarray(ds.ImagePositionPatient, float))),
                      int(getattr(ds, "InstanceNumber", 0) or 0), str(path), path))
    keyed.sort(key=lambda t: t[:3])
    return [k[3] for k in keyed]


class DLDSAdapter(_LiverAdapter):
    """Duke Liver Dataset MRI (segmentation part); input modality ``mr``, reference 1 = liver.

    Layout (an assumption, see the module docstring): ``<root>/[Segmentation/]<patient>/<series>/`` with
    ``image_dir`` (DICOM slices matching ``image_glob``) and ``mask_dir`` (one NIfTI matching ``mask_glob``).
    Only series that hold both are cases. Images are not rescaled beyond RescaleSlope / RescaleIntercept.
    """

    modality = "mr"

    def __init__(self, root: Path, size: int | None = None, rotate90: int = 0, image_dir: str = "images",
                 image_glob: str = "*", mask_dir: str = "masks", mask_glob: str = "*.nii*",
                 mask_transpose: bool = True, mask_flip_axes: list[int] | tuple[int, ...] = ()) -> None:
        super().__init__(root, size, rotate90)
        self.params.update(image_dir=image_dir, image_glob=image_glob, mask_dir=mask_dir, mask_glob=mask_glob,
                           mask_transpose=mask_transpose, mask_flip_axes=list(mask_flip_axes))
        self.image_dir, self.image_glob, self.mask_dir, self.mask_glob = image_dir, image_glob, mask_dir, mask_glob
        self.mask_transpose, self.mask_flip_axes = bool(mask_transpose), tuple(int(a) for a in mask_flip_axes)
        expected = f"<patient>/<series>/{image_dir}/{image_glob} (DICOM) and <patient>/<series>/{mask_dir}/{mask_glob}"
        if not self.root.is_dir():
            raise MbenchError(f"DLDS data folder not found: {self.root}", expected=expected,
                              fix="set the domain's data.root to the unpacked DLDS segmentation folder")
        base = self.root / "Segmentation" if (self.root / "Segmentation").is_dir() else self.root
        self._series_dirs: dict[str, Path] = {}
        self._patient: dict[str, str] = {}
        for patient in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for series in sorted(s for s in patient.iterdir() if s.is_dir()):
                if (series / image_dir).is_dir() and (series / mask_dir).is_dir():
                    case = f"{patient.name}-{series.name}"
                    self._series_dirs[case], self._patient[case] = series, patient.name
        if not self._series_dirs:
            raise MbenchError(f"no DLDS series with masks under {base}", expected=expected,
                              found=", ".join(sorted(p.name for p in base.iterdir())[:8]) or "an empty folder",
                              fix="point data.root at the DLDS segmentation release, or set image_dir / mask_dir "
                                  "/ image_glob / mask_glob in the domain's data.params to the release's names")
        self._cache: dict[str, tuple[list[Path], Path]] = {}

    def case_ids(self) -> list[str]:
        return sorted(self._series_dirs)

    def groups(self) -> dict[str, str]:
        return dict(self._patient)

    def _files(self, case_id: str) -> tuple[list[Path], Path]:
        if case_id in self._cache:
            return self._cache[case_id]
        folder = self.case_entry(self._series_dirs, case_id)
        dicoms = [p for p in (folder / self.image_dir).glob(self.image_glob) if p.is_file() and not p.name.startswith(".")]
        masks = sorted((folder / self.mask_dir).glob(self.mask_glob))
        if not dicoms or len(masks) != 1:
            raise MbenchError(f"DLDS case {case_id}: expected DICOM slices and exactly one mask file",
                              expected=f"{self.image_dir}/{self.image_glob} and one {self.mask_dir}/{self.mask_glob}",
                              found=f"{len(dicoms)} image files, masks {[m.name for m in masks][:3]}",
                              fix="check the release layout and set image_glob / mask_glob in data.params")
        self._cache[case_id] = (_position_order(dicoms), masks[0])
        return self._cache[case_id]

    def load_input(self, case_id: str) -> dict[str, np.ndarray]:
        import pydicom

        slices = []
        for path in self._files(case_id)[0]:
            ds = pydicom.dcmread(str(path))
            arr = ds.pixel_array.astype(np.float32)
            slices.append(arr * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0)))
        return {"mr": _reshape(np.stack(slices, axis=-1), self.size, self.rotate90, labels=False)}

    def load_reference(self, case_id: str) -> np.ndarray:
        import nibabel as nib

        dicoms, mask_path = self._files(case_id)
        mask = np.asanyarray(nib.load(str(mask_path)).dataobj)
        mask = mask.reshape(mask.shape[:3]) if mask.ndim > 3 else mask
        if self.mask_transpose:
            mask = np.swapaxes(mask, 0, 1)
        for axis in self.mask_flip_axes:
            mask = np.flip(mask, axis=axis)
        import pydicom

        ds = pydicom.dcmread(str(dicoms[0]), stop_before_pixels=True)
        if mask.shape != (int(ds.Rows), int(ds.Columns), len(dicoms)):
            raise MbenchError(f"DLDS case {case_id}: mask shape does not match the DICOM series",
                              expected=f"(rows, columns, slices) = ({ds.Rows}, {ds.Columns}, {len(dicoms)})",
                              found=f"{mask.shape} after mask_transpose={self.mask_transpose}",
                              fix="check the release layout; set mask_transpose / mask_flip_axes in data.params")
        return _reshape((mask > 0).astype(np.uint8), self.size, self.rotate90, labels=True)

    def files(self, case_id: str) -> list[Path]:
        dicoms, mask = self._files(case_id)
        return [*dicoms, mask]

    def spacing(self, case_id: str) -> tuple[float, ...]:
        import pydicom

        ds = pydicom.dcmread(str(self._files(case_id)[0][0]), stop_before_pixels=True)
        sz = float(getattr(ds, "SpacingBetweenSlices", None) or ds.SliceThickness)
        return self._scaled_spacing((float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]), sz), (ds.Rows, ds.Columns))
