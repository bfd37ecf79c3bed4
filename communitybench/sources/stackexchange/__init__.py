"""Stack Exchange site dumps (a folder with Posts.xml, Votes.xml, Comments.xml, or the site's
``.7z``) → raw observations with real up and down votes: ``archive`` (where a dump lives),
``dump`` (one XML row → one raw row), ``ingest`` (streamed, checkpointed, quarantined)."""
