"""Shared fixtures: seeded RNG, the real data folder (skipped cleanly when absent), the CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stereodiff.stage1.croco.testing import make_tiny_croco

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download

# ``../shared/data`` beside the checkout, or $STEREODIFF_SHARED_DATA (for checkouts elsewhere, e.g. git worktrees)
SHARED_DATA = Path(os.environ.get("STEREODIFF_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (``SHARED_DATA``); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def cli(capsys):
    """Run ``stereodiff ARGS`` in-process; returns ``(exit_status, stdout, stderr)``."""
    from stereodiff.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture(scope="session")
def tiny_croco():
    """A session-wide :func:`make_tiny_croco` model (do not modify it in tests)."""
    return make_tiny_croco()
