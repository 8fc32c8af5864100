"""Stand-in attestation: check the subjects' digests, then POST an unsigned statement to the attestations API."""

import base64
import hashlib
import json
import os
import urllib.request
from pathlib import Path

checksums = Path(os.environ["CHECKSUMS"])
subjects = []
for line in checksums.read_text().splitlines():
    digest, name = line.split(maxsplit=1)
    actual = hashlib.sha256((checksums.parent / name).read_bytes()).hexdigest()
    if actual != digest:
        raise SystemExit(f"stand-in attest: {name} has digest {actual}, but {checksums} says {digest}")
    subjects.append({"name": name, "digest": {"sha256": digest}})
statement = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": subjects,
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {"buildDefinition": {"buildType": "stand-in"}},
}
bundle = {
    "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
    "dsseEnvelope": {
        "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [],
    },
}
request = urllib.request.Request(
    f"{os.environ['GITHUB_API_URL']}/repos/{os.environ['GITHUB_REPOSITORY']}/attestations",
    method="POST",
    data=json.dumps({"bundle": bundle}).encode(),
    headers={"Authorization": f"Bearer {os.environ['TOKEN']}", "Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=30) as response:
    print(f"stand-in attest: {len(subjects)} subjects, attestation {json.loads(response.read())['id']}")
