import numpy as np
import pytest

from stereodiff.io.framestore import FrameStore


def test_framestore_roundtrip_and_indexing(tmp_path, rng):
    frames = rng.integers(0, 256, size=(7, 5, 6, 3), dtype=np.uint8)
    store = FrameStore.write(tmp_path / "f", iter(frames), fps=12.5, frame_indices=range(10, 17))
    assert store.shape == (7, 5, 6, 3) and len(store) == 7 and store.fps == 12.5
    np.testing.assert_array_equal(store[3], frames[3])
    np.testing.assert_array_equal(store[-1], frames[-1])
    np.testing.assert_array_equal(store[1:6:2], frames[1:6:2])
    np.testing.assert_array_equal(store[[4, 0]], frames[[4, 0]])
    np.testing.assert_array_equal(np.asarray(store), frames)
    np.testing.assert_array_equal(store.frame_indices, np.arange(10, 17))
    with pytest.raises(IndexError):
        store[7]


def test_framestore_incomplete_write_leaves_no_store(tmp_path):
    def frames():
        yield np.zeros((4, 4, 3), np.uint8)
        yield np.zeros((5, 4, 3), np.uint8)

    with pytest.raises(ValueError, match="frame 1 has shape"):
        FrameStore.write(tmp_path / "f", frames(), fps=30)
    assert not FrameStore.exists(tmp_path / "f")
