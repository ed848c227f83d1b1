"""``call(fn, environment, **overrides)``: call a framework-mode function with the arguments its signature names.

A "framework mode" script defines ``train(channel_input_dirs, hyperparameters, num_gpus, ...)``
rather than reading ``SM_*`` variables; the framework calls it with :func:`call`, which looks
each parameter name up in, first to last: ``overrides``, the user's hyperparameters, and the
environment (its :meth:`~framework_sdk.container.environment.Environment.training_env` keys, then
any other attribute, a subclass's own included). A function taking ``**kwargs`` receives every
hyperparameter besides.
"""
import inspect

from framework_sdk.container.errors import ConfigurationError


def arguments(fn, environment, **overrides):
    """The keyword arguments :func:`call` passes to ``fn``."""
    parameters = inspect.signature(fn).parameters
    known = environment.training_env()
    chosen = {}
    for name, parameter in parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in overrides:
            chosen[name] = overrides[name]
        elif name in environment.hyperparameters:
            chosen[name] = environment.hyperparameters[name]
        elif name in known:
            chosen[name] = known[name]
        elif not name.startswith("_") and hasattr(environment, name):
            chosen[name] = getattr(environment, name)
        elif parameter.default is parameter.empty:
            raise ConfigurationError(
                f"{getattr(fn, '__qualname__', fn)} needs the argument {name!r}, which is neither a hyperparameter "
                f"nor a value of the training environment (those are: {', '.join(sorted(known))}); give it a "
                f"default or pass it as a hyperparameter")
    if any(parameter.kind == parameter.VAR_KEYWORD for parameter in parameters.values()):
        for name, value in {**environment.hyperparameters, **overrides}.items():
            chosen.setdefault(name, value)
    return chosen


def call(fn, environment, **overrides):
    """``fn(**arguments(fn, environment, **overrides))``: what ``fn``'s signature asks for, and nothing else."""
    return fn(**arguments(fn, environment, **overrides))
