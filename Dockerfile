# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ccm_gateway ./ccm_gateway
COPY migrations ./migrations
COPY webhooks ./webhooks
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CCM_HOST=0.0.0.0 CCM_PORT=8000
RUN useradd --system --uid 10001 --home-dir /app ccm && mkdir -p /app && chown ccm /app
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl
WORKDIR /app
USER ccm
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:'+os.environ['CCM_PORT']+'/healthz', timeout=2)"
# Production: set CCM_ENV=prod, CCM_DATABASE_URL, CCM_REDIS_URL, CCM_SECRET_KEY;
# run `ccm-gateway migrate` once per release and `ccm-gateway worker` in other containers.
CMD ["ccm-gateway", "serve"]
