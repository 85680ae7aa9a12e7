#!/usr/bin/env python3
"""Writes corpus.jsonl: labelled examples for the PII detectors.

Each line: {"text": ..., "spans": [{"kind": "EMAIL", "value": "..."}]}.
Values are located by the test (first occurrence from the previous span),
so the file stays readable. Near-misses have no spans. Card, IBAN and
SSN examples are generated with valid (or deliberately broken) checksums
from fixed seeds, so the file is reproducible: run this script to rewrite it.
"""
import json
import random

rng = random.Random(7)
rows = []


def add(text, *spans):
    rows.append({"text": text, "spans": [{"kind": k, "value": v} for k, v in spans]})


def luhn_ok(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        x = int(c)
        if i % 2 == 1:
            x *= 2
            if x > 9:
                x -= 9
        s += x
    return s % 10 == 0


def make_card(prefix, length):
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for c in "0123456789":
        if luhn_ok(body + c):
            return body + c


def group(d, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(d[i:i + s])
        i += s
    return sep.join(out)


def iban_check(country, bban):
    s = bban + country + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return "%02d" % (98 - n % 97)


def make_iban(country, bban):
    return country + iban_check(country, bban) + bban


def spaced(iban):
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


# ---- EMAIL (positives)
emails = [
    "jo@example.com", "mary.smith@mail.example.org", "first.last+tag@sub.domain.co.uk",
    "a_b-c@example.io", "support@helpdesk.example.net", "USER@EXAMPLE.COM", "x1@y2.de",
    "o'neil@example.com", "li.wei@example.cn", "j.doe123@company-name.example",
    "billing@shop.example.fr", "noreply@notifications.example.com", "ana.maria@correo.example.es",
    "k@ex.am", "team+alerts@example.dev", "s.o.m.e@example.travel", "99bottles@example.com",
    "hans.mueller@firma.example.de", "p.dupont@societe.example.fr", "m.rossi@azienda.example.it",
    "sam@example.co", "finance-team@example.org", "a.b.c.d@e.example.com", "zoe_2024@example.net",
    "root@localhost.example",
]
templates = ["Please contact {} for details.", "From: {}", "reply to <{}> asap", "email {}, thanks",
             "CC {} and the team", "my address is {}."]
for i, e in enumerate(emails):
    value = e
    text = templates[i % len(templates)].format(e)
    add(text, ("EMAIL", value))

# ---- PHONE (positives)
phones = [
    "+44 20 7946 0958", "+1 (555) 234-5678", "+1-555-234-5678", "+33 1 42 68 53 00",
    "+49 30 901820", "+49 (0)30 9018 2000", "+81 3-1234-5678", "+61 2 9374 4000",
    "+353 1 234 5678", "+91 98765 43210", "+34 912 345 678", "+39 06 6982 1234",
    "+31 20 794 0958", "+46 8 123 456 78", "+1.555.234.5678", "+44 7700 900123",
    "(555) 234-5678", "555-234-5678", "555.234.5678", "020 7946 0958", "07700 900123",
    "0044 20 7946 0958", "06 12 34 56 78", "030 1234567", "1-800-555-0199", "(212) 555-0143",
    "+86 10 6552 9988", "+55 11 3456 7890",
]
ptemplates = ["Call me on {} please", "Phone: {}", "reach us at {}.", "mobile {}, evenings",
              "tel {} (office)", "ring {} anytime"]
for i, p in enumerate(phones):
    add(ptemplates[i % len(ptemplates)].format(p), ("PHONE", p))

# ---- CARD (positives)
card_specs = [("4", 16, [4, 4, 4, 4]), ("51", 16, [4, 4, 4, 4]), ("55", 16, [4, 4, 4, 4]),
              ("2221", 16, [4, 4, 4, 4]), ("37", 15, [4, 6, 5]), ("34", 15, [4, 6, 5]),
              ("6011", 16, [4, 4, 4, 4]), ("65", 16, [4, 4, 4, 4]), ("35", 16, [4, 4, 4, 4]),
              ("36", 14, [4, 6, 4]), ("62", 19, [4, 4, 4, 4, 3]), ("4", 13, [4, 4, 5])]
seps = [" ", "-", ""]
ctemplates = ["card {} exp 12/27", "Charged to {}", "my card number is {}.", "Visa: {}",
              "pan={} cvv hidden", "use {} for the refund"]
for i in range(30):
    prefix, length, sizes = card_specs[i % len(card_specs)]
    d = make_card(prefix, length)
    sep = seps[i % 3]
    v = group(d, sizes, sep) if sep else d
    add(ctemplates[i % len(ctemplates)].format(v), ("CARD", v))
add("test card 4111 1111 1111 1111 declined", ("CARD", "4111 1111 1111 1111"))

# ---- IBAN (positives)
iban_specs = [("DE", "370400440532013000"), ("GB", "WEST12345698765432"), ("FR", "20041010050500013M02606"),
              ("ES", "21000418450200051332"), ("IT", "X0542811101000000123456"), ("NL", "ABNA0417164300"),
              ("BE", "539007547034"), ("CH", "00762011623852957"), ("AT", "1904300234573201"),
              ("IE", "AIBK93115212345678"), ("PL", "109010140000071219812874"), ("SE", "50000000058398257466"),
              ("PT", "000201231234567890154"), ("NO", "86011117947"), ("DK", "00400440116243"),
              ("FI", "12345600000785"), ("LU", "0019400644750000"), ("CZ", "08000000192000145399")]
itemplates = ["IBAN: {}", "please transfer to {} today", "account {} (main)", "pay into {}.",
              "bank details {} BIC XXXX", "refund to IBAN {}"]
for i in range(28):
    country, bban = iban_specs[i % len(iban_specs)]
    if i >= len(iban_specs):
        bban = bban[:-4] + "".join(str(rng.randrange(10)) for _ in range(4))
    ib = make_iban(country, bban)
    v = spaced(ib) if i % 2 == 0 else ib
    add(itemplates[i % len(itemplates)].format(v), ("IBAN", v))

# ---- IP (positives)
ips = ["192.168.1.10", "10.0.0.1", "172.16.254.3", "8.8.8.8", "203.0.113.45", "255.255.255.0",
       "198.51.100.7", "1.1.1.1", "100.64.0.12", "127.0.0.1", "169.254.10.20", "93.184.216.34",
       "2001:db8::1", "fe80::1ff:fe23:4567:890a", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::1",
       "2606:4700:4700::1111", "::ffff:192.0.2.128", "2001:db8:0:0:1:0:0:1", "fd12:3456:789a:1::1",
       "2a00:1450:4009:81f::200e", "0.0.0.0", "192.0.2.255", "10.10.10.10", "2001:db8:abcd:12::"]
iptemplates = ["login from {} failed", "client ip {}", "blocked {}.", "server at {}, port 443",
               "request from {} at noon", "origin={}"]
for i, ip in enumerate(ips):
    add(iptemplates[i % len(iptemplates)].format(ip), ("IP", ip))

# ---- SSN (positives)
stemplates = ["SSN {}", "my social security number is {}", "ssn: {}.", "SSN# {} on file",
              "tax id {} (SSN)", "verify {} please"]
for i in range(26):
    while True:
        a, g, s = rng.randrange(1, 900), rng.randrange(1, 100), rng.randrange(1, 10000)
        if a != 666:
            break
    d = "%03d%02d%04d" % (a, g, s)
    if i % 5 == 4:
        v = d
        text = "SSN: {}".format(v)
    else:
        sep = "-" if i % 3 else " "
        v = "%03d%s%02d%s%04d" % (a, sep, g, sep, s)
        text = stemplates[i % len(stemplates)].format(v)
    add(text, ("SSN", v))

# ---- mixed positives
add("Customer jo@example.com (+44 20 7946 0958) paid with 4111-1111-1111-1111 from 10.1.2.3",
    ("EMAIL", "jo@example.com"), ("PHONE", "+44 20 7946 0958"), ("CARD", "4111-1111-1111-1111"),
    ("IP", "10.1.2.3"))
add("IBAN DE89 3704 0044 0532 0130 00 and SSN 123-45-6789",
    ("IBAN", "DE89 3704 0044 0532 0130 00"), ("SSN", "123-45-6789"))

# ---- near-misses (no spans)
def bad_luhn(prefix, length):
    d = make_card(prefix, length)
    last = (int(d[-1]) + 1 + rng.randrange(8)) % 10
    return d[:-1] + str(last)

near = []
for i in range(12):
    prefix, length, sizes = card_specs[i % len(card_specs)]
    d = bad_luhn(prefix, length)
    near.append(["order number {}", "Order #{} shipped", "ref {}"][i % 3].format(
        group(d, sizes, " ") if i % 2 else d))
for i in range(10):
    country, bban = iban_specs[i]
    ib = make_iban(country, bban)
    broken = ib[:2] + "%02d" % ((int(ib[2:4]) + 1 + i) % 100) + ib[4:]
    if broken == ib:
        broken = ib[:-1] + str((int(ib[-1], 36) + 1) % 10)
    near.append("IBAN {} (typo)".format(spaced(broken) if i % 2 else broken))
near += [
    "shipped on 2026-11-02 at 14:30", "meeting 12/11/2026 10:00", "due 02-11-2026", "born 1987-04-12",
    "price USD 1,234.56 incl. tax", "total EUR 12 345,00", "amount 1 250 000", "it costs 19.99",
    "version 1.2.3.4 released", "upgrade to v2.10.1.3 now", "build 10.0.19045.3803",
    "tracking 1Z999AA10123456784", "tracking number 9400 1000 0000 0000 0000 00",
    "SSN 000-12-3456 is invalid", "SSN 666-12-3456 is invalid", "ssn 912-34-5678 nope",
    "ssn 123-00-4567 nope", "ssn 123-45-0000 nope", "ip 256.1.1.1 is bogus", "ip 192.168.1.300 bad",
    "host 999.999.999.999", "time 12:30:45 UTC", "mac 00:1A:2B:3C:4D:5E", "order 555-234-5678",
    "ticket #5552345678", "invoice no. 020 7946 0958", "SKU 123-456-7890", "part 4111-1111",
    "batch 20261102 run 3", "call id 12345", "zip 90210-1234", "room 101, floor 3",
    "ratio 3:2:1 agreed", "score 10-7 final", "account 12345678", "PO 4500012345",
    "serial SN-2023-000123", "model ABC-1234-XYZ", "dated 02.11.2026", "cheque 000123 456",
    "order 123456789 (nine digits, no SSN label)",
]
for t in near:
    add(t)

with open(__file__.replace("make_corpus.py", "corpus.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(rows), "rows,", len(near), "near-misses")

# ---- held-out rows: written after the detectors were tuned on the rows
# above, and measured once before any change (see BENCHMARKS.md).
held = []


def hold(text, *spans):
    held.append({"text": text, "set": "holdout",
                 "spans": [{"kind": k, "value": v} for k, v in spans]})


hold("Hi, it's Tom (tom.baker@example.co.uk), phone 0161 496 0000", ("EMAIL", "tom.baker@example.co.uk"), ("PHONE", "0161 496 0000"))
hold("Mob: +44 (0) 7700 900 456", ("PHONE", "+44 (0) 7700 900 456"))
hold("whatsapp +972-52-555-1234 thx", ("PHONE", "+972-52-555-1234"))
hold("US office 415-555-0132, fax 415-555-0133", ("PHONE", "415-555-0132"), ("PHONE", "415-555-0133"))
hold("Tel.: 089 12345678", ("PHONE", "089 12345678"))
hold("call +1 415 555 0132 ext. 12", ("PHONE", "+1 415 555 0132"))
hold("Number is (020) 7946 0000.", ("PHONE", "(020) 7946 0000"))
hold("reach me at +33 6 12 34 56 78 after 6pm", ("PHONE", "+33 6 12 34 56 78"))
hold("Mastercard 5500-0000-0000-0004 was declined", ("CARD", "5500-0000-0000-0004"))
hold("AMEX 3782 822463 10005", ("CARD", "3782 822463 10005"))
hold("card ending 1111 (full: 4012888888881881)", ("CARD", "4012888888881881"))
hold("Diners 3056 9309 0259 04", ("CARD", "3056 9309 0259 04"))
hold("paid by 6011 0009 9013 9424 yesterday", ("CARD", "6011 0009 9013 9424"))
hold("IBAN GB33BUKB20201555555555", ("IBAN", "GB33BUKB20201555555555"))
hold("Konto: DE75 5121 0800 1245 1261 99", ("IBAN", "DE75 5121 0800 1245 1261 99"))
hold("virement FR76 3000 6000 0112 3456 7890 189", ("IBAN", "FR76 3000 6000 0112 3456 7890 189"))
hold("NL91ABNA0417164300 is my account", ("IBAN", "NL91ABNA0417164300"))
hold("ssn=078-05-1120", ("SSN", "078-05-1120"))
hold("Social Security Number: 219-09-9999", ("SSN", "219-09-9999"))
hold("SSN 536 22 1234 confirmed", ("SSN", "536 22 1234"))
hold("ssh to 192.168.100.200 then 10.0.0.254", ("IP", "192.168.100.200"), ("IP", "10.0.0.254"))
hold("IPv6 [2001:db8::8a2e:370:7334]:443", ("IP", "2001:db8::8a2e:370:7334"))
hold("X-Forwarded-For: 203.0.113.195, 70.41.3.18", ("IP", "203.0.113.195"), ("IP", "70.41.3.18"))
hold("link-local fe80::a00:27ff:fe4e:66a1 seen", ("IP", "fe80::a00:27ff:fe4e:66a1"))
hold("mailto:someone@example.museum", ("EMAIL", "someone@example.museum"))
hold("Email: JOHN.DOE@EXAMPLE.ORG.", ("EMAIL", "JOHN.DOE@EXAMPLE.ORG"))
hold("user_name-01@mail-server.example.io wrote", ("EMAIL", "user_name-01@mail-server.example.io"))
# held-out near-misses
for t in [
    "Order 4111 1111 1111 1112 not found", "order no. 5500000000000005 refunded",
    "ticket 12345-67890 escalated", "invoice INV-2026-000123", "ref: 20261129-0001",
    "released 2026.11.29", "v3.14.159.26", "firmware 10.2.0.17 on device", "at 23:59:59",
    "between 09:00-17:30", "temperature 36.6", "EUR 1.299,00", "GBP 12,499.99",
    "1,000,000 users", "ISBN 978-3-16-148410-0", "UPS 1Z 999 AA1 01 2345 6784", "case 00012345",
    "IBAN DE00 3704 0044 0532 0130 00", "GB00WEST12345698765432", "SSN 123-45-67890",
    "postcode SW1A 1AA", "call me at noon", "room 555-1234", "1234 5678 9012 3456",
    "ip 10.0.0 only", "1.2.3", "order #020 7946 0958", "phone-like id 000-000-0000",
    "build 2026.11.29.1", "lat 51.5074, lon -0.1278",
]:
    hold(t)

with open(__file__.replace("make_corpus.py", "corpus.jsonl"), "a") as f:
    for r in held:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(held), "held-out rows")
