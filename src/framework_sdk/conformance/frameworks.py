"""Framework images: which framework an image's toolkit runs, and that framework's built-in check script."""
import shlex

from framework_sdk.conformance.results import ConformanceError

FRAMEWORK_ENV = "FRAMEWORK_SDK_FRAMEWORK"  # what the toolkit in a framework image reads
FRAMEWORK_LABEL = "org.framework-sdk.framework"  # what `framework-sdk images build` labels


def _framework_of(image_attrs):
    """The framework an image's toolkit runs (``FRAMEWORK_SDK_FRAMEWORK``, else our build label), or None."""
    config = image_attrs.get("Config") or {}
    environment = dict(item.partition("=")[::2] for item in config.get("Env") or [])
    return (environment.get(FRAMEWORK_ENV) or (config.get("Labels") or {}).get(FRAMEWORK_LABEL) or "").strip() or None


def _own_script_command(image):
    return (f"framework-sdk check {shlex.quote(image)} --entry-point train.py --source-dir src   "
            "(src/train.py: your training script, whose model_fn also serves)")


def _builtin_script(image, framework):
    """``(file name, source)`` of the framework's built-in check script; stops with the command to run without one."""
    from framework_sdk.container import frameworks

    module = frameworks.load(framework)
    script = frameworks.check_script(module) if module is not None else None
    if script is None:
        why = (f"the {framework} framework brings no built-in script to check it with" if module is not None else
               f"this framework-sdk does not know the {framework} framework (install its package to use its "
               "built-in script)")
        raise ConformanceError(f"{image} is a {framework} framework image: its train and serve run a user's "
                               f"script, none was given (--entry-point), and {why}. Run:\n  "
                               + _own_script_command(image))
    return script
