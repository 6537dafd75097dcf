"""Laadbak: city logistics from micro-hubs with electric cargo bikes."""

__version__ = "0.1.0"
