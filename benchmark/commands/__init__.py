"""One module per ``benchmark`` sub-command, discovered by ``benchmark.cli``. Each defines ``register``."""
