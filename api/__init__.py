"""The service, the web pages and the `bilu` command line: they compose every other package."""
