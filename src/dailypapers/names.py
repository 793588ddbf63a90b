"""Names the command line needs before it imports anything heavy.

The CLI's options name environment variables and choices when the module is
imported (``dailypapers --help`` included), so they live here, in a module
that imports nothing, and the library modules take them from here.
"""

from __future__ import annotations

CONFIG_ENV = "DAILYPAPERS_CONFIG"
SOURCES = ("api", "feed", "local")  # names for `[arxiv] source` and `update --source`
OAI_FORMATS = ("arXivRaw", "arXiv", "oai_dc")  # OAI-PMH metadata formats we read
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_FEED_URL = "https://rss.arxiv.org/atom/"
DEFAULT_OAI_URL = "https://oaipmh.arxiv.org/oai"
