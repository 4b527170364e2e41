"""The shared chat command layer: every chat command's logic, once, for Telegram and Slack.

Each command takes a platform-free ``Request`` (platform, chat, user, admin flags, argument text)
and the app's ``Services``, and returns a ``Reply`` made of plain blocks, links and buttons. Front
ends only parse their platform's update into a ``Request`` and render the ``Reply`` (Telegram HTML,
Slack mrkdwn/Block Kit); nothing here knows either format.

- ``reply``: the reply model and the text helpers every handler shares;
- ``services``: the request, the DTOs, the protocols the app provides, ``Services``;
- ``inputs``: the checks every front end applies to a command's text;
- handlers, one module per group: ``about`` (start, help, status and the command table),
  ``subscribing``, ``news``, ``feed_admin``, ``track``, ``watches``;
- ``dispatch``: the checks every platform shares, then the handler; pressed buttons;
- ``adapters``: the database behind the protocols (every statement lives in ``storage``).

Blocking work (SQL, the claim engine) runs in a worker thread so a chat front end's event loop
keeps answering other chats meanwhile.
"""
