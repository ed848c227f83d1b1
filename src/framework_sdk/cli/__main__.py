"""``python -m framework_sdk.cli``: the ``framework-sdk`` command."""
from framework_sdk.cli import main

main()
