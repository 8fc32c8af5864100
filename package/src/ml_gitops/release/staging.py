"""Whether an approval deploys to staging: the reviewer must have write access to the repository (asked of the
API: anyone who can read a public repository may submit an approving review), and the pull request must change a
model input (otherwise its model is main's, and there is nothing to stage). Standard library only."""

import re

from .. import UserError
from ..github import client
from ..review import inputs

LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
DEPLOYERS = ("admin", "write")  # the API's permission field (maintain reads as write)


def check_reviewer(login: str, pull_request: int) -> bool:
    """Refuse a reviewer without write access; return whether there is a candidate to deploy."""
    if not LOGIN.match(login):
        raise UserError(f"{login!r} is not a GitHub login: refusing to deploy")
    permission = client.api("GET", f"collaborators/{login}/permission").get("permission", "none")
    if permission not in DEPLOYERS:
        raise UserError(
            f"{login} has {permission} access to this repository: their approval deploys nothing to staging; "
            "a user with write access must approve"
        )
    changed = inputs.model_inputs(inputs.changed_in_pull_request(pull_request))
    if not changed:
        print(
            f"{login} has {permission} access, but pull request #{pull_request} changes no model input: nothing to stage"
        )
        return False
    print(f"{login} has {permission} access: the commit they approved goes to staging")
    return True
