"""Save and load depth videos: ``.npz`` (float32), 16-bit PNG sequences and 32-bit float EXR sequences.

Formats (``docs/conventions.md`` explains depth vs disparity and units):

- ``.npz``: ``depth`` and/or ``disparity`` float32 ``[T,H,W]``, ``frame_indices`` int64 ``[T]``, ``fps``, and
  ``metadata`` (a JSON string: kind, unit, source, ...). Stored uncompressed, so the loader maps the arrays from
  disk instead of reading them into memory. The loader also reads other tools' npz files: an array under
  ``depth``/``disparity``, or a file with a single array (e.g. ``arr_0``), shaped ``[T,H,W]``, ``[T,1,H,W]``,
  ``[T,H,W,1]`` or ``[H,W]``.
- PNG16 folder: ``000000.png``, ``000001.png``, ... uint16, with ONE linear range ``[lo, hi]`` for the whole video
  stored in ``depth_meta.json``: code 0 = invalid, codes 1..65535 map linearly onto ``[lo, hi]`` (error ≤
  ``(hi - lo) / 131068``). A folder of uint16/uint8 PNGs without the sidecar loads as raw code values.
- EXR folder: ``000000.exr``, ... one float32 channel (``Z`` for depth, ``disparity`` for disparity), ZIP
  compression, exact; same ``depth_meta.json`` sidecar. Needs the ``OpenEXR`` package (``pip install
  'stereodiff[exr]'``), because OpenCV's pip wheels are built without EXR support.

Every write is atomic: files go to a temporary name, folders to a temporary folder, renamed when complete.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from stereodiff.errors import InputError
from stereodiff.io.files import atomic_dir, atomic_file
from stereodiff.io.video import natural_key
from stereodiff.progress import logger, progress
from stereodiff.types import DepthVideo

__all__ = [
    "SIDECAR",
    "decode_png16",
    "encode_png16",
    "load_depth_video",
    "save_depth_video",
    "save_exr",
    "save_npz",
    "save_png16",
    "value_range",
]

Quantity = Literal["depth", "disparity"]
SIDECAR = "depth_meta.json"
_FRAME_NAME = re.compile(r"\d{6}\.(png|exr)")
_MAX_CODE = 65535
_EXR_CHANNELS = ("Z", "depth", "disparity", "Y", "R")


# ----------------------------------------------------------------------------------------------- helpers


def _pick(video: DepthVideo, quantity: Quantity | None) -> tuple[Quantity, np.ndarray]:
    """The array a single-quantity format stores: ``quantity`` if given, else depth when present."""
    if quantity is None:
        quantity = "depth" if video.depth is not None else "disparity"
    if quantity not in ("depth", "disparity"):
        raise ValueError(f"quantity must be 'depth' or 'disparity', got {quantity!r}")
    values = video.depth if quantity == "depth" else video.disparity
    if values is None:
        raise ValueError(f"the depth video has no {quantity} to save")
    return quantity, values


def _valid(values: np.ndarray, quantity: Quantity) -> np.ndarray:
    """Usable pixels: finite, and for depth also > 0 (depth 0 marks unknown pixels)."""
    valid = np.isfinite(values)
    if quantity == "depth":
        valid &= values > 0
    return valid


def value_range(values: np.ndarray, quantity: Quantity = "depth") -> tuple[float, float]:
    """``(min, max)`` of the valid values of ``values`` ``[T,H,W]``, read one frame at a time (memmap-friendly).

    Returns ``(0.0, 0.0)`` when no pixel is valid.
    """
    lo, hi = np.inf, -np.inf
    for t in range(values.shape[0]):
        frame = np.asarray(values[t], dtype=np.float64)
        ok = frame[_valid(frame, quantity)]
        if ok.size:
            lo, hi = min(lo, float(ok.min())), max(hi, float(ok.max()))
    return (0.0, 0.0) if lo > hi else (lo, hi)


def _metadata(video: DepthVideo) -> dict[str, Any]:
    from stereodiff import __version__

    return {
        "kind": video.kind,
        "unit": video.unit,
        "source": video.source,
        "fps": float(video.fps),
        "frame_indices": [int(i) for i in video.frame_indices],
        "stereodiff_version": __version__,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


def _replaceable(suffix: str):
    return lambda p: p.name == SIDECAR or (p.suffix == suffix and _FRAME_NAME.fullmatch(p.name) is not None)


def _as_thw(array: np.ndarray, name: str, path: Path) -> np.ndarray:
    """Bring another tool's array to ``[T,H,W]`` float32 (squeezing a singleton channel axis)."""
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    if array.ndim != 3 or array.dtype.kind not in "fiu":
        raise InputError(
            f"array {name!r} in {path} has shape {array.shape} and dtype {array.dtype}",
            "expected numbers shaped [T,H,W], [T,1,H,W], [T,H,W,1] or [H,W]",
        )
    return array if array.dtype == np.float32 else array.astype(np.float32)


def _frames_of(folder: Path, suffix: str) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() == suffix and p.is_file()), key=natural_key)


# ----------------------------------------------------------------------------------------------- npz


def save_npz(path: str | Path, video: DepthVideo) -> Path:
    """Write ``video`` (depth and/or disparity, float32) with its metadata to an uncompressed ``.npz``."""
    path = Path(path)
    if path.suffix != ".npz":
        raise InputError(f"npz output {path} must end in .npz", "rename the output")
    arrays: dict[str, Any] = {
        "frame_indices": np.asarray(video.frame_indices, np.int64),
        "fps": np.float64(video.fps),
        "metadata": np.array(json.dumps(_metadata(video))),
    }
    for name in ("depth", "disparity"):
        values = getattr(video, name)
        if values is not None:
            arrays[name] = values if values.dtype == np.float32 else values.astype(np.float32)
    with atomic_file(path) as tmp:
        _write_npz(tmp, arrays)
    logger.info("wrote %s", path)
    return path


def _write_npz(path: Path, arrays: dict[str, Any]) -> None:
    """``np.savez`` (uncompressed, loadable by ``np.load``) written frame by frame: a memmapped ``[T,H,W]`` video is
    streamed and its pages released as it goes, so memory does not grow with T."""
    import zipfile

    from stereodiff.io.pages import release

    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            value = np.asarray(value) if not isinstance(value, np.ndarray) else value
            header = np.lib.format.header_data_from_array_1_0(value)
            header["fortran_order"] = False
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as handle:
                np.lib.format.write_array_header_2_0(handle, header)
                rows = value.reshape(1, *value.shape) if value.ndim == 0 else value
                for t in range(rows.shape[0] if value.ndim else 1):
                    handle.write(np.ascontiguousarray(rows[t]).tobytes())
                    release(value)


def _npz_memmap(path: Path, name: str) -> np.memmap | None:
    """Map an uncompressed ``name.npy`` member of the zip at ``path`` straight from disk (``None`` if compressed)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = struct.unpack("<4s5H3L2H", f.read(30))  # zip local file header
        if header[0] != b"PK\x03\x04":
            return None
        f.seek(info.header_offset + 30 + header[-2] + header[-1])
        version = np.lib.format.read_magic(f)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = reader(f)
        offset = f.tell()
    if dtype.hasobject or not shape:
        return None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")


def _load_npz(path: Path, mmap: bool) -> DepthVideo:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise InputError(f"cannot read {path} as an npz file ({err})", "check the file") from None
    with archive:
        keys = list(archive.files)
        meta = json.loads(str(archive["metadata"])) if "metadata" in keys else {}
        names = [k for k in ("depth", "disparity") if k in keys]
        if not names:
            arrays = [k for k in keys if k not in ("metadata", "frame_indices", "fps")]
            if len(arrays) != 1:
                raise InputError(
                    f"{path} holds arrays {keys} and none is named 'depth' or 'disparity'",
                    "save the depth under the key 'depth' (or 'disparity'), or as the file's only array",
                )
            logger.warning("%s: treating the only array %r as depth", path.name, arrays[0])
        loaded = {}
        for key in names or arrays:
            array = _npz_memmap(path, key) if mmap else None
            loaded[key] = _as_thw(archive[key] if array is None else array, key, path)
        fps = float(archive["fps"]) if "fps" in keys else meta.get("fps", 30.0)
        indices = archive["frame_indices"] if "frame_indices" in keys else meta.get("frame_indices")
    if names:
        depth, disparity = loaded.get("depth"), loaded.get("disparity")
    else:
        depth, disparity = loaded[arrays[0]], None
    return _depth_video(path, depth, disparity, fps, indices, meta)


def _depth_video(path, depth, disparity, fps, indices, meta: dict[str, Any]) -> DepthVideo:
    try:
        return DepthVideo(
            depth=depth,
            disparity=disparity,
            fps=float(fps),
            source=meta.get("source", ""),
            frame_indices=None if indices is None else np.asarray(indices, np.int64),
            kind=meta.get("kind", "relative"),
            unit=meta.get("unit", "relative"),
            info={"loaded_from": str(path)},
        )
    except ValueError as err:
        raise InputError(f"{path} holds an inconsistent depth video: {err}", "re-export it") from None


# ----------------------------------------------------------------------------------------------- png16


def encode_png16(values: np.ndarray, lo: float, hi: float, quantity: Quantity = "depth") -> np.ndarray:
    """Map float values ``[...]`` linearly onto uint16 codes 1..65535 over ``[lo, hi]``; invalid pixels → 0."""
    values = np.asarray(values, np.float64)
    valid = _valid(values, quantity)
    span = hi - lo
    scaled = (values - lo) / span * (_MAX_CODE - 1) if span > 0 else np.zeros_like(values)
    codes = 1 + np.rint(np.clip(np.where(valid, scaled, 0.0), 0, _MAX_CODE - 1))
    return np.where(valid, codes, 0).astype(np.uint16)


def decode_png16(codes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Inverse of ``encode_png16``: uint16 codes → float32 values (code 0 → 0)."""
    codes = np.asarray(codes)
    values = lo + (codes.astype(np.float64) - 1) * ((hi - lo) / (_MAX_CODE - 1))
    return np.where(codes > 0, values, 0.0).astype(np.float32)


def save_png16(folder: str | Path, video: DepthVideo, *, quantity: Quantity | None = None) -> Path:
    """Write one quantity of ``video`` as a 16-bit PNG sequence with one value range for the whole video.

    The range (min and max of the valid values over ALL frames) and the metadata go to ``folder/depth_meta.json``;
    ``load_depth_video(folder)`` recovers the floats within ``(hi - lo) / 131068``.
    """
    import cv2

    quantity, values = _pick(video, quantity)
    lo, hi = value_range(values, quantity)
    folder = Path(folder)
    with atomic_dir(folder, replaceable=_replaceable(".png")) as tmp:
        for t in progress(range(values.shape[0]), desc="writing png16", total=values.shape[0], unit="frame"):
            ok, data = cv2.imencode(".png", encode_png16(values[t], lo, hi, quantity))
            if not ok:
                raise RuntimeError(f"OpenCV failed to encode frame {t} as PNG")
            (tmp / f"{t:06d}.png").write_bytes(data.tobytes())
        sidecar = {"encoding": "png16-linear", "quantity": quantity, "range": [lo, hi], "invalid_code": 0}
        _write_json(tmp / SIDECAR, {**sidecar, **_metadata(video)})
    logger.info("wrote %s (%d PNG frames, %s range [%.6g, %.6g])", folder, values.shape[0], quantity, lo, hi)
    return folder


def _read_png(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"cannot decode {path} as a PNG", "check the file")
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16):
        raise InputError(
            f"{path} is not a single-channel 8/16-bit PNG (shape {image.shape}, {image.dtype})",
            "a depth PNG sequence holds one grey channel per frame",
        )
    return image


def _stack_frames(files: list[Path], read, desc: str) -> np.ndarray:
    """Read every frame file into a ``[T,H,W]`` float32 array; all frames must share one size."""
    first = read(files[0])
    out = np.empty((len(files), *first.shape), np.float32)
    for t, path in enumerate(progress(files, desc=desc, total=len(files), unit="frame")):
        frame = first if t == 0 else read(path)
        if frame.shape != first.shape:
            raise InputError(
                f"{path} is {frame.shape[1]}x{frame.shape[0]} but {files[0].name} is {first.shape[1]}x{first.shape[0]}",
                "all frames of a sequence must have one size",
            )
        out[t] = frame
    return out


def _load_png16(folder: Path, meta: dict[str, Any]) -> DepthVideo:
    files = _frames_of(folder, ".png")
    if not files:
        raise InputError(f"folder {folder} holds no PNG frames", "pass a folder written by save_png16")
    if meta:
        lo, hi = meta["range"]
        codes = _stack_frames(files, _read_png, "reading png16")
        values = decode_png16(codes.astype(np.uint16), lo, hi)
        quantity = meta.get("quantity", "depth")
    else:
        logger.warning("%s has no %s: loading raw PNG codes as depth values", folder, SIDECAR)
        values, quantity = _stack_frames(files, _read_png, "reading png"), "depth"
        meta = {"unit": "raw PNG code"}
    return _sequence_video(folder, values, quantity, meta)


def _sequence_video(folder: Path, values: np.ndarray, quantity: str, meta: dict[str, Any]) -> DepthVideo:
    indices = meta.get("frame_indices")
    if indices is not None and len(indices) != len(values):
        raise InputError(
            f"{folder} holds {len(values)} frames but {SIDECAR} lists {len(indices)}",
            "the folder is incomplete or mixed with other files",
        )
    depth, disparity = (values, None) if quantity == "depth" else (None, values)
    return _depth_video(folder, depth, disparity, meta.get("fps", 30.0), indices, meta)


# ----------------------------------------------------------------------------------------------- exr


def _openexr():
    try:
        import OpenEXR
    except ImportError:
        raise InputError(
            "EXR files need the OpenEXR package (OpenCV's pip wheels have no EXR codec)",
            "install it with: pip install 'stereodiff[exr]'  (or: pip install OpenEXR)",
        ) from None
    return OpenEXR


def save_exr(folder: str | Path, video: DepthVideo, *, quantity: Quantity | None = None) -> Path:
    """Write one quantity of ``video`` as a 32-bit float EXR sequence (exact) plus ``depth_meta.json``."""
    exr = _openexr()
    quantity, values = _pick(video, quantity)
    channel = "Z" if quantity == "depth" else "disparity"
    header = {"compression": exr.ZIP_COMPRESSION, "type": exr.scanlineimage}
    folder = Path(folder)
    with atomic_dir(folder, replaceable=_replaceable(".exr")) as tmp:
        for t in progress(range(values.shape[0]), desc="writing exr", total=values.shape[0], unit="frame"):
            frame = np.ascontiguousarray(values[t], dtype=np.float32)
            with exr.File(header, {channel: frame}) as image:
                image.write(str(tmp / f"{t:06d}.exr"))
        _write_json(tmp / SIDECAR, {"encoding": "exr-float32", "quantity": quantity, **_metadata(video)})
    logger.info("wrote %s (%d EXR frames)", folder, values.shape[0])
    return folder


def _read_exr(path: Path) -> np.ndarray:
    exr = _openexr()
    try:
        with exr.File(str(path), separate_channels=True) as image:
            channels = {name: ch.pixels for name, ch in image.channels().items()}
    except Exception as err:  # OpenEXR raises plain RuntimeError/Exception on bad files
        raise InputError(f"cannot read {path} as an EXR image ({err})", "check the file") from None
    name = next((c for c in _EXR_CHANNELS if c in channels), None)
    if name is None and len(channels) == 1:
        name = next(iter(channels))
    if name is None:
        raise InputError(
            f"{path} has channels {sorted(channels)}; none is a depth channel",
            f"store depth in one of the channels {', '.join(_EXR_CHANNELS)}",
        )
    return np.asarray(channels[name], np.float32)


def _load_exr(folder: Path, meta: dict[str, Any]) -> DepthVideo:
    files = _frames_of(folder, ".exr")
    values = _stack_frames(files, _read_exr, "reading exr")
    return _sequence_video(folder, values, meta.get("quantity", "depth"), meta)


# ----------------------------------------------------------------------------------------------- dispatch


def save_depth_video(
    path: str | Path,
    video: DepthVideo,
    *,
    format: Literal["npz", "png16", "exr"] | None = None,
    quantity: Quantity | None = None,
) -> Path:
    """Save ``video`` as ``npz`` (a file; both quantities) or ``png16``/``exr`` (a folder; one quantity).

    ``format`` defaults to ``npz`` for a ``.npz`` path; folders need it given.
    """
    path = Path(path)
    if format is None:
        if path.suffix != ".npz":
            raise InputError(f"cannot tell the depth format of {path}", "name it *.npz or pass format='png16'/'exr'")
        format = "npz"
    if format == "npz":
        return save_npz(path, video)
    if format == "png16":
        return save_png16(path, video, quantity=quantity)
    if format == "exr":
        return save_exr(path, video, quantity=quantity)
    raise ValueError(f"format must be 'npz', 'png16' or 'exr', got {format!r}")


def load_depth_video(path: str | Path, *, mmap: bool = True) -> DepthVideo:
    """Load a depth video from an ``.npz`` file, a PNG16 folder or an EXR folder (ours or another tool's npz).

    Args:
        mmap: map uncompressed npz arrays from disk instead of reading them (bounded memory for long videos).

    Returns:
        ``DepthVideo`` with ``depth`` and/or ``disparity`` ``[T,H,W]`` float32.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"depth input {path} does not exist", "pass an .npz file or a PNG16/EXR folder")
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise InputError(f"{path} is not an .npz file", "pass an .npz file or a PNG16/EXR folder")
        return _load_npz(path, mmap)
    meta: dict[str, Any] = {}
    if (path / SIDECAR).is_file():
        try:
            meta = json.loads((path / SIDECAR).read_text())
        except json.JSONDecodeError as err:
            raise InputError(f"{path / SIDECAR} is not valid JSON ({err})", "re-export the depth folder") from None
    encoding = meta.get("encoding")
    if encoding == "exr-float32" or (encoding is None and _frames_of(path, ".exr")):
        return _load_exr(path, meta)
    if encoding == "png16-linear" or (encoding is None and _frames_of(path, ".png")):
        return _load_png16(path, meta)
    raise InputError(f"folder {path} holds no depth frames (.png or .exr)", "pass a PNG16/EXR folder or an .npz")
