FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    XDG_DATA_HOME=/data XDG_CONFIG_HOME=/data QUOTAWARDEN_CONFIG=/data/config.toml
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 quotawarden \
    && mkdir -p /data && chown quotawarden /data && touch /data/config.toml
USER quotawarden
VOLUME ["/data"]
EXPOSE 7878
# Beyond loopback the daemon needs an admin token: pass QUOTAWARDEN_ADMIN_TOKEN.
ENV QUOTAWARDEN_SERVER__ADMIN_TOKEN=env:QUOTAWARDEN_ADMIN_TOKEN
CMD ["quotawarden", "serve", "--host", "0.0.0.0", "--port", "7878"]
HEALTHCHECK CMD python -c "import httpx; httpx.get('http://127.0.0.1:7878/v1/health').raise_for_status()"
