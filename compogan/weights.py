"""Finding and reading pretrained weight files (VGG-19 and friends).

:func:`resolve_weights` looks for a file in this order: an explicit path, the directory named by
``$COMPOGAN_WEIGHTS``, the torch hub cache (``$TORCH_HOME/hub/checkpoints``), then downloads it
into the hub cache when a URL is known and neither ``COMPOGAN_OFFLINE`` nor ``HF_HUB_OFFLINE`` is
set; otherwise it raises :class:`~compogan.errors.WeightsNotFoundError` saying where to put the
file. :func:`load_state_dict_file` reads ``.pth`` (``weights_only``) or ``.safetensors`` files.
"""

import http.client
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from compogan.errors import CheckpointError, WeightsNotFoundError

WEIGHTS_ENV_VAR = "COMPOGAN_WEIGHTS"
OFFLINE_ENV_VARS = ("COMPOGAN_OFFLINE", "HF_HUB_OFFLINE")
_TRUTHY = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class WeightSpec:
    """Where a pretrained weights file comes from.

    Attributes:
        filename: file name looked up in the weight directories.
        url: download address, or ``None`` when the file cannot be downloaded.
        sha256_prefix: leading hex digits of the file's SHA-256, checked after download.
    """

    filename: str
    url: str | None = None
    sha256_prefix: str | None = None

    def resolve(self, explicit: str | Path | None = None) -> Path:
        """Find (or download) this file; see :func:`resolve_weights`."""
        return resolve_weights(
            self.filename, explicit, url=self.url, sha256_prefix=self.sha256_prefix
        )


VGG19_WEIGHTS = WeightSpec(
    filename="vgg19-dcbb9e9d.pth",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    sha256_prefix="dcbb9e9d",
)


def hub_checkpoint_dir() -> Path:
    """The torch hub checkpoint cache, ``$TORCH_HOME/hub/checkpoints`` by default."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def is_offline() -> bool:
    """Whether ``COMPOGAN_OFFLINE`` or ``HF_HUB_OFFLINE`` forbids downloads."""
    return any(os.environ.get(name, "").strip().lower() in _TRUTHY for name in OFFLINE_ENV_VARS)


def resolve_weights(
    filename: str,
    explicit: str | Path | None = None,
    *,
    url: str | None = None,
    sha256_prefix: str | None = None,
    env_var: str = WEIGHTS_ENV_VAR,
) -> Path:
    """Return the path of a weights file, downloading it only as a last resort.

    Order: ``explicit`` (a file, or a directory holding ``filename``) -> ``$env_var/filename``
    -> ``<torch hub dir>/checkpoints/filename`` -> download ``url`` into the hub cache (unless
    offline) -> error.

    Raises:
        WeightsNotFoundError: ``explicit`` does not exist, or the file is nowhere to be found and
            could not be downloaded; the message names the file, the URL and where to put it.
    """
    if explicit is not None:
        return _explicit_path(Path(explicit).expanduser(), filename)
    searched: list[Path] = []
    env_dir = os.environ.get(env_var)
    if env_dir:
        candidate = Path(env_dir).expanduser() / filename
        if candidate.is_file():
            return candidate
        searched.append(candidate.parent)
    hub_dir = hub_checkpoint_dir()
    if (hub_dir / filename).is_file():
        return hub_dir / filename
    searched.append(hub_dir)
    reason = _download_blocker(url)
    if reason is None and url is not None:
        return _download(url, hub_dir / filename, sha256_prefix, env_var)
    where = ", ".join(str(path) for path in searched)
    source = f"download it from {url} and " if url else ""
    raise WeightsNotFoundError(
        f"{filename} not found (looked in {where}; {reason}); {source}put {filename} "
        f"in ${env_var} or {hub_dir}, or pass its path explicitly"
    )


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from a ``.pth``/``.pt`` (``weights_only``) or ``.safetensors`` file.

    Raises:
        CheckpointError: the file cannot be read or does not hold a mapping of tensors.
    """
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"cannot read weights file {path} ({_first_line(error)}); "
            "delete it and download it again"
        ) from error
    if not isinstance(state, dict) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of names to tensors)")
    return dict(state)


def _explicit_path(path: Path, filename: str) -> Path:
    if path.is_file():
        return path
    if path.is_dir() and (path / filename).is_file():
        return path / filename
    raise WeightsNotFoundError(
        f"weights file {path} does not exist; pass the path of an existing {filename}"
    )


def _download_blocker(url: str | None) -> str | None:
    """Why no download is attempted, or ``None`` when one may be."""
    if url is None:
        return "no download URL is known"
    if is_offline():
        return "downloads are off because COMPOGAN_OFFLINE or HF_HUB_OFFLINE is set"
    return None


def _download(url: str, destination: Path, sha256_prefix: str | None, env_var: str) -> Path:
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(destination), hash_prefix=sha256_prefix)
    except (OSError, RuntimeError, http.client.HTTPException) as error:
        raise WeightsNotFoundError(
            f"could not download {destination.name} from {url} ({_first_line(error)}); "
            f"download it yourself and put it in ${env_var} or {destination.parent}"
        ) from error
    return destination


def _first_line(error: BaseException) -> str:
    """A one-line summary of an exception for an error message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
