"""Entity tags and the conditional request headers of RFC 9110 §13."""


def etag(revision: str) -> str:
    return f'"{revision}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match_passes(header: str | None, revision: str) -> bool:
    """If-Match uses the strong comparison: a weak tag never matches."""
    if header is None:
        return True
    tags = _tags(header)
    return "*" in tags or etag(revision) in tags


def if_none_match_hits(header: str | None, revision: str) -> bool:
    """If-None-Match uses the weak comparison."""
    if header is None:
        return False
    tags = [tag.removeprefix("W/") for tag in _tags(header)]
    return "*" in tags or etag(revision) in tags
