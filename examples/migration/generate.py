#!/usr/bin/env python3
"""Writes the export of a small loyalty platform as `latchkey import` reads it.

Made up data in the shape docs/MIGRATING.md describes: one organization, two
merchants, N guests of merchant 777777 whose passwords the old system kept as
Django PBKDF2-SHA256 hashes, one guest with a salted SHA-256 hex digest, one
staff account, and two integrator apps with the secrets they already use.
Only the Python standard library. Every guest's password is "open-sesame-<i>".

    python3 generate.py [N] [DIR]
"""
import base64
import hashlib
import json
import os
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
out = sys.argv[2] if len(sys.argv) > 2 else "."
os.makedirs(out, exist_ok=True)


def django_pbkdf2(password, salt, iterations=100_000):
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(dk).decode())


with open(os.path.join(out, "organizations.csv"), "w") as f:
    f.write("id,name\ngrp-1,Demo Coffee Group\n")

with open(os.path.join(out, "merchants.csv"), "w") as f:
    f.write("id,name,organization_id\n777777,Demo Coffee Downtown,grp-1\n777778,Demo Coffee Airport,grp-1\n")

with open(os.path.join(out, "accounts.jsonl"), "w") as f:
    for i in range(1, n + 1):
        f.write(json.dumps({
            "id": "pxg-%06d" % i, "kind": "guest", "username": "guest%d@example.com" % i,
            "merchant_id": "777777", "printed_card_number": "6000%06d" % i,
            "password_hash": django_pbkdf2("open-sesame-%d" % i, "s%06d" % i),
            "created_at": "2021-03-04T05:06:07Z"}) + "\n")
    # A guest from an older system: sha256(salt + password) in hex.
    salt = "c0ffee"
    f.write(json.dumps({
        "id": "pxg-legacy", "kind": "guest", "username": "old-timer@example.com", "merchant_id": "777777",
        "password_hash": hashlib.sha256((salt + "open-sesame-0").encode()).hexdigest(),
        "password_salt": salt, "password_salt_order": "salt_first", "password_scheme": "sha256-salted"}) + "\n")
    f.write(json.dumps({
        "id": "staff-owner", "kind": "staff", "username": "owner@democoffee.example",
        "memberships": ["organization:grp-1", "merchant:777777"],
        "password_hash": django_pbkdf2("correct-horse-battery", "staffsalt")}) + "\n")

with open(os.path.join(out, "clients.jsonl"), "w") as f:
    # The loyalty app, deployed with this id and secret against Paytronix.
    f.write(json.dumps({
        "client_id": "3FTmkQuXBexampleLoyaltyApp", "client_secret": "654secretnx4",
        "client_name": "Demo Coffee app", "dialect": "paytronix", "merchant_id": "777777",
        "grant_types": ["password", "refresh_token"],
        "scope": "user_read user_write account_read account_write", "access_token_ttl": 1800}) + "\n")
    # The tills, deployed against Flexiti's POS API.
    f.write(json.dumps({
        "client_id": "flexiti-till", "client_secret": "77xde15a-till-secret",
        "client_name": "Tills", "dialect": "flexiti", "merchant_id": "777777", "account_kind": "staff",
        "grant_types": ["client_credentials", "password", "refresh_token"],
        "scope": "merchant customer", "default_scope": "merchant", "access_token_ttl": 1200}) + "\n")
