# Hotline services (crm, agi, tracker, worker, asterisk-config) share this image;
# compose picks the command. The prompts and Asterisk templates travel with it; the
# simulated Asterisk (asterisksim/, for tests and `hotline demo`) does not.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY hotline hotline
COPY crm crm
COPY agi agi
COPY ivr ivr
COPY queue queue
COPY asterisk-config asterisk-config
RUN pip install --no-cache-dir .
USER nobody
CMD ["hotline", "crm", "--host", "0.0.0.0"]
