"""``stereodiff weights list|download|verify``: where each model lives, its size and licence."""

from __future__ import annotations

import argparse
import json
import struct
import zipfile
from pathlib import Path

from stereodiff.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("weights", help="list, download or verify model weights")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="known models: repository, size, licence, whether cached")
    download = actions.add_parser("download", help="download models into the Hugging Face cache")
    download.add_argument("names", nargs="+", metavar="NAME", help="model names (see `weights list`) or repo ids")
    verify = actions.add_parser("verify", help="check that cached or local model files are complete")
    verify.add_argument("names", nargs="+", metavar="NAME_OR_PATH")
    parser.set_defaults(func=run)


def check_safetensors(path: Path) -> int:
    """Validate a ``.safetensors`` file's header against its size; returns its number of tensors.

    Raises:
        InputError: truncated or malformed file.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        raw = handle.read(8)
        if len(raw) < 8:
            raise InputError(f"{path} is truncated (no header)", "download it again")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len > size - 8:
            raise InputError(f"{path} is truncated (header of {header_len} bytes)", "download it again")
        try:
            header = json.loads(handle.read(header_len))
        except ValueError as err:
            raise InputError(f"{path} has a malformed header ({err})", "download it again") from err
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = max((v["data_offsets"][1] for v in tensors.values()), default=0)
    if 8 + header_len + end > size:
        raise InputError(f"{path} is truncated: {size} bytes, header needs {8 + header_len + end}", "download it again")
    return len(tensors)


def check_torch_archive(path: Path) -> int:
    """Validate a ``torch.save`` zip archive (``.pth``) by the CRC of every record; returns the record count.

    Raises:
        InputError: truncated or corrupt file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            count = len(archive.infolist())
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(f"{path} is not a readable torch archive ({err})", "download it again") from err
    if bad is not None:
        raise InputError(f"{path} is corrupt (record {bad} fails its CRC)", "download it again")
    return count


def verify(name_or_path: str) -> list[str]:
    """Check every weight file of a model folder; returns one line per file checked."""
    from stereodiff.weights import resolve_snapshot

    folder = resolve_snapshot(name_or_path, allow_download=False)
    files = [folder] if folder.is_file() else sorted([*folder.rglob("*.safetensors"), *folder.rglob("*.pth")])
    if not files:
        raise InputError(f"no .safetensors or .pth files under {folder}", "download the model again")
    lines = []
    for path in files:
        if path.suffix == ".safetensors":
            lines.append(f"ok  {path}  ({check_safetensors(path)} tensors, {path.stat().st_size / 2**20:.1f} MiB)")
        elif path.suffix == ".pth":
            lines.append(f"ok  {path}  ({check_torch_archive(path)} records, {path.stat().st_size / 2**20:.1f} MiB)")
        else:
            lines.append(f"ok  {path}  ({path.stat().st_size / 2**20:.1f} MiB, not a safetensors file: not checked)")
    return lines


def run(args: argparse.Namespace) -> int:
    from stereodiff.backends import require_extra
    from stereodiff.weights import MODELS, cache_dir, download, find_snapshot

    require_extra("paper", "`stereodiff weights`")  # the hub client comes with the networks

    if args.action == "list":
        print(f"cache: {cache_dir()}")
        for name, spec in MODELS.items():
            where = find_snapshot(name)
            print(f"\n{name}: {spec.repo_id}")
            print(f"  role:    {spec.role}")
            print(f"  size:    {spec.size}")
            print(f"  licence: {spec.licence}")
            print(f"  status:  {'cached at ' + str(where) if where else 'not downloaded'}")
        return 0
    if args.action == "download":
        for name in args.names:
            print(f"{name}: {download(name)}")
        return 0
    for name in args.names:
        for line in verify(name):
            print(line)
    return 0
