"""orcli: a command-line client for the OpenRouter API."""

__version__ = "0.1.0"
