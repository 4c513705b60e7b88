"""Background jobs: rows in the database carry state; a queue only carries job ids.

A job is claimed by one worker with a lease that the worker renews while it works. A worker
that dies stops renewing; the reaper then puts its job back in the queue (or fails it after
too many attempts), so no job stays "running" forever. Handlers are idempotent: a retried
job first undoes whatever an interrupted attempt left.
"""
