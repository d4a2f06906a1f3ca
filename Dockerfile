# One image for the API, the webhook sender and the dialer workers (see docker-compose.yml).
FROM debian:12-slim
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 python3-venv python3-dev build-essential espeak-ng libespeak-ng1 sox ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Installed like any user would (`pip install .`): the dialplan, prompts, calling rules and
# migrations are package data, so nothing is read from the source tree, which is removed.
COPY pyproject.toml README.md /src/
COPY voicebot /src/voicebot
COPY api /src/api
RUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir -q /src && rm -rf /src
ENV PATH=/venv/bin:$PATH
RUN useradd --system --create-home --home-dir /app voicebot
# The working directory holds what the service writes: var/ (TTS cache, SQLite when used)
# and asr_models/ (downloaded speech models).
WORKDIR /app
USER voicebot
# The Spanish model is downloaded (and checksum-verified) at build time on a machine with
# internet. Without it the API and webhook sender run, but a worker refuses to start with a
# one-line error: it will not dial people it cannot hear. Mount a model and set
# VOICEBOT_SPEECH__MODEL_PATH to provide one later.
RUN voicebot models download es \
    || echo "WARNING: Spanish speech model not downloaded: dialer workers will refuse to start"
ENTRYPOINT ["voicebot"]
