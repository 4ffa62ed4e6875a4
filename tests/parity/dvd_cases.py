"""Inputs of the DVD parity cases, shared by the official-code script and tests/test_dvd.py."""

from __future__ import annotations

# name -> (frames, height, width, official --height, --width, --window_size, --overlap, seed of the clip)
CASES = {
    "two_windows": (13, 40, 56, 32, 48, 9, 3, 0),  # last window shifted back: it overlaps its predecessor by 5
    "three_windows": (20, 32, 48, 32, 48, 9, 3, 1),  # no resize; windows 0-9, 6-15, 11-20
    "one_window": (6, 36, 36, 32, 32, 9, 3, 2),  # padded to 9 frames; resized to 32×32 and back
}
