"""A chat webhook for tests (Slack/Mattermost style) over a real socket."""

from __future__ import annotations

from dailypapers.offline.recording import Answer, RecordingServer, Request


class WebhookReceiver(RecordingServer):
    """A chat webhook (Slack/Mattermost style): accepts every POST with HTTP 200."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(self._accept, host=host, port=port)

    @staticmethod
    def _accept(request: Request) -> Answer:
        if request.method != "POST":
            return Answer(405, {"message": "POST only"})
        return Answer(200, {"ok": True})

    @property
    def texts(self) -> list[str]:
        """The ``text`` of every message received."""
        return [str(r.json().get("text", "")) for r in self.requests if r.method == "POST"]
