"""Stack Exchange data dumps (Posts.xml + Votes.xml) → raw observations with real up and down
votes (``dump.load_stackexchange``)."""
