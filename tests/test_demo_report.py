"""Reports, translation scoring and the CycleGAN demo end to end (a few steps)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from compogan.demos import run_demo
from compogan.errors import ConfigError
from compogan.metrics.translation import (
    fit_reinhard_to_domain_b,
    score_translation,
    translation_table,
)
from compogan.models.cyclegan import CycleGAN, CycleGANDataConfig
from compogan.report import HtmlReport, image_grid, plot_loss_curves, read_loss_log


def small_sets() -> tuple:
    data = CycleGANDataConfig(size=32, length=8, test_length=4)
    return CycleGAN.build_dataset(data, "train"), CycleGAN.build_dataset(data, "test")


def test_scores_rank_the_truth_above_the_baselines() -> None:
    train, test = small_sets()
    truth = {tuple(test[i]["A"].flatten()[:8].tolist()): test[i]["B"] for i in range(len(test))}

    def oracle(images: torch.Tensor) -> torch.Tensor:
        return torch.stack([truth[tuple(image.flatten()[:8].tolist())] for image in images])

    table = translation_table({"oracle": oracle}, test, fit_reinhard_to_domain_b(train))
    assert list(table) == ["identity", "reinhard", "oracle"]
    assert math.isinf(table["oracle"]["psnr"])
    assert table["oracle"]["ssim"] == pytest.approx(1.0)
    assert table["reinhard"]["psnr"] > table["identity"]["psnr"]
    assert score_translation(lambda x: x, test) == table["identity"]


def test_image_grid_layout() -> None:
    image = torch.zeros(3, 4, 5)
    grid = image_grid([[image, image], [image]], padding=1)
    assert grid.shape == (3, 2 * 5 + 1, 2 * 6 + 1)
    assert float(grid[:, 0, 0].min()) == 1.0
    assert float(grid[:, 1, 1].max()) == 0.0


def test_report_writes_page_images_and_plot(tmp_path: Path) -> None:
    log = tmp_path / "losses.jsonl"
    log.write_text('{"step": 1, "G": 2.0}\n{"step": 2, "G": 1.0}\n')
    curves = read_loss_log(log)
    assert curves == {"G": [(1, 2.0), (2, 1.0)]}
    report = HtmlReport(tmp_path / "out", "a <title>")
    report.table(["method", "PSNR"], [["x", 1.23456]])
    report.image("grid.png", torch.zeros(3, 8, 8), "a grid")
    report.image("loss.png", plot_loss_curves(curves, tmp_path / "out" / "loss.png"))
    page = report.write().read_text()
    assert "a &lt;title&gt;" in page
    assert "<td>1.235</td>" in page
    assert (tmp_path / "out" / "grid.png").stat().st_size > 0
    assert (tmp_path / "out" / "loss.png").stat().st_size > 0


def test_cyclegan_demo_end_to_end(tmp_path: Path) -> None:
    index = run_demo("cyclegan", tmp_path / "demo", minutes=0.01, device="cpu")
    page = index.read_text()
    for method in ("identity", "reinhard", "cyclegan"):
        assert f"<td>{method}</td>" in page
    for name in ("scenes.png", "losses.png"):
        assert (tmp_path / "demo" / name).is_file()
    assert (tmp_path / "demo" / "run" / "model.safetensors").is_file()


def test_unknown_demo() -> None:
    with pytest.raises(ConfigError, match="no demo for 'nosuch'"):
        run_demo("nosuch", "unused")


def test_stgan_demo_end_to_end(tmp_path: Path) -> None:
    index = run_demo("stgan", tmp_path / "demo", minutes=0.01, device="cpu")
    page = index.read_text()
    assert "Mean corner error of the placed glasses" in page
    assert page.count("<tr><td>") >= 3  # error after 0, 1 and 2 warp steps
    assert (tmp_path / "demo" / "faces.png").is_file()
    assert (tmp_path / "demo" / "run" / "model.safetensors").is_file()


def test_a_second_demo_into_the_same_folder_replaces_the_first(tmp_path: Path) -> None:
    run_demo("stgan", tmp_path / "demo", minutes=0.01, device="cpu")
    (tmp_path / "demo" / "run" / "model.safetensors").write_bytes(b"from the first demo")
    run_demo("stgan", tmp_path / "demo", minutes=0.01, device="cpu")
    assert (tmp_path / "demo" / "run" / "model.safetensors").read_bytes() != b"from the first demo"
