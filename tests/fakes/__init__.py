"""Fake remote ends for tests (loopback servers that replay recorded real traffic)."""
