"""The Slack front end: slack-bolt ``AsyncApp``, Block Kit rendering, digests to channels."""
