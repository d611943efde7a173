"""The PyTorch peer of tabpipe-serve for bench/http.sh: the same model
behind FastAPI on uvicorn, answering POST /v1/predict with the contract of
tabpipe-serve (/tmp/spec of issue 20, man tabpipe-serve(1)). Run with
/usr/bin/python3 (Debian's python3-torch, python3-fastapi, python3-uvicorn):

    TABPIPE_PEER_MODEL=MODEL.safetensors /usr/bin/python3 -m uvicorn \\
        --app-dir bench http_peer:app --host 127.0.0.1 --port PORT \\
        --workers W --no-access-log --log-level warning

or `http_peer.py -m MODEL [--port PORT] [--workers W]`, which does the same.
TABPIPE_PEER_TORCH_THREADS sets each worker's torch.set_num_threads
(default 1: on this model and 2 cores, a second PyTorch thread made one
worker's single-row requests slower, 60 ms against 2.2 ms on a busy
machine, and its batches of 100 too; uvicorn's workers use the cores).

The model file is loaded into tests/golden/tabtransformer.py's module with
from_model_file, as bench/reference.py scores tabpipe models, and run in
eval mode under torch.inference_mode. Raw values are encoded as
lib/data/request.c encodes them (man tabpipe-encoding(5)): a numeric value
standardised by the column's mean and std into a float32 (NaN when null),
a categorical one its vocabulary index + 1 (0 when null or unseen).

The request is checked as tabpipe-serve checks it, so that both do the
same work: every feature present as a key; no key but the features, the
target, ignored columns, "id" and the encoding's id column; numbers (or
strings holding one) for numeric features, strings (or numbers) for
categorical ones; a batch of 1..max-batch objects. The answers have the
same members: request_id, model {name, version, sha256}, id, probability,
label, unseen; a batch's under "predictions". Errors are JSON with the same
codes and statuses. /health/live and /health/ready answer as tabpipe-serve
does; there is no /v1/reload, /v1/model or /metrics (the benchmark does
not use them on the peer).
"""

import asyncio.base_events
import hashlib
import json
import math
import os
import socket
import sys
import uuid

# bench/reference.py sets OPENBLAS_NUM_THREADS=1 before numpy loads (PyTorch's
# best setting on this model, as bench/torch_speed.py runs it); importing it
# first does the same here.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference  # noqa: E402,F401,I100

import numpy as np  # noqa: E402
import torch  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import Response  # noqa: E402

# reference.py puts tests/golden on the path: the model module and its
# safetensors reader.
import tabtransformer  # noqa: E402


# With --workers above 1, uvicorn 0.17 binds the listening socket itself as
# socket.socket(AF_INET), whose proto is 0, not IPPROTO_TCP; asyncio then
# leaves TCP_NODELAY off on its connections (base_events._set_nodelay checks
# the proto), and each answer, written as headers then body, waits for the
# client's delayed ACK: 48 ms a request at one connection instead of 3. The
# peer gets what one worker gets: TCP_NODELAY on every TCP connection.
def _set_nodelay(sock):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


asyncio.base_events._set_nodelay = _set_nodelay

MAX_BATCH = int(os.environ.get("TABPIPE_PEER_MAX_BATCH", "1000"))
MAX_BODY = int(os.environ.get("TABPIPE_PEER_MAX_BODY", "1048576"))


class RequestError(Exception):
    """A request that breaks the contract: its HTTP status, error code,
    message, and the field and batch item concerned (or None)."""

    def __init__(self, status, code, message, field=None, item=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.item = field, item


def number_text(x):
    """A JSON number as a CSV field would hold it (number_text of
    lib/data/request.c): the shortest of %.15g and %.17g that reads back."""
    if isinstance(x, int):
        return str(x)
    s = "%.15g" % x
    return s if float(s) == x else "%.17g" % x


class Model:
    """A tabpipe model file, ready to score requests."""

    def __init__(self, path):
        self.model, meta = tabtransformer.from_model_file(path)
        self.model.eval()
        self.threshold = float(meta["threshold"])
        enc = json.loads(meta["encoding"])
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        name = os.path.basename(path)
        if name.endswith(".safetensors"):
            name = name[:-len(".safetensors")]
        self.info = {"name": name, "version": None, "sha256": sha}
        # The features in the stream's order (categorical columns first,
        # then numeric ones, each in the header's order), and the keys a
        # request may hold besides them.
        self.cat_cols, self.num_cols = [], []
        self.allowed = {"id"}
        for c in enc["columns"]:
            if c["kind"] == "categorical":
                vocab = {v: i + 1 for i, v in enumerate(c["vocabulary"])}
                self.cat_cols.append((c["name"], vocab))
            elif c["kind"] == "numeric":
                self.num_cols.append((c["name"], float(c["mean"]), float(c["std"])))
            else:
                # id, target and ignored columns may be sent and are not used.
                self.allowed.add(c["name"])
        self.features = [n for n, _ in self.cat_cols] + [n for n, _, _ in self.num_cols]
        self.allowed.update(self.features)

    def encode(self, obj, item, cat, num, r):
        """Checks one application (a dict) and writes its encoded values to
        row r of cat and num. Returns (id or None, unseen columns)."""
        if not isinstance(obj, dict):
            raise RequestError(400, "bad_json", "an application is a JSON object",
                               item=item)
        for key in obj:
            if key not in self.allowed:
                raise RequestError(400, "unknown_field", f'unknown field "{key}"',
                                   field=key, item=item)
        unseen = []
        for j, (name, vocab) in enumerate(self.cat_cols):
            if name not in obj:
                raise RequestError(400, "missing_field", f'missing field "{name}"',
                                   field=name, item=item)
            v = obj[name]
            if v is None:
                cat[r, j] = 0
                continue
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise RequestError(400, "wrong_type",
                                   f'field "{name}": expected a string',
                                   field=name, item=item)
            k = vocab.get(v if isinstance(v, str) else number_text(v), 0)
            cat[r, j] = k
            if k == 0:
                unseen.append(name)
        for j, (name, mean, std) in enumerate(self.num_cols):
            if name not in obj:
                raise RequestError(400, "missing_field", f'missing field "{name}"',
                                   field=name, item=item)
            v = obj[name]
            if v is None:
                num[r, j] = np.nan
                continue
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise RequestError(400, "wrong_type",
                                   f'field "{name}": expected a number',
                                   field=name, item=item)
            try:
                x = float(v)
            except (ValueError, OverflowError):
                raise RequestError(400, "bad_value", f'field "{name}": not a number',
                                   field=name, item=item) from None
            z = (x - mean) / std
            if not math.isfinite(z) or abs(z) > 3.4028234663852886e38:
                raise RequestError(400, "bad_value", f'field "{name}": out of range',
                                   field=name, item=item)
            num[r, j] = z
        ident = obj.get("id")
        if ident is not None:
            if isinstance(ident, float) and ident.is_integer():
                ident = int(ident)
            if isinstance(ident, bool) or not isinstance(ident, (int, str)):
                raise RequestError(400, "wrong_type", "the id is an integer or a string",
                                   field="id", item=item)
        return ident, unseen

    def predict(self, apps, batch):
        """Scores a list of applications in one batch; returns the answer of
        each: {"id", "probability", "label", "unseen"}, id and unseen only
        when there are some. batch: they came as a JSON array, so that an
        error names the item."""
        n = len(apps)
        cat = np.zeros((n, len(self.cat_cols)), np.int32)
        num = np.zeros((n, len(self.num_cols)), np.float32)
        meta = [self.encode(obj, i if batch else None, cat, num, i)
                for i, obj in enumerate(apps)]
        with torch.inference_mode():
            logits = self.model.logits(torch.from_numpy(cat), torch.from_numpy(num))
            prob = torch.softmax(logits, dim=1)[:, 1].numpy()
        out = []
        for (ident, unseen), p in zip(meta, prob):
            a = {}
            if ident is not None:
                a["id"] = ident
            # %.9g of the float32, as tabpipe writes it.
            a["probability"] = float("%.9g" % p)
            a["label"] = int(float(p) >= self.threshold)
            if unseen:
                a["unseen"] = unseen
            out.append(a)
        return out


def request_id(request):
    """The client's X-Request-Id when it is 1..128 printable ASCII
    characters without spaces, else 32 random lowercase hex digits."""
    rid = request.headers.get("x-request-id")
    if rid and len(rid) <= 128 and all(33 <= ord(ch) <= 126 for ch in rid):
        return rid
    return uuid.uuid4().hex


def json_response(status, body, rid):
    return Response(content=json.dumps(body, separators=(",", ":")),
                    status_code=status, media_type="application/json",
                    headers={"X-Request-Id": rid})


def error_response(err, rid):
    e = {"status": err.status, "code": err.code, "message": err.message}
    if err.field is not None:
        e["field"] = err.field
    if err.item is not None:
        e["item"] = err.item
    return json_response(err.status, {"error": e, "request_id": rid}, rid)


def make_app(path):
    torch.set_num_threads(int(os.environ.get("TABPIPE_PEER_TORCH_THREADS", "1")))
    model = Model(path)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/predict")
    async def predict(request: Request):
        rid = request_id(request)
        try:
            ctype = request.headers.get("content-type", "")
            if ctype.split(";")[0].strip().lower() != "application/json":
                raise RequestError(415, "unsupported_media_type",
                                   "the body must be application/json")
            body = await request.body()
            if len(body) > MAX_BODY:
                raise RequestError(413, "too_large", f"the body is over {MAX_BODY} bytes")
            try:
                doc = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise RequestError(400, "bad_json", "the body is not JSON") from None
            if isinstance(doc, list):
                if not doc:
                    raise RequestError(400, "empty_batch", "an empty batch")
                if len(doc) > MAX_BATCH:
                    raise RequestError(413, "too_large",
                                       f"a batch of more than {MAX_BATCH} applications")
                answers = model.predict(doc, True)
                out = {"request_id": rid, "model": model.info, "predictions": answers}
            elif isinstance(doc, dict):
                out = {"request_id": rid, "model": model.info}
                out.update(model.predict([doc], False)[0])
            else:
                raise RequestError(400, "bad_json",
                                   "the body is an application (object) or a batch (array)")
        except RequestError as err:
            return error_response(err, rid)
        return json_response(200, out, rid)

    @app.get("/health/live")
    async def live(request: Request):
        return json_response(200, {"status": "live"}, request_id(request))

    @app.get("/health/ready")
    async def ready(request: Request):
        return json_response(200, {"status": "ready", "model": model.info},
                             request_id(request))

    return app


# uvicorn imports this module (once in each worker) and serves `app`.
app = make_app(os.environ["TABPIPE_PEER_MODEL"]) if "TABPIPE_PEER_MODEL" in os.environ else None


def main():
    import argparse
    import uvicorn
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args()
    os.environ["TABPIPE_PEER_MODEL"] = os.path.abspath(a.model)
    os.environ["WEB_CONCURRENCY"] = str(a.workers)
    uvicorn.run("http_peer:app", app_dir=HERE, host=a.host, port=a.port,
                workers=a.workers, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
