"""The config error every layer raises, in a module of its own so that no job's code digest
depends on more than it uses."""


class ConfigError(ValueError):
    """A config that the workflow refuses, with a message naming key and value."""
