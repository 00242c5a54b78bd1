"""Section 1 of the contract: every rule of the client scheme, over HTTP."""

import secrets

import pytest

from builders import new_client, unique_name

PROBLEM_JSON = "application/problem+json"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
META, REDIRECT = "invalid_client_metadata", "invalid_redirect_uri"
CB = "https://app.example.com/cb"
OTHER_CB = "https://other.example.com/cb"
BOTH = ["authorization_code", "implicit"]
DEFAULT_SCOPES = ["openid", "email", "profile", "offline_access"]
DEFAULT_METHODS = ["client_secret_post", "client_secret_basic"]
GRANTS = [
    *["authorization_code", "implicit", "refresh_token", "client_credentials", "password"],
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
]
OMIT = object()  # a field left out of the request body


def post(api, **fields):
    """POST a client: a unique name and one redirect unless given (or OMIT)."""
    body = {"name": unique_name(), "redirect": [CB], **fields}
    return api.post("/v1/clients", json={k: v for k, v in body.items() if v is not OMIT})


def assert_invalid(response, field, code=None):
    """A 422 problem whose `errors` names `field` with its per-entry code."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON
    body = response.json()
    entry_code = REDIRECT if field.startswith("redirect") else META
    assert body["status"] == 422
    assert body["code"] == (code or entry_code), body
    entries = [e for e in body.get("errors") or [] if e["field"] == field]
    assert entries, f"no error for {field!r}: {body}"
    assert all(e["code"] == entry_code and e["message"] for e in entries), body
    return entries[0]


def assert_created(response, **expected):
    assert response.status_code == 201, response.text
    created = response.json()
    assert {k: created[k] for k in expected} == expected
    return created


# --- Unknown fields and strict types ---------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"grant_types": ["client_credentials"]}, "grant_types"),  # snake_case is not the name
        ({"redirectUris": [CB]}, "redirectUris"),
        ({"firstParty": "true"}, "firstParty"),
        ({"firstParty": 1}, "firstParty"),
        ({"scopes": "openid"}, "scopes"),
        ({"grantTypes": "authorization_code"}, "grantTypes"),
        ({"authMethods": "none"}, "authMethods"),
        ({"scopes": ["openid", 3]}, "scopes[1]"),
        ({"redirect": [CB, 5]}, "redirect[1]"),
        ({"name": 42}, "name"),
        ({"id": 7}, "id"),
        ({"name": OMIT}, "name"),
        ({"name": None}, "name"),
        ({"scopes": None}, "scopes"),
        ({"firstParty": None}, "firstParty"),
        ({"grantTypes": None}, "grantTypes"),
        ({"authMethods": None}, "authMethods"),
        ({"id": None}, "id"),
        ({"secret": None}, "secret"),
    ],
)
def test_unknown_fields_and_loose_types_are_refused(api, fields, field):
    assert_invalid(post(api, **fields), field)


def test_strict_boolean_is_stored(api):
    created = assert_created(post(api, firstParty=True), firstParty=True)
    assert api.get(f"/v1/clients/{created['id']}").json()["firstParty"] is True


# --- id --------------------------------------------------------------------


@pytest.mark.parametrize("client_id", ["a", "Billing-Portal_2.0~x", "...", ".well", "x" * 128])
def test_given_id_is_kept(api, client_id):
    response = post(api, id=client_id)
    assert_created(response, id=client_id)
    assert response.headers["location"].endswith(f"/v1/clients/{client_id}")
    assert api.get(f"/v1/clients/{client_id}").json()["id"] == client_id


@pytest.mark.parametrize(
    "client_id", ["", ".", "..", "y" * 129, "a/b", "a b", "café", "a+b", "a:b", "a@b", "a%20b"]
)
def test_bad_id_is_refused(api, client_id):
    assert_invalid(post(api, id=client_id), "id")


# --- name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("  Billing portal  ", "Billing portal"),
        ("Ünïcødé 名前", "Ünïcødé 名前"),
        ("n" * 200, "n" * 200),
        ("   " + "m" * 200 + " ", "m" * 200),
    ],
)
def test_name_is_stored_trimmed(api, sent, stored):
    created = assert_created(post(api, name=sent), name=stored)
    assert api.get(f"/v1/clients/{created['id']}").json()["name"] == stored


@pytest.mark.parametrize(
    "name",
    [
        *["", "    ", "z" * 201, "a\x00b", "a\nb", "a\tb", "a\x7fb", "\x1b[31mred"],
        # Format and bidirectional controls make a name read as another.
        *["evil\u202eexe.txt", "pay\u200bpal", "\ufeffadmin", "a\u2066b\u2069"],
    ],
)
def test_bad_name_is_refused(api, name):
    assert_invalid(post(api, name=name), "name")


def test_lone_surrogate_in_name_is_refused(api):
    # Sent as the JSON escape: a lone surrogate cannot be encoded as UTF-8.
    body = '{"name": "a\\ud800b", "redirect": ["https://app.example.com/cb"]}'
    response = api.post("/v1/clients", content=body, headers={"Content-Type": "application/json"})
    assert_invalid(response, "name")


# --- redirect --------------------------------------------------------------

LONGEST_URI = "https://app.example.com/" + "p" * (2048 - 24)
GOOD_REDIRECTS = [
    *["https://app.example.com/cb", "https://app.example.com:8443/oauth/cb?tenant=7"],
    *["http://localhost/cb", "http://localhost:3000/cb", "http://127.0.0.1/cb"],
    *["http://127.0.0.1:51004/cb", "http://[::1]/cb", "http://[::1]:8080/cb"],
    *["com.example.app:/cb", "com.example.app:/oauth2/provider"],
    LONGEST_URI,
]
BAD_REDIRECTS = [
    *["http://app.example.com/cb", "http://localhost.example.com/cb", "http://127.0.0.1.nip.io/cb"],
    "myapp:/cb",  # a private-use scheme needs a dot
    *["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html;base64,PGI+aGk8L2I+"],
    *["file:///etc/passwd", "vbscript:msgbox(1)"],
    *["https://app.example.com/cb#frag", "https://app.example.com/cb#"],
    *["https://*.example.com/cb", "https://app.example.com/*"],
    *["https://user@app.example.com/cb", "https://user:pw@app.example.com/cb"],
    "http://user@localhost/cb",
    *["/cb", "cb", "//app.example.com/cb", "app.example.com/cb", ""],
    LONGEST_URI + "p",
]


@pytest.mark.parametrize("uri", GOOD_REDIRECTS)
def test_good_redirect_is_accepted(api, uri):
    assert_created(post(api, redirect=[uri]), redirect=[uri])


@pytest.mark.parametrize("uri", BAD_REDIRECTS)
def test_bad_redirect_is_refused(api, uri):
    assert_invalid(post(api, redirect=[CB, OTHER_CB, uri]), "redirect[2]", REDIRECT)


def test_several_bad_redirects_are_each_named(api):
    response = post(api, redirect=["myapp:/cb", CB, "http://evil.example/cb"])
    assert_invalid(response, "redirect[0]", REDIRECT)
    assert_invalid(response, "redirect[2]", REDIRECT)


def test_errors_beyond_redirect_make_it_client_metadata(api):
    response = post(api, redirect=["myapp:/cb"], scopes=["bad scope"])
    assert_invalid(response, "redirect[0]", META)
    assert_invalid(response, "scopes[0]", META)


@pytest.mark.parametrize("redirect", [OMIT, []])
@pytest.mark.parametrize(
    "grants", [OMIT, ["authorization_code"], ["implicit"], ["password", "implicit"]]
)
def test_redirect_is_required_by_redirect_grants(api, grants, redirect):
    assert_invalid(post(api, grantTypes=grants, redirect=redirect), "redirect")


@pytest.mark.parametrize("redirect", [OMIT, []])
@pytest.mark.parametrize("grants", [["client_credentials"], GRANTS[2:]])
def test_redirect_may_be_absent_otherwise(api, grants, redirect):
    assert_created(post(api, grantTypes=grants, redirect=redirect), redirect=[])


# --- arrays ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "sent", "kept"),
    [
        ("redirect", [OTHER_CB, CB, OTHER_CB, CB], [OTHER_CB, CB]),
        ("grantTypes", ["refresh_token", "authorization_code", "refresh_token"], None),
        ("responseTypes", ["none", "code", "none", "code"], None),
        ("responseModes", ["form_post", "query", "form_post", "query.jwt"], None),
        ("scopes", ["profile", "openid", "profile", "email", "openid"], None),
        ("authMethods", ["client_secret_basic", "client_secret_post", "client_secret_basic"], None),
    ],
)
def test_arrays_drop_repeats_keeping_the_first(api, field, sent, kept):
    kept = kept or list(dict.fromkeys(sent))
    created = assert_created(post(api, **{field: sent}), **{field: kept})
    assert api.get(f"/v1/clients/{created['id']}").json()[field] == kept


@pytest.mark.parametrize(
    ("field", "items"),
    [
        ("scopes", [f"s{i}" for i in range(101)]),
        ("scopes", ["a", "b"] * 50 + ["a"]),  # 101 as sent, 2 once repeats go
        ("grantTypes", ["authorization_code"] * 101),
        ("responseTypes", ["code"] * 101),
        ("responseModes", ["query"] * 101),
        ("authMethods", ["client_secret_basic"] * 101),
    ],
)
def test_more_than_100_items_are_refused(api, field, items):
    assert_invalid(post(api, **{field: items}), field)


def test_100_items_are_accepted(api):
    scopes = [f"scope{i}" for i in range(100)]
    assert_created(post(api, scopes=scopes), scopes=scopes)
    assert_created(post(api, scopes=["a", "b"] * 50), scopes=["a", "b"])


# --- grantTypes and responseTypes ------------------------------------------


@pytest.mark.parametrize("grant", GRANTS)
def test_each_grant_type_is_accepted(api, grant):
    assert_created(post(api, grantTypes=[grant]), grantTypes=[grant])


@pytest.mark.parametrize(
    ("grants", "field"),
    [
        ([], "grantTypes"),
        (["client_credential"], "grantTypes[0]"),
        (["authorization_code", "Implicit"], "grantTypes[1]"),
        (["urn:ietf:params:oauth:grant-type:saml2-bearer"], "grantTypes[0]"),
        ([""], "grantTypes[0]"),
    ],
)
def test_bad_grant_types_are_refused(api, grants, field):
    assert_invalid(post(api, grantTypes=grants), field)


@pytest.mark.parametrize(
    "sent",
    [
        *["code", "token", "id_token", "none", "code id_token", "token code"],
        *["token id_token", "id_token token code"],
    ],
)
def test_each_response_type_is_accepted(api, sent):
    created = assert_created(post(api, grantTypes=BOTH, responseTypes=[sent]))
    assert [set(t.split(" ")) for t in created["responseTypes"]] == [set(sent.split(" "))]


def test_response_types_compare_as_sets(api):
    created = assert_created(post(api, grantTypes=BOTH, responseTypes=["code token", "token code"]))
    assert [set(t.split(" ")) for t in created["responseTypes"]] == [{"code", "token"}]


@pytest.mark.parametrize("bad", ["device_code", "CODE", "", "none code", "code id_token none"])
def test_unknown_response_type_is_refused(api, bad):
    assert_invalid(post(api, grantTypes=BOTH, responseTypes=["code", bad]), "responseTypes[1]")


@pytest.mark.parametrize(
    ("grants", "types", "field"),
    [
        (["implicit"], ["code"], "responseTypes[0]"),
        (["implicit"], ["token", "code id_token"], "responseTypes[1]"),
        (["authorization_code"], ["code", "token"], "responseTypes[1]"),
        (["authorization_code"], ["id_token"], "responseTypes[0]"),
        (["authorization_code"], ["code id_token token"], "responseTypes[0]"),
        (["client_credentials"], ["code"], "responseTypes[0]"),
        (["authorization_code"], ["code", "code", "id_token"], "responseTypes[2]"),  # as sent
    ],
)
def test_response_types_need_their_grants(api, grants, types, field):
    assert_invalid(post(api, grantTypes=grants, responseTypes=types), field)


def test_response_type_none_needs_no_grant(api):
    response = post(api, grantTypes=["client_credentials"], responseTypes=["none"])
    assert_created(response, responseTypes=["none"])


# --- defaults ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("grants", "types", "modes"),
    [
        (OMIT, ["code"], ["query"]),
        (["implicit"], ["token"], ["fragment"]),
        (["implicit", "authorization_code"], ["code"], ["query"]),
        (["refresh_token", "client_credentials"], [], []),
    ],
)
def test_response_defaults_follow_the_grants(api, grants, types, modes):
    assert_created(post(api, grantTypes=grants), responseTypes=types, responseModes=modes)


def test_other_defaults(api):
    created = assert_created(
        post(api),
        grantTypes=["authorization_code"],
        scopes=DEFAULT_SCOPES,
        firstParty=False,
        authMethods=DEFAULT_METHODS,
    )
    assert created["id"]
    assert created.pop("secret")
    assert api.get(f"/v1/clients/{created['id']}").json() == created


# --- responseModes, scopes, authMethods ------------------------------------

MODES = ["query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"]


def test_every_response_mode_is_accepted(api):
    assert_created(post(api, responseModes=MODES), responseModes=MODES)


@pytest.mark.parametrize("bad", ["post", "form-post", "QUERY", "query.jws", ""])
def test_unknown_response_mode_is_refused(api, bad):
    assert_invalid(post(api, responseModes=["query", bad]), "responseModes[1]")


@pytest.mark.parametrize(
    "scope",
    ["read:user", "https://api.example.com/read", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", "s" * 128],
)
def test_scope_token_is_accepted(api, scope):
    assert_created(post(api, scopes=["openid", scope]), scopes=["openid", scope])


@pytest.mark.parametrize(
    "scope", ["", "two words", 'say"hi', "back\\slash", "s" * 129, "café", "tab\tbed", "del\x7f"]
)
def test_bad_scope_token_is_refused(api, scope):
    assert_invalid(post(api, scopes=["openid", scope]), "scopes[1]")


@pytest.mark.parametrize(
    "methods", [["client_secret_basic"], ["client_secret_post"], ["none"], DEFAULT_METHODS]
)
def test_allowed_auth_methods(api, methods):
    assert_created(post(api, authMethods=methods), authMethods=methods)


@pytest.mark.parametrize(
    ("methods", "field", "says"),
    [
        ([], "authMethods", None),
        (["none", "client_secret_basic"], "authMethods", None),
        (["client_secret_post", "none"], "authMethods", None),
        (["client_secret_jwt"], "authMethods[0]", "plaintext"),
        (["client_secret_basic", "private_key_jwt"], "authMethods[1]", "support"),
        (["tls_client_auth"], "authMethods[0]", "support"),
        (["self_signed_tls_client_auth"], "authMethods[0]", "support"),
        (["client_secret"], "authMethods[0]", None),
    ],
)
def test_bad_auth_methods_are_refused(api, methods, field, says):
    entry = assert_invalid(post(api, authMethods=methods), field)
    assert says is None or says in entry["message"].lower()


# --- a given secret --------------------------------------------------------


@pytest.mark.parametrize("length", [32, 100, 512])
def test_given_secret_is_accepted(api, length):
    secret = (" !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~" * 14)[:length]
    created = assert_created(post(api, secret=secret), secret=secret)
    auth = {"secret": secret, "method": "client_secret_post"}
    assert api.post(f"/v1/clients/{created['id']}/authenticate", json=auth).status_code == 200


@pytest.mark.parametrize(
    ("prefix", "length"),
    [("", 31), ("", 513), ("é", 40), ("\t", 40), ("\u200b", 40)],
)
def test_bad_secret_is_refused_and_never_echoed(api, prefix, length):
    visible = secrets.token_hex(300)[: length - len(prefix)]
    response = post(api, secret=prefix + visible)
    assert_invalid(response, "secret")
    assert visible not in response.text
    assert visible[:16] not in response.text


# --- PUT and PATCH -----------------------------------------------------------


def test_put_returns_omitted_fields_to_their_defaults(api):
    created = new_client(api, scopes=["a"], firstParty=True, authMethods=["none"])
    body = {"name": "replaced", "grantTypes": ["client_credentials"]}
    response = api.put(f"/v1/clients/{created['id']}", json=body)
    assert response.status_code == 200, response.text
    expected = {"redirect": [], "responseTypes": [], "responseModes": [], "scopes": DEFAULT_SCOPES}
    expected |= {"firstParty": False, "authMethods": DEFAULT_METHODS}
    assert {k: response.json()[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("grants", "types", "modes"),
    [(["client_credentials"], [], []), (["implicit"], ["token"], ["fragment"])],
)
def test_patch_null_resets_by_the_new_grants(api, grants, types, modes):
    created = new_client(api, scopes=["a"])
    patch = {"grantTypes": grants, "responseTypes": None, "responseModes": None, "name": " n "}
    response = api.patch(f"/v1/clients/{created['id']}", json=patch, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text
    expected = {"responseTypes": types, "responseModes": modes, "scopes": ["a"], "name": "n"}
    assert {k: response.json()[k] for k in expected} == expected


# --- a rejected request changes nothing ------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"redirect": ["javascript:alert(1)"]},
        {"grantTypes": ["implicit"], "responseTypes": ["code"]},
        {"authMethods": ["client_secret_jwt"]},
    ],
)
def test_rejected_create_stores_nothing(api, fields):
    client_id, name = unique_name("rejected"), unique_name("rejected")
    assert post(api, id=client_id, name=name, **fields).status_code == 422
    assert api.get(f"/v1/clients/{client_id}").status_code == 404
    assert api.get("/v1/clients", params={"name": name}).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("PUT", {"name": "x"}, "redirect"),  # authorization_code by default needs one
        ("PUT", {"name": "x", "grantTypes": ["implicit"], "redirect": []}, "redirect"),
        ("PUT", {"name": "x", "redirect": [CB], "scopes": ["a b"]}, "scopes[0]"),
        ("PATCH", {"grantTypes": ["client_credentials"]}, "responseTypes[0]"),  # keeps ["code"]
        ("PATCH", {"grantTypes": ["implicit"], "name": "changed"}, "responseTypes[0]"),
        ("PATCH", {"responseTypes": ["code", "token"]}, "responseTypes[1]"),
        ("PATCH", {"redirect": []}, "redirect"),
        ("PATCH", {"redirect": None}, "redirect"),  # back to the default []
        ("PATCH", {"scopes": ["ok"], "redirect": [CB, "http://evil.example/cb"]}, "redirect[1]"),
        ("PATCH", {"authMethods": ["none", "client_secret_post"]}, "authMethods"),
        ("PATCH", {"name": " \t "}, "name"),
        ("PATCH", {"scopes": "openid"}, "scopes"),
        ("PATCH", {"firstParty": "false"}, "firstParty"),
        ("PATCH", {"grant_types": ["implicit"]}, "grant_types"),
    ],
)
def test_rejected_change_leaves_the_client_and_its_etag(api, method, body, field):
    """PUT and PATCH are checked on the client they would leave behind."""
    url = f"/v1/clients/{new_client(api)['id']}"
    before = api.get(url)
    headers = {"If-Match": before.headers["etag"]}
    if method == "PATCH":
        headers |= MERGE_PATCH
    assert_invalid(api.request(method, url, json=body, headers=headers), field)
    after = api.get(url)
    assert after.json() == before.json()
    assert after.headers["etag"] == before.headers["etag"]
