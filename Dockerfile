FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dedup_service ./dedup_service
RUN pip install --no-cache-dir .
ENV DEDUP_HOST=0.0.0.0 DEDUP_PORT=8080
EXPOSE 8080
CMD ["dedup-service", "serve"]
