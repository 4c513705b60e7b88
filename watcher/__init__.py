"""The DropBox watcher: files dropped into ``<dropbox>/<user>/...`` become that user's images.

``paths`` (which names count, where they go), ``disk`` (stat, walk, checksums, writers),
``targets`` (users, groups, datasets in the database), ``ledger`` (the DropboxFile rows and
their states), ``decide`` (a quiet file's import), ``loop`` (watchfiles and the ticks).
"""
