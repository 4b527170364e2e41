# syntax=docker/dockerfile:1
# Small image: dependencies in their own cached layer, the app installed on top, run as non-root.
# Build with the semantic model:  docker build --build-arg EXTRAS=semantic .
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/nkwatch
# Dependency layer: only pyproject.toml, so code changes do not reinstall dependencies.
COPY pyproject.toml README.md ./
RUN mkdir -p bot storage && touch bot/__init__.py storage/__init__.py \
 && /opt/nkwatch/bin/pip install ".${EXTRAS:+[$EXTRAS]}" \
 && /opt/nkwatch/bin/pip uninstall -y nkwatch
COPY bot ./bot
COPY storage ./storage
RUN /opt/nkwatch/bin/pip install --no-deps .

FROM python:${PYTHON_VERSION}-slim
RUN useradd --create-home --uid 10001 nkwatch
COPY --from=build /opt/nkwatch /opt/nkwatch
ENV PATH=/opt/nkwatch/bin:$PATH \
    NKWATCH_DATABASE_URL=sqlite:////data/nkwatch.db \
    NKWATCH_OPS_HOST=0.0.0.0 \
    NKWATCH_OPS_PORT=8080 \
    NKWATCH_LOG_FORMAT=json
RUN mkdir /data && chown nkwatch /data
USER nkwatch
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["nkwatch"]
CMD ["run"]
