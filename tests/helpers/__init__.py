"""Test helpers. `common` is imported by the tests (`from helpers.common import ...`; pytest puts tests/ on sys.path, as
it does for conftest.py); the other modules here are scripts that tests run in subprocesses."""
