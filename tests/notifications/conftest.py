"""The two-worker cluster of the consultation tests serves these tests too."""

from tests.care.conftest import apis, care_cluster

__all__ = ["apis", "care_cluster"]
