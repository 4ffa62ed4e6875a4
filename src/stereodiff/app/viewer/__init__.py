"""``stereodiff view``: the 4-D viewer of a run folder (viser)."""

from stereodiff.app.viewer.server import RunViewer

__all__ = ["RunViewer"]
