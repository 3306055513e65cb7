# One image for every role, configured by CALLFUNNEL_* environment variables: the API
# (`callfunnel serve`), the recording worker (`callfunnel worker`) and one-off jobs
# (`callfunnel migrate`, `callfunnel retention`). docs/operations.md runs them.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/callfunnel

RUN useradd --system --uid 10001 --home /srv/callfunnel callfunnel

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --quiet . && mkdir -p /var/lib/callfunnel/recordings \
    && chown -R callfunnel /var/lib/callfunnel

USER callfunnel
ENV CALLFUNNEL_RECORDINGS_DIR=/var/lib/callfunnel/recordings
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# serve migrates to head first, then serves.
CMD ["callfunnel", "serve", "--host", "0.0.0.0", "--port", "8000"]
