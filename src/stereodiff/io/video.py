"""Video input (video files, image folders, globs, list files) and mp4 output.

Every reader returns RGB uint8 frames ``[H,W,3]``. Video files are decoded with PyAV (anything FFmpeg decodes:
H.264/HEVC incl. 10-bit, VP9, AV1, ProRes, MJPEG, ...); images with OpenCV (8/16-bit PNG, JPEG, TIFF, BMP, WebP;
grayscale and RGBA become RGB, 16-bit is scaled to 8-bit with rounding, EXIF orientation is applied).

Frame selection, in this order: ``frames`` (``"start:stop:step"`` as in Python slices), then every ``stride``-th
of those, then at most ``max_frames``. ``frame_indices`` always refer to the source's own frame numbers.
"""

from __future__ import annotations

import glob
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from stereodiff.camera import fit_long_side
from stereodiff.errors import InputError
from stereodiff.io.files import atomic_file
from stereodiff.progress import logger, progress
from stereodiff.types import Video

__all__ = [
    "DEFAULT_FPS",
    "IMAGE_SUFFIXES",
    "VideoInfo",
    "image_to_rgb8",
    "iter_frames",
    "iter_indexed_frames",
    "natural_key",
    "parse_frame_range",
    "probe_video",
    "read_image",
    "read_video",
    "resize_max_res",
    "write_video",
]

#: frame rate assumed for image folders, globs and lists when the caller gives none
DEFAULT_FPS = 30.0
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe_video`` learns without decoding the whole source.

    Attributes:
        source: the input as given.
        kind: ``"video"`` (a file PyAV decodes) or ``"images"`` (folder, glob, list file or single image).
        num_frames: frames in the source, or ``None`` when the container does not say.
        height, width: frame size in pixels (of the source, before ``max_res``).
        fps: frames per second (images: the caller's ``fps`` or ``DEFAULT_FPS``).
    """

    source: str
    kind: Literal["video", "images"]
    num_frames: int | None
    height: int
    width: int
    fps: float


@dataclass(frozen=True)
class _Source:
    kind: Literal["video", "images"]
    path: Path | None = None
    images: tuple[Path, ...] = ()


def natural_key(path: str | Path) -> list[str | int]:
    """Sort key putting ``frame2.png`` before ``frame10.png`` (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", str(path))
    return [int(p) if i % 2 else p.lower() for i, p in enumerate(parts)]


def parse_frame_range(frames: str | slice | None) -> slice:
    """Turn ``"start:stop:step"`` (any part may be empty, e.g. ``"10:"`` or ``"::2"``) into a slice.

    Raises:
        InputError: on text that is not one to three integers separated by ``:``, or a step ≤ 0.
    """
    if frames is None:
        return slice(None)
    if isinstance(frames, slice):
        parts = [frames.start, frames.stop, frames.step]
    else:
        text = str(frames).strip()
        pieces = text.split(":")
        if not 1 <= len(pieces) <= 3 or not all(re.fullmatch(r"\s*(-?\d+)?\s*", p) for p in pieces):
            raise InputError(f"bad frame range {text!r}", "use start:stop:step with integers, e.g. 0:100:2, 10: or ::3")
        if len(pieces) == 1:
            raise InputError(
                f"bad frame range {text!r} (a single number is ambiguous)",
                f"use {text}: for frames from {text} on, or :{text} for the first {text} frames",
            )
        parts = [int(p) if p.strip() else None for p in pieces] + [None] * (3 - len(pieces))
    start, stop, step = parts
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if value is not None and not isinstance(value, (int, np.integer)):
            raise InputError(f"bad frame range: {name} must be an integer, got {value!r}", "use start:stop:step")
    if step is not None and step <= 0:
        raise InputError(f"bad frame range: step must be ≥ 1, got {step}", "reverse order is not supported")
    return slice(start, stop, step)


def _selection(
    frames: str | slice | None, stride: int, max_frames: int | None, num_frames: int | None, source: str
) -> range:
    """The source indices to read, as a range (``stop`` may be ``sys.maxsize`` when the length is unknown)."""
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise InputError(f"stride must be an integer ≥ 1, got {stride!r}", "use e.g. --stride 2")
    if max_frames is not None and (not isinstance(max_frames, (int, np.integer)) or max_frames < 1):
        raise InputError(f"max_frames must be an integer ≥ 1, got {max_frames!r}", "use e.g. --max-frames 100")
    sel = parse_frame_range(frames)
    step = (sel.step or 1) * stride
    if num_frames is not None:
        wanted = range(*slice(sel.start, sel.stop, step).indices(num_frames))
    else:
        if any(v is not None and v < 0 for v in (sel.start, sel.stop)):
            raise InputError(
                f"frame range {frames!r} counts from the end, but the length of {source} is unknown",
                "give non-negative start and stop",
            )
        wanted = range(sel.start or 0, sys.maxsize if sel.stop is None else sel.stop, step)
    if max_frames is not None:
        wanted = wanted[:max_frames]
    if len(wanted) == 0:
        total = f"{num_frames}-frame" if num_frames is not None else "the"
        raise InputError(
            f"frame range {frames!r} selects no frames of {total} source {source}",
            f"valid indices are 0..{num_frames - 1}" if num_frames else "check start < stop",
        )
    return wanted


def _resolve(source: str | Path) -> _Source:
    """Classify ``source`` as a video file or an ordered list of image files."""
    text = str(source)
    path = Path(source).expanduser()
    if path.is_dir():
        images = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
        if not images:
            raise InputError(
                f"folder {path} holds no images", f"put frames there as {', '.join(sorted(IMAGE_SUFFIXES))} files"
            )
        return _Source("images", images=tuple(images))
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return _Source("images", images=(path,))
        if suffix in LIST_SUFFIXES:
            return _Source("images", images=tuple(_read_list(path)))
        return _Source("video", path=path)
    if _GLOB_CHARS.search(text):
        matches = [Path(p) for p in glob.glob(str(Path(text).expanduser()), recursive=True)]
        images = sorted((p for p in matches if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=natural_key)
        if not images:
            raise InputError(f"pattern {text!r} matches no image files", "check the pattern (quote it in the shell)")
        return _Source("images", images=tuple(images))
    if path.exists():
        raise InputError(f"input {path} is neither a file nor a folder", "give a video file, folder, glob or list")
    raise InputError(f"input {path} does not exist", "check the path (a video file, image folder, glob or list)")


def _read_list(list_file: Path) -> list[Path]:
    """Image paths from a text file, one per line (``#`` comments, blank lines skipped; relative to the file)."""
    images = []
    for number, line in enumerate(list_file.read_text().splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        image = Path(entry).expanduser()
        if not image.is_absolute():
            image = list_file.parent / image
        if not image.is_file():
            raise InputError(
                f"line {number} of {list_file} names a missing file {image}",
                "paths in a list file are relative to the list file's folder",
            )
        images.append(image)
    if not images:
        raise InputError(f"list file {list_file} names no images", "write one image path per line")
    return images


def image_to_rgb8(image: np.ndarray) -> np.ndarray:
    """Convert an OpenCV image (``[H,W]`` gray, ``[H,W,3]`` BGR or ``[H,W,4]`` BGRA; uint8, uint16 or float in
    [0, 1]) to ``[H,W,3]`` uint8 RGB. 16-bit values are scaled by 255/65535 with rounding."""
    import cv2

    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = np.round(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(f"image has dtype {image.dtype}; supported: uint8, uint16, float in [0, 1]")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image(path: str | Path) -> np.ndarray:
    """Read one image file as ``[H,W,3]`` uint8 RGB (see ``image_to_rgb8``)."""
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise InputError(f"cannot read image {path} ({err.strerror})", "check the file and its permissions") from None
    image = cv2.imdecode(data, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH) if data.size else None
    if image is None:
        raise InputError(f"cannot decode image {path}", "check it is a valid PNG, JPEG or TIFF file")
    return image_to_rgb8(image)


def resize_max_res(frame: np.ndarray, max_res: int | None) -> np.ndarray:
    """Shrink ``frame`` ``[H,W,C]`` so that its long side is ≤ ``max_res`` pixels (aspect kept, INTER_AREA)."""
    if max_res is None:
        return frame
    h, w = frame.shape[:2]
    if max(h, w) <= max_res:
        return frame
    import cv2

    new_h, new_w = fit_long_side(h, w, max_res)
    return cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_AREA)


def _open_container(path: Path):
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as err:
        raise InputError(
            f"cannot read {path} as a video ({err.__class__.__name__})",
            "check the file is a video FFmpeg can decode, or pass an image folder",
        ) from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{path} has no video stream", "pass a video file or an image folder")
    return container


def _video_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else DEFAULT_FPS


def _check_max_res(max_res: int | None) -> None:
    if max_res is not None and (not isinstance(max_res, (int, np.integer)) or max_res < 1):
        raise InputError(f"max_res must be an integer ≥ 1 (pixels), got {max_res!r}", "use e.g. --max-res 512")


def probe_video(source: str | Path, *, fps: float | None = None) -> VideoInfo:
    """Frame count (if the container knows it), size and fps of ``source``, without decoding it all.

    Args:
        source: video file, image folder, glob pattern, list file or single image.
        fps: override of the frame rate (images default to ``DEFAULT_FPS``).
    """
    src = _resolve(source)
    if src.kind == "images":
        h, w = read_image(src.images[0]).shape[:2]
        return VideoInfo(str(source), "images", len(src.images), h, w, float(fps or DEFAULT_FPS))
    with _open_container(src.path) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        return VideoInfo(str(source), "video", stream.frames or None, ctx.height, ctx.width, fps or _video_fps(stream))


def _iter_video(path: Path, wanted: range) -> Iterator[tuple[int, np.ndarray]]:
    import av

    with _open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = -1
        try:
            for frame in container.decode(stream):
                index += 1
                if index >= wanted.stop:
                    break
                if index < wanted.start or (index - wanted.start) % wanted.step:
                    continue
                yield index, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as err:
            raise InputError(
                f"cannot decode frame {index + 1} of {path} ({err.__class__.__name__})",
                "the file may be truncated or corrupt; re-encode it or select earlier frames",
            ) from None
    if index < wanted.start:
        raise InputError(
            f"frame range starts at {wanted.start} but {path} has only {index + 1} frames",
            f"valid indices are 0..{index}",
        )


#: threads that decode an image sequence's frames ahead of the reader (in order: the same frames as one thread)
IMAGE_WORKERS = 2


def _iter_images(images: tuple[Path, ...], wanted: range) -> Iterator[tuple[int, np.ndarray]]:
    from stereodiff.progress import thread_imap

    first_size = None
    for index, frame in zip(wanted, thread_imap(lambda i: read_image(images[i]), wanted, IMAGE_WORKERS)):
        if first_size is None:
            first_size, first = frame.shape[:2], images[index]
        elif frame.shape[:2] != first_size:
            raise InputError(
                f"{images[index]} is {frame.shape[1]}x{frame.shape[0]} but {first.name} is "
                f"{first_size[1]}x{first_size[0]}",
                "all frames of a sequence must have one size",
            )
        yield index, frame


def _open_selection(
    source: str | Path,
    *,
    frames: str | slice | None,
    max_frames: int | None,
    stride: int,
    max_res: int | None,
) -> tuple[Iterator[tuple[int, np.ndarray]], int | None, float | None]:
    """Validate everything up front; return the ``(index, frame)`` stream, its length if known, and the video's
    own fps (``None`` for images)."""
    _check_max_res(max_res)
    src = _resolve(source)
    native_fps = None
    if src.kind == "images":
        wanted = _selection(frames, stride, max_frames, len(src.images), str(source))
        pairs = _iter_images(src.images, wanted)
    else:
        sel = parse_frame_range(frames)
        from_end = any(v is not None and v < 0 for v in (sel.start, sel.stop))
        with _open_container(src.path) as container:
            stream = container.streams.video[0]
            native_fps = _video_fps(stream)
            count = stream.frames or None  # the container's word; may be missing (mkv, webm) or inexact
            if count is None and from_end:
                count = sum(1 for p in container.demux(stream) if p.size) or None  # demux only, no decoding
        # With a known count the range is checked now; decoding still runs to the real end of the stream
        # unless the range counts from the end.
        expected = _selection(frames, stride, max_frames, count, str(source)) if count else None
        wanted = expected if from_end else _selection(frames, stride, max_frames, None, str(source))
        pairs = _iter_video(src.path, wanted)
        total = len(expected) if expected is not None else None
        return ((i, resize_max_res(f, max_res)) for i, f in pairs), total, native_fps
    resized = ((i, resize_max_res(f, max_res)) for i, f in pairs)
    return resized, len(wanted), native_fps


def iter_frames(
    source: str | Path,
    *,
    frames: str | slice | None = None,
    max_frames: int | None = None,
    stride: int = 1,
    max_res: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield the selected frames of ``source`` one at a time as ``[H,W,3]`` uint8 RGB (never the whole video).

    Args:
        source: video file, image folder (natural sort), glob pattern, text file listing image paths, or image.
        frames: ``"start:stop:step"`` or a ``slice`` of source frame indices (negative values count from the end).
        max_frames: keep at most this many frames (after ``frames`` and ``stride``).
        stride: keep every ``stride``-th frame of the range.
        max_res: shrink frames so that the long side is ≤ ``max_res`` pixels (INTER_AREA).

    Raises:
        InputError: missing/unreadable input, empty folder, bad or empty range, mixed frame sizes.
    """
    return (
        frame
        for _, frame in iter_indexed_frames(
            source, frames=frames, max_frames=max_frames, stride=stride, max_res=max_res
        )
    )


def iter_indexed_frames(
    source: str | Path,
    *,
    frames: str | slice | None = None,
    max_frames: int | None = None,
    stride: int = 1,
    max_res: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Like ``iter_frames`` but yields ``(source_index, frame)`` pairs."""
    pairs, _, _ = _open_selection(source, frames=frames, max_frames=max_frames, stride=stride, max_res=max_res)
    return pairs


def read_video(
    source: str | Path,
    *,
    frames: str | slice | None = None,
    max_frames: int | None = None,
    stride: int = 1,
    max_res: int | None = None,
    fps: float | None = None,
) -> Video:
    """Decode the selected frames of ``source`` into memory (see ``iter_frames`` for the arguments).

    Args:
        fps: frame rate to record; default: the video's own, or ``DEFAULT_FPS`` (30) for images.

    Returns:
        ``Video`` with ``frames [T,H,W,3]`` uint8 RGB, ``fps`` of the source and ``frame_indices [T]``.
    """
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be a positive number, got {fps!r}", "use e.g. --fps 30")
    pairs, total, native_fps = _open_selection(
        source, frames=frames, max_frames=max_frames, stride=stride, max_res=max_res
    )
    fps = float(fps or native_fps or DEFAULT_FPS)
    # Fill one preallocated [T,H,W,3] array when the length is known (no second copy from np.stack).
    indices: list[int] = []
    buffer: np.ndarray | None = None
    overflow: list[np.ndarray] = []
    for index, frame in progress(pairs, desc="reading frames", total=total, unit="frame"):
        if buffer is None and total:
            buffer = np.empty((total, *frame.shape), np.uint8)
        if buffer is not None and len(indices) < len(buffer):
            buffer[len(indices)] = frame
        else:  # length unknown, or the container under-reported it
            overflow.append(frame)
        indices.append(index)
    if not indices:
        raise InputError(f"{source} yielded no frames", "check the file and the frame range")
    frames = buffer[: len(indices)] if buffer is not None else np.stack(overflow)
    if buffer is not None and overflow:
        frames = np.concatenate([buffer, np.stack(overflow)])
    logger.debug("read %d frames of %s (fps %.3f)", len(indices), source, fps)
    return Video(frames, fps=fps, source=str(source), frame_indices=np.asarray(indices, np.int64))


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    crf: int = 18,
    total: int | None = None,
) -> Path:
    """Encode ``[H,W,3]`` uint8 RGB frames (any iterable, consumed one at a time) into a video file.

    The default is H.264 in yuv420p, which every player opens; odd sizes are padded by one edge pixel to even
    dimensions (a 4:2:0 requirement). The container follows the suffix (``.mp4``, ``.mkv``, ``.mov``). The file
    appears under its name only once complete.

    Args:
        fps: playback frame rate.
        crf: constant rate factor of x264/x265 (lower = better quality; 18 is visually lossless).
        total: number of frames, for the progress bar only.
    """
    import av

    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    path = Path(path)
    rate = Fraction(float(fps)).limit_denominator(1001)
    count = 0
    with atomic_file(path) as tmp:
        container = av.open(str(tmp), mode="w")
        try:
            stream = None
            for frame in progress(frames, desc=f"writing {path.name}", total=total, unit="frame"):
                frame = np.asarray(frame)
                if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                    raise ValueError(f"video frames must be [H,W,3] uint8, got {frame.shape} {frame.dtype}")
                if stream is None:
                    size = frame.shape[:2]
                    stream = container.add_stream(codec, rate=rate)
                    stream.height, stream.width = (s + s % 2 for s in size)
                    stream.pix_fmt = pix_fmt
                    if codec in ("libx264", "libx265"):
                        stream.codec_context.options = {"crf": str(crf), "preset": "fast"}
                elif frame.shape[:2] != size:
                    raise ValueError(f"frame {count} is {frame.shape[:2]}, the first frame was {size}")
                if size[0] % 2 or size[1] % 2:
                    frame = np.pad(frame, ((0, size[0] % 2), (0, size[1] % 2), (0, 0)), mode="edge")
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                    container.mux(packet)
                count += 1
            if stream is None:
                raise ValueError(f"no frames to write to {path}")
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    logger.info("wrote %s (%d frames, %.3g fps)", path, count, fps)
    return path
