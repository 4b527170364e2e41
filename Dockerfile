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
COPY config /app/config
ENV PATH=/opt/nkwatch/bin:$PATH \
    NKWATCH_FEEDS_FILE=/app/config/feeds.toml \
    NKWATCH_LEXICON_FILE=/app/config/lexicon.toml \
    NKWATCH_TOPICS_FILE=/app/config/topics.toml \
    NKWATCH_DATABASE_URL=sqlite:////data/nkwatch.db \
    HF_HUB_OFFLINE=1
RUN mkdir /data && chown nkwatch /data
USER nkwatch
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["nkwatch"]
CMD ["--help"]
