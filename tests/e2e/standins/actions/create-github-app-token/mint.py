"""create-github-app-token stand-in: JWT -> installation -> installation token, through GITHUB_API_URL."""

import base64
import json
import os
import time
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(app_id: str, private_key: str) -> str:
    now = int(time.time())
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"iat": now - 60, "exp": now + 540, "iss": app_id}).encode())
    key = serialization.load_pem_private_key(private_key.encode(), password=None)
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{b64(signature)}"


def call(method: str, path: str, bearer: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{os.environ['GITHUB_API_URL']}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/vnd.github+json",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


token = jwt(os.environ["APP_ID"], os.environ["PRIVATE_KEY"])
installation = call("GET", f"/repos/{os.environ['GITHUB_REPOSITORY']}/installation", token)
permissions = {
    name.removeprefix("PERMISSION_").lower(): value
    for name, value in os.environ.items()
    if name.startswith("PERMISSION_") and value
}
minted = call(
    "POST",
    f"/app/installations/{installation['id']}/access_tokens",
    token,
    {"permissions": permissions} if permissions else {},
)
with open(os.environ["GITHUB_OUTPUT"], "a") as output:
    output.write(
        f"token={minted['token']}\ninstallation-id={installation['id']}\napp-slug={installation['app_slug']}\n"
    )
print(f"::add-mask::{minted['token']}")
print(f"stand-in create-github-app-token: installation {installation['id']} of {installation['app_slug']}")
