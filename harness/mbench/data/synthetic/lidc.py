"""LIDC-IDRI stand-in: chest-CT phantoms as DICOM series in the TCIA layout, read by the real adapter.

``LIDC-IDRI-xxxx/<study uid>/<series uid>/NNN.dcm`` (CT Image Storage, 16-bit stored values, RescaleIntercept
-1024, slope 1, ImagePositionPatient z per slice, shuffled file names so that z sorting matters), plus one
single-image CR radiograph series per patient, which the adapter must skip. Each slice: air (-1000 HU) around
a body ellipse (soft tissue 0..40 HU with fat rim -100 HU and texture), two lungs (-850 HU) whose size follows
z, branching vessels (+40..+100 HU) inside the lungs, a vertebral body (+700 HU) and noise.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> generate_lidc(root, n_patients=1, n_slices=4, size=32, seed=0)
    ['LIDC-IDRI-0001']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["ct_phantom_slice", "generate_lidc"]


def ct_phantom_slice(size: int, z: float, rng: np.random.Generator, params: dict[str, float]) -> np.ndarray:
    """One axial chest slice in HU (float32), ``z`` in [0, 1] from lung apex to base."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size - 0.5
    img = np.full((size, size), -1000.0)
    body = (x / params["bw"]) ** 2 + (y / params["bh"]) ** 2 <= 1
    fat_rim = body & ((x / (params["bw"] - 0.03)) ** 2 + (y / (params["bh"] - 0.03)) ** 2 > 1)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 40)
    img[body] = 20 + 60 * texture[body]
    img[fat_rim] = -100 + 20 * texture[fat_rim]
    lung_scale = 0.55 + 0.45 * np.sin(np.pi * (0.15 + 0.7 * z))
    for side in (-1, 1):
        cx = side * params["lx"]
        lung = ((x - cx) / (0.13 * lung_scale + 0.02)) ** 2 + ((y + 0.02) / (0.22 * lung_scale + 0.03)) ** 2 <= 1
        img[lung] = -850 + 30 * texture[lung]
        vessels = np.zeros((size, size), bool)
        for _ in range(int(params["n_vessels"])):  # random walks from the hilum outwards
            px, py = cx * 0.4, 0.0
            angle = rng.uniform(0, 2 * np.pi)
            for _ in range(size):
                angle += rng.normal(0, 0.25)
                px, py = px + np.cos(angle) / size, py + np.sin(angle) / size
                i, j = int((py + 0.5) * size), int((px + 0.5) * size)
                if not (0 <= i < size and 0 <= j < size) or not lung[i, j]:
                    break
                vessels[i, j] = True
        vessels = ndimage.binary_dilation(vessels, iterations=max(size // 128, 0)) if size >= 128 else vessels
        img[vessels & lung] = rng.uniform(40, 100)
    spine = (x / 0.07) ** 2 + ((y - 0.28) / 0.06) ** 2 <= 1
    img[spine] = 700 + 80 * texture[spine]
    heart = ((x - 0.04) / 0.12) ** 2 + ((y + 0.02) / 0.1) ** 2 <= 1
    img[heart & ~spine] = 40 + 10 * texture[heart & ~spine]
    img += rng.normal(0, params["noise"], img.shape)
    return np.clip(img, -1024, 3071).astype(np.float32)


def _write_slice(path: Path, hu: np.ndarray, *, patient: str, study: str, series: str, index: int, z: float,
                 modality: str = "CT") -> None:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    sop_class = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.1"
    uid = generate_uid(entropy_srcs=[patient, series, str(index)])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid
    ds.PatientID = ds.PatientName = patient
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.Modality, ds.InstanceNumber = modality, index + 1
    ds.ImagePositionPatient = [-170.0, -170.0, float(z)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.703125, 0.703125]
    ds.SliceThickness = 2.5
    ds.Rows, ds.Columns = hu.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.PixelData = np.round(hu + 1024).clip(0, 65535).astype("<u2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def generate_lidc(root: Path, *, n_patients: int = 16, n_slices: int = 16, size: int = 128,
                  seed: int = 2023) -> list[str]:
    """Write the stand-in under ``root`` and return the patient ids."""
    from pydicom.uid import generate_uid

    root = Path(root)
    rng = np.random.default_rng(seed)
    patients = []
    for p in range(n_patients):
        patient = f"LIDC-IDRI-{p + 1:04d}"
        patients.append(patient)
        study = generate_uid(entropy_srcs=[patient, "study"])
        series = generate_uid(entropy_srcs=[patient, "ct"])
        params = {"bw": rng.uniform(0.36, 0.44), "bh": rng.uniform(0.27, 0.33), "lx": rng.uniform(0.17, 0.21),
                  "n_vessels": rng.integers(3, 7), "noise": rng.uniform(8, 20)}
        order = rng.permutation(n_slices)  # file names do not follow z
        for k in range(n_slices):
            hu = ct_phantom_slice(size, k / max(n_slices - 1, 1), np.random.default_rng([seed, p, k]), params)
            _write_slice(root / patient / study / series / f"{order[k] + 1:03d}.dcm", hu, patient=patient,
                         study=study, series=series, index=k, z=-300.0 + 2.5 * k)
        cr_series = generate_uid(entropy_srcs=[patient, "cr"])
        _write_slice(root / patient / study / cr_series / "001.dcm", np.zeros((16, 16), np.float32), patient=patient,
                     study=study, series=cr_series, index=0, z=0.0, modality="CR")
    return patients
