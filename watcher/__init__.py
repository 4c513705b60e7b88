"""The DropBox watcher (later issue)."""
