"""Shared pytest set-up: quiet TensorFlow and fixed seeds for every test (helpers live in tests/support.py)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    import keras

    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


def pytest_collection_modifyitems(items):
    """Files with slow end-to-end tests first, each file's tests in their order: with two workers
    (`make test`, pytest-xdist --dist loadfile) the minutes-long files then overlap each other and the many
    short ones fill the gaps, instead of one long file running alone at the end."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
