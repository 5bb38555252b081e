"""The model zoo: one file per paper. The registry (:mod:`compogan.registry`) imports a model's
file only when that model is asked for."""
