"""One module per command: an Options struct in, an exit status out."""
