"""stereodiff: temporally consistent depth for monocular videos (StereoDiff).

Importing this package is light: numpy only. Torch, OpenCV, diffusers and transformers load when a stage that
needs them is used.
"""

from stereodiff.errors import InputError
from stereodiff.types import DepthVideo, PairPredictions, SceneGeometry, Video

__version__ = "0.1.0"

__all__ = ["DepthVideo", "InputError", "PairPredictions", "SceneGeometry", "Video", "__version__"]
