# Production image: Debian bookworm's Python, the locked dependencies, a non-root user,
# migrations as a separate step, a read-only root filesystem welcome.
#
# The base is Debian bookworm (minbase) with python3, python3-venv and ca-certificates, made
# from Debian's packages with debootstrap and tagged as the FROM lines below: `.ci/image`
# makes it, builds this file with podman and smoke-tests the result (README "The image").
#   podman build --pull=never --format docker -t cardcrm .
#   podman run --rm --env-file prod.env cardcrm cardcrm db upgrade      # once per release
#   podman run --read-only -p 8000:8000 --env-file prod.env cardcrm     # the service
# prod.env sets DATABASE_URL, REDIS_URL, CARDCRM_MASTER_KEY (or CARDCRM_MASTER_KEY_FILE),
# CARDCRM_SIGNING_KEY_FILE and CARDCRM_AUDIT_CHECKPOINT_KEY_FILE (mount the keys as secrets),
# CARDCRM_WORKERS (worker processes; default 1), CARDCRM_FORWARDED_ALLOW_IPS (the load
# balancer's addresses) and, if not 8000, CARDCRM_PORT. See "Running several instances".

FROM localhost/debian-python3:bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/cardcrm
WORKDIR /src
# The dependencies exactly as requirements.lock pins them (.ci/lock), each download checked
# against its hash; binary wheels only, so what is checked is what gets installed.
COPY requirements.lock ./
RUN /opt/cardcrm/bin/pip download --require-hashes --only-binary :all: --dest /wheels \
        -r requirements.lock
COPY . .
RUN /opt/cardcrm/bin/pip wheel --no-deps --wheel-dir /wheels .
# The install reaches no index: only the wheels above. The wheels stay in this stage; the
# image below takes the installed virtualenv alone.
RUN /opt/cardcrm/bin/pip install --no-index --find-links /wheels --require-hashes \
        -r requirements.lock \
    && /opt/cardcrm/bin/pip install --no-index --find-links /wheels --no-deps cardcrm \
    && /opt/cardcrm/bin/pip check

FROM localhost/debian-python3:bookworm
ENV PATH=/opt/cardcrm/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CARDCRM_ENVIRONMENT=production CARDCRM_HOST=0.0.0.0 CARDCRM_PORT=8000 \
    CARDCRM_VAR_DIR=/app/var
# /app stays root's; only var/ (development keys and SQLite of `serve --demo`) is the
# service's to write. With a read-only root filesystem mount a tmpfs or a volume there.
RUN groupadd --system cardcrm \
    && useradd --system --gid cardcrm --home-dir /app --no-create-home --shell /usr/sbin/nologin cardcrm \
    && mkdir -p /app/var && chown cardcrm:cardcrm /app/var
COPY --from=build /opt/cardcrm /opt/cardcrm
WORKDIR /app
USER cardcrm
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('CARDCRM_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]
CMD ["cardcrm", "serve"]
