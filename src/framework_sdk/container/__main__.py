"""Container entry point: ``python -m framework_sdk.container train|serve``.

Images put ``train`` and ``serve`` on PATH as thin wrappers around this, so the
container command is ``train`` or ``serve`` as SageMaker runs it.
"""
import sys

USAGE = "usage: python -m framework_sdk.container train|serve"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("train", "serve"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "train":
        start_module = _framework_training_module()
        if start_module and not argv[1:]:  # a registered framework's own start module (TRAINING_MODULE)
            from framework_sdk.container.runner import run_start_module

            return run_start_module(start_module)
        from framework_sdk.container.training import main as run
    else:
        from framework_sdk.container.serving import main as run
    return run(argv[1:])


def _framework_training_module():
    import os

    from framework_sdk.container import frameworks

    framework = frameworks.load(os.environ.get(frameworks.FRAMEWORK_ENV, "").strip())
    return getattr(framework, "TRAINING_MODULE", None)


def train_main():
    """Console entry for the ``train`` command inside an image."""
    sys.exit(main(["train", *sys.argv[1:]]))


def serve_main():
    """Console entry for the ``serve`` command inside an image."""
    sys.exit(main(["serve", *sys.argv[1:]]))


if __name__ == "__main__":
    sys.exit(main())
