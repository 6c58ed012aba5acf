# One container, one process, one SQLite file under /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEBRIX_CONFIG=/etc/webrix/config.toml

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin webrix \
 && mkdir -p /data /etc/webrix \
 && chown webrix:webrix /data

WORKDIR /opt/webrix
COPY pyproject.toml ./
COPY app ./app
RUN pip install --no-cache-dir .

USER webrix
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
CMD ["webrix", "serve", "--host", "0.0.0.0", "--port", "8080"]
