"""The shipped example scenarios: one per restore path and more (YAML package data)."""
