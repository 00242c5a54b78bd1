"""Statements as libpq takes them: the named placeholders SQLAlchemy compiles
for psycopg become $1, $2... (reads against a real server are in
test_hot_reads.py and every PostgreSQL run of the suite)."""

from client_registry.postgres_reads import numbered
from client_registry.repository import Statements


def test_named_placeholders_are_numbered_in_order_of_first_use() -> None:
    sql = "SELECT a FROM t WHERE b = %(b)s AND c LIKE %(c)s OR b > %(b)s LIMIT %(limit)s"
    assert numbered(sql) == (
        b"SELECT a FROM t WHERE b = $1 AND c LIKE $2 OR b > $1 LIMIT $3",
        ["b", "c", "limit"],
    )


def test_an_escaped_percent_is_a_percent() -> None:
    assert numbered("SELECT '100%%' WHERE x = %(x)s") == (b"SELECT '100%' WHERE x = $1", ["x"])


def test_the_hot_reads_keep_their_parameters() -> None:
    text, names = numbered(Statements("postgresql").token_and_credentials)
    assert names == ["client_id", "digest"]
    assert b"clients.id = $1::VARCHAR" in text
    assert b"admin_tokens.digest = $2::VARCHAR" in text
    assert b"%" not in text
