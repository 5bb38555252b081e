"""The model zoo: importing this package registers every implemented model."""

from compogan.models import cyclegan, edgeconnect, stgan  # noqa: F401
