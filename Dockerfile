# syntax=docker/dockerfile:1
# Build once, run any app of the monorepo: api (default), projector, migrate.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# glibc keeps a malloc arena per thread (libuv's pool hashes passwords with scrypt): two arenas
# keep about 25 MB less resident under load at no measurable cost (BENCHMARKS.md).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000 3001
# Old space and semi-spaces capped to fit a 384 MiB container with room for code and buffers (BENCHMARKS.md).
CMD ["node", "--max-old-space-size=160", "--max-semi-space-size=8", "--enable-source-maps", "--import", "./dist/libs/telemetry/src/otel/preload.js", "dist/apps/api/src/main.js"]
