"""The search space, the strategies and the median stopping rule of tuning (pure: no jobs, no processes)."""
import math
import statistics

import pytest

from framework_sdk.exceptions import ConfigurationError
from framework_sdk.tuning_strategies import (BayesianSearch, Dimension, GridSearch, MedianStoppingRule, RandomSearch,
                                             SearchSpace, hyperband_resources, make_strategy, startup_trials)

RANGES = {
    "ContinuousParameterRanges": [{"Name": "x", "MinValue": "-5", "MaxValue": "5", "ScalingType": "Linear"},
                                  {"Name": "y", "MinValue": "-5", "MaxValue": "5"}],
    "IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "20"}],
}


def smooth(values):
    """A smooth objective with its maximum 0 at x=1.3, y=-2.1, n=14."""
    return -((values["x"] - 1.3) ** 2 + (values["y"] + 2.1) ** 2 + 0.1 * (values["n"] - 14) ** 2)


def best_after(strategy, jobs=20):
    best = -math.inf
    for _ in range(jobs):
        suggestion = strategy.ask()
        value = smooth(suggestion.values)
        strategy.tell(suggestion, value)
        best = max(best, value)
    return best


def test_values_stay_in_range_on_each_scale():
    space = SearchSpace.from_request({
        "IntegerParameterRanges": [{"Name": "units", "MinValue": "8", "MaxValue": "512", "ScalingType": "Logarithmic"}],
        "ContinuousParameterRanges": [
            {"Name": "lr", "MinValue": "0.0001", "MaxValue": "1", "ScalingType": "Logarithmic"},
            {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.9999", "ScalingType": "ReverseLogarithmic"}],
        "CategoricalParameterRanges": [{"Name": "act", "Values": ["relu", "tanh"]}]})
    search = RandomSearch(space, seed=3)
    draws = [search.ask().values for _ in range(2000)]
    assert all(8 <= d["units"] <= 512 and isinstance(d["units"], int) for d in draws)
    assert all(0.0001 <= d["lr"] <= 1 and 0.9 <= d["momentum"] <= 0.9999 for d in draws)
    assert {d["act"] for d in draws} == {"relu", "tanh"}
    # log scales: each decade is about as likely as any other
    assert 0.15 < sum(d["lr"] < 0.001 for d in draws) / len(draws) < 0.35
    assert 0.4 < sum(d["units"] < 64 for d in draws) / len(draws) < 0.6
    # reverse-log: crowded towards the upper end (1 - x log-uniform)
    assert sum(d["momentum"] > 0.99 for d in draws) / len(draws) > 0.55


def test_values_are_formatted_as_sagemaker_passes_them_and_parsed_back():
    space = SearchSpace.from_request(RANGES)
    texts = space.texts({"x": 0.25, "y": -1.0, "n": 7})
    assert texts == {"x": "0.25", "y": "-1.0", "n": "7"}
    assert space.parse(texts) == {"x": 0.25, "y": -1.0, "n": 7}
    assert space.parse({"x": "9", "y": "0", "n": "7"}) is None  # outside the range: not this space's
    assert space.parse({"x": "0", "y": "0"}) is None  # a missing dimension


def test_categorical_values_cast_from_json_when_they_are_json():
    dimension = Dimension.from_range("Categorical", {"Name": "opt", "Values": ['"adam"', "32", "plain"]})
    assert [dimension.cast(v) for v in dimension.values] == ["adam", 32, "plain"]


def test_random_search_repeats_with_its_seed_and_differs_without():
    space = SearchSpace.from_request(RANGES)
    first, again = RandomSearch(space, seed=11), RandomSearch(space, seed=11)
    assert [first.ask().values for _ in range(5)] == [again.ask().values for _ in range(5)]
    assert RandomSearch(space, seed=11).ask().values != RandomSearch(space, seed=12).ask().values


def test_grid_search_runs_every_combination_once_in_order():
    space = SearchSpace.from_request({"CategoricalParameterRanges": [
        {"Name": "a", "Values": ["1", "2"]}, {"Name": "b", "Values": ["x", "y", "z"]}]})
    grid = GridSearch(space)
    seen = []
    while (suggestion := grid.ask()) is not None:
        seen.append((suggestion.values["a"], suggestion.values["b"]))
    assert seen == [("1", "x"), ("1", "y"), ("1", "z"), ("2", "x"), ("2", "y"), ("2", "z")]
    assert space.grid_size() == 6
    with pytest.raises(ConfigurationError, match="Grid strategy searches only categorical ranges"):
        GridSearch(SearchSpace.from_request(RANGES))


def test_bayesian_search_repeats_with_its_seed_and_beats_random_search():
    space = SearchSpace.from_request(RANGES)
    assert best_after(BayesianSearch(space, seed=5, max_jobs=20)) == best_after(BayesianSearch(space, seed=5, max_jobs=20))
    bayesian = statistics.median(best_after(BayesianSearch(space, seed=s, max_jobs=20)) for s in range(10))
    random = statistics.median(best_after(RandomSearch(space, seed=s)) for s in range(10))
    assert bayesian > random, (bayesian, random)


def test_bayesian_search_learns_from_warm_start_results():
    space = SearchSpace.from_request(RANGES)
    search = BayesianSearch(space, seed=1, max_jobs=8)
    for x in (1.0, 1.5, 1.2, -3.0, 4.0, 1.4, 1.3, 0.0):  # earlier jobs: good values crowd around x = 1.3
        values = {"x": x, "y": -2.0, "n": 14}
        search.seed(values, smooth(values))
    suggestions = [search.ask() for _ in range(8)]  # none random: the startup trials came from the parents
    assert statistics.median(abs(s.values["x"] - 1.3) for s in suggestions) < 1.5


def test_minimize_reverses_the_bayesian_direction():
    space = SearchSpace.from_request({"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "10"}]})
    search = BayesianSearch(space, objective_type="Minimize", seed=0, max_jobs=24)
    values = []
    for _ in range(24):
        suggestion = search.ask()
        values.append(suggestion.values["x"])
        search.tell(suggestion, (suggestion.values["x"] - 2) ** 2)
    assert min(abs(x - 2) for x in values) < 0.3
    assert statistics.median(abs(x - 2) for x in values[-8:]) < statistics.median(abs(x - 2) for x in values[:8])


def test_failed_jobs_are_told_as_failures():
    space = SearchSpace.from_request(RANGES)
    search = BayesianSearch(space, seed=0, max_jobs=8)
    suggestion = search.ask()
    search.tell(suggestion, None)
    assert search.study.trials[0].state.name == "FAIL"


def test_startup_trials_scale_with_the_budget():
    assert [startup_trials(n) for n in (None, 4, 20, 100)] == [10, 3, 5, 10]


def test_make_strategy_names_the_four_strategies():
    space = SearchSpace.from_request(RANGES)
    assert [type(make_strategy(name, space, seed=1)).__name__ for name in ("Random", "Bayesian", "Hyperband")] == [
        "RandomSearch", "BayesianSearch", "HyperbandSearch"]
    with pytest.raises(ConfigurationError, match="not one of Bayesian, Random, Hyperband, Grid"):
        make_strategy("Annealing", space)


def test_space_limits():
    with pytest.raises(ConfigurationError, match="more than one range"):
        SearchSpace.from_request({"IntegerParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "2"}],
                                  "ContinuousParameterRanges": [{"Name": "a", "MinValue": "1", "MaxValue": "2"}]})
    with pytest.raises(ConfigurationError, match="at most 30"):
        SearchSpace.from_request({"IntegerParameterRanges": [
            {"Name": f"p{i}", "MinValue": "1", "MaxValue": "2"} for i in range(31)]})
    with pytest.raises(ConfigurationError, match="empty"):
        SearchSpace.from_request({})


def test_median_rule_stops_a_job_worse_than_earlier_jobs_at_the_same_point():
    rule = MedianStoppingRule(maximize=True, min_jobs=3)
    earlier = [[0.5, 0.7, 0.8], [0.4, 0.6, 0.9], [0.6, 0.6], [0.1]]
    assert rule.verdict([0.45], earlier) is None            # median of 0.5, 0.4, 0.6, 0.1 is 0.45: not below
    assert "below the median 0.6" in rule.verdict([0.5, 0.55], earlier)  # averages at 2: 0.6, 0.5, 0.6
    assert rule.verdict([0.5, 0.55, 0.1], earlier) is None  # only two earlier jobs reached 3 values
    minimize = MedianStoppingRule(maximize=False, min_jobs=1)
    assert "above the median 1" in minimize.verdict([2.0], [[1.0]])
    assert MedianStoppingRule(maximize=True, min_jobs=1, grace=2).verdict([0.0], [[1.0]]) is None


def test_hyperband_resources_from_the_config_or_an_epochs_hyperparameter():
    assert hyperband_resources({"HyperbandStrategyConfig": {"MinResource": 2, "MaxResource": 9}}, {}) == (2, 9)
    assert hyperband_resources(None, {"epochs": "12"}) == (1, 12)
    assert hyperband_resources({}, {"num_epochs": '"7"'}) == (1, 7)
    with pytest.raises(ConfigurationError, match="needs MaxResource"):
        hyperband_resources(None, {"batch-size": "64"})
    with pytest.raises(ConfigurationError, match="MinResource 5 must be between 1 and MaxResource 3"):
        hyperband_resources({"HyperbandStrategyConfig": {"MinResource": 5, "MaxResource": 3}}, {})
