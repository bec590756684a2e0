# Production image: slim base, non-root user, migrations as a separate step.
#   docker build -t cardcrm .
#   docker run --rm --env-file prod.env cardcrm cardcrm db upgrade      # once per release
#   docker run -p 8000:8000 --env-file prod.env cardcrm                 # the service
# prod.env sets CARDCRM_ENVIRONMENT=production, DATABASE_URL, REDIS_URL, CARDCRM_MASTER_KEY (or
# CARDCRM_MASTER_KEY_FILE), CARDCRM_SIGNING_KEY_FILE (mount the key as a secret),
# CARDCRM_WORKERS (worker processes; default 1) and CARDCRM_FORWARDED_ALLOW_IPS (the load
# balancer's addresses). See "Running several instances" in README.md.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api api
COPY auth auth
COPY models models
COPY resolvers resolvers
COPY schema schema
COPY migrations migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CARDCRM_ENVIRONMENT=production
RUN groupadd --system cardcrm && useradd --system --gid cardcrm --home-dir /app cardcrm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
USER cardcrm
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["cardcrm", "serve", "--host", "0.0.0.0", "--port", "8000"]
