"""The generic Python framework (script mode): no defaults or serving functions of its own.

The toolkit's generic behaviour applies; this module only names the script ``framework-sdk
check`` runs in the image when the user gives no ``--entry-point``.
"""

CHECK_SCRIPT = "check_scripts/nearest_centroid.py"

IMAGE_VERSIONS = {"3.11": ("py3",)}
IMAGE_DEFINITION = "framework_sdk.images:python"
