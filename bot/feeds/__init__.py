"""Feed polling: fetch (``fetch``), parse (``parse``), score (``relevance``), store (``store``)
and schedule (``poller``)."""
