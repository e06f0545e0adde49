"""The gRPC contract (``clipsketch.v1``): the ``.proto`` file and its generated stubs, nothing else."""
