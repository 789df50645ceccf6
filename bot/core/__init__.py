"""The core: plain Python that understands questions and holds the dialog. Never imports aiogram."""
