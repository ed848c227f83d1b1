"""The deserializers under SageMaker Python SDK v2's module name (``sagemaker.deserializers``).

They live in :mod:`framework_sdk.serializers`; this module lets a script port by changing
``sagemaker`` to ``framework_sdk`` in its imports.
"""
from .serializers import (BaseDeserializer, BytesDeserializer, CSVDeserializer, JSONDeserializer,
                          JSONLinesDeserializer, NumpyDeserializer, StreamDeserializer, StringDeserializer)

__all__ = ["BaseDeserializer", "BytesDeserializer", "CSVDeserializer", "JSONDeserializer", "JSONLinesDeserializer",
           "NumpyDeserializer", "StreamDeserializer", "StringDeserializer"]
