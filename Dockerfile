# One image for the API and the dialer workers.
FROM debian:12-slim
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 python3-venv python3-dev build-essential espeak-ng libespeak-ng1 sox ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY voicebot ./voicebot
COPY api ./api
COPY dialplans ./dialplans
COPY prompts ./prompts
COPY asr_models ./asr_models
RUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir -q .
ENV PATH=/venv/bin:$PATH
# The Spanish model is downloaded (and checksum-verified) at build time on a machine with internet.
RUN voicebot models download es || echo "Spanish model not downloaded: workers fall back to the text channel"
ENTRYPOINT ["voicebot"]
