"""seam's /v1/embeddings driven by the official `openai` Python package,
with nothing changed but base_url and api_key. The server must declare
`[embeddings.mini]` (all-MiniLM-L6-v2).

Usage: python test_openai_embeddings.py BASE_URL
Exits non-zero on the first failed check (an AssertionError says which).
"""

import math
import sys

import openai
from openai import OpenAI


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def check_batch(client):
    # The client asks for base64 by default and decodes it itself.
    r = client.embeddings.create(
        model="mini",
        input=["refund my double charge",
               "billing question about a duplicate payment",
               "the app crashes on startup"],
    )
    assert r.object == "list", r
    assert r.model == "mini", r
    assert [d.index for d in r.data] == [0, 1, 2], r
    vs = [d.embedding for d in r.data]
    assert all(len(v) == 384 for v in vs)
    assert all(abs(math.sqrt(dot(v, v)) - 1.0) < 1e-3 for v in vs)
    assert dot(vs[0], vs[1]) > dot(vs[0], vs[2]) + 0.1, (dot(vs[0], vs[1]), dot(vs[0], vs[2]))
    assert r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens, r.usage
    return vs[0]


def check_float_matches_base64(client, first):
    r = client.embeddings.create(model="mini", input="refund my double charge",
                                 encoding_format="float", dimensions=384)
    v = r.data[0].embedding
    assert len(v) == 384
    assert max(abs(a - b) for a, b in zip(v, first)) < 1e-5
    assert r.usage.prompt_tokens == 7, r.usage


def check_unknown_model(client):
    try:
        client.embeddings.create(model="text-embedding-3-small", input="hello")
        raise AssertionError("an unknown model must fail")
    except openai.BadRequestError as e:
        assert e.status_code == 400
        assert "mini" in str(e), e


def check_token_arrays_refused(client):
    try:
        client.embeddings.create(model="mini", input=[[101, 7592, 102]])
        raise AssertionError("token arrays must be refused")
    except openai.BadRequestError as e:
        assert "token arrays" in str(e), e


def main():
    client = OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0)
    first = check_batch(client)
    print("ok batch")
    check_float_matches_base64(client, first)
    print("ok float")
    check_unknown_model(client)
    print("ok unknown model")
    check_token_arrays_refused(client)
    print("ok token arrays")


if __name__ == "__main__":
    main()
