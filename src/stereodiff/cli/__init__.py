"""The ``stereodiff`` command line: one module per subcommand (see ``main.SUBCOMMANDS``)."""
