"""Logging configuration: uvicorn's, with query strings cut from access-log lines.

Tokens are never accepted in URLs, but a client may still put a secret there (a login
mutation sent by GET is refused, yet its URL would be logged); access logs keep the path only.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access: (client, method, path with query, http version, status)
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _query = args[2].partition("?")
            if sep:
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


def log_config(level: str) -> dict[str, Any]:
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query_strings"] = {"()": DropQueryStrings}
    config["handlers"]["access"]["filters"] = ["drop_query_strings"]
    config["loggers"].setdefault("omegraph", {"handlers": ["default"], "propagate": False})
    for logger in config["loggers"].values():
        logger["level"] = level
    return config
