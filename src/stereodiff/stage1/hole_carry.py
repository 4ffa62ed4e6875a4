"""The walking person's hole carry after ``near_holes`` (``stage1.movers_hole_carry_after``), in blocks.

Inside the movers step the carry (:func:`~stereodiff.stage1.movers.tracking.carry_hole_depth`) can fill holes that
``near_holes`` then reads as the near object's, and a crossing object's hole can join the person's and end her track
(issue #20, docs/geometric.md "The walking person's hole carry after `near_holes`"); after ``near_holes`` it carries
the movers' own given regions only, over the holes ``near_holes`` left.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.io.pages import delete_arrays, new_array, release, trim_heap
from stereodiff.robust import streamed_median
from stereodiff.types import SceneGeometry

__all__ = ["HOLE_CARRY_BLOCK", "hole_carry_after"]

logger = logging.getLogger(__name__)

#: :func:`hole_carry_after`: frames given per block (each read with ``frames`` frames of context on both sides)
HOLE_CARRY_BLOCK = 64


def hole_carry_after(
    scene: SceneGeometry,
    near_given: np.ndarray | None,
    frames: int,
    min_area: float,
    out_dir: Path | None = None,
    images: Any = None,
    colour: float = 0.0,
) -> SceneGeometry:
    """``scene`` with its movers' given regions carried as shapes over the holes of the frames at most ``frames``
    away (:func:`~stereodiff.stage1.movers.tracking.carry_hole_depth`) after ``near_holes``
    (``stage1.movers_hole_carry_after``): the sources are ``movers_given`` less ``near_given`` ``[T,h,w]`` bool
    (``near_holes``' regions, ``None`` = none), the carried pixels take the sources' median confidence
    (:func:`~stereodiff.robust.streamed_median`) and join ``movers_given`` and ``valid``.

    Memory does not grow with ``T``: blocks of :data:`HOLE_CARRY_BLOCK` frames are given from their frames and
    ``frames`` frames on each side (a track reaches no farther from its source and passes only through the frames
    between), the same depth as the whole video at once; the new depth, confidence, validity and ``movers_given``
    are memmaps in ``out_dir`` when given (``carry_*.npy``). With ``colour`` > 0 and ``images`` ``[T,H,W,3]`` uint8
    the carried pixels that look static are taken back (:func:`_colour_guard`). Unchanged when ``frames`` ≤ 0,
    without ``movers_given`` or when nothing is carried (the new arrays are then deleted)."""
    from stereodiff.stage1.movers.tracking import carry_hole_depth

    if frames <= 0 or scene.movers_given is None:
        return scene
    t, h, w = scene.depth.shape
    names = ("carry_depth", "carry_confidence", "carry_valid", "carry_movers_given")
    outputs = tuple(
        new_array(out_dir, name, (t, h, w), dtype) for name, dtype in zip(names, (np.float32, np.float32, bool, bool))
    )
    median, carried = None, 0
    for start in range(0, t, HOLE_CARRY_BLOCK):
        stop = min(t, start + HOLE_CARRY_BLOCK)
        first, last = max(0, start - frames), min(t, stop + frames)
        depth = np.array(scene.depth[first:last], np.float32)
        handled = _hole_carry_sources(scene, near_given, first, last)
        given = carry_hole_depth(depth, handled, frames, min_area, (start - first, stop - first))
        core = slice(start - first, stop - first)
        if given[core].any():
            median = _hole_carry_confidence(scene, near_given) if median is None else median
        _write_carried(scene, outputs, start, depth[core], given[core], median)
        carried += int(np.count_nonzero(given[core]))
        del depth, handled, given
        release(*outputs, *_hole_carry_inputs(scene, near_given))
        trim_heap()  # the block's freed arrays leave the resident set too
    if not carried:
        delete_arrays(out_dir, *names)
        return scene
    if colour > 0 and images is not None:
        _colour_guard(scene, outputs, near_given, images, colour)
    return dataclasses.replace(scene, **dict(zip(("depth", "confidence", "valid", "movers_given"), outputs)))


def _write_carried(
    scene: SceneGeometry,
    outputs: tuple[np.ndarray, ...],
    start: int,
    depth: np.ndarray,
    given: np.ndarray,
    median: float | None,
) -> None:
    """Writes a block of :func:`hole_carry_after`: its carried ``depth`` ``[n,h,w]`` float32 and ``given``
    ``[n,h,w]`` bool pixels (confidence ``median``) into ``outputs`` (depth, confidence, validity, ``movers_given``
    ``[T,h,w]``) at the frames ``[start, start + n)``, with the scene's confidence, validity and ``movers_given``."""
    depth_out, confidence_out, valid_out, given_out = outputs
    stop = start + len(depth)
    confidence = np.array(scene.confidence[start:stop], np.float32)
    if median is not None:
        confidence[given] = median
    depth_out[start:stop], confidence_out[start:stop] = depth, confidence
    valid_out[start:stop] = given if scene.valid is None else np.asarray(scene.valid[start:stop], bool) | given
    given_out[start:stop] = np.asarray(scene.movers_given[start:stop], bool) | given


def _colour_guard(
    scene: SceneGeometry, outputs: tuple[np.ndarray, ...], near_given: np.ndarray | None, images: Any, border: float
) -> None:
    """Takes back (in place) the carried pixels of :func:`hole_carry_after`'s ``outputs`` (depth, confidence,
    validity, ``movers_given`` ``[T,h,w]``) whose colour the static scene matches better than the person's motion
    (``stage1.movers_hole_carry_colour``): the static strips beside her that a carried shape wider than she is
    lands on (close-object 1437: 24 % of the carried pixels, given 0.68× their depth; docs/geometric.md "A colour
    guard for the walking person's hole carry").

    Her region in a frame is its sources and carried pixels (``movers_given`` after the carry, less ``near_given``);
    :func:`~stereodiff.stage1.near_holes.mover_part` tests its pixels within ``border`` shift lengths of its outline
    against her regions in the neighbouring frames (``images`` ``[T,H,W,3]`` uint8; the static match from
    ``scene``'s depth before the carry). The taken-back pixels get ``scene``'s depth, confidence and validity back
    and leave ``movers_given``. Each frame is tested against its neighbours' regions before their own guard."""
    from stereodiff.stage1.near_holes import mover_part

    depth_out, confidence_out, valid_out, given_out = outputs
    t = scene.num_frames

    def person(k: int) -> list[np.ndarray]:
        region = np.array(given_out[k], bool)
        if near_given is not None:
            region &= ~np.asarray(near_given[k], bool)
        return [region]

    plan = {k: [(0, 0.0)] for k in range(t)}  # every frame's one region: her pixels (may be none)
    pending: dict[int, np.ndarray] = {}
    taken = 0
    for k in range(t):
        carried = np.asarray(given_out[k], bool) & ~np.asarray(scene.movers_given[k], bool)
        if carried.any():
            pending[k] = carried & ~mover_part(scene, images, plan, person, k, person(k)[0], border)
            taken += int(np.count_nonzero(pending[k]))
        if k - 1 in pending:  # frame k − 1 is no neighbour of a frame still to test: its pixels go back now
            _take_back(scene, outputs, k - 1, pending.pop(k - 1))
    for k, pixels in pending.items():
        _take_back(scene, outputs, k, pixels)
    logger.info("hole carry after near_holes: colour guard took back %d px", taken)
    release(depth_out, confidence_out, valid_out, given_out, *_hole_carry_inputs(scene, near_given))


def _take_back(scene: SceneGeometry, outputs: tuple[np.ndarray, ...], k: int, pixels: np.ndarray) -> None:
    """Frame ``k``'s ``pixels`` ``[h,w]`` bool of :func:`hole_carry_after`'s ``outputs`` get ``scene``'s depth,
    confidence and validity back and leave ``movers_given``."""
    if not pixels.any():
        return
    depth_out, confidence_out, valid_out, given_out = outputs
    depth_out[k][pixels] = np.asarray(scene.depth[k], np.float32)[pixels]
    confidence_out[k][pixels] = np.asarray(scene.confidence[k], np.float32)[pixels]
    valid_out[k][pixels] = False if scene.valid is None else np.asarray(scene.valid[k], bool)[pixels]
    given_out[k][pixels] = False


def _hole_carry_sources(scene: SceneGeometry, near_given: np.ndarray | None, first: int, last: int) -> np.ndarray:
    """``[last − first,h,w]`` bool: :func:`hole_carry_after`'s sources in the frames ``[first, last)``, the scene's
    ``movers_given`` less ``near_given``."""
    handled = np.array(scene.movers_given[first:last], bool)
    if near_given is not None:
        handled &= ~np.asarray(near_given[first:last], bool)
    return handled


def _hole_carry_inputs(scene: SceneGeometry, near_given: np.ndarray | None) -> tuple[Any, ...]:
    """The ``[T,h,w]`` arrays :func:`hole_carry_after` reads (memmaps among them have their pages released)."""
    return scene.depth, scene.confidence, scene.valid, scene.movers_given, near_given


def _hole_carry_confidence(scene: SceneGeometry, near_given: np.ndarray | None) -> float:
    """The median confidence of :func:`hole_carry_after`'s sources over the whole video, read frame by frame."""

    def sources() -> Iterator[np.ndarray]:
        for k in range(scene.num_frames):
            yield np.asarray(scene.confidence[k], np.float32)[_hole_carry_sources(scene, near_given, k, k + 1)[0]]
            release(*_hole_carry_inputs(scene, near_given))

    return streamed_median(sources)
