"""How hyperparameter tuning searches: the search space, the strategies that pick values, early stopping.

Pure (no I/O, no threads), shared by both halves of tuning: :mod:`framework_sdk.tuner` checks
parameter ranges with it before any request is sent, and local mode's tuning engine
(:mod:`framework_sdk.local.tuning`) runs its searches with it.

- :class:`Dimension` / :class:`SearchSpace`: a ``CreateHyperParameterTuningJob`` request's
  ``ParameterRanges`` (``IntegerParameterRanges``, ``ContinuousParameterRanges``,
  ``CategoricalParameterRanges``), checked as SageMaker checks them, sampled and formatted as the
  strings SageMaker passes to training jobs.
- Strategies, one per SageMaker ``Strategy``, all with ``ask()`` (the next values, or ``None``
  when there are no more) and ``tell(suggestion, objective)`` (``None``: the job gave no
  objective): :class:`RandomSearch` (seeded), :class:`GridSearch` (every combination of
  categorical values, in order), :class:`BayesianSearch` (optuna's TPE sampler: model-based,
  seeded; optuna is the ``[tuning]`` extra, imported only here and only when used) and
  :class:`HyperbandSearch` (random configurations; local mode stops the weak ones early with
  :class:`MedianStoppingRule` from ``MinResource`` on and stops every job at ``MaxResource``).
  ``seed(values, objective)`` gives a strategy an earlier result (warm start).
- :class:`MedianStoppingRule`: SageMaker's automatic early stopping. A job is stopped when its
  objective at a point (its n-th value) is worse than the median of the running averages of earlier
  jobs up to the same point.

Scaling types: ``Linear``, ``Logarithmic`` (values > 0), ``ReverseLogarithmic`` (continuous
ranges within 0 <= x < 1: dense near 1) and ``Auto``, which SageMaker resolves itself and the
local engine searches as ``Linear``.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import math
import random
import statistics
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

from .exceptions import ConfigurationError, MissingDependencyError

Value = Union[int, float, str]

STRATEGIES = ("Bayesian", "Random", "Hyperband", "Grid")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
RANGE_KEYS = {"Integer": "IntegerParameterRanges", "Continuous": "ContinuousParameterRanges",
              "Categorical": "CategoricalParameterRanges"}
MAX_RANGES = 30            # hyperparameters one tuning job searches (SageMaker's limit)
MAX_CATEGORICAL_VALUES = 30
MAX_VALUE_LENGTH = 256
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")  # where Hyperband finds MaxResource
_INSTALL_OPTUNA = "pip install optuna  (or: pip install 'framework-sdk[tuning]')"


# ------------------------------------------------------------------------------------ the space

@dataclasses.dataclass(frozen=True)
class Dimension:
    """One hyperparameter's range: ``kind`` is ``Integer``, ``Continuous`` or ``Categorical``."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @classmethod
    def from_range(cls, kind: str, spec: Mapping[str, Any]) -> Dimension:
        """A checked dimension from one request range (``{"Name", "MinValue", "MaxValue", "ScalingType"}`` or
        ``{"Name", "Values"}``); a :class:`ConfigurationError` says what SageMaker would refuse."""
        name = spec.get("Name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a {kind.lower()} parameter range has no name: {dict(spec)!r}")
        if kind == "Categorical":
            return cls._categorical(name, spec.get("Values"))
        if kind not in ("Integer", "Continuous"):
            raise ConfigurationError(f"parameter range {name!r}: unknown kind {kind!r}")
        scaling = spec.get("ScalingType", "Auto")
        if scaling not in SCALING_TYPES:
            raise ConfigurationError(f"parameter range {name!r}: scaling_type {scaling!r} is not one of "
                                     f"{', '.join(SCALING_TYPES)}")
        low, high = _number(name, "min_value", spec.get("MinValue"), kind), \
            _number(name, "max_value", spec.get("MaxValue"), kind)
        if low > high or (kind == "Continuous" and low == high):
            raise ConfigurationError(f"parameter range {name!r}: min_value {low} must be below max_value {high}")
        if scaling == "Logarithmic" and low <= 0:
            raise ConfigurationError(f"parameter range {name!r}: Logarithmic scaling needs values above 0, but "
                                     f"min_value is {low}; raise min_value or use scaling_type='Linear'")
        if scaling == "ReverseLogarithmic" and (kind != "Continuous" or not 0 <= low < high < 1):
            raise ConfigurationError(f"parameter range {name!r}: ReverseLogarithmic scaling is for continuous "
                                     f"ranges within 0 <= value < 1 (got {kind.lower()} {low}..{high}); use "
                                     f"scaling_type='Linear' or 'Logarithmic'")
        return cls(name, kind, low, high, scaling)

    @classmethod
    def _categorical(cls, name: str, values: Any) -> Dimension:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ConfigurationError(f"categorical parameter {name!r} needs a list of values, got {values!r}")
        texts = tuple(str(value) for value in values)
        if len(texts) > MAX_CATEGORICAL_VALUES:
            raise ConfigurationError(f"categorical parameter {name!r} has {len(texts)} values; SageMaker takes at "
                                     f"most {MAX_CATEGORICAL_VALUES}: split the search or use an integer range")
        if len(set(texts)) != len(texts):
            raise ConfigurationError(f"categorical parameter {name!r} lists a value twice: {list(texts)!r}")
        long = [text for text in texts if len(text) > MAX_VALUE_LENGTH]
        if long:
            raise ConfigurationError(f"categorical parameter {name!r}: value {long[0][:40]!r}... is longer than "
                                     f"{MAX_VALUE_LENGTH} characters")
        return cls(name, "Categorical", values=texts)

    # -- values
    @property
    def _log(self) -> bool:
        return self.scaling in ("Logarithmic", "ReverseLogarithmic")

    def sample(self, rng: random.Random) -> Value:
        """A value drawn at random on this dimension's scale."""
        if self.kind == "Categorical":
            return rng.choice(self.values)
        if self.scaling == "ReverseLogarithmic":  # 1 - x is log-uniform: values crowd towards 1
            return 1.0 - math.exp(rng.uniform(math.log(1.0 - self.high), math.log(1.0 - self.low)))
        if self.kind == "Integer":
            if self._log:
                drawn = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
                return int(min(max(math.floor(drawn), self.low), self.high))
            return rng.randint(int(self.low), int(self.high))
        if self._log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.uniform(self.low, self.high)

    def text(self, value: Value) -> str:
        """``value`` as the string SageMaker passes to the training job."""
        if self.kind == "Integer":
            return str(int(value))
        if self.kind == "Continuous":
            return repr(float(value))
        return str(value)

    def parse(self, text: str) -> Value | None:
        """The value a training job got as ``text``, or ``None`` when it lies outside this dimension."""
        if self.kind == "Categorical":
            return text if text in self.values else None
        try:
            number = float(text)
        except (TypeError, ValueError):
            return None
        if not self.low <= number <= self.high:
            return None
        if self.kind == "Integer":
            return int(number) if number.is_integer() else None
        return number

    def cast(self, text: str) -> Value:
        """``text`` as a number for numeric ranges, JSON-decoded for categorical ones when it is JSON."""
        if self.kind == "Integer":
            return int(float(text))
        if self.kind == "Continuous":
            return float(text)
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        return decoded if isinstance(decoded, (str, int, float)) else text

    # -- optuna
    def distribution(self) -> Any:
        """This dimension as an optuna distribution (``ReverseLogarithmic`` searches ``1 - x``)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "Categorical":
            return CategoricalDistribution(list(self.values))
        if self.kind == "Integer":
            return IntDistribution(int(self.low), int(self.high), log=self._log)
        if self.scaling == "ReverseLogarithmic":
            return FloatDistribution(1.0 - self.high, 1.0 - self.low, log=True)
        return FloatDistribution(self.low, self.high, log=self._log)

    def from_optuna(self, value: Any) -> Value:
        return 1.0 - float(value) if self.scaling == "ReverseLogarithmic" else value

    def to_optuna(self, value: Value) -> Any:
        return 1.0 - float(value) if self.scaling == "ReverseLogarithmic" else value


def _number(name: str, what: str, text: Any, kind: str) -> float:
    try:
        number = float(text)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or (kind == "Integer" and not number.is_integer()):
        expected = "an integer" if kind == "Integer" else "a finite number"
        raise ConfigurationError(f"parameter range {name!r}: {what} must be {expected}, got {text!r}")
    return number


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The dimensions of one tuning job, in request order."""

    dimensions: tuple[Dimension, ...]

    @classmethod
    def from_request(cls, parameter_ranges: Mapping[str, Any] | None) -> SearchSpace:
        """The checked space of a request's ``ParameterRanges``."""
        ranges = parameter_ranges or {}
        unknown = set(ranges) - set(RANGE_KEYS.values())
        if unknown:
            raise ConfigurationError(f"ParameterRanges has unknown keys {sorted(unknown)}; local tuning searches "
                                     f"{', '.join(RANGE_KEYS.values())}")
        kinds = {key: kind for kind, key in RANGE_KEYS.items()}
        dimensions = tuple(Dimension.from_range(kinds[key], spec)  # in the request's order
                           for key, specs in ranges.items() for spec in specs or ())
        if not dimensions:
            raise ConfigurationError("hyperparameter_ranges is empty: give at least one IntegerParameter, "
                                     "ContinuousParameter or CategoricalParameter to search")
        if len(dimensions) > MAX_RANGES:
            raise ConfigurationError(f"{len(dimensions)} hyperparameter ranges; SageMaker searches at most "
                                     f"{MAX_RANGES}: keep the others static")
        names = [dimension.name for dimension in dimensions]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ConfigurationError(f"hyperparameter {twice[0]!r} has more than one range")
        return cls(dimensions)

    @property
    def names(self) -> list[str]:
        return [dimension.name for dimension in self.dimensions]

    def texts(self, values: Mapping[str, Value]) -> dict[str, str]:
        """``TunedHyperParameters``: every value as SageMaker's string."""
        return {dimension.name: dimension.text(values[dimension.name]) for dimension in self.dimensions}

    def parse(self, texts: Mapping[str, str]) -> dict[str, Value] | None:
        """Values of an earlier job (warm start) inside this space, or ``None`` when any lies outside."""
        values = {}
        for dimension in self.dimensions:
            value = dimension.parse(texts[dimension.name]) if dimension.name in texts else None
            if value is None:
                return None
            values[dimension.name] = value
        return values

    def grid(self) -> Iterator[dict[str, Value]]:
        """Every combination of the categorical values, first dimension slowest."""
        for combination in itertools.product(*(dimension.values for dimension in self.dimensions)):
            yield dict(zip(self.names, combination))

    def grid_size(self) -> int:
        return math.prod(len(dimension.values) for dimension in self.dimensions)


# ------------------------------------------------------------------------------ the strategies

@dataclasses.dataclass
class Suggestion:
    """Values to try; ``handle`` is the strategy's own record of them (an optuna trial)."""

    values: dict[str, Value]
    handle: Any = None


class RandomSearch:
    """Values drawn independently on each dimension's scale; ``seed`` makes the sequence repeat."""

    def __init__(self, space: SearchSpace, seed: int | None = None) -> None:
        self.space = space
        self.rng = random.Random(seed)

    def ask(self) -> Suggestion | None:
        return Suggestion({dimension.name: dimension.sample(self.rng) for dimension in self.space.dimensions})

    def tell(self, suggestion: Suggestion, objective: float | None) -> None:
        """Random search learns nothing from results."""

    def seed(self, values: Mapping[str, Value], objective: float) -> None:
        """Earlier results do not change random draws."""


class HyperbandSearch(RandomSearch):
    """Hyperband's configurations: random draws. Its budget control (stop the weak early, every job at
    ``MaxResource``) is applied by the engine that runs the jobs (:class:`MedianStoppingRule`)."""


class GridSearch:
    """Every combination of categorical values once, in order (SageMaker's Grid takes only categorical ranges)."""

    def __init__(self, space: SearchSpace) -> None:
        numeric = [dimension.name for dimension in space.dimensions if dimension.kind != "Categorical"]
        if numeric:
            raise ConfigurationError(f"the Grid strategy searches only categorical ranges; {numeric[0]!r} is "
                                     f"not one: make it a CategoricalParameter of the values to try, or use "
                                     f"strategy='Random' or 'Bayesian'")
        self.space = space
        self._combinations = space.grid()

    def ask(self) -> Suggestion | None:
        values = next(self._combinations, None)
        return None if values is None else Suggestion(values)

    def tell(self, suggestion: Suggestion, objective: float | None) -> None:
        """The grid is fixed; results change nothing."""

    def seed(self, values: Mapping[str, Value], objective: float) -> None:
        """The grid is fixed; earlier results change nothing."""


class BayesianSearch:
    """Model-based search with optuna's TPE sampler (seeded; trials still running are accounted for with
    the constant liar, so parallel jobs spread out). The first ``startup`` suggestions are random."""

    def __init__(self, space: SearchSpace, objective_type: str = "Maximize", seed: int | None = None,
                 max_jobs: int | None = None) -> None:
        optuna = import_optuna()
        self.space = space
        self.distributions = {dimension.name: dimension.distribution() for dimension in space.dimensions}
        self.startup = startup_trials(max_jobs)
        with warnings.catch_warnings():  # "experimental" notices about multivariate / constant_liar
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup, multivariate=True,
                                                 constant_liar=True)
        storage = optuna.storages.InMemoryStorage()
        self.study = optuna.create_study(storage=storage, sampler=sampler, study_name=_STUDY_PREFIX + "search",
                                         direction="maximize" if objective_type == "Maximize" else "minimize")

    def ask(self) -> Suggestion | None:
        trial = self.study.ask(self.distributions)
        values = {dimension.name: dimension.from_optuna(trial.params[dimension.name])
                  for dimension in self.space.dimensions}
        return Suggestion(values, trial)

    def tell(self, suggestion: Suggestion, objective: float | None) -> None:
        from optuna.trial import TrialState

        if objective is None:
            self.study.tell(suggestion.handle, state=TrialState.FAIL)
        else:
            self.study.tell(suggestion.handle, objective)

    def seed(self, values: Mapping[str, Value], objective: float) -> None:
        """Add an earlier job's result to the model (warm start)."""
        import optuna

        params = {dimension.name: dimension.to_optuna(values[dimension.name]) for dimension in self.space.dimensions}
        self.study.add_trial(optuna.trial.create_trial(params=params, distributions=self.distributions,
                                                       value=objective))


def startup_trials(max_jobs: int | None) -> int:
    """Random suggestions before the model leads: a quarter of the jobs, 3 to 10 (optuna's default is 10)."""
    return 10 if max_jobs is None else max(3, min(10, max_jobs // 4))


_STUDY_PREFIX = "framework-sdk-"


class _QuietStudyCreation(logging.Filter):
    """Drop optuna's "A new study created in memory" line for our studies (a user's own are untouched)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"name: {_STUDY_PREFIX}" not in record.getMessage()


def import_optuna() -> Any:
    """optuna, or a :class:`MissingDependencyError` saying how to install it."""
    try:
        import optuna
    except ImportError as error:
        raise MissingDependencyError(f"the Bayesian strategy needs optuna, which is not installed: "
                                     f"{_INSTALL_OPTUNA}; or use strategy='Random'") from error
    quiet = logging.getLogger("optuna.storages._in_memory")
    if not any(isinstance(existing, _QuietStudyCreation) for existing in quiet.filters):
        quiet.addFilter(_QuietStudyCreation())
    return optuna


Strategy = Union[RandomSearch, GridSearch, BayesianSearch]


def make_strategy(name: str, space: SearchSpace, objective_type: str = "Maximize", seed: int | None = None,
                  max_jobs: int | None = None) -> Strategy:
    """The strategy SageMaker calls ``name`` over ``space``."""
    if name == "Random":
        return RandomSearch(space, seed)
    if name == "Hyperband":
        return HyperbandSearch(space, seed)
    if name == "Grid":
        return GridSearch(space)
    if name == "Bayesian":
        return BayesianSearch(space, objective_type, seed, max_jobs)
    raise ConfigurationError(f"strategy {name!r} is not one of {', '.join(STRATEGIES)}")


def hyperband_resources(strategy_config: Mapping[str, Any] | None,
                        static_hyperparameters: Mapping[str, str] | None) -> tuple[int, int]:
    """``(MinResource, MaxResource)`` of a Hyperband search: from ``HyperbandStrategyConfig``, ``MaxResource``
    otherwise from an ``epochs``-like static hyperparameter, as SageMaker infers it."""
    config = dict((strategy_config or {}).get("HyperbandStrategyConfig") or {})
    minimum = int(config.get("MinResource", 1))
    maximum = config.get("MaxResource")
    if maximum is None:
        for key in EPOCH_KEYS:
            text = (static_hyperparameters or {}).get(key)
            if text is None:
                continue
            try:
                value = json.loads(text)  # framework estimators JSON-encode ('10'; '"10"' for a string)
            except ValueError:
                value = text
            try:
                maximum = int(float(value))
                break
            except (TypeError, ValueError):
                continue
    if maximum is None:
        raise ConfigurationError(
            "the Hyperband strategy needs MaxResource (the most epochs a job may train): pass strategy_config="
            "StrategyConfig(HyperbandStrategyConfig(max_resource=..., min_resource=...)), or a static "
            f"hyperparameter named one of {', '.join(EPOCH_KEYS)}")
    if not 1 <= minimum <= int(maximum):
        raise ConfigurationError(f"Hyperband's MinResource {minimum} must be between 1 and MaxResource {maximum}")
    return minimum, int(maximum)


# ---------------------------------------------------------------------------- early stopping

class MedianStoppingRule:
    """SageMaker's automatic early stopping.

    At a job's n-th objective value (from ``grace`` on), take the running average of the objective
    over the first n values of every earlier job that reached n values; if at least ``min_jobs``
    did and the job's n-th value is worse than the median of those averages, stop the job.
    """

    def __init__(self, maximize: bool, min_jobs: int = 3, grace: int = 1) -> None:
        self.maximize = maximize
        self.min_jobs = min_jobs
        self.grace = grace

    def verdict(self, values: Sequence[float], earlier: Iterable[Sequence[float]]) -> str | None:
        """Why the job with objective ``values`` so far should stop, or ``None`` to let it run."""
        point = len(values)
        if point < self.grace or point == 0:
            return None
        averages = [statistics.fmean(series[:point]) for series in earlier if len(series) >= point]
        if len(averages) < self.min_jobs:
            return None
        median = statistics.median(averages)
        current = values[-1]
        if (current < median) if self.maximize else (current > median):
            side = "below" if self.maximize else "above"
            return (f"its objective {current:g} at value {point} is {side} the median {median:g} of "
                    f"{len(averages)} earlier jobs' running averages at that point")
        return None
