"""The data path: restore points in a repository (content-addressed, zstd-compressed
chunks plus a manifest), backups that make them, and the worker's restore agent."""
