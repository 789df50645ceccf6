"""Settings read from the environment (or a git-ignored .env): the stores every command reads, and `posbot run`'s own."""
