"""The trainer tests' fixtures live in tests/conftest.py (the chain test trains too)."""
