"""The local inference server (gRPC): servicer, job queue, auth, service unit and the ``serve`` command.

It runs :mod:`clipsketch.core` jobs and streams their events; it holds no sketching logic.
"""
