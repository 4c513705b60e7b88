"""OMEGraph composition root: settings, CLI, app factory and logging."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("omegraph")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+src"
