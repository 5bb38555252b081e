"""Starting a training stage from another run's networks (``train.init_from``).

Staged recipes (EdgeConnect's three stages; SEIGAN, pose synthesis and TP-GAN train in stages
too) start some networks of a fresh run from earlier runs or from official weights. The config
names them network by network::

    train.init_from.G1=runs/places2-edge train.init_from.D1=runs/places2-edge
    train.init_from.G2=official/places2/      # a folder of official files an importer reads

Each source is read once through :func:`compogan.registry.load`, so it may be a compogan run,
a ``save_pretrained`` directory or official files. Checks, each a one-line error: the network
exists in this model, the source is a checkpoint of the same model and holds that network, the
config fields the network's weights depend on (:meth:`GANModel.weight_settings`) agree, and the
shapes fit.
"""

from __future__ import annotations

from collections.abc import Mapping

from compogan.errors import CheckpointError, ConfigError
from compogan.models.base import GANModel, load_network_state


def init_networks(model: GANModel, sources: Mapping[str, str]) -> None:
    """Load each network named in ``sources`` (network → source path) from its source.

    Raises:
        ConfigError: a name that is not one of the model's networks.
        CheckpointError: nothing loadable at a source, another model's checkpoint, a source
            without the network, or weights trained with other settings or shapes.
    """
    from compogan.registry import load

    unknown = sorted(set(sources) - set(model.network_names))
    if unknown:
        raise ConfigError(
            f"train.init_from.{unknown[0]}: {model.name} has no network '{unknown[0]}'; "
            f"its networks are {', '.join(model.network_names)}"
        )
    by_source: dict[str, list[str]] = {}
    for network, source in sources.items():
        by_source.setdefault(source, []).append(network)
    for source, networks in by_source.items():
        donor = load(source)
        if donor.name != model.name:
            raise CheckpointError(
                f"train.init_from: {source} holds a '{donor.name}' model, not {model.name}"
            )
        for network in networks:
            _check_donor_network(model, donor, network, source)
            state = getattr(donor, network).state_dict()
            load_network_state(getattr(model, network), state, f"{network} from {source}")


def _check_donor_network(model: GANModel, donor: GANModel, network: str, source: str) -> None:
    """CheckpointError unless ``donor`` holds ``network`` trained with ``model``'s settings."""
    if network not in donor.loaded_networks:
        raise CheckpointError(
            f"train.init_from.{network}: {source} holds no {network} "
            f"(it holds {', '.join(donor.loaded_networks)})"
        )
    wanted, trained = model.weight_settings(network), donor.weight_settings(network)
    for key, value in wanted.items():
        if trained.get(key) != value:
            theirs = str(trained.get(key)).lower()
            raise CheckpointError(
                f"the {network} at {source} was trained with {key} '{theirs}', this config "
                f"uses '{str(value).lower()}': set model.{key}={theirs}"
            )
