"""EdgeConnect model: every mode trains the right networks; inpainting keeps known pixels."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

import compogan
from compogan.blending import harmonic_interpolation
from compogan.config import load_config
from compogan.errors import CheckpointError, ConfigError
from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig, EdgeConnectDataConfig
from compogan.nn import VGG19
from compogan.train import Trainer
from compogan.train.init import init_networks

ROOT = Path(__file__).resolve().parents[1]
TINY = EdgeConnectConfig(residual_blocks=1, content_weight=0.0, style_weight=0.0)
SIZE = 32


def batch(n: int = 2) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    image = torch.rand(n, 3, SIZE, SIZE) * 2 - 1
    image[:, :, :, SIZE // 2 :] = 0.8  # a strong vertical edge for Canny
    mask = torch.zeros(n, 1, SIZE, SIZE)
    mask[:, :, 8:20, 10:24] = 1
    return {"image": image, "mask": mask}


def snapshot(model: EdgeConnect) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def changed(before: dict, model: EdgeConnect, prefix: str) -> bool:
    after = model.state_dict()
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))


@pytest.mark.parametrize(
    ("mode", "trained", "frozen", "losses"),
    [
        ("edge", ("G1.", "D1."), ("G2.", "D2."), {"G1_adv", "G1_fm", "D1"}),
        ("inpaint", ("G2.", "D2."), ("G1.", "D1."), {"G2_l1", "G2_adv", "D2"}),
        ("edge_inpaint", ("G2.", "D2."), ("G1.", "D1."), {"G2_l1", "G2_adv", "D2"}),
        ("joint", ("G1.", "D1.", "G2.", "D2."), (), {"G1_adv", "G1_fm", "D1", "G2_l1", "D2"}),
        ("end_to_end", ("G1.", "G2.", "D2."), ("D1.",), {"G2_l1", "G2_adv", "D2"}),
    ],
)
def test_each_mode_trains_its_networks(mode, trained, frozen, losses) -> None:
    model = EdgeConnect(replace(TINY, mode=mode)).train()
    model.configure_optimizers()
    before = snapshot(model)
    result = model.training_step(batch())
    assert losses <= result.keys()
    assert all(torch.isfinite(value) for value in result.values())
    for prefix in trained:
        assert changed(before, model, prefix), prefix
    for prefix in frozen:
        assert not changed(before, model, prefix), prefix


def test_inpaint_keeps_known_pixels_and_uses_given_edges() -> None:
    model = EdgeConnect(TINY).eval()
    data = batch()
    result, edges = model.inpaint(data["image"], data["mask"])
    known = data["mask"] == 0
    assert torch.equal(
        result.masked_select(known.expand_as(result)),
        data["image"].masked_select(known.expand_as(result)),
    )
    assert edges.shape == (2, 1, SIZE, SIZE) and edges.min() >= 0 and edges.max() <= 1
    drawn = torch.zeros(2, 1, SIZE, SIZE)
    drawn[:, :, 14, :] = 1
    other, used = model.inpaint(data["image"], data["mask"], edges=drawn)
    assert torch.equal(used, drawn)
    assert not torch.equal(other, result)
    empty, _ = model.inpaint(data["image"], torch.zeros(2, 1, SIZE, SIZE))
    assert torch.equal(empty, data["image"])


def test_vgg_losses_join_when_weighted(tmp_path: Path) -> None:
    weights = tmp_path / "vgg19.pth"
    torch.save(VGG19().state_dict(), weights)
    model = EdgeConnect(
        replace(
            TINY, mode="inpaint", content_weight=0.1, style_weight=250.0, vgg_weights=str(weights)
        )
    )
    model.configure_optimizers()
    result = model.training_step(batch())
    assert {"G2_content", "G2_style"} <= result.keys()
    assert all(torch.isfinite(value) for value in result.values())
    model.save_pretrained(tmp_path / "saved")
    assert not any(
        "vgg" in key or "perceptual" in key
        for key in compogan.load(tmp_path / "saved").state_dict()
    )
    edge_only = EdgeConnect(replace(TINY, mode="edge", content_weight=0.1, vgg_weights="/nowhere"))
    edge_only.configure_optimizers()  # stage 1 never needs VGG-19, so no file is looked for
    assert not hasattr(edge_only, "perceptual")


def test_trains_through_the_trainer_and_round_trips(tmp_path: Path) -> None:
    config = load_config(
        EdgeConnect,
        ROOT / "configs" / "edgeconnect" / "skimage_cpu.yaml",
        [
            "model.residual_blocks=1",
            "data.size=32",
            "data.length=4",
            "data.test_length=2",
            "train.steps=2",
            "train.batch_size=2",
            "train.progress=false",
            "train.ema_decay=0",  # the saved weights are then the trained ones
        ],
    )
    trainer = Trainer(EdgeConnect, config, tmp_path / "run", device="cpu")
    assert trainer.fit().step == 2
    loaded = compogan.load(tmp_path / "run")
    assert isinstance(loaded, EdgeConnect)
    data = batch()
    torch.manual_seed(0)
    expected = trainer.model.eval().inpaint(data["image"], data["mask"])[0]
    torch.manual_seed(0)
    assert torch.equal(loaded.inpaint(data["image"], data["mask"])[0], expected)


@pytest.mark.parametrize(
    "name",
    ["places2_edge.yaml", "places2_inpaint.yaml", "places2_edge_inpaint.yaml", "skimage_cpu.yaml"],
)
def test_shipped_configs_load(name: str) -> None:
    load_config(EdgeConnect, ROOT / "configs" / "edgeconnect" / name)


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="unknown edgeconnect mode"):
        EdgeConnect(replace(TINY, mode="both"))
    with pytest.raises(ConfigError, match=r"data\.root"):
        EdgeConnect.build_dataset(EdgeConnectDataConfig(dataset="folder"), "train")
    with pytest.raises(ConfigError, match="unknown inpainting dataset"):
        EdgeConnect.build_dataset(EdgeConnectDataConfig(dataset="places"), "train")


def _saved(tmp_path: Path, name: str, mode: str, seed: int) -> tuple[Path, EdgeConnect]:
    torch.manual_seed(seed)
    model = EdgeConnect(replace(TINY, mode=mode))
    model.save_pretrained(tmp_path / name)
    return tmp_path / name, model


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, b.state_dict()[k]) for k, x in a.state_dict().items())


def test_edge_inpaint_starts_from_the_earlier_stages(tmp_path: Path) -> None:
    edge_dir, edge_model = _saved(tmp_path, "edge", "edge", seed=1)
    inpaint_dir, inpaint_model = _saved(tmp_path, "inpaint", "inpaint", seed=2)
    torch.manual_seed(3)
    model = EdgeConnect(replace(TINY, mode="edge_inpaint"))
    assert not _same_weights(model.G1, edge_model.G1)
    sources = {"G1": edge_dir, "D1": edge_dir, "G2": inpaint_dir, "D2": inpaint_dir}
    init_networks(model, {name: str(path) for name, path in sources.items()})
    for name, source in (("G1", edge_model), ("D1", edge_model), ("G2", inpaint_model)):
        assert _same_weights(getattr(model, name), getattr(source, name)), name
    assert _same_weights(model.D2, inpaint_model.D2)


def test_a_fresh_trainer_run_loads_the_initial_weights_and_a_resume_does_not(
    tmp_path: Path,
) -> None:
    edge_dir, edge_model = _saved(tmp_path, "edge", "edge", seed=1)
    overrides = [
        "model.mode=edge_inpaint",
        f"train.init_from.G1={edge_dir}",
        "model.residual_blocks=1",
        "model.norm=instance",
        "model.width=64",
        "model.ndf=64",
        "data.size=32",
        "data.length=4",
        "train.steps=2",
        "train.batch_size=2",
        "train.progress=false",
    ]
    config = load_config(
        EdgeConnect, ROOT / "configs" / "edgeconnect" / "skimage_cpu.yaml", overrides
    )
    trainer = Trainer(EdgeConnect, config, tmp_path / "run", device="cpu")
    trainer.fit()
    assert _same_weights(trainer.model.G1, edge_model.G1)  # frozen through training
    (edge_dir / "model.safetensors").unlink()
    resumed = load_config(
        EdgeConnect,
        ROOT / "configs" / "edgeconnect" / "skimage_cpu.yaml",
        [*overrides, "train.steps=3"],
    )
    assert (
        Trainer(EdgeConnect, resumed, tmp_path / "run", resume=True, device="cpu").fit().step == 3
    )


def test_bad_initial_weights_are_one_line_errors(tmp_path: Path) -> None:
    for mode in ("edge_inpaint", "end_to_end"):
        config = load_config(EdgeConnect, None, [f"model.mode={mode}", "train.progress=false"])
        with pytest.raises(ConfigError, match=r"train\.init_from\.G1=") as error:
            Trainer(EdgeConnect, config, tmp_path / mode, device="cpu").fit()
        assert "\n" not in str(error.value) and not (tmp_path / mode).exists()
    with pytest.raises(ConfigError, match="has no network 'G3'"):
        init_networks(EdgeConnect(TINY), {"G3": str(tmp_path)})
    only_g2 = tmp_path / "only_g2"
    EdgeConnect(TINY).save_pretrained(only_g2, networks=("G2",))
    wide = tmp_path / "wide"
    EdgeConnect(replace(TINY, residual_blocks=2)).save_pretrained(wide)
    cases = {
        str(tmp_path / "missing"): "missing",
        str(only_g2): "holds no G1",
        str(wide): "do not fit",
        str(_saved(tmp_path, "plain", "edge", seed=4)[0]): "trained with edge_norm 'instance'",
    }
    for source, match in cases.items():
        norm = "none" if source.endswith("plain") else "instance"
        model = EdgeConnect(replace(TINY, mode="edge_inpaint", norm=norm))
        with pytest.raises(CheckpointError, match=match) as error:
            init_networks(model, {"G1": source})
        assert "\n" not in str(error.value)


def test_generators_without_normalisation() -> None:
    model = EdgeConnect(replace(TINY, norm="none", mode="joint")).train()
    paper = EdgeConnect(TINY)
    assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in model.modules())
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        k: v.shape for k, v in paper.state_dict().items()
    }
    model.configure_optimizers()
    assert all(torch.isfinite(value) for value in model.training_step(batch()).values())
    with pytest.raises(ConfigError, match="unknown EdgeConnect generator norm"):
        EdgeConnect(replace(TINY, norm="batch"))


def test_narrow_cpu_networks() -> None:
    model = EdgeConnect(replace(TINY, width=16, ndf=8, mode="joint")).train()
    assert model.G2.encoder[0].conv.out_channels == 16
    model.configure_optimizers()
    losses = model.training_step(batch())
    assert all(torch.isfinite(value) for value in losses.values())


def test_held_out_photos_split_the_skimage_data() -> None:
    config = EdgeConnectDataConfig(size=32, length=4, test_length=2, test_photos=["chelsea"])
    train = EdgeConnect.build_dataset(config, "train")
    test = EdgeConnect.build_dataset(config, "test")
    assert "chelsea" not in train.photos and len(train.photos) == 11
    assert test.photos == ("chelsea",)
    assert len(EdgeConnect.build_dataset(EdgeConnectDataConfig(), "test").photos) == 12
    with pytest.raises(ConfigError, match=r"unknown data\.test_photos"):
        EdgeConnect.build_dataset(replace(config, test_photos=["lena"]), "train")
    with pytest.raises(ConfigError, match="every photo"):
        everything = list(EdgeConnect.build_dataset(EdgeConnectDataConfig(), "test").photos)
        EdgeConnect.build_dataset(replace(config, test_photos=everything), "train")


def test_l1_known_weight_zero_scores_the_hole_alone() -> None:
    data = batch()
    image, mask = data["image"], data["mask"]
    target = (image + 1) / 2
    output = torch.where(mask > 0.5, target, 1 - target)  # exact in the hole, wrong elsewhere
    paper = EdgeConnect(replace(TINY, mode="inpaint"))
    hole_only = EdgeConnect(replace(TINY, mode="inpaint", l1_known_weight=0.0))
    assert paper.reconstruction_loss(output, image, mask) > 0.5
    assert hole_only.reconstruction_loss(output, image, mask) == 0
    wrong_hole = torch.where(mask > 0.5, target + 0.1, target)
    torch.testing.assert_close(
        hole_only.reconstruction_loss(wrong_hole, image, mask), torch.tensor(0.1)
    )


def test_kaiming_init_keeps_unnormalised_generators_alive() -> None:
    inputs = torch.rand(2, 4, SIZE, SIZE)
    spread = {}
    for init in ("normal", "kaiming"):
        torch.manual_seed(0)
        model = EdgeConnect(replace(TINY, norm="none", init=init))
        spread[init] = model.G2(inputs).std().item()
        assert model.D2.layers[0].conv.parametrizations.weight.original.std() < 0.03
    assert spread["normal"] < 1e-2 < 0.1 < spread["kaiming"]
    with pytest.raises(ConfigError, match="unknown init"):
        EdgeConnect(replace(TINY, init="uniform"))


def test_harmonic_hole_fill_reaches_g2_in_training_and_inference() -> None:
    data = batch()
    torch.manual_seed(0)
    white = EdgeConnect(replace(TINY, mode="inpaint"))
    torch.manual_seed(0)
    harmonic = EdgeConnect(replace(TINY, mode="inpaint", hole_fill="harmonic"))
    drawn = torch.zeros(2, 1, SIZE, SIZE)
    assert not torch.equal(
        white.generate(data["image"], data["mask"], edges=drawn)[0],
        harmonic.generate(data["image"], data["mask"], edges=drawn)[0],
    )
    harmonic.train().configure_optimizers()
    assert torch.isfinite(harmonic.training_step(data)["G2_l1"])
    with pytest.raises(ConfigError, match="unknown hole_fill"):
        EdgeConnect(replace(TINY, hole_fill="grey"))


def test_an_untrained_residual_g2_returns_the_harmonic_fill() -> None:
    data = batch()
    model = EdgeConnect(replace(TINY, mode="inpaint", hole_fill="harmonic", residual=True))
    output, _ = model.generate(data["image"], data["mask"], edges=torch.zeros(2, 1, SIZE, SIZE))
    torch.testing.assert_close(
        output, harmonic_interpolation(data["image"], data["mask"]), atol=1e-6, rtol=0
    )
    model.train().configure_optimizers()
    model.training_step(data)
    assert model.G2.decoder[-1].conv.weight.abs().sum() > 0  # the correction starts to learn


def test_g2_weights_need_the_hole_fill_and_residual_they_were_trained_with(
    tmp_path: Path,
) -> None:
    residual = replace(TINY, mode="inpaint", hole_fill="harmonic", residual=True)
    source = tmp_path / "residual"
    EdgeConnect(residual).save_pretrained(source)
    both = {"G1": str(source), "G2": str(source)}
    paper = EdgeConnect(replace(TINY, mode="edge_inpaint"))
    with pytest.raises(CheckpointError, match=r"hole_fill 'harmonic'.*model\.hole_fill=harmonic"):
        init_networks(paper, both)
    no_residual = replace(paper.config, hole_fill="harmonic")
    with pytest.raises(CheckpointError, match=r"residual 'true'.*model\.residual=true"):
        init_networks(EdgeConnect(no_residual), both)
    init_networks(paper, {"G1": str(source)})  # G1: norm only
    init_networks(EdgeConnect(replace(residual, mode="edge_inpaint")), both)


def test_edge_norm_sets_g1_alone_and_guards_its_weights(tmp_path: Path) -> None:
    def norms(network: torch.nn.Module) -> set[str]:
        return {type(m).__name__ for m in network.modules() if type(m).__name__.endswith("Norm2d")}

    config = replace(TINY, mode="edge", norm="none", edge_norm="instance")
    model = EdgeConnect(config)
    assert norms(model.G1) == {"InstanceNorm2d"} and norms(model.G2) == set()
    model.save_pretrained(tmp_path / "edge")
    paper_g1 = replace(TINY, mode="edge_inpaint")
    g1 = {"G1": str(tmp_path / "edge")}
    init_networks(EdgeConnect(paper_g1), g1)  # "" = norm = instance: the same G1
    with pytest.raises(CheckpointError, match=r"edge_norm 'instance'.*model\.edge_norm=instance"):
        init_networks(EdgeConnect(replace(paper_g1, norm="none")), g1)


def test_edge_bce_weight_adds_a_hole_cross_entropy_that_learns_the_edges() -> None:
    data = batch()
    paper = EdgeConnect(replace(TINY, mode="edge")).train()
    paper.configure_optimizers()
    assert "G1_bce" not in paper.training_step(data)
    torch.manual_seed(0)
    model = EdgeConnect(replace(TINY, mode="edge", edge_bce_weight=1.0, lr=1e-3)).train()
    model.configure_optimizers()
    torch.manual_seed(0)
    first = model.training_step(data)["G1_bce"]
    for _ in range(30):
        torch.manual_seed(0)
        last = model.training_step(data)["G1_bce"]
    assert 0 < last < 0.5 * first


def test_end_to_end_reaches_g1_through_g2s_losses_alone() -> None:
    model = EdgeConnect(replace(TINY, mode="end_to_end")).train()
    model.configure_optimizers()
    data = batch()
    model.training_step(data)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.G1.parameters())
    data["mask"] = torch.zeros_like(data["mask"])  # no hole: G1's edges never reach G2
    model.training_step(data)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.G1.parameters())
    assert all(p.grad is None for p in model.D1.parameters())
