"""Why a run cannot start, with the option at fault, so that callers can add their own advice.

Messages state facts ("X is not a folder"); `option` names the `RunConfig` or task field
concerned, which a command line maps to its flag and a notebook to its argument.
"""


class OptionError(ValueError):
    def __init__(self, message, option=None):
        super().__init__(message)
        self.option = option


class ConfigError(OptionError):
    """An option of the run is invalid or contradicts another."""


class DataError(OptionError):
    """The data the run points at is missing, malformed or cannot be fetched."""


class RunConfigError(OptionError):
    """An existing run folder was made with other options, or cannot be continued."""

    def __init__(self, message, option="run_name"):
        super().__init__(message, option)
