"""SEIGAN: its networks, every loss training, the CLI run, the cutpaste pipeline and bad inputs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import compogan
from compogan.blending import harmonic_interpolation
from compogan.config import load_config
from compogan.data.synthetic.objects import SyntheticObjects, sample_background, sample_scene
from compogan.errors import ConfigError, InputError
from compogan.models.edgeconnect import EdgeConnect, EdgeConnectConfig
from compogan.models.seigan import SEIGAN, SEIGANConfig, SEIGANDataConfig
from compogan.nn import VGG19
from compogan.nn.seigan import BoxSegmenter, HoleFiller, NoiseEnhancer
from compogan.pipelines import PIPELINES, CutPaster

ROOT = Path(__file__).resolve().parents[1]
TINY = SEIGANConfig(
    seg_widths=(8, 16, 16),
    enh_ngf=8,
    enh_blocks=1,
    inp_ngf=8,
    inp_blocks=1,
    ndf=8,
    n_layers_d=2,
    lambda_bg_content=0.0,
    lambda_bg_texture=0.0,
    pool_size=2,
)
SIZE = 32
TINY_ARGS = [
    "model.seg_widths=[8,16,16]",
    "model.enh_ngf=8",
    "model.enh_blocks=1",
    "model.inp_ngf=8",
    "model.inp_blocks=1",
    "model.ndf=8",
    "model.n_layers_d=2",
    f"data.size={SIZE}",
    "data.length=8",
    "data.test_length=2",
    "train.steps=6",
    "train.batch_size=2",
    "train.log_every=1",
    "train.checkpoint_every=3",
    "train.progress=false",
]


def tiny(**changes: object) -> SEIGAN:
    torch.manual_seed(0)
    return SEIGAN(replace(TINY, **changes), SEIGANDataConfig(size=SIZE))


def batch(n: int = 2) -> dict[str, torch.Tensor]:
    data = SyntheticObjects(SIZE, n, "train", seed=0)
    items = [data[i] for i in range(n)]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


@torch.no_grad()
def test_networks_at_the_paper_size() -> None:
    model = SEIGAN(SEIGANConfig())
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    box = torch.zeros(1, 1, 128, 128)
    box[..., 24:104, 30:90] = 1
    mask = model.G_seg(x, box)
    assert mask.shape == (1, 1, 128, 128) and mask.min() >= 0 and mask.max() <= 1
    assert float((mask * (1 - box)).abs().max()) == 0.0
    assert model.G_enh(x).shape == (1, 3, 128, 128)
    filled = model.G_inp(x, box)
    assert torch.equal(filled * (1 - box), x * (1 - box))
    counts = {
        n: sum(p.numel() for p in getattr(model, n).parameters()) for n in model.network_names
    }
    # two CycleGAN ResNet generators (one more input channel each) and two 70x70 PatchGANs
    assert counts["D_bg"] == counts["D_obj"] == 2_764_737
    assert counts["G_inp"] == 11_378_179 + 64 * 49
    assert counts["G_enh"] == 11_378_179 + 64 * 49
    assert isinstance(model.G_seg, BoxSegmenter) and isinstance(model.G_enh, NoiseEnhancer)
    assert isinstance(model.G_inp, HoleFiller)


def test_one_step_trains_every_network_on_every_loss(tmp_path: Path) -> None:
    vgg = tmp_path / "vgg19.pth"
    torch.save(VGG19().state_dict(), vgg)  # random weights: no download
    model = tiny(
        lambda_bg_content=1.0,
        lambda_bg_texture=10.0,
        vgg_weights=str(vgg),
        lambda_mask_area=1.0,
        lambda_box_projection=1.0,
        lambda_color_affinity=1.0,
        lambda_border_colour=1.0,
    ).train()
    model.configure_optimizers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = model.training_step(batch())
    assert set(losses) == {
        "G_adv_bg",
        "G_adv_obj",
        "obj_rec",
        "bg_rec",
        "bg_content",
        "bg_texture",
        "identity",
        "mask_area",
        "box_projection",
        "color_affinity",
        "border_colour",
        "D_bg",
        "D_obj",
    }
    assert all(torch.isfinite(value) for value in losses.values())
    after = model.state_dict()
    for name in model.network_names:
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(name)), name
    assert all(len(pool.images) == 2 for pool in model.pools.values())


@pytest.mark.parametrize(
    "changes", [{}, {"enh_sees_mask": True, "inp_hole_fill": "harmonic"}], ids=["paper", "tuned"]
)
def test_losses_fall_on_a_repeated_batch(changes: dict) -> None:
    model = tiny(**changes).train()
    model.configure_optimizers()
    data = batch()
    first = model.training_step(data)
    for _ in range(8):
        last = model.training_step(data)
    assert last["obj_rec"] < first["obj_rec"] and last["bg_rec"] < first["bg_rec"]


@pytest.mark.parametrize("hard_hole", [False, True])
@torch.no_grad()
def test_a_hard_hole_hides_what_a_soft_mask_removes(hard_hole: bool) -> None:
    torch.manual_seed(0)
    filler = HoleFiller(ngf=8, n_blocks=1, hard_hole=hard_hole).eval()
    image = torch.rand(1, 3, 16, 16) * 2 - 1
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 0.8
    changed = image.clone()
    changed[..., 4:12, 4:12] = -image[..., 4:12, 4:12]
    difference = filler(changed, mask) - filler(image, mask)
    blended = (1 - mask) * (changed - image)  # what the soft blend of the output lets through
    assert torch.allclose(difference, blended, atol=1e-6) == hard_hole


@torch.no_grad()
def test_an_untrained_harmonic_filler_returns_the_harmonic_fill() -> None:
    model = tiny(inp_hole_fill="harmonic")
    assert model.G_inp.hard_hole
    data = batch()
    hole = data["box"]
    expected = harmonic_interpolation(data["x"], hole)
    filled = model.G_inp(data["x"], hole)
    assert torch.allclose(filled, expected, atol=1e-5)
    assert not torch.allclose(filled, data["x"] * (1 - hole), atol=1e-2)


def test_the_harmonic_fillers_correction_learns() -> None:
    model = tiny(inp_hole_fill="harmonic").train()
    model.configure_optimizers()
    data = batch()
    model.training_step(data)
    head = model.G_inp.net.head.conv.weight
    assert float(head.abs().sum()) > 0


@torch.no_grad()
def test_a_mask_seeing_enhancer_reads_the_mask_and_needs_it() -> None:
    model = tiny(enh_sees_mask=True).eval()
    data = batch()
    torch.nn.init.normal_(model.G_enh.net.stem.conv.weight)
    full, empty = data["box"], torch.zeros_like(data["box"])
    assert not torch.equal(model.enhance(data["x"], full), model.enhance(data["x"], empty))
    with pytest.raises(InputError, match="mask"):
        model.enhance(data["x"])
    assert torch.equal(tiny().enhance(data["x"], full), tiny().enhance(data["x"], empty))


def test_no_gradient_reaches_g_seg_through_the_enhancers_mask() -> None:
    model = tiny(enh_sees_mask=True).train()
    data = batch()
    mask = torch.full_like(data["box"], 0.5, requires_grad=True)
    model.G_enh(data["x"], masks=mask).sum().backward()
    assert mask.grad is None


@pytest.mark.parametrize("detach_context", [False, True])
def test_a_detached_context_passes_gradient_only_through_the_kept_pixels(
    detach_context: bool,
) -> None:
    torch.manual_seed(0)
    filler = HoleFiller(ngf=8, n_blocks=1)
    images = (torch.rand(1, 3, 16, 16) * 2 - 1).requires_grad_()
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    filler(images, mask, detach_context=detach_context).sum().backward()
    kept_only = (1 - mask).expand_as(images)
    assert torch.allclose(images.grad, kept_only) == detach_context


def test_the_swap_back_context_flag_cuts_g_enhs_path_through_g_inps_view() -> None:
    data = batch()
    state = {"x": data["x"], "y": data["y"], "box": data["box"]}
    grads = []
    for detach in (False, True):
        model = tiny(detach_swap_back_context=detach, noise_channels=0).train()
        model.generator_losses(dict(state))["bg_rec"].backward()
        assert all(p.grad is not None for p in model.G_inp.parameters())
        grads.append(torch.cat([p.grad.flatten() for p in model.G_enh.parameters()]))
    assert grads[1].abs().sum() > 0  # the kept pixels still teach G_enh
    assert not torch.allclose(grads[0], grads[1])


def test_an_unknown_hole_fill_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="hole_fill"):
        tiny(inp_hole_fill="white")


def test_the_mask_area_prior_shrinks_the_mask() -> None:
    model = tiny(lambda_mask_area=1.0).train()
    data = batch()
    state = {"x": data["x"], "y": data["y"], "box": data["box"]}
    model.generator_losses(state)["mask_area"].backward()
    grads = [p.grad for p in model.G_seg.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    with torch.no_grad():
        before = float(model.G_seg(data["x"], data["box"]).mean())
        for parameter in model.G_seg.parameters():
            if parameter.grad is not None:
                parameter -= 0.5 * parameter.grad
        assert float(model.G_seg(data["x"], data["box"]).mean()) < before


@pytest.mark.parametrize("term", ["box_projection", "color_affinity", "border_colour"])
def test_box_supervision_terms_teach_g_seg_alone(term: str) -> None:
    model = tiny(**{f"lambda_{term}": 1.0}).train()
    data = batch()
    state = {"x": data["x"], "y": data["y"], "box": data["box"]}
    loss = model.generator_losses(state)[term]
    assert loss.item() > 0
    loss.backward()
    for name in model.generator_names:
        grads = [p.grad for p in getattr(model, name).parameters() if p.grad is not None]
        assert any(float(g.abs().sum()) > 0 for g in grads) == (name == "G_seg"), name


@pytest.mark.parametrize("reuse", [False, True])
def test_the_swap_back_reuses_the_first_mask_when_asked(reuse: bool) -> None:
    model = tiny(reuse_mask_back=reuse).train()
    seen: list[torch.Tensor] = []
    model.G_seg.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    data = batch()
    model.generator_losses({"x": data["x"], "y": data["y"], "box": data["box"]})
    assert len(seen) == (1 if reuse else 2)
    assert torch.equal(seen[0], data["x"])


@pytest.mark.parametrize("detach_fill", [False, True])
def test_a_detached_fill_is_not_taught_by_the_object_reconstruction(detach_fill: bool) -> None:
    model = tiny(detach_fill=detach_fill).train()
    data = batch()
    state = {"x": data["x"], "y": data["y"], "box": data["box"]}
    model.generator_losses(state)["obj_rec"].backward()
    taught = any(
        p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.G_inp.parameters()
    )
    assert taught != detach_fill


def test_the_naive_paste_share_scales_only_d_obj_on_z() -> None:
    data = batch()
    results = {}
    for share in (0.0, 1.0):
        model = tiny(naive_paste_adv=share).train()
        state = {"x": data["x"], "y": data["y"], "box": data["box"]}
        torch.manual_seed(1)
        results[share] = model.generator_losses(state), state["fakes"]["z"], model
    (without, _, _), (with_z, z, model) = results[0.0], results[1.0]
    with torch.no_grad():
        z_term = model.gan_loss(model.D_obj(z), True, for_discriminator=False)
    expected = without["G_adv_obj"].detach() + z_term
    assert float(with_z["G_adv_obj"].detach()) == pytest.approx(float(expected))
    assert float(with_z["G_adv_bg"].detach()) == pytest.approx(float(without["G_adv_bg"].detach()))


@pytest.mark.parametrize("spectral_norm_d", [False, True])
def test_spectral_norm_bounds_both_discriminators(spectral_norm_d: bool) -> None:
    model = tiny(spectral_norm_d=spectral_norm_d).train()
    images = batch()["x"]
    with torch.no_grad():
        for _ in range(30):  # the power iteration runs once per training-mode forward
            model.D_bg(images), model.D_obj(images)
    model.eval()
    norms = [
        float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2))
        for disc in (model.D_bg, model.D_obj)
        for conv in disc.modules()
        if isinstance(conv, torch.nn.Conv2d)
    ]
    assert len(norms) == 2 * 4
    bounded = all(norm == pytest.approx(1.0, abs=0.05) for norm in norms)
    assert bounded == spectral_norm_d
    normalised = any(
        isinstance(layer, torch.nn.InstanceNorm2d)
        for disc in (model.D_bg, model.D_obj)
        for layer in disc.modules()
    )
    assert normalised != spectral_norm_d


def test_lr_d_factor_sets_the_discriminators_rate_apart() -> None:
    model = tiny(lr=2e-4, lr_d_factor=0.25).train()
    model.configure_optimizers()
    rates = {name: opt.param_groups[0]["lr"] for name, opt in model.optimizers.items()}
    assert rates == {"G": pytest.approx(2e-4), "D": pytest.approx(5e-5)}
    trained = {p for name in ("D_bg", "D_obj") for p in getattr(model, name).parameters()}
    assert set(model.optimizers["D"].param_groups[0]["params"]) == trained


@torch.no_grad()
def test_d_obj_judges_the_box_alone_when_given_a_context() -> None:
    model = tiny(d_obj_context=1.0).train()
    x = torch.rand(2, 3, SIZE, SIZE) * 2 - 1
    box = torch.zeros(2, 1, SIZE, SIZE)
    box[..., 8:24, 8:24] = 1  # square, so the view is the box itself at twice the resolution
    outside = x + (1 - box) * torch.randn_like(x)
    view = model.judged("x", x, box)
    assert view.shape == x.shape
    interior = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    assert torch.allclose(model.judged("x", outside, box)[interior], view[interior])
    upsampled = F.interpolate(x[..., 8:24, 8:24], scale_factor=2, mode="bilinear")
    assert torch.allclose(view[interior], upsampled[interior], atol=1e-5)
    assert torch.equal(model.judged("x_hat", x, box), x)  # D_bg still sees the whole crop
    assert torch.equal(tiny().judged("x", x, box), x)  # no context: the paper's whole crop


def test_a_d_obj_context_trains_on_pooled_views() -> None:
    model = tiny(d_obj_context=1.25).train()
    model.configure_optimizers()
    losses = model.training_step(batch())
    assert all(torch.isfinite(value) for value in losses.values())
    for kind in ("z", "y_hat"):
        assert model.pools[kind].images[0].shape[-2:] == (SIZE, SIZE)


def test_pools_survive_a_resume() -> None:
    model = tiny().train()
    model.configure_optimizers()
    model.training_step(batch())
    other = tiny()
    other.load_extra_training_state(model.extra_training_state())
    for kind, pool in model.pools.items():
        assert torch.equal(torch.cat(pool.images), torch.cat(other.pools[kind].images))


def test_trains_through_the_cli_and_round_trips(tmp_path: Path, run_cli) -> None:
    run = tmp_path / "run"
    config = ROOT / "configs" / "seigan" / "synthetic_cpu.yaml"
    result = run_cli(
        "train", "seigan", "-c", config, *TINY_ARGS, "--run-dir", run, "--device", "cpu"
    )
    assert result.code == 0, result.stderr
    logged = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert len({round(row["obj_rec"], 6) for row in logged}) > 1  # losses move
    model = compogan.load(run)
    assert isinstance(model, SEIGAN) and model.work_size == SIZE
    again = SEIGAN.from_pretrained(run)
    data = batch()
    assert torch.equal(model.segment(data["x"], data["box"]), again.segment(data["x"], data["box"]))
    assert torch.equal(model.enhance(data["x"], seed=3), again.enhance(data["x"], seed=3))


@pytest.mark.parametrize("name", ["paper.yaml", "synthetic_cpu.yaml", "synthetic_cpu_tuned.yaml"])
def test_shipped_configs_load(name: str) -> None:
    load_config(SEIGAN, ROOT / "configs" / "seigan" / name)


def _with_mask_bias(model: SEIGAN, bias: float) -> SEIGAN:
    """Make G_seg answer the whole box (bias > 0) or nothing (bias < 0)."""
    with torch.no_grad():
        model.G_seg.unet.head.conv.weight.zero_()
        model.G_seg.unet.head.conv.bias.fill_(bias)
    return model.eval()


def _image(path: Path, array: np.ndarray, mode: str = "RGB") -> Path:
    Image.fromarray((array * 255).astype(np.uint8)).convert(mode).save(path)
    return path


@pytest.fixture
def scenes(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    scene = sample_scene(rng, 64)
    source = np.asarray(Image.fromarray((scene.image * 255).astype(np.uint8)).resize((67, 53)))
    target = sample_background(rng, 96)[:41]
    return _image(tmp_path / "source.png", source / 255.0), _image(tmp_path / "target.png", target)


@pytest.mark.parametrize(
    "changes", [{}, {"enh_sees_mask": True, "inp_hole_fill": "harmonic"}], ids=["paper", "tuned"]
)
def test_the_pipeline_cuts_fills_and_pastes_at_any_size(
    scenes: tuple[Path, Path], changes: dict
) -> None:
    assert PIPELINES["cutpaste"] is CutPaster
    cutpaster = CutPaster(_with_mask_bias(tiny(**changes), 6.0), device="cpu")
    source, target = scenes
    result = cutpaster(source, "20,10,50,40", target, at=(50, 5, 80, 35))
    assert result.composite.size == (96, 41) and result.removed.size == result.mask.size == (67, 53)
    src, tgt = np.asarray(Image.open(source)), np.asarray(Image.open(target))
    removed, composite = np.asarray(result.removed), np.asarray(result.composite)
    mask = np.asarray(result.mask)
    assert mask[:, :18].max() == 0 and mask[15:35, 25:45].min() > 200  # the box, nothing else
    assert np.array_equal(removed[:, :17], src[:, :17])  # away from the hole: the source's pixels
    assert not np.array_equal(removed[12:38, 22:48], src[12:38, 22:48])
    assert np.array_equal(composite[:, :40], tgt[:, :40])  # away from `at`: the target's pixels
    assert not np.array_equal(composite[8:32, 53:77], tgt[8:32, 53:77])
    again = cutpaster(source, "20,10,50,40", target, at=(50, 5, 80, 35))
    assert np.array_equal(np.asarray(again.composite), composite)  # the noise is seeded


def test_cli_writes_all_outputs_and_takes_rgba_and_grey(
    tmp_path: Path, scenes: tuple[Path, Path], run_cli
) -> None:
    weights = _with_mask_bias(tiny(), 6.0).save_pretrained(tmp_path / "seigan")
    source, target = scenes
    rgba = tmp_path / "rgba.png"
    Image.open(source).convert("RGBA").save(rgba)
    grey = tmp_path / "grey.png"
    Image.open(target).convert("L").save(grey)
    out = tmp_path / "out"
    result = run_cli(
        "cutpaste",
        "-w",
        weights,
        "--source",
        rgba,
        "--box",
        "20,10,50,40",
        "--target",
        grey,
        "--out",
        out,
        "--device",
        "cpu",
    )
    assert result.code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["composite.png", "mask.png", "removed.png"]
    assert Image.open(out / "composite.png").size == (96, 41)


def test_cli_fills_with_edgeconnect_when_asked(
    tmp_path: Path, scenes: tuple[Path, Path], run_cli
) -> None:
    weights = _with_mask_bias(tiny(), 6.0).save_pretrained(tmp_path / "seigan")
    torch.manual_seed(0)
    edgeconnect = EdgeConnect(
        EdgeConnectConfig(residual_blocks=1, content_weight=0.0, style_weight=0.0)
    )
    inpainter = edgeconnect.save_pretrained(tmp_path / "edgeconnect")
    source, target = scenes
    outs = {}
    for name, extra in (("own", []), ("edgeconnect", ["--inpainter", inpainter])):
        out = tmp_path / name
        result = run_cli(
            "cutpaste",
            "-w",
            weights,
            "--source",
            source,
            "--box",
            "20,10,50,40",
            "--target",
            target,
            "--out",
            out,
            "--device",
            "cpu",
            *extra,
        )
        assert result.code == 0, result.stderr
        outs[name] = np.asarray(Image.open(out / "removed.png"))
    src = np.asarray(Image.open(source))
    assert np.array_equal(outs["edgeconnect"][:, :17], src[:, :17])
    assert not np.array_equal(outs["edgeconnect"], outs["own"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--box", "20,10,50"], "four numbers"),
        (["--box", "50,10,20,40"], "empty or inverted"),
        (["--box", "20,10,90,40"], "outside the 67x53 image"),
        (["--box", "20,10,50,40", "--at", "80,10,120,40"], "outside the 96x41 image"),
    ],
)
def test_cli_refuses_bad_boxes(tmp_path, scenes, run_cli, args, message) -> None:
    weights = _with_mask_bias(tiny(), 6.0).save_pretrained(tmp_path / "seigan")
    source, target = scenes
    out = tmp_path / "out"
    result = run_cli(
        "cutpaste", "-w", weights, "--source", source, "--target", target, "--out", out, *args
    )
    assert result.code == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_cli_refuses_an_empty_mask_and_other_models(
    tmp_path: Path, scenes: tuple[Path, Path], run_cli, tiny_cyclegan_dir: Path
) -> None:
    source, target = scenes
    empty = _with_mask_bias(tiny(), -8.0).save_pretrained(tmp_path / "empty")
    out = tmp_path / "out"
    common = [
        "--source",
        source,
        "--box",
        "20,10,50,40",
        "--target",
        target,
        "--out",
        out,
        "--device",
        "cpu",
    ]
    result = run_cli("cutpaste", "-w", empty, *common)
    assert result.code == 1 and "no object found in the box" in result.stderr
    assert not out.exists()
    result = run_cli("cutpaste", "-w", tiny_cyclegan_dir, *common)
    assert result.code == 1 and "'cyclegan' checkpoint" in result.stderr
    assert "cutpaste" in result.stderr and not out.exists()


def _perturbed(path: Path, region: tuple[slice, slice], seed: int) -> Image.Image:
    """The image at ``path`` with random pixels inside ``region`` (rows, cols)."""
    pixels = np.asarray(Image.open(path).convert("RGB")).copy()
    rows, cols = region
    shape = pixels[rows, cols].shape
    pixels[rows, cols] = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return Image.fromarray(pixels)


def test_outputs_do_not_depend_on_the_pixels_they_replace(scenes: tuple[Path, Path]) -> None:
    cutpaster = CutPaster(_with_mask_bias(tiny(), 20.0), device="cpu")
    source, target = scenes
    box, at = "20,10,50,40", (50, 5, 80, 35)
    first = cutpaster(source, box, target, at=at)
    hole = (np.asarray(first.removed) != np.asarray(Image.open(source))).any(axis=2)
    rows, cols = np.nonzero(hole)
    assert rows.min() >= 8 and rows.max() <= 41 and cols.min() >= 18 and cols.max() <= 51
    inside_hole = (slice(10, 40), slice(20, 50))  # the whole box is masked, the hole grown
    changed_source = _perturbed(source, inside_hole, seed=1)
    second = cutpaster(changed_source, box, target, at=at)
    assert np.array_equal(np.asarray(second.removed), np.asarray(first.removed))
    under_object = (slice(7, 33), slice(52, 78))  # inside `at`, where the object is opaque
    changed_target = _perturbed(target, under_object, seed=2)
    third = cutpaster(source, box, changed_target, at=at)
    assert np.array_equal(np.asarray(third.composite), np.asarray(first.composite))
    assert not np.array_equal(np.asarray(changed_target), np.asarray(Image.open(target)))


class ShiftingPlacer:
    """A stand-in for a Compositor whose "predicted" warp is the initial placement moved
    ``shift`` canonical units right: it records the placements it was asked for."""

    def __init__(self, shift: float) -> None:
        self.shift, self.calls = shift, []

    def __call__(self, foreground, background, init, keep_steps):
        from compogan.geometry import composite_warped
        from compogan.io.images import pil_to_tensor, tensor_to_pil
        from compogan.pipelines.compose import CompositionResult, placement_matrix

        self.calls.append(init)
        fg = pil_to_tensor(foreground.convert("RGB"))[None]
        alpha = torch.from_numpy(np.asarray(foreground.getchannel("A")) / 255.0).float()
        start = placement_matrix(init, fg.shape[-2:], (background.height, background.width))
        move = torch.tensor([[1.0, 0.0, self.shift], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        warp = move @ start
        rgba = torch.cat([fg, alpha[None, None]], 1)
        composite, _ = composite_warped(rgba, pil_to_tensor(background)[None], warp)
        return CompositionResult(tensor_to_pil(composite[0]), warp.double().numpy())


def test_a_placer_moves_the_object_before_it_is_enhanced(scenes: tuple[Path, Path]) -> None:
    source, target = scenes
    model = _with_mask_bias(tiny(), 20.0)
    still = CutPaster(model, device="cpu", placer=ShiftingPlacer(0.0))
    moved = CutPaster(model, device="cpu", placer=ShiftingPlacer(0.5))
    at = (20, 5, 50, 35)
    unmoved = still(source, "20,10,50,40", target, at=at)
    assert still.placer.calls == [pytest.approx((35 / 96, 20 / 41, 30 / 96, 0.0))]
    assert abs(unmoved.box[0] - at[0]) <= 1 and abs(unmoved.box[2] - at[2]) <= 1
    result = moved(source, "20,10,50,40", target, at=at)
    x0, y0, x1, y1 = result.box  # 0.5 canonical units = a quarter of the 96 px width
    assert abs(x0 - (at[0] + 24)) <= 1 and abs(x1 - (at[2] + 24)) <= 1
    assert abs(y0 - at[1]) <= 1 and abs(y1 - at[3]) <= 1
    tgt, composite = np.asarray(Image.open(target)), np.asarray(result.composite)
    assert np.array_equal(composite[:, :30], tgt[:, :30])  # the object left its first place
    assert not np.array_equal(composite[8:32, 47:71], tgt[8:32, 47:71])


def test_cli_chains_an_stgan_placer(tmp_path: Path, scenes: tuple[Path, Path], run_cli) -> None:
    from compogan.models.stgan import STGAN, STGANConfig, STGANDataConfig

    weights = _with_mask_bias(tiny(), 6.0).save_pretrained(tmp_path / "seigan")
    torch.manual_seed(0)
    stgan_config = STGANConfig(
        image_size=32,
        warp_n=2,
        predictor_widths=(4, 8, 8, 8, 8),
        fc_dim=16,
        critic_widths=(4, 8, 8, 8, 8),
    )
    placer = STGAN(stgan_config, STGANDataConfig(size=32)).save_pretrained(tmp_path / "stgan")
    source, target = scenes
    out = tmp_path / "out"
    args = ["--source", source, "--box", "20,10,50,40", "--target", target, "--out", out]
    result = run_cli("cutpaste", "-w", weights, *args, "--placer", placer, "--at", "50,5,80,35")
    assert result.code == 0, result.stderr
    composite = np.asarray(Image.open(out / "composite.png"))
    tgt = np.asarray(Image.open(target))
    assert composite.shape == tgt.shape and not np.array_equal(composite, tgt)
    wrong = run_cli("cutpaste", "-w", weights, *args, "--placer", weights)
    assert wrong.code == 1 and "'seigan' checkpoint" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
