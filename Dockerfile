FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# torch first and pinned: the CPU build unless TORCH_PIP_ARGS points pip at another index.
ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_PIP_ARGS=
RUN pip install $TORCH_PIP_ARGS "$TORCH_SPEC"
COPY pyproject.toml README.md ./
COPY annotator annotator
COPY labeling labeling
COPY training training
RUN pip install .
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "annotator.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
