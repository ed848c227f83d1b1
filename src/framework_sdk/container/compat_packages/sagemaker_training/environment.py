"""``sagemaker_training.environment.Environment()``: the job's training environment, read from the /opt/ml tree.

A thin view over ``framework_sdk.container.Environment``: every key of its ``training_env()``
(``model_dir``, ``channel_input_dirs``, ``hyperparameters``, ``hosts``, ``current_host``, ``num_gpus``,
``num_cpus``, ``output_data_dir``, ``module_dir``, ``user_entry_point``, ``network_interface_name``, ...)
is an attribute, with SageMaker's names and types (paths as strings).
"""
from framework_sdk.container.environment import Environment as _ToolkitEnvironment
from framework_sdk.container.environment import count_cpus, count_gpus


def num_gpus():
    return count_gpus()


def num_cpus():
    return count_cpus()


class Environment:
    """The training environment; ``resource_config``, ``input_data_config`` and ``hyperparameters`` override the files."""

    def __init__(self, resource_config=None, input_data_config=None, hyperparameters=None):
        environment = _ToolkitEnvironment.from_files()
        if resource_config is not None or input_data_config is not None or hyperparameters is not None:
            environment = _ToolkitEnvironment.from_dict({
                "base_dir": environment.base_dir,
                "resource_config": resource_config or environment.resource_config,
                "input_data_config": input_data_config or environment.input_data_config,
                "hyperparameters": hyperparameters if hyperparameters is not None else
                {**environment.hyperparameters, **environment.framework_params},
                "num_gpus": environment.num_gpus, "num_cpus": environment.num_cpus,
                "program": environment.program, "submit_directory": environment.submit_directory,
                "framework_module": environment.framework_module,
            })
        self._environment = environment
        self._properties = environment.training_env()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        properties = self.__dict__.get("_properties", {})
        if name in properties:
            return properties[name]
        raise AttributeError(f"sagemaker_training.environment.Environment has no attribute {name!r} in "
                             f"framework-sdk's stand-in (it has: {', '.join(sorted(properties))}); install the "
                             "real sagemaker-training in your requirements.txt if your script needs it")

    def __getitem__(self, name):
        return self._properties[name]

    @property
    def properties(self):
        return sorted(self._properties)

    @property
    def user_args(self):
        return self._environment.to_cmd_args()

    def to_cmd_args(self):
        return self._environment.to_cmd_args()

    def to_env_vars(self):
        return self._environment.to_env_vars()

    def sagemaker_s3_output(self):
        return self._environment.framework_params.get("sagemaker_s3_output")

    def __repr__(self):
        return f"Environment({self._properties!r})"
