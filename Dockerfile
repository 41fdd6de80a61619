# syntax=docker/dockerfile:1
# Node 24, the active LTS line (supported until April 2028; Node 20's support ended in April 2026), on
# which CI runs the test suite too (.ci/run); the code also runs on Node 20 and newer.
# Build stage: install everything, compile TypeScript.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench
COPY scripts ./scripts
COPY bin ./bin
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build && npm prune --omit=dev

# Runtime stage: compiled code and production dependencies only, run as the unprivileged node user.
FROM node:24-bookworm-slim
# Health checks on 8080 (/healthz, /readyz) for Docker, a balancer or Kubernetes; on SIGTERM /readyz
# fails for 5 s before the server drains, so a balancer stops sending it clients first.
ENV NODE_ENV=production \
    GYM_TCP_HOST=0.0.0.0 \
    GYM_TCP_PORT=4040 \
    GYM_TCP_HEALTH_PORT=8080 \
    GYM_TCP_DRAIN_DELAY=5 \
    GYM_TCP_IDLE_TIMEOUT=1800
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/bin ./bin
# The live view's page and script, served as they are (src/live/web.ts finds them beside dist/).
COPY --from=build --chown=node:node /app/src/live/web ./src/live/web
USER node
EXPOSE 4040 8080
STOPSIGNAL SIGTERM
# Node itself asks /healthz (the image has no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GYM_TCP_HEALTH_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/gym-tcp.js"]
CMD ["serve", "--host", "0.0.0.0"]
