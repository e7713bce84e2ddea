# qa-engine on CPU: the service by default, any qa-engine command on demand (GPU: Dockerfile.gpu, docs/gpu.md).
#   docker build -t qa-engine .
#   docker run -p 8000:8000 -v /srv/qa-data:/data qa-engine
# No secret is baked in: on first start `serve` writes a random key to /data/secret_key (mode 0600, in the data
# volume, reused on every restart), or takes QA_ENGINE_SECRET_KEY (at least 32 bytes; set the same one on every
# replica). Behind a TLS proxy, set QA_ENGINE_TRUSTED_PROXIES to its address (docs/service.md, "Secrets and sessions").
FROM python:3.11-slim-bookworm

ARG CT2_VERSION=4.8.5
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/qa-engine
COPY pyproject.toml setup.py README.md ./
COPY qa_engine ./qa_engine
COPY api ./api
COPY rules ./rules
COPY models ./models
# Editable install: the rule packs (rules/), templates and migrations are read from this folder. A C compiler for the
# native speed-ups (qa_engine/native/*.c), removed once they are built.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --upgrade pip && pip install -e . "ctranslate2==${CT2_VERSION}" \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/*

ENV QA_ENGINE_DATA_DIR=/data \
    QA_ENGINE_DEVICE=cpu \
    QA_ENGINE_LOG_FORMAT=json \
    HF_HUB_OFFLINE=1
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin qa \
    && mkdir -p /data /models && chown qa /data && chmod 700 /data
USER qa
VOLUME ["/models", "/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["qa-engine"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
