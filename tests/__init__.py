"""The test suite; its fixture plugins and helpers live in tests/support."""

import pytest

# Plugins in tests/support are imported by tests/conftest.py before pytest loads
# them as plugins: have their asserts rewritten all the same.
pytest.register_assert_rewrite("tests.support")
