"""bf16 autocast where the device runs it natively: CPU flag detection and the trainer switch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_trainer import tiny_trainer

from compogan.train import precision, trainer
from compogan.train.precision import cpu_flags, native_bf16_cpu


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_bf16\nbogomips: 1\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2"}, None),
        ({"avx2", "avx512_bf16"}, "avx512_bf16"),
        ({"avx512_bf16", "amx_bf16", "amx_tile"}, "amx_bf16"),
    ],
)
def test_native_bf16_needs_the_cpu_instructions(flags: set[str], expected: str | None) -> None:
    assert native_bf16_cpu(frozenset(flags)) == expected


def test_the_trainer_enables_cpu_bf16_only_where_native(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(precision, "native_bf16_cpu", lambda flags=None: "amx_bf16")
    assert tiny_trainer(tmp_path / "a", "train.bf16=true").model.autocast_dtype == torch.bfloat16
    assert tiny_trainer(tmp_path / "b").model.autocast_dtype is None
    monkeypatch.setattr(precision, "native_bf16_cpu", lambda flags=None: None)
    assert tiny_trainer(tmp_path / "c", "train.bf16=true").model.autocast_dtype is None
    assert "train.bf16 ignored" in capsys.readouterr().err
    assert trainer.bf16_autocast_supported(torch.device("cuda"))
