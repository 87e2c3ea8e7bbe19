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
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000 3001
# Old space capped to fit a 384 MiB container with room for code and buffers (BENCHMARKS.md).
CMD ["node", "--max-old-space-size=160", "--max-semi-space-size=8", "--enable-source-maps", "--import", "./dist/libs/telemetry/src/otel/preload.js", "dist/apps/api/src/main.js"]
