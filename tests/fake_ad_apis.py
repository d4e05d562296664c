"""Local HTTP servers that behave like the ad platforms' reporting APIs (for the live connectors' tests).

One ``FakeAdApi`` serves Google Ads (``googleAds:search``, POST, ``nextPageToken``), Meta
(``/act_<id>/insights``, ``paging.next`` links) and LinkedIn (``adAnalytics``, ``adCampaigns`` with
``metadata.nextPageToken``). It pages its answers, checks the bearer token, and plays scripted faults
(429 with Retry-After, 500, malformed bodies, answers slower than the client's timeout) and schema drift
(an added or a removed field).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

TOKEN = "good-token"


@dataclass
class Fact:
    account: str
    campaign: str
    ad_group: str
    ad: str
    day: dt.date
    impressions: int
    clicks: int
    cost: float  # account currency


@dataclass
class Fault:
    """The next request whose path contains ``path_contains`` gets this answer instead (once). With ``delay``
    the server first waits that many seconds: longer than the client's timeout, the client sees a timeout."""

    path_contains: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"error": {"message": "fault"}}'
    delay: float = 0.0


def play_fault(faults: list[Fault], path: str, closing: threading.Event,
               send: Callable[[int, str, dict[str, str]], None]) -> bool:  # fmt: skip
    """Answer with the first fault matching ``path`` (removing it); False when none matches."""
    fault = next((f for f in faults if f.path_contains in path), None)
    if fault is None:
        return False
    faults.remove(fault)
    if fault.delay:
        closing.wait(fault.delay)  # the server shutting down cuts the wait short
    try:
        send(fault.status, fault.body, fault.headers)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up waiting (a timeout) and closed the connection
    return True


def make_facts(account: str, start: dt.date, days: int, empty_days: set[dt.date] = frozenset()) -> list[Fact]:
    facts = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if day in empty_days:
            continue
        for n, (campaign, group) in enumerate([("11", "21"), ("11", "22"), ("12", "23")]):
            facts.append(Fact(account, campaign, group, f"3{n}", day, 100 + offset * 3 + n, 5 + n + offset % 4,
                              round(10.5 + offset + n * 1.25, 2)))  # fmt: skip
    return facts


class FakeAdApi:
    def __init__(self, platform: str, facts: list[Fact], page_size: int = 4):
        self.platform = platform
        self.facts = facts
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.extra_field: str | None = None
        self.drop_field: str | None = None
        self.requests: list[tuple[str, str]] = []  # (method, path?query)
        self.windows: list[tuple[dt.date, dt.date]] = []
        self.request_times: list[float] = []
        self.closing = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                api._handle(self, json.loads(self.rfile.read(length) or b"{}"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    # -- dispatch ---------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, body: dict | None) -> None:
        import time

        self.requests.append((handler.command, handler.path))
        self.request_times.append(time.monotonic())
        if play_fault(self.faults, handler.path, self.closing, lambda *answer: self._send(handler, *answer)):
            return
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(handler, 401, json.dumps({"error": {"code": 401, "message": "Invalid token"}}))
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            payload = getattr(self, f"_{self.platform}")(parts.path, query, body or {})
        except KeyError:
            return self._send(handler, 404, '{"error": "not found"}')
        self._send(handler, 200, json.dumps(payload))

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: str, headers: dict | None = None) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    def _window(self, start: dt.date, end: dt.date, account: str) -> list[Fact]:
        self.windows.append((start, end))
        return [f for f in self.facts if f.account == account and start <= f.day <= end]

    def _page(self, items: list[dict], offset: int) -> tuple[list[dict], int | None]:
        chunk = items[offset: offset + self.page_size]
        nxt = offset + self.page_size if offset + self.page_size < len(items) else None
        return [self._drift(i) for i in chunk], nxt

    def _drift(self, item: dict) -> dict:
        item = json.loads(json.dumps(item))
        if self.extra_field:
            item[self.extra_field] = 7
        if self.drop_field:
            head, _, rest = self.drop_field.partition(".")
            if rest and isinstance(item.get(head), dict):
                item[head].pop(rest, None)
            else:
                item.pop(head, None)
        return item

    # -- Google Ads -------------------------------------------------------------------------------
    def _google_ads(self, path: str, query: dict, body: dict) -> dict:
        match = re.fullmatch(r"/customers/(\d+)/googleAds:search", path)
        if not match:
            raise KeyError(path)
        start, end = re.search(r"BETWEEN '([\d-]+)' AND '([\d-]+)'", body["query"]).groups()
        facts = self._window(dt.date.fromisoformat(start), dt.date.fromisoformat(end), match.group(1))
        results = []
        for f in facts:
            metrics: dict[str, Any] = {"impressions": str(f.impressions), "costMicros": str(round(f.cost * 1e6)),
                                       "conversions": 1.0}
            if f.clicks:
                metrics["clicks"] = str(f.clicks)  # proto3 JSON omits zeros
            results.append({
                "customer": {"resourceName": f"customers/{f.account}", "id": f.account,
                             "descriptiveName": "Muebles Oficina SL", "currencyCode": "EUR",
                             "timeZone": "Europe/Madrid"},
                "campaign": {"id": f.campaign, "name": f"Campaña {f.campaign}", "advertisingChannelType": "SEARCH"},
                "adGroup": {"id": f.ad_group, "name": f"Grupo {f.ad_group}"},
                "adGroupAd": {"ad": {"id": f.ad}},
                "segments": {"date": f.day.isoformat()},
                "metrics": metrics,
            })  # fmt: skip
        offset = int(body.get("pageToken") or 0)
        page, nxt = self._page(results, offset)
        answer: dict[str, Any] = {"results": page, "fieldMask": "customer.id,..."}
        if nxt is not None:
            answer["nextPageToken"] = str(nxt)
        return answer

    # -- Meta -------------------------------------------------------------------------------------
    def _meta_ads(self, path: str, query: dict, body: dict) -> dict:
        match = re.fullmatch(r"/act_(\d+)/insights", path)
        if not match:
            raise KeyError(path)
        window = json.loads(query["time_range"])
        facts = self._window(dt.date.fromisoformat(window["since"]), dt.date.fromisoformat(window["until"]),
                             match.group(1))  # fmt: skip
        data = [{
            "account_id": f.account, "account_name": "Muebles Oficina", "account_currency": "USD",
            "campaign_id": f.campaign, "campaign_name": f"Campaign {f.campaign}", "adset_id": f.ad_group,
            "adset_name": f"Ad set {f.ad_group}", "ad_id": f.ad, "ad_name": f"Ad {f.ad}",
            "date_start": f.day.isoformat(), "date_stop": f.day.isoformat(), "impressions": str(f.impressions),
            "clicks": str(f.clicks), "spend": f"{f.cost:.2f}",
            **({"actions": [{"action_type": "lead", "value": "1"}]} if f.clicks % 2 else {}),
        } for f in facts]  # fmt: skip
        offset = int(query.get("after") or 0)
        page, nxt = self._page(data, offset)
        answer: dict[str, Any] = {"data": page, "paging": {"cursors": {"before": "a", "after": "b"}}}
        if nxt is not None:
            answer["paging"]["next"] = f"{self.url}{path}?{urlencode({**query, 'after': nxt})}"
        return answer

    # -- LinkedIn ---------------------------------------------------------------------------------
    def _linkedin_ads(self, path: str, query: dict, body: dict) -> dict:
        if match := re.fullmatch(r"/adAccounts/(\d+)", path):
            return {"id": int(match.group(1)), "name": "Muebles Oficina UK", "currency": "GBP"}
        if match := re.fullmatch(r"/adAccounts/(\d+)/(adCampaigns|adCampaignGroups)", path):
            facts = [f for f in self.facts if f.account == match.group(1)]
            if match.group(2) == "adCampaigns":
                ids = sorted({f.ad_group for f in facts})
                items = [{"id": int(i), "name": f"LI campaign {i}", "account": "x"} for i in ids]
            else:
                ids = sorted({f.campaign for f in facts})
                items = [{"id": int(i), "name": f"LI group {i}"} for i in ids]
            offset = int(query.get("pageToken") or 0)
            chunk = items[offset: offset + 1]  # one per page: exercises the cursor
            meta = {"nextPageToken": str(offset + 1)} if offset + 1 < len(items) else {}
            return {"elements": chunk, "metadata": meta}
        if path == "/adAnalytics":
            y1, m1, d1, y2, m2, d2 = map(int, re.findall(r"\d+", query["dateRange"]))
            account = re.search(r"sponsoredAccount:(\d+)", unquote(query["accounts"])).group(1)
            facts = self._window(dt.date(y1, m1, d1), dt.date(y2, m2, d2), account)
            elements = [self._drift({
                "pivotValues": [f"urn:li:sponsoredCampaignGroup:{f.campaign}",
                                f"urn:li:sponsoredCampaign:{f.ad_group}", f"urn:li:sponsoredCreative:{f.ad}"],
                "dateRange": {"start": {"year": f.day.year, "month": f.day.month, "day": f.day.day},
                              "end": {"year": f.day.year, "month": f.day.month, "day": f.day.day}},
                "impressions": f.impressions, "clicks": f.clicks, "costInLocalCurrency": f"{f.cost:.2f}",
                "externalWebsiteConversions": 1,
            }) for f in facts]  # fmt: skip
            return {"elements": elements, "paging": {"start": 0, "count": 10, "links": []}}
        raise KeyError(path)
