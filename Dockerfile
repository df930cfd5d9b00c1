# dqm service image: `docker build -t dqm:0.1.0 .` from the repository root.
# Two stages: "build" installs the package into a virtualenv; the final stage copies only that
# virtualenv onto a clean slim Python, runs as an unprivileged user and has no build tools.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/dqm
WORKDIR /src
# Runtime dependencies first, read from pyproject.toml, so that a code change does not
# reinstall them. Every dependency ships manylinux wheels: no compiler is needed.
COPY pyproject.toml README* ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/dqm/bin/pip install --requirement /tmp/requirements.txt
COPY service ./service
COPY monitors ./monitors
COPY alerts ./alerts
RUN /opt/dqm/bin/pip install --no-deps . \
    && /opt/dqm/bin/dqm --help > /dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="dqm" \
      org.opencontainers.image.description="Data-quality monitoring service for ML models" \
      org.opencontainers.image.licenses="Apache-2.0"
# Fixed numeric ids so that Kubernetes runAsNonRoot can verify them (the chart uses 10001).
RUN groupadd --system --gid 10001 dqm \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/dqm --no-create-home \
       --shell /usr/sbin/nologin dqm \
    && mkdir -p /var/lib/dqm \
    && chown 10001:10001 /var/lib/dqm
COPY --from=build /opt/dqm /opt/dqm
ENV PATH=/opt/dqm/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DQM_DATA_DIR=/var/lib/dqm \
    DQM_DATABASE_URL=sqlite:////var/lib/dqm/dqm.db
WORKDIR /var/lib/dqm
USER 10001:10001
EXPOSE 8000
# `dqm migrate` applies the database migrations; DQM_ROLE=all|api|worker chooses the role.
CMD ["dqm", "serve", "--host", "0.0.0.0", "--port", "8000"]
