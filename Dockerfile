# Build stage: a C compiler for the native fingerprint core (dedup_service/_fast.c); the
# runtime image gets only the wheels.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY dedup_service ./dedup_service
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c requirements.lock .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
# a user of its own (no root), owning the data folder: the embedded Redis keeps its AOF
# there when no DEDUP_REDIS_URL is set, so it is a volume that outlives the container
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /app dedup \
    && mkdir -p /app /data && chown dedup:dedup /data
WORKDIR /app
USER dedup
ENV DEDUP_HOST=0.0.0.0 DEDUP_PORT=8080 DEDUP_DATA_DIR=/data DEDUP_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
CMD ["dedup-service", "serve"]
