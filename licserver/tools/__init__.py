"""Developer tools that run on the project's own source (``python -m licserver.tools.NAME``)."""
