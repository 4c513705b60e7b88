"""The binary repository where original files are kept, and derived data beside them.

See :mod:`store.repository.storage` for the layout and the write protocol, and
:mod:`store.repository.names` for how client-supplied names are made safe.
"""

from store.repository.names import MAX_NAME_BYTES, UnsafeName, safe_name, safe_relative_path
from store.repository.storage import (
    DEFAULT_TEMPLATE,
    DERIVED,
    ORIGINALS,
    TEMPLATE_FIELDS,
    InvalidTemplate,
    Repository,
    StoredFile,
    TooLarge,
    UnsafePath,
    validate_template,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "DERIVED",
    "MAX_NAME_BYTES",
    "ORIGINALS",
    "TEMPLATE_FIELDS",
    "InvalidTemplate",
    "Repository",
    "StoredFile",
    "TooLarge",
    "UnsafeName",
    "UnsafePath",
    "safe_name",
    "safe_relative_path",
    "validate_template",
]
