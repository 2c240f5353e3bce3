"""A small reader and writer for MetaImage (``.mhd`` header + ``.raw`` data), the format of CAMUS.

SimpleITK reads the same files; it is imported (lazily) only when asked for with ``reader="simpleitk"``
or for header features this reader does not cover (a list of data files, or a header size of -1).

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.mhd"
    >>> write_mhd(path, np.arange(6, dtype=np.uint8).reshape(2, 3), spacing=(0.3, 0.15))
    >>> array, spacing = read_mhd(path)
    >>> array.tolist(), spacing
    ([[0, 1, 2], [3, 4, 5]], (0.3, 0.15))
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from mbench.errors import MbenchError

__all__ = ["read_mhd", "write_mhd", "read_header"]

_TYPES = {"MET_UCHAR": np.uint8, "MET_CHAR": np.int8, "MET_USHORT": np.uint16, "MET_SHORT": np.int16,
          "MET_UINT": np.uint32, "MET_INT": np.int32, "MET_ULONG_LONG": np.uint64, "MET_LONG_LONG": np.int64,
          "MET_FLOAT": np.float32, "MET_DOUBLE": np.float64}


def read_header(path: Path) -> dict[str, str]:
    """The ``key = value`` fields of an ``.mhd`` header."""
    fields = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _simpleitk(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    try:
        import SimpleITK as sitk
    except ImportError as exc:
        raise MbenchError(f"{path.name} needs SimpleITK, which is not installed", fix="pip install SimpleITK") from exc
    image = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(image)
    spacing = tuple(float(s) for s in image.GetSpacing())[::-1]
    while array.ndim > 2 and array.shape[0] == 1:
        array, spacing = array[0], spacing[1:]
    return array, spacing


def read_mhd(path: str | Path, reader: str = "auto") -> tuple[np.ndarray, tuple[float, ...]]:
    """Read a MetaImage file: the array in numpy order ((rows, cols) for 2D; leading singleton axes dropped)
    and the spacing in the same order (mm).

    Args:
        path: the ``.mhd`` header (its ``ElementDataFile`` names the data file beside it, or ``LOCAL``).
        reader: ``auto`` (this module, SimpleITK for what it does not cover) or ``simpleitk``.
    """
    path = Path(path)
    if not path.is_file():
        raise MbenchError(f"MetaImage header not found: {path}", expected="an existing .mhd file",
                          fix="point data.root at the dataset folder")
    if reader == "simpleitk":
        return _simpleitk(path)
    h = read_header(path)
    data_file = h.get("ElementDataFile", "")
    if data_file.startswith("LIST") or "%" in data_file or h.get("HeaderSize") == "-1":
        return _simpleitk(path)
    try:
        dims = [int(v) for v in h["DimSize"].split()]
        dtype = np.dtype(_TYPES[h["ElementType"]])
    except KeyError as exc:
        raise MbenchError(f"{path.name}: unsupported or missing MetaImage field {exc}",
                          expected="DimSize and ElementType in " + ", ".join(_TYPES),
                          found=", ".join(f"{k}={v}" for k, v in h.items()),
                          fix="read it with reader='simpleitk'") from None
    channels = int(h.get("ElementNumberOfChannels", "1"))
    spacing = [float(v) for v in h.get("ElementSpacing", h.get("ElementSize", " ".join(["1"] * len(dims)))).split()]
    if data_file == "LOCAL":
        raw = path.read_bytes()
        if "HeaderSize" in h:
            body = raw[int(h["HeaderSize"]):]
        else:  # the data follows the ElementDataFile line, which ends the header
            body = raw[raw.rfind(b"ElementDataFile"):].split(b"\n", 1)[1]
    else:
        data_path = path.parent / data_file
        if not data_path.is_file():
            raise MbenchError(f"{path.name}: its data file {data_file} is missing", expected=str(data_path),
                              fix="copy the .raw file beside its .mhd header")
        body = data_path.read_bytes()[int(h.get("HeaderSize", "0")):]
    if h.get("CompressedData", "False").lower() == "true":
        body = zlib.decompress(body)
    big = h.get("BinaryDataByteOrderMSB", h.get("ElementByteOrderMSB", "False")).lower() == "true"
    dtype = dtype.newbyteorder(">" if big else "<")
    count = int(np.prod(dims)) * channels
    if len(body) < count * dtype.itemsize:
        raise MbenchError(f"{path.name}: the data is shorter than its header says",
                          expected=f"{count * dtype.itemsize} bytes", found=f"{len(body)} bytes",
                          fix="re-extract the file from the release")
    shape = dims[::-1] + ([channels] if channels > 1 else [])
    array = np.frombuffer(body, dtype=dtype, count=count).reshape(shape).astype(dtype.newbyteorder("="))
    spacing = spacing[::-1]
    while array.ndim > 2 + (channels > 1) and array.shape[0] == 1:
        array, spacing = array[0], spacing[1:]
    return array, tuple(spacing)


def write_mhd(path: str | Path, array: np.ndarray, spacing: tuple[float, ...] | None = None) -> None:
    """Write ``array`` (numpy order) as ``<path>`` (``.mhd``) and ``<path stem>.raw``, uncompressed, little-endian."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    names = {np.dtype(v): k for k, v in _TYPES.items()}
    if array.dtype.newbyteorder("=") not in names:
        raise MbenchError(f"cannot write dtype {array.dtype} as MetaImage", expected=", ".join(map(str, names)))
    spacing = tuple(spacing) if spacing is not None else (1.0,) * array.ndim
    header = [("ObjectType", "Image"), ("NDims", str(array.ndim)), ("BinaryData", "True"),
              ("BinaryDataByteOrderMSB", "False"), ("CompressedData", "False"),
              ("ElementSpacing", " ".join(f"{s:g}" for s in spacing[::-1])),
              ("DimSize", " ".join(str(d) for d in array.shape[::-1])),
              ("ElementType", names[array.dtype.newbyteorder("=")]), ("ElementDataFile", path.with_suffix(".raw").name)]
    path.write_text("".join(f"{k} = {v}\n" for k, v in header))
    path.with_suffix(".raw").write_bytes(array.astype(array.dtype.newbyteorder("<")).tobytes())
