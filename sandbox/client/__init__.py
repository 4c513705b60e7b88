"""The library sandboxed scripts import (``omegraph_script``), pure stdlib and numpy.

This directory is bound read-only into the sandbox and put on the script's ``sys.path``
(:func:`sandbox.runtime.default_runtime`); the worker imports the wire format from it as
``sandbox.client.omegraph_script._wire``, so both sides share one definition.
"""
