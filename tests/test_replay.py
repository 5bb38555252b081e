"""The replay history of earlier fakes (ST-GAN's critic history)."""

from __future__ import annotations

import pytest
import torch

from compogan.data.replay import ReplayBuffer
from compogan.errors import ConfigError, InputError


def numbered(start: int, count: int) -> torch.Tensor:
    """(count, 1, 2, 2) images whose every pixel holds its number, start, start + 1, ..."""
    values = torch.arange(start, start + count, dtype=torch.float32)
    return values[:, None, None, None].expand(count, 1, 2, 2).clone()


def numbers(images: torch.Tensor) -> list[int]:
    return [int(value) for value in images[:, 0, 0, 0]]


def test_push_fills_then_overwrites_the_oldest() -> None:
    history = ReplayBuffer(5)
    history.push(numbered(0, 3))
    assert len(history) == 3
    history.push(numbered(3, 4))
    assert len(history) == 5
    assert history.images is not None
    assert numbers(history.images) == [5, 6, 2, 3, 4]
    history.push(numbered(10, 7))  # more than the capacity: the newest five are kept
    assert sorted(numbers(history.images)) == [12, 13, 14, 15, 16]


def test_mix_returns_the_batch_until_enough_then_swaps_the_fraction() -> None:
    torch.manual_seed(0)
    history = ReplayBuffer(100)
    first = numbered(0, 4)
    assert torch.equal(history.mix(first, 0.5), first)  # nothing stored yet: all four kept
    assert len(history) == 4

    mixed = history.mix(numbered(10, 4), 0.5)
    assert mixed.shape == (4, 1, 2, 2)
    new, old = numbers(mixed[:2]), numbers(mixed[2:])
    assert set(new) < {10, 11, 12, 13}
    assert set(old) < {0, 1, 2, 3} and len(set(old)) == 2
    stored = numbers(history.images[: len(history)])
    assert len(history) == 6
    assert set(stored[4:]) == {10, 11, 12, 13} - set(new)  # the swapped-out new fakes are kept


def test_mix_without_history_or_fraction_is_the_identity() -> None:
    fakes = numbered(0, 4)
    assert torch.equal(ReplayBuffer(0).mix(fakes, 0.5), fakes)
    history = ReplayBuffer(10)
    assert torch.equal(history.mix(fakes, 0.0), fakes)
    assert len(history) == 0


def test_state_round_trip_continues_identically() -> None:
    history = ReplayBuffer(6)
    history.push(numbered(0, 8))
    state = history.state_dict()
    assert state["images"].shape == (6, 1, 2, 2)

    restored = ReplayBuffer(6)
    restored.load_state_dict(state, torch.device("cpu"))
    torch.manual_seed(1)
    expected = history.mix(numbered(20, 4), 0.5)
    torch.manual_seed(1)
    assert torch.equal(restored.mix(numbered(20, 4), 0.5), expected)
    assert torch.equal(restored.images, history.images)
    assert restored.position == history.position


def test_empty_state_and_clear() -> None:
    history = ReplayBuffer(4)
    assert history.state_dict()["images"].numel() == 0
    history.load_state_dict(history.state_dict(), torch.device("cpu"))
    history.push(numbered(0, 2))
    history.clear()
    assert len(history) == 0
    assert history.state_dict()["images"].numel() == 0


def test_bad_uses_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match=">= 0"):
        ReplayBuffer(-1)
    history = ReplayBuffer(4)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        history.mix(numbered(0, 2), 1.5)
    with pytest.raises(InputError, match="cannot draw 3"):
        history.sample(3)
    history.push(numbered(0, 2))
    with pytest.raises(InputError, match="shape"):
        history.push(torch.zeros(1, 3, 2, 2))
    history.push(numbered(2, 1))
    with pytest.raises(InputError, match="capacity 2"):
        ReplayBuffer(2).load_state_dict(history.state_dict(), torch.device("cpu"))
