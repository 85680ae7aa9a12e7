"""Sign webhook deliveries with the official `standardwebhooks` and `stripe`
packages and print them as JSON cases for tests/e2e_webhook_signers.rs.

Each case carries the headers and body as sent, the time to verify at, the
secrets the receiver is configured with, and the official package's own
verdict on it (so the Rust verifier is checked against the reference
implementation as well as against the expected outcome).
"""

import base64
import json
import os
import sys
import time
from datetime import datetime, timezone

import standardwebhooks
import stripe

now = int(time.time())
cases = []


def sw_secret():
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def add(name, scheme, secrets, headers, body, expect, official):
    cases.append(
        {
            "name": name,
            "scheme": scheme,
            "secrets": secrets,
            "headers": headers,
            "body": body,
            "now": now,
            "expect": expect,
            "official_accepts": official,
        }
    )


# --- Standard Webhooks -------------------------------------------------------

def sw_sign(secret, msg_id, ts, body):
    return standardwebhooks.Webhook(secret).sign(
        msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body
    )


def sw_official(secrets, headers, body):
    for secret in secrets:
        try:
            standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
            return True
        except standardwebhooks.WebhookVerificationError:
            pass
    return False


def sw_case(name, secrets, headers, body, expect):
    add(name, "standard", secrets, headers, body, expect, sw_official(secrets, headers, body))


secret, old = sw_secret(), sw_secret()
body = json.dumps(
    {"type": "ticket.created", "data": {"id": "T-1001", "subject": "Crème brûlée arrived cold"}},
    ensure_ascii=False,
)


def sw_headers(msg_id, ts, sig):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


sw_case("standard ok", [secret], sw_headers("msg_1", now, sw_sign(secret, "msg_1", now, body)), body, "ok")
sw_case(
    "standard rotation: signed with the old and new secrets, receiver has the new",
    [secret],
    sw_headers("msg_2", now, sw_sign(old, "msg_2", now, body) + " " + sw_sign(secret, "msg_2", now, body)),
    body,
    "ok",
)
sw_case(
    "standard rotation: receiver has both, sender the old",
    [secret, old],
    sw_headers("msg_3", now, sw_sign(old, "msg_3", now, body)),
    body,
    "ok",
)
sw_case(
    "standard tampered body",
    [secret],
    sw_headers("msg_4", now, sw_sign(secret, "msg_4", now, body)),
    body.replace("T-1001", "T-1002"),
    "bad_signature",
)
sw_case(
    "standard tampered id",
    [secret],
    sw_headers("msg_5b", now, sw_sign(secret, "msg_5", now, body)),
    body,
    "bad_signature",
)
sw_case(
    "standard expired",
    [secret],
    sw_headers("msg_6", now - 400, sw_sign(secret, "msg_6", now - 400, body)),
    body,
    "expired",
)
sw_case(
    "standard from the future",
    [secret],
    sw_headers("msg_7", now + 400, sw_sign(secret, "msg_7", now + 400, body)),
    body,
    "future",
)
sw_case(
    "standard wrong secret",
    [secret],
    sw_headers("msg_8", now, sw_sign(old, "msg_8", now, body)),
    body,
    "bad_signature",
)
sw_case("standard unsigned", [secret], {}, body, "missing_header")

# --- Stripe ------------------------------------------------------------------

st_secret, st_other = "whsec_" + os.urandom(16).hex(), "whsec_" + os.urandom(16).hex()
event = json.dumps(
    {"id": "evt_1PZ", "object": "event", "type": "payment_intent.succeeded",
     "data": {"object": {"id": "pi_3", "amount": 2000, "currency": "eur"}}},
    indent=2,
)


def st_official(secrets, headers, payload):
    for s in secrets:
        try:
            stripe.Webhook.construct_event(payload, headers.get("Stripe-Signature"), s, tolerance=300)
            return True
        except (stripe.SignatureVerificationError, ValueError):
            pass
    return False


def st_case(name, secrets, headers, payload, expect):
    add(name, "stripe", secrets, headers, payload, expect, st_official(secrets, headers, payload))


def st_sign(payload, s, ts):
    return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(payload, s, timestamp=ts)}


st_case("stripe ok", [st_secret], st_sign(event, st_secret, now), event, "ok")
st_case(
    "stripe rotation: receiver has both secrets",
    [st_other, st_secret],
    st_sign(event, st_secret, now - 100),
    event,
    "ok",
)
rotated = {
    "Stripe-Signature": "t=%d,v1=%s,v1=%s"
    % (
        now,
        stripe.WebhookSignature._compute_signature("%d.%s" % (now, event), st_other),
        stripe.WebhookSignature._compute_signature("%d.%s" % (now, event), st_secret),
    )
}
st_case("stripe two v1 signatures during a roll", [st_secret], rotated, event, "ok")
st_case("stripe tampered", [st_secret], st_sign(event, st_secret, now), event.replace("2000", "1"), "bad_signature")
st_case("stripe expired", [st_secret], st_sign(event, st_secret, now - 400), event, "expired")
st_case("stripe wrong secret", [st_secret], st_sign(event, st_other, now), event, "bad_signature")
st_case("stripe unsigned", [st_secret], {}, event, "missing_header")
resigned = st_sign(event, st_secret, now - 400)["Stripe-Signature"].replace("t=%d" % (now - 400), "t=%d" % now)
st_case("stripe old signature with a fresh timestamp", [st_secret], {"Stripe-Signature": resigned}, event, "bad_signature")

json.dump(cases, sys.stdout)
