"""Import of official checkpoints into compogan models (explicit key tables, no pickle)."""
