"""The model zoo: importing this package registers every implemented model."""

from compogan.models import cyclegan, stgan  # noqa: F401
