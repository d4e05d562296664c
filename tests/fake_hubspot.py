"""A local server that behaves like HubSpot's CRM API v3/v4 (search, owners, associations).

Like HubSpot, a search query returns at most ``search_cap`` (10,000) results: asking for a page past it
(``after`` >= the cap) answers HTTP 400, although ``paging.next`` keeps offering one.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from tests.fake_ad_apis import TOKEN, Fault, play_fault

MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate",
            "calls": "hs_lastmodifieddate", "emails": "hs_lastmodifieddate", "meetings": "hs_lastmodifieddate"}


@functools.lru_cache(maxsize=100_000)
def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def iso(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class FakeHubSpot:
    def __init__(self, page_size: int = 2, search_cap: int = 10_000):
        self.page_size = page_size
        self.search_cap = search_cap
        self.objects: dict[str, dict[str, dict[str, Any]]] = {obj: {} for obj in MODIFIED}
        self.stage_history: dict[str, list[dict[str, Any]]] = {}  # deal id -> dealstage versions, newest first
        self.owners: list[dict[str, Any]] = []
        self.deal_links: dict[str, dict[str, list[str]]] = {}  # deal (or engagement) id -> {object: ids}
        self.faults: list[Fault] = []
        self.closing = threading.Event()
        self.searches: list[tuple[str, int]] = []  # (object, GTE value in ms)
        self.requests: list[str] = []
        self.drop_property: str | None = None
        self.extra_property: str | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api._handle(self, None)

            def do_POST(self) -> None:
                api._handle(self, json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"))

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

    def put(self, obj: str, record_id: str, modified: dt.datetime, **props: Any) -> None:
        properties = {"createdate": iso(modified - dt.timedelta(days=3)), MODIFIED[obj]: iso(modified), **props}
        self.objects[obj][record_id] = {"id": record_id, "properties": properties, "createdAt": properties["createdate"],
                                        "updatedAt": iso(modified), "archived": False}  # fmt: skip
        history = self.stage_history.setdefault(record_id, []) if obj == "deals" else None
        if history is not None and props.get("dealstage") and (not history or history[0]["value"] != props["dealstage"]):
            history.insert(0, {"value": props["dealstage"], "timestamp": iso(modified), "sourceType": "CRM_UI",
                               "sourceId": "userId:7", "updatedByUserId": 7})  # fmt: skip

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: str, headers: dict | None = None) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler, body: dict | None) -> None:
        self.requests.append(handler.path)
        if play_fault(self.faults, handler.path, self.closing, lambda *answer: self._send(handler, *answer)):
            return
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(handler, 401, json.dumps({"status": "error", "category": "INVALID_AUTHENTICATION"}))
        parts = urlsplit(handler.path)
        if match := re.fullmatch(r"/crm/v3/objects/(\w+)/search", parts.path):
            if int((body or {}).get("after") or 0) >= self.search_cap:
                return self._send(handler, 400, json.dumps({
                    "status": "error", "category": "VALIDATION_ERROR",
                    "message": f"Search results are limited to {self.search_cap} results per query"}))  # fmt: skip
            return self._send(handler, 200, json.dumps(self._search(match.group(1), body or {})))
        if match := re.fullmatch(r"/crm/v4/associations/(\w+)/(\w+)/batch/read", parts.path):
            results = [{"from": {"id": i["id"]}, "to": [{"toObjectId": int(t), "associationTypes": []}
                                                        for t in self.deal_links.get(i["id"], {}).get(match.group(2), [])]}
                       for i in (body or {})["inputs"]]  # fmt: skip
            return self._send(handler, 200, json.dumps({"status": "COMPLETE", "results": results}))
        if parts.path == "/crm/v3/objects/deals/batch/read":
            inputs = (body or {})["inputs"]
            if len(inputs) > 50 and body.get("propertiesWithHistory"):
                return self._send(handler, 400, '{"status": "error", "message": "max 50 inputs with history"}')
            results = []
            for i in inputs:
                history = self.stage_history.get(i["id"], [])
                if self.drop_property == "value":
                    history = [{k: v for k, v in h.items() if k != "value"} for h in history]
                results.append({"id": i["id"], "properties": {}, "propertiesWithHistory": {"dealstage": history}})
            return self._send(handler, 200, json.dumps({"status": "COMPLETE", "results": results}))
        if parts.path == "/crm/v3/owners":
            offset = int(parse_qs(parts.query).get("after", ["0"])[0])
            chunk = self.owners[offset: offset + self.page_size]
            answer: dict[str, Any] = {"results": chunk}
            if offset + self.page_size < len(self.owners):
                answer["paging"] = {"next": {"after": str(offset + self.page_size)}}
            return self._send(handler, 200, json.dumps(answer))
        self._send(handler, 404, '{"status": "error"}')

    def _search(self, obj: str, body: dict) -> dict:
        flt = body["filterGroups"][0]["filters"][0]
        since = int(flt["value"])
        self.searches.append((obj, since))
        wanted = set(body.get("properties", [])) | {MODIFIED[obj]}

        def ms(record: dict) -> int:
            return _ms(record["properties"][MODIFIED[obj]])

        matching = sorted((r for r in self.objects[obj].values() if ms(r) >= since), key=ms)
        offset = int(body.get("after") or 0)
        chunk = []
        for record in matching[offset: offset + self.page_size]:
            record = json.loads(json.dumps(record))
            record["properties"] = {k: v for k, v in record["properties"].items() if k in wanted}
            if self.drop_property:
                record["properties"].pop(self.drop_property, None)
            if self.extra_property:
                record[self.extra_property] = {"new": True}
            chunk.append(record)
        answer: dict[str, Any] = {"total": len(matching), "results": chunk}
        if offset + self.page_size < len(matching):
            answer["paging"] = {"next": {"after": str(offset + self.page_size), "link": "?after=x"}}
        return answer
