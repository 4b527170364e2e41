"""The Telegram front end: a python-telegram-bot Application over the shared command layer."""
