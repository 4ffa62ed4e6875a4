"""Files in and out: ``video`` (read/stream/write videos and image sequences), ``depth`` (npz, PNG16, EXR depth
videos), ``visualize`` (colour-mapped previews), ``export`` (PLY point clouds, TUM/COLMAP poses, intrinsics),
``files`` (atomic writes). Import the submodule you need; this package imports nothing heavy."""
