"""Scripts: their declarations (declaration, inputs) and the sandbox that runs them.

``launcher`` runs one script under bubblewrap with rlimits and the ``seccomp`` filter,
``runtime`` finds the interpreter and the uid it runs with, ``channel`` is the worker's end
of the one way out of the sandbox (an AF_UNIX socket in the run's work directory), and
``client/omegraph_script`` is the library scripts import to use it. The job that runs
scripts, and the handler that answers the channel as the submitting user, come next.
"""
