"""The Telegram front end: a thin aiogram 3 layer over bot.core. Only this package imports aiogram."""
