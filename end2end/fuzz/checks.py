"""Checks the fuzzer runs beside its own, loaded with SCHEMATHESIS_HOOKS=checks.

Every response is counted by status class into the file FUZZ_COUNTS names, so the run's
figures (requests, 5xx) come from what was actually answered, not from deduplicated failures.
"""

import atexit
import json
import os
from collections import Counter

import schemathesis

counts = Counter()


@atexit.register
def _write_counts():
    path = os.environ.get("FUZZ_COUNTS")
    if path:
        with open(path, "w") as out:
            json.dump(counts, out)


@schemathesis.check
def readable_error(ctx, response, case):
    """A 4xx says what was wrong, in words: JSON with a non-empty message."""
    counts["responses"] += 1
    counts[f"{response.status_code // 100}xx"] += 1
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.text)
    except ValueError:
        counts["unreadable_4xx"] += 1
        raise AssertionError(f"a {response.status_code} whose body is not JSON: {response.text[:200]!r}")
    message = ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message", "")
        elif isinstance(body.get("message"), str):
            message = body["message"]  # an edit's answer: outcome, message, errors
        elif isinstance(body.get("errors"), list) and body["errors"]:
            message = "; ".join(str(e.get("message", "")) for e in body["errors"])
    if not isinstance(message, str) or not message.strip():
        counts["unreadable_4xx"] += 1
        raise AssertionError(f"a {response.status_code} without a message: {response.text[:200]!r}")
    return None
