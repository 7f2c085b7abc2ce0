# Fleet Dashboard: dashboard + HTTP API + WhatsApp engine + queue worker on one port.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    REFLEX_USE_NPM=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    ENVIRONMENT=production \
    PORT=3000

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl unzip && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY fleet_dashboard ./fleet_dashboard
RUN pip install .

COPY rxconfig.py alembic.ini ./
COPY alembic ./alembic
COPY assets ./assets
# The frontend's pinned npm packages, so the image builds the same frontend the tests ran against.
COPY reflex.lock ./reflex.lock
# The first start installs the frontend's npm packages and builds it (about 20 s) into /app/.web.

EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fs http://localhost:${PORT}/api/health || exit 1
# DATABASE_URL should point at an external PostgreSQL in production; without it the embedded server
# keeps its data under /app/data (mount a volume there).
CMD ["fleet-dashboard", "run"]
