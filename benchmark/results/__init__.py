"""Result files: their typed records and reading and writing them."""
