"""One module per emulated provider, each defining ``EMULATOR`` (see ``quotawarden.emulator.base``)."""
