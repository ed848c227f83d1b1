"""The Chainer framework: training defaults (and, later, serving functions).

Chainer itself is imported only inside functions that need it, so the toolkit can
load this module where Chainer is not installed.
"""

# ---------------------------------------------------------------- training


def training_defaults(environment):
    """ChainerMN runs over MPI: with more than one host, ``sagemaker_use_mpi`` defaults to true."""
    return {"sagemaker_use_mpi": True} if len(environment.hosts) > 1 else {}


# ---------------------------------------------------------------- serving
