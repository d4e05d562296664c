"""A local server that behaves like Salesforce's REST API: SOQL ``query``/``queryAll`` with
``nextRecordsUrl`` locators, the OAuth client-credentials token endpoint, INVALID_FIELD and
INVALID_SESSION_ID errors as Salesforce words them."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote_plus, urlsplit

from tests.fake_ad_apis import TOKEN, Fault, play_fault

CLIENT_ID, CLIENT_SECRET = "consumer-key", "consumer-secret"
VERSION = "v62.0"


def sf_time(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class FakeSalesforce:
    def __init__(self, page_size: int = 2):
        self.page_size = page_size
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.closing = threading.Event()
        self.queries: list[tuple[str, str, str]] = []  # (endpoint, object, SystemModstamp lower bound)
        self.requests: list[str] = []
        self.missing_fields: set[tuple[str, str]] = set()  # (object, field) the org does not have
        self.null_field: tuple[str, str] | None = None  # (object, field) returned as null
        self.extra_field: str | None = None
        self._locators: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api._handle(self, None)

            def do_POST(self) -> None:
                api._handle(self, self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())

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

    def put(self, obj: str, record_id: str, modified: dt.datetime, **fields: Any) -> None:
        record = self.objects.setdefault(obj, {}).setdefault(record_id, {
            "Id": record_id, "IsDeleted": False, "CreatedDate": sf_time(modified - dt.timedelta(days=1))})
        record.update(fields, SystemModstamp=sf_time(modified))

    def delete(self, obj: str, record_id: str, at: dt.datetime) -> None:
        self.objects[obj][record_id].update(IsDeleted=True, SystemModstamp=sf_time(at))

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: str, headers: dict | None = None) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json;charset=UTF-8")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler, body: str | None) -> None:
        path = unquote_plus(handler.path)
        self.requests.append(path)
        if play_fault(self.faults, path, self.closing, lambda *answer: self._send(handler, *answer)):
            return
        parts = urlsplit(handler.path)
        if parts.path == "/services/oauth2/token":
            form = parse_qs(body or "")
            if form.get("client_id") == [CLIENT_ID] and form.get("client_secret") == [CLIENT_SECRET]:
                return self._send(handler, 200, json.dumps({"access_token": TOKEN, "instance_url": self.url,
                                                            "token_type": "Bearer"}))  # fmt: skip
            return self._send(handler, 400, '{"error": "invalid_client", "error_description": "invalid client credentials"}')
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(handler, 401, '[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]')
        if match := re.fullmatch(rf"/services/data/{VERSION}/(query|queryAll)/([\w-]+)", parts.path):
            return self._page(handler, match.group(2))
        if match := re.fullmatch(rf"/services/data/{VERSION}/(query|queryAll)", parts.path):
            return self._query(handler, match.group(1), parse_qs(parts.query)["q"][0])
        self._send(handler, 404, '[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]')

    def _query(self, handler: BaseHTTPRequestHandler, endpoint: str, soql: str) -> None:
        match = re.fullmatch(r"SELECT (.+) FROM (\w+) WHERE SystemModstamp >= (\S+) ORDER BY SystemModstamp, Id", soql)
        if not match:
            return self._send(handler, 400, '[{"errorCode": "MALFORMED_QUERY", "message": "unexpected query"}]')
        fields, obj, since = [f.strip() for f in match.group(1).split(",")], match.group(2), match.group(3)
        for column, name in enumerate(fields):
            if (obj, name) in self.missing_fields:
                message = (f"\n{soql[:60]}\n ^\nERROR at Row:1:Column:{column}\nNo such column '{name}' on entity "
                           f"'{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after "
                           "the custom field name.")  # fmt: skip
                return self._send(handler, 400, json.dumps([{"message": message, "errorCode": "INVALID_FIELD"}]))
        self.queries.append((endpoint, obj, since))
        bound = dt.datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        matching = sorted(
            (r for r in self.objects.get(obj, {}).values()
             if dt.datetime.fromisoformat(r["SystemModstamp"]) >= bound and (endpoint == "queryAll" or not r["IsDeleted"])),
            key=lambda r: (r["SystemModstamp"], r["Id"]))  # fmt: skip
        records = []
        for r in matching:
            out = {"attributes": {"type": obj, "url": f"/services/data/{VERSION}/sobjects/{obj}/{r['Id']}"}}
            out.update({f: r.get(f) for f in fields})
            if self.null_field and self.null_field[0] == obj:
                out[self.null_field[1]] = None
            if self.extra_field:
                out[self.extra_field] = "new"
            records.append(out)
        locator = f"01gFAKE{next(self._ids)}"
        self._locators[locator] = records
        self._page(handler, f"{locator}-0")

    def _page(self, handler: BaseHTTPRequestHandler, ref: str) -> None:
        locator, _, offset_text = ref.rpartition("-")
        records = self._locators.get(locator)
        if records is None:
            return self._send(handler, 400, '[{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]')
        offset = int(offset_text)
        chunk = records[offset: offset + self.page_size]
        answer: dict[str, Any] = {"totalSize": len(records), "done": offset + self.page_size >= len(records),
                                  "records": chunk}  # fmt: skip
        if not answer["done"]:
            answer["nextRecordsUrl"] = f"/services/data/{VERSION}/query/{locator}-{offset + self.page_size}"
        self._send(handler, 200, json.dumps(answer))
