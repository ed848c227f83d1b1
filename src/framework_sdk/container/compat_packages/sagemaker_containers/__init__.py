"""framework-sdk's stand-in for SageMaker's retired ``sagemaker_containers`` (only inside images and process
environments): ``training_env()`` as training scripts call it. Installing the real package replaces it."""
from sagemaker_training.environment import Environment as TrainingEnv


def training_env():
    """The job's training environment (``model_dir``, ``channel_input_dirs``, ``num_gpus``, ``hosts``, ...)."""
    return TrainingEnv()


__all__ = ["TrainingEnv", "training_env"]
