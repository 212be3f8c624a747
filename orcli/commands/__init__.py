"""One module per command: an Options dataclass in, an exit status out."""
