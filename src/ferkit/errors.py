"""Errors a user can cause. The CLI prints their message on one line, without a traceback."""


class FerkitError(Exception):
    """Base class for mistakes in input, options or files that the user can fix."""


class DataError(FerkitError):
    """A data source or store is malformed; the message names the file and the entry."""


class ConfigError(FerkitError):
    """A configuration key or value is unknown or invalid."""
