"""Sources: code that reads the outside world (dump files, the Reddit API, the demo forum)."""
