"""One request to a Livepeer push endpoint, read with Python's own
http.client (which undoes chunked transfer coding) and, for a multipart
answer, the standard library's email parser: a client that shares no code
with ours. Reads the request as JSON on stdin and prints what it saw as
JSON on stdout; payloads of parts are written into "out_dir".
"""

import email.parser
import email.policy
import http.client
import json
import os
import sys

req = json.load(sys.stdin)
body = b""
if req.get("body_file"):
    with open(req["body_file"], "rb") as f:
        body = f.read()
conn = http.client.HTTPConnection(req["host"], req["port"], timeout=300)
conn.request(req["method"], req["path"], body=body, headers=req.get("headers", {}))
resp = conn.getresponse()
data = resp.read()
seen = {
    "status": resp.status,
    "headers": {k.lower(): v for k, v in resp.getheaders()},
    "len": len(data),
}
content_type = resp.getheader("Content-Type", "")
if content_type.startswith("text/plain"):
    seen["text"] = data.decode("utf-8", "replace")
if content_type.startswith("multipart/"):
    raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + data
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    seen["defects"] = [type(d).__name__ for d in msg.defects]
    seen["epilogue"] = msg.epilogue
    parts = []
    for i, part in enumerate(msg.iter_parts()):
        payload = part.get_payload(decode=True) or b""
        path = os.path.join(req["out_dir"], "part%d" % i)
        with open(path, "wb") as f:
            f.write(payload)
        parts.append(
            {
                "headers": [[k, str(v)] for k, v in part.raw_items()],
                "defects": [type(d).__name__ for d in part.defects],
                "len": len(payload),
                "file": path,
            }
        )
    seen["parts"] = parts
print(json.dumps(seen))
