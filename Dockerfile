FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Dependencies first, at the tested versions: an edit to the source reuses
# this layer instead of reinstalling everything.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt
COPY README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-deps . && rm -rf /src

RUN useradd --create-home --uid 10001 registry \
    && mkdir /data && chown registry /data
USER registry
WORKDIR /data
VOLUME /data

# SQLite in the volume by default; set a postgresql:// URL for production.
ENV CLIENT_REGISTRY_DATABASE_URL=sqlite:////data/client-registry.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["client-registry", "serve", "--host", "0.0.0.0", "--port", "8000"]
