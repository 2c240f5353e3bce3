"""Synthetic liver stand-ins in the LiTS (NIfTI, CT in HU) and CHAOS T2-SPIR (DICOM + PNG) release layouts.

One anatomy model for both: a body ellipse, a liver blob on the image-left / upper side whose radii change
smoothly over the slices (no liver at the volume ends) and vary per patient, kidneys, spleen, spine and
(MR) bright fluid (gallbladder, spinal canal). CT: pseudo-HU with noise (air -1000, fat -100, liver +60,
tumour +20 inside the liver labelled 2). MR T2-SPIR: non-negative, fat suppressed, liver hypointense vs spleen,
bright fluid, a smooth multiplicative bias field and Rician-like noise; stored rotated by -90 degrees relative
to the CT convention, so the adapter's ``rotate90: 1`` (paper 7's re-orientation) is exercised.
DLDS: MR (T1 post-contrast-like: liver brighter than muscle, dark fluid) in the adapter's assumed DLDS layout,
non-square in-plane sizes (the release's 336x320 .. 512x512, scaled down), also stored rotated by -90 degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["abdomen_phantom", "generate_chaos_t2spir", "generate_dlds", "generate_lits"]


def abdomen_phantom(rng: np.random.Generator, size: int, n_slices: int) -> dict[str, np.ndarray]:
    """Boolean (H, W, Z) masks of body, liver, tumour, kidneys, spleen, spine, fluid for one patient."""
    yy, xx = np.mgrid[0:size, 0:size] / size  # y down, x right, in [0, 1)
    z = np.linspace(0, 1, n_slices)
    profile = np.clip(np.sin(np.pi * (z - 0.12) / 0.76), 0, None) * (z > 0.12) * (z < 0.88)
    cy, cx = 0.42 + rng.uniform(-0.03, 0.03), 0.36 + rng.uniform(-0.03, 0.03)
    ry, rx = rng.uniform(0.16, 0.22), rng.uniform(0.14, 0.2)
    wobble_a, wobble_p = rng.uniform(0.05, 0.15), rng.uniform(0, 2 * np.pi)
    out = {k: np.zeros((size, size, n_slices), bool) for k in
           ("body", "liver", "tumour", "kidneys", "spleen", "spine", "fluid")}
    body = ((yy - 0.5) / 0.36) ** 2 + ((xx - 0.5) / 0.45) ** 2 <= 1
    theta = np.arctan2(yy - cy, xx - cx)
    ty, tx = cy + rng.uniform(-0.04, 0.04), cx + rng.uniform(-0.04, 0.04)
    for k in range(n_slices):
        s = profile[k]
        out["body"][:, :, k] = body
        out["spine"][:, :, k] = ((yy - 0.74) / 0.06) ** 2 + ((xx - 0.5) / 0.05) ** 2 <= 1
        out["fluid"][:, :, k] = ((yy - 0.74) / 0.02) ** 2 + ((xx - 0.5) / 0.015) ** 2 <= 1
        kz = np.exp(-((z[k] - 0.6) / 0.2) ** 2)
        for kx in (0.33, 0.67):
            out["kidneys"][:, :, k] |= ((yy - 0.65) / (0.07 * kz + 1e-3)) ** 2 + ((xx - kx) / (0.045 * kz + 1e-3)) ** 2 <= 1
        sz = np.exp(-((z[k] - 0.45) / 0.25) ** 2)
        out["spleen"][:, :, k] = ((yy - 0.45) / (0.09 * sz + 1e-3)) ** 2 + ((xx - 0.8) / (0.05 * sz + 1e-3)) ** 2 <= 1
        if s > 0.05:
            r = 1 + wobble_a * np.sin(3 * theta + wobble_p + 2 * z[k])
            liver = ((yy - cy) / (ry * s)) ** 2 + ((xx - cx) / (rx * s)) ** 2 <= r ** 2
            out["liver"][:, :, k] = liver & body
            out["tumour"][:, :, k] = liver & (((yy - ty) / 0.04) ** 2 + ((xx - tx) / 0.04) ** 2 <= s)
            gb = ((yy - (cy + ry * s * 0.8)) / 0.03) ** 2 + ((xx - (cx + rx * s * 0.6)) / 0.03) ** 2 <= 1
            out["fluid"][:, :, k] |= gb & body & ~liver
    for key in ("kidneys", "spleen", "spine"):
        out[key] &= ~out["liver"]
    return out


def generate_lits(root: Path, n_patients: int = 30, size: int = 128, n_slices: int = 24, seed: int = 17) -> list[str]:
    """LiTS layout: ``Training Batch 1/volume-<N>.nii`` (int16 HU) and ``segmentation-<N>.nii`` (0/1/2)."""
    import nibabel as nib

    folder = Path(root) / "Training Batch 1"
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for n in range(n_patients):
        rng = np.random.default_rng([seed, n])
        m = abdomen_phantom(rng, size, n_slices)
        hu = np.full(m["body"].shape, -1000.0)
        hu[m["body"]] = -100 + 40 * rng.random()  # fat / soft tissue
        hu[m["kidneys"]], hu[m["spleen"]], hu[m["spine"]] = 30, 45, 700
        hu[m["liver"]] = 60 + rng.uniform(-8, 8)
        hu[m["tumour"]] = 20
        hu[m["fluid"] & m["body"]] = 5
        hu += rng.normal(0, 15, hu.shape)
        seg = m["liver"].astype(np.uint8) + m["tumour"].astype(np.uint8)
        affine = np.diag([0.8 * 512 / size, 0.8 * 512 / size, 2.5, 1.0])
        nib.save(nib.Nifti1Image(np.clip(hu, -1024, 3071).astype(np.int16), affine), str(folder / f"volume-{n}.nii"))
        nib.save(nib.Nifti1Image(seg, affine), str(folder / f"segmentation-{n}.nii"))
        ids.append(f"volume-{n}")
    return ids


CHAOS_T2_PATIENTS = ["1", "2", "3", "5", "8", "10", "13", "15", "19", "20", "21", "22", "31", "32", "33", "34",
                     "36", "37", "38", "39"]


def _write_dicom(path: Path, pixels: np.ndarray, *, patient: str, series_uid: str, index: int, spacing: float,
                 thickness: float, z: float, description: str = "T2SPIR") -> None:
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[series_uid, str(index)])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID, ds.SeriesDescription = "MR", patient, description
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[series_uid, "study"])
    ds.SeriesInstanceUID = series_uid
    ds.InstanceNumber = index + 1
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = [spacing, spacing]
    ds.SliceThickness, ds.SpacingBetweenSlices = thickness, thickness
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-spacing * pixels.shape[1] / 2, -spacing * pixels.shape[0] / 2, z]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    pydicom.dcmwrite(str(path), ds, enforce_file_format=True)


def generate_chaos_t2spir(root: Path, n_patients: int = 20, sizes: list[int] | tuple[int, ...] = (256, 288, 320),
                          n_slices: int = 26, seed: int = 7) -> list[str]:
    """CHAOS layout: ``Train_Sets/MR/<patient>/T2SPIR/{DICOM_anon/IMG-*.dcm, Ground/IMG-*.png}``.

    Patient ids are the official CHAOS MR training ids (extended with 40, 41, ... beyond 20 patients). Files are
    written in shuffled instance order on disk names, so the adapter must order slices by position.
    """
    from PIL import Image

    ids = (CHAOS_T2_PATIENTS + [str(40 + i) for i in range(max(0, n_patients - 20))])[:n_patients]
    for n, patient in enumerate(ids):
        rng = np.random.default_rng([seed, n])
        size = int(sizes[n % len(sizes)])
        m = abdomen_phantom(rng, size, n_slices)
        t2 = np.zeros(m["body"].shape)
        t2[m["body"]] = 180
        t2[m["liver"] | m["tumour"]] = 110 + rng.uniform(-15, 15)
        t2[m["spleen"]], t2[m["kidneys"]], t2[m["spine"]] = 320, 260, 90
        t2[m["fluid"] & m["body"]] = 900
        yy, xx = np.mgrid[0:size, 0:size] / size
        bias = 1 + 0.25 * np.sin(np.pi * (xx * rng.uniform(0.5, 1.2) + yy * rng.uniform(0.2, 0.8)) + rng.uniform(0, 6))
        t2 = t2 * bias[:, :, None]
        t2 = np.hypot(t2 + rng.normal(0, 18, t2.shape), rng.normal(0, 18, t2.shape))  # Rician-like
        gt = np.zeros(m["body"].shape, np.uint8)
        gt[m["kidneys"] & (xx[:, :, None] < 0.5)], gt[m["kidneys"] & (xx[:, :, None] >= 0.5)] = 126, 189
        gt[m["spleen"]], gt[m["liver"]] = 252, 63
        t2, gt = np.rot90(t2, k=-1, axes=(0, 1)), np.rot90(gt, k=-1, axes=(0, 1))
        folder = Path(root) / "Train_Sets" / "MR" / patient / "T2SPIR"
        (folder / "DICOM_anon").mkdir(parents=True, exist_ok=True)
        (folder / "Ground").mkdir(parents=True, exist_ok=True)
        spacing, thickness = 400.0 / size, 7.7
        uid = f"1.2.826.0.1.3680043.10.1{seed}.{n + 1}"
        order = rng.permutation(n_slices)  # file number != slice position
        for k in range(n_slices):
            stem = f"IMG-{n + 1:04d}-{order[k] + 1:05d}"
            _write_dicom(folder / "DICOM_anon" / f"{stem}.dcm", np.clip(t2[:, :, k], 0, 4095).round(),
                         patient=patient, series_uid=uid, index=k, spacing=spacing, thickness=thickness,
                         z=thickness * k)
            Image.fromarray(np.ascontiguousarray(gt[:, :, k])).save(folder / "Ground" / f"{stem}.png")
    return ids


DLDS_STANDIN_SIZES = ((84, 80), (96, 96), (128, 128))  # the release's 336x320, 384x384, 512x512 divided by 4


def generate_dlds(root: Path, n_patients: int = 12, sizes: list | tuple = DLDS_STANDIN_SIZES, n_slices: int = 20,
                  seed: int = 11) -> list[str]:
    """DLDS layout (as assumed by the adapter): ``<patient>/<series>/images/<n>.dicom`` + ``masks/<series>.nii.gz``.

    Patients ``0001`` ...; every third patient has two series (cases ``<patient>-<series>``, grouped by patient).
    DICOM file names are shuffled against slice position; the mask NIfTI is (columns, rows, slices) with slices
    in increasing position. Returns the case ids.
    """
    import nibabel as nib

    ids = []
    for n in range(n_patients):
        patient = f"{n + 1:04d}"
        for s_index, series in enumerate(["5", "11"][: 2 if n % 3 == 2 else 1]):
            rng = np.random.default_rng([seed, n, s_index])
            h, w = (int(v) for v in sizes[(n + s_index) % len(sizes)])
            side = max(h, w)
            m = abdomen_phantom(rng, side, n_slices)
            y0, x0 = (side - h) // 2, (side - w) // 2
            m = {k: v[y0:y0 + h, x0:x0 + w] for k, v in m.items()}
            t1 = np.zeros(m["body"].shape)
            t1[m["body"]] = 420  # fat (not suppressed)
            t1[m["liver"] | m["tumour"]] = 300 + rng.uniform(-30, 30)
            t1[m["tumour"]] = 200
            t1[m["spleen"]], t1[m["kidneys"]], t1[m["spine"]] = 260, 330, 150
            t1[m["fluid"] & m["body"]] = 60
            yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
            bias = 1 + 0.3 * np.cos(np.pi * (xx * rng.uniform(0.4, 1.0) - yy * rng.uniform(0.2, 0.9)) + rng.uniform(0, 6))
            t1 = t1 * bias[:, :, None]
            t1 = np.hypot(t1 + rng.normal(0, 20, t1.shape), rng.normal(0, 20, t1.shape))
            t1, liver = np.rot90(t1, k=-1, axes=(0, 1)), np.rot90(m["liver"], k=-1, axes=(0, 1))
            folder = Path(root) / patient / series
            (folder / "images").mkdir(parents=True, exist_ok=True)
            (folder / "masks").mkdir(parents=True, exist_ok=True)
            spacing, thickness = 380.0 / max(h, w), 5.0
            uid = f"1.2.826.0.1.3680043.10.2{seed}.{n + 1}.{s_index + 1}"
            order = rng.permutation(n_slices)
            for k in range(n_slices):
                _write_dicom(folder / "images" / f"{order[k]:04d}.dicom", np.clip(t1[:, :, k], 0, 4095).round(),
                             patient=patient, series_uid=uid, index=k, spacing=spacing, thickness=thickness,
                             z=thickness * k, description="AX T1 POST")
            affine = np.diag([spacing, spacing, thickness, 1.0])
            nib.save(nib.Nifti1Image(np.ascontiguousarray(np.swapaxes(liver, 0, 1)).astype(np.uint8), affine),
                     str(folder / "masks" / f"{series}.nii.gz"))
            ids.append(f"{patient}-{series}")
    return ids
