# Pipedrive's SDK, the one browser package, from npm at the locked version (package-lock.json).
FROM node:20-slim AS sdk
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=sdk /app/node_modules ./node_modules
# Static files are collected at build time; whitenoise serves them compressed and cached. (The settings
# refuse to load without service URLs; collectstatic touches neither service.)
RUN DJANGO_SECRET_KEY=collectstatic-only ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLWtleS0xMjM= DATABASE_URL=sqlite:////tmp/build.sqlite3 CELERY_BROKER_URL=redis://build:6379/0 \
    python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 1000 oneclick && mkdir -p /app/var && chown oneclick /app/var
USER oneclick
EXPOSE 8000
CMD ["gunicorn", "oneclick.asgi:application", "-k", "uvicorn_worker.UvicornWorker", "-w", "4", "-b", "0.0.0.0:8000"]
