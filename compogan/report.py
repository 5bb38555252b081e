"""Static HTML reports: image grids, loss curves and metric tables, written atomically.

Demos and benchmarks use one :class:`HtmlReport`; every file it writes lands in its folder
(PNG images beside ``index.html``), so the folder can be copied or served as is.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from compogan.io.atomic import atomic_path
from compogan.io.images import save_image


def image_grid(rows: Sequence[torch.Tensor], padding: int = 2) -> torch.Tensor:
    """Tile images into a grid: ``rows[r][c]`` is one (3,H,W) image in [-1,1].

    Every image must share one size. Returns (3, R*(H+p)+p, C*(W+p)+p) in [-1,1] on a white
    background.
    """
    n_rows, n_cols = len(rows), max(len(row) for row in rows)
    _, height, width = rows[0][0].shape
    grid = torch.ones(
        3, n_rows * (height + padding) + padding, n_cols * (width + padding) + padding
    )
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            top, left = padding + r * (height + padding), padding + c * (width + padding)
            grid[:, top : top + height, left : left + width] = image.detach().cpu().clamp(-1, 1)
    return grid


def read_loss_log(path: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Read a run's ``losses.jsonl`` into ``{loss name: [(step, value), ...]}``."""
    curves: dict[str, list[tuple[int, float]]] = {}
    path = Path(path)
    if not path.is_file():
        return curves
    for line in path.read_text().splitlines():
        record = json.loads(line)
        step = record.pop("step")
        for name, value in record.items():
            curves.setdefault(name, []).append((step, value))
    return curves


def plot_loss_curves(curves: dict[str, list[tuple[int, float]]], path: str | Path) -> Path:
    """Plot every loss against the step into one PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4), dpi=100)
    for name, points in sorted(curves.items()):
        steps, values = zip(*points, strict=True)
        axis.plot(steps, values, label=name, linewidth=1)
    axis.set_xlabel("step")
    axis.set_ylabel("loss")
    axis.set_yscale("symlog", linthresh=1e-2)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncol=4)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return path


class HtmlReport:
    """Collects sections and writes ``index.html`` plus its images into ``folder``."""

    def __init__(self, folder: str | Path, title: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.title = title
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def image(self, name: str, image: torch.Tensor | Path, caption: str = "") -> None:
        """Add an image: a (3,H,W) tensor in [-1,1] saved as ``name``, or an existing file."""
        if isinstance(image, torch.Tensor):
            save_image(image, self.folder / name)
        self.parts.append(
            f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption or name)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """Add a table; floats are shown with 3 decimals."""

        def cell(value: object) -> str:
            return html.escape(f"{value:.3f}" if isinstance(value, float) else str(value))

        head = "".join(f"<th>{cell(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows
        )
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def loss_curves(self, run_dir: str | Path, name: str = "losses.png") -> None:
        """Add a "Training losses" section plotting a run's ``losses.jsonl`` (if it has any)."""
        curves = read_loss_log(Path(run_dir) / "losses.jsonl")
        if curves:
            self.heading("Training losses")
            self.image(
                name, plot_loss_curves(curves, self.folder / name), "losses against training step"
            )

    def write(self) -> Path:
        """Write ``index.html`` atomically and return its path."""
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
            "img{image-rendering:pixelated;max-width:100%}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px}"
            "figure{margin:1em 0}figcaption{color:#555;font-size:90%}"
        )
        document = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}"
            f"</title><style>{style}</style></head><body><h1>{html.escape(self.title)}</h1>"
            + "\n".join(self.parts)
            + "</body></html>"
        )
        index = self.folder / "index.html"
        with atomic_path(index) as tmp:
            tmp.write_text(document)
        return index
