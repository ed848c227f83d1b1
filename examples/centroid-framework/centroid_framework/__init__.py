"""centroid-framework: an example framework for framework-sdk (see doc/frameworks.md)."""
from centroid_framework.estimator import Centroid, CentroidModel

__all__ = ["Centroid", "CentroidModel"]
