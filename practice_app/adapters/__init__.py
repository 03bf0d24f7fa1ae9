"""The app's only reaches into libraries' private parts, one module per library;
tests/unit/test_adapters.py checks each against the installed version."""
