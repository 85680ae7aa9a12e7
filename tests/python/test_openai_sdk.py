"""seam's /v1/chat/completions and /v1/models, driven by the official
`openai` Python package with nothing changed but base_url and api_key.

Usage: python test_openai_sdk.py BASE_URL
Exits non-zero on the first failed check (an AssertionError says which).
"""

import json
import sys

import openai
from openai import OpenAI

TICKET_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["category", "priority"],
    "properties": {
        "category": {"type": "string", "enum": ["billing", "bug", "account", "other"]},
        "priority": {"type": "string", "enum": ["low", "normal", "high"]},
    },
}


def check_models(client):
    ids = {m.id for m in client.models.list()}
    assert {"gw", "triage"} <= ids, ids
    assert client.models.retrieve("gw").id == "gw"
    try:
        client.models.retrieve("no-such-model")
        raise AssertionError("retrieving an unknown model must fail")
    except openai.NotFoundError:
        pass


def check_plain(client):
    r = client.chat.completions.create(
        model="gw",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "The printer on floor 3 is jammed."}],
        max_tokens=60,
    )
    assert r.object == "chat.completion", r
    assert r.model == "gw"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content, r
    assert r.choices[0].finish_reason in ("stop", "length"), r
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def check_stream(client):
    stream = client.chat.completions.create(
        model="gw",
        messages=[{"role": "user", "content": "Summarise: invoice 42 was charged twice."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, chunks = "", None, None, 0
    for chunk in stream:
        chunks += 1
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert chunks >= 3, chunks
    assert text, "streamed text is empty"
    assert finish == "stop", finish
    assert usage is not None and usage.completion_tokens > 0, usage


def check_json_schema(client):
    r = client.chat.completions.create(
        model="gw",
        messages=[{"role": "user", "content": "I was charged twice for invoice 42, please fix."}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "ticket", "schema": TICKET_SCHEMA, "strict": True}},
        temperature=0,
    )
    value = json.loads(r.choices[0].message.content)
    assert value["category"] in TICKET_SCHEMA["properties"]["category"]["enum"], value
    assert value["priority"] in TICKET_SCHEMA["properties"]["priority"]["enum"], value
    # The same deterministic request is answered from seam's cache.
    raw = client.chat.completions.with_raw_response.create(
        model="gw",
        messages=[{"role": "user", "content": "I was charged twice for invoice 42, please fix."}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "ticket", "schema": TICKET_SCHEMA, "strict": True}},
        temperature=0,
    )
    assert raw.headers.get("x-seam-cache") == "hit", dict(raw.headers)
    assert raw.parse().choices[0].message.content == r.choices[0].message.content


def check_tools(client):
    tools = [{"type": "function", "function": {
        "name": "lookup_invoice",
        "description": "Find an invoice by number",
        "parameters": {"type": "object", "additionalProperties": False,
                       "required": ["number"], "properties": {"number": {"type": "integer"}}},
    }}]
    r = client.chat.completions.create(
        model="gw",
        messages=[{"role": "user", "content": "What is the status of invoice 42?"}],
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "lookup_invoice"}},
    )
    msg = r.choices[0].message
    assert r.choices[0].finish_reason == "tool_calls", r
    call = msg.tool_calls[0]
    assert call.function.name == "lookup_invoice"
    args = json.loads(call.function.arguments)
    assert isinstance(args["number"], int), args
    # The tool result goes back, and the model answers in text.
    r2 = client.chat.completions.create(
        model="gw",
        messages=[
            {"role": "user", "content": "What is the status of invoice 42?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": '{"status": "paid"}'},
        ],
        tools=tools,
    )
    assert r2.choices[0].message.content, r2
    # Tool calls stream too.
    stream = client.chat.completions.create(
        model="gw",
        messages=[{"role": "user", "content": "What is the status of invoice 42?"}],
        tools=tools, tool_choice="required", stream=True,
    )
    name, arguments = "", ""
    for chunk in stream:
        for c in chunk.choices:
            for tc in c.delta.tool_calls or []:
                name += tc.function.name or ""
                arguments += tc.function.arguments or ""
    assert name == "lookup_invoice", name
    json.loads(arguments)


def check_pipeline_as_model(client):
    ticket = {"ticket_id": "T-9001", "subject": "Refund", "body": "Charged twice for invoice 42",
              "customer": {"email": "ann@example.com", "plan": "pro"}}
    r = client.chat.completions.create(
        model="triage", messages=[{"role": "user", "content": json.dumps(ticket)}])
    out = json.loads(r.choices[0].message.content)
    assert {"category", "priority", "summary"} <= set(out), out


def check_errors(client):
    try:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
        raise AssertionError("unknown model must fail")
    except openai.NotFoundError as e:
        assert e.body["code"] == "invalid_request", e.body
        assert e.body["param"] == "model", e.body
    try:
        client.chat.completions.create(model="gw", messages=[{"role": "user", "content": "x"}],
                                       temperature=5)
        raise AssertionError("temperature 5 must fail")
    except openai.BadRequestError as e:
        assert e.body["param"] == "temperature", e.body
    try:
        client.chat.completions.create(model="triage",
                                       messages=[{"role": "user", "content": '{"ticket_id": 7}'}])
        raise AssertionError("invalid pipeline input must fail")
    except openai.UnprocessableEntityError as e:
        assert e.body["code"] == "input_invalid", e.body
        assert any(err["pointer"] == "/ticket_id" for err in e.body["errors"]), e.body
    try:
        client.chat.completions.create(model="down", messages=[{"role": "user", "content": "x"}])
        raise AssertionError("a failing provider must fail")
    except openai.InternalServerError as e:
        assert e.status_code == 503, e.status_code
        assert e.body["class"] == "transient", e.body


def main():
    base_url = sys.argv[1]
    client = OpenAI(base_url=base_url, api_key="sk-seam-test", max_retries=0, timeout=30)
    for check in (check_models, check_plain, check_stream, check_json_schema, check_tools,
                  check_pipeline_as_model, check_errors):
        check(client)
        print(f"ok {check.__name__}", flush=True)


if __name__ == "__main__":
    main()
