"""Benchmarks of the server and the SDK: run on demand (``make bench``), never in the test suite."""
