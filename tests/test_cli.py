import subprocess
import sys

import stereodiff


def test_version_and_info(cli, capsys):
    status, out, _ = cli("info")
    assert status == 0
    assert "stereodiff" in out and stereodiff.__version__ in out and "torch" in out


def test_import_is_light():
    heavy = "('torch', 'diffusers', 'cv2', 'transformers')"
    code = f"import sys, stereodiff; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_subprocess_version():
    result = subprocess.run([sys.executable, "-m", "stereodiff", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"stereodiff {stereodiff.__version__}"
