"""The SageMaker API over HTTP in front of the local engine: ``framework-sdk api``.

One port serves every service a SageMaker client needs, told apart as botocore addresses them
under one ``AWS_ENDPOINT_URL``: SageMaker and CloudWatch Logs (JSON 1.1, by ``X-Amz-Target``),
SageMaker Runtime (REST, ``/endpoints/{name}/invocations``), and S3, STS and IAM (moto's
backends, in process). See ``doc/api-server.md``. Nothing here is imported by ``import framework_sdk``.
"""
