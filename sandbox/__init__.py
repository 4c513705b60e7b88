"""Script registry, sandbox launcher and the client library scripts import (later issue)."""
