# SPDX-License-Identifier: Apache-2.0
"""A minimal hawkBit DDI client for the tests (docs/ddi.md): the requests
SWUpdate, rauc-hawkbit-updater and Zephyr make, with hawkBit's
Authorization schemes, over urllib. Every answer is checked to carry a
Content-Length (clients such as Zephyr's need it)."""
import json
import urllib.error
import urllib.parse
import urllib.request

from conftest import Response


class Ddi:
    def __init__(self, server, controller, target_token=None, gateway_token=None,
                 tenant="DEFAULT", context=None):
        self.server = server
        self.context = context  # ssl context for an HTTPS server
        self.controller = controller
        self.target_token = target_token
        self.gateway_token = gateway_token
        self.tenant = tenant

    @property
    def base(self):
        return f"/{self.tenant}/controller/v1/{self.controller}"

    def auth(self):
        if self.target_token:
            return {"Authorization": "TargetToken " + self.target_token}
        if self.gateway_token:
            return {"Authorization": "GatewayToken " + self.gateway_token}
        return {}

    def raw(self, method, url, body=None, headers=None):
        """url: absolute (a link from an answer) or a path on the server."""
        if url.startswith("/"):
            url = self.server.url + url
        h = dict(self.auth())
        h.update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
                resp = Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            resp = Response(e.code, e.headers, e.read())
        if resp.status != 304:
            assert resp.headers.get("Content-Length") is not None, (method, url, resp)
            if method != "HEAD":
                assert int(resp.headers["Content-Length"]) == len(resp.body), resp
        return resp

    def poll(self):
        return self.raw("GET", self.base)

    def links(self):
        r = self.poll()
        assert r.status == 200, r
        return r.json().get("_links", {})

    def deployment(self, action_id):
        return self.raw("GET", f"{self.base}/deploymentBase/{action_id}")

    def feedback(self, action_id, execution, finished="none", details=None, kind="deploymentBase",
                 code=None):
        status = {"execution": execution, "result": {"finished": finished}}
        if details is not None:
            status["details"] = details
        if code is not None:
            status["code"] = code
        return self.raw("POST", f"{self.base}/{kind}/{action_id}/feedback",
                        {"id": str(action_id), "status": status})

    def config_data(self, data, mode=None):
        body = {"data": data}
        if mode:
            body["mode"] = mode
        return self.raw("PUT", f"{self.base}/configData", body)


def action_id(href):
    """The action id of a deploymentBase/cancelAction link (as Zephyr parses it)."""
    path = urllib.parse.urlparse(href).path
    return int(path.rstrip("/").split("/")[-1])
