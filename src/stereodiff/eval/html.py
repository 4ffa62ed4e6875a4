"""Self-contained HTML reports: the Markdown report rendered (markdown-it-py), plots embedded as base64 PNG, and
the run's configuration. One file, no external resources, so it can be mailed or archived as is."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stereodiff.io.files import atomic_file

__all__ = ["render_html_report", "write_html_report"]

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr:nth-child(even) { background: #f6f6f6; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f4f4f4; padding: 1em; overflow-x: auto; font-size: 0.85em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def render_html_report(
    markdown_text: str,
    *,
    title: str,
    images: Sequence[tuple[str, bytes]] = (),
    config: dict[str, Any] | None = None,
) -> str:
    """The HTML page: ``markdown_text`` (tables included), then each ``(caption, PNG bytes)`` image, then
    ``config`` as JSON."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown_text)
    figures = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>\n"
        for caption, png in images
    )
    if figures:
        body += "<h2>Plots</h2>\n" + figures
    if config is not None:
        text = html.escape(json.dumps(config, indent=2, default=str), quote=False)
        body += "<h2>Configuration</h2>\n"
        body += f"<details open><summary>settings of this run</summary><pre>{text}</pre></details>"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


def write_html_report(
    path: str | Path,
    markdown_text: str,
    *,
    title: str,
    images: Sequence[Path | tuple[str, bytes]] = (),
    config: dict[str, Any] | None = None,
) -> Path:
    """Write :func:`render_html_report` to ``path`` atomically; ``images`` may be PNG files or (caption, bytes)."""
    loaded = [(p.stem.replace("_", " "), p.read_bytes()) if isinstance(p, Path) else p for p in images]
    with atomic_file(path) as tmp:
        tmp.write_text(render_html_report(markdown_text, title=title, images=loaded, config=config), encoding="utf-8")
    return Path(path)
