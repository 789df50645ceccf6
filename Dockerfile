# posbot for servers: the bot's workers, with the PostgreSQL and Redis drivers (docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY intents ./intents
COPY knowledge ./knowledge
RUN pip install --no-cache-dir '.[postgres,redis]' \
    && useradd --system --home /data posbot && mkdir -p /data && chown posbot /data
USER posbot
ENV DATA_DIR=/data POSBOT_CACHE_DIR=/data/cache PYTHONUNBUFFERED=1
EXPOSE 8080
# the content is read from /app (mount intents/ and knowledge/ there to edit it without rebuilding)
ENTRYPOINT ["posbot", "--content", "/app"]
CMD ["run", "--help"]
