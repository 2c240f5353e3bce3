"""The ``mbench`` command line."""
