"""The Telegram front end: a thin aiogram 3 layer over bot.core. Only this package imports aiogram."""

from bot.telegram.lean import import_aiogram

import_aiogram()
