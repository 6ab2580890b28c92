# syntax=docker/dockerfile:1
# vidchat images, built from the repository root:
#   docker build --target service -t vidchat/service .   (gateway, mixer)
#   docker build --target agent   -t vidchat/agent .     (capture agent: adds ffmpeg)
#   docker build --target recorder -t vidchat/recorder . (recorder: adds ffmpeg and a font)
# docker-compose.yml builds both.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: install every package, compile, then keep production packages only
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json nx.json tsconfig.base.json tsconfig.json ./
COPY libs/protocol/package.json libs/protocol/
COPY libs/service-kit/package.json libs/service-kit/
COPY libs/test-support/package.json libs/test-support/
COPY apps/capture-agent/package.json apps/capture-agent/
COPY apps/mixer/package.json apps/mixer/
COPY apps/web/package.json apps/web/
COPY apps/gateway/package.json apps/gateway/
COPY apps/recorder/package.json apps/recorder/
COPY apps/stack-e2e/package.json apps/stack-e2e/
RUN npm ci --no-audit --no-fund
COPY libs libs
COPY apps apps
RUN npx tsc -b libs/protocol libs/service-kit apps/capture-agent apps/mixer apps/gateway apps/recorder \
 && node apps/web/scripts/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf apps/*/tests apps/*/dist/tests libs/*/dist/tests apps/stack-e2e libs/test-support apps/web/src apps/web/scripts

# ---- service: gateway and mixer (no ffmpeg needed)
FROM ${NODE_IMAGE} AS service
ENV NODE_ENV=production VIDCHAT_SKIP_SETUP=1
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
ENTRYPOINT ["node"]
CMD ["apps/gateway/bin/vidchat-gateway.js", "--help"]

# ---- agent: the capture agent, with ffmpeg from the distribution
FROM ${NODE_IMAGE} AS agent
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production VIDCHAT_SKIP_SETUP=1
WORKDIR /app
COPY --from=build --chown=node:node /app /app
# Access to /dev/video* and /dev/snd comes from the device's group, which
# docker-compose.yml adds with group_add for a real camera.
USER node
ENTRYPOINT ["node", "apps/capture-agent/bin/vidchat-agent.js"]

# ---- recorder: ffmpeg (libx264, aac) and a font for the names under the tiles
FROM ${NODE_IMAGE} AS recorder
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production VIDCHAT_SKIP_SETUP=1
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /work && chown node:node /work
USER node
ENTRYPOINT ["node"]
CMD ["apps/recorder/bin/vidchat-recorder.js", "--help"]
