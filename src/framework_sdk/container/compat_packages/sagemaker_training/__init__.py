"""framework-sdk's stand-in for SageMaker's ``sagemaker_training`` (only inside images and process environments).

It provides the environment API training scripts use (``environment.Environment()``), over
``framework_sdk.container.Environment``. Installing the real ``sagemaker-training`` replaces it.
"""
