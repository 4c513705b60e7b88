"""Scripts: their declarations (declaration, inputs) and the sandbox that runs them.

``launcher`` runs one script under bubblewrap with rlimits and the ``seccomp`` filter,
``runtime`` finds the interpreter and the uid it runs with. The RQ job and the client
library scripts import come with a later issue.
"""
