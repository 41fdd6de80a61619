# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench
COPY scripts ./scripts
COPY bin ./bin
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build && npm prune --omit=dev

# Runtime stage: compiled code and production dependencies only, run as the unprivileged node user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    GYM_TCP_HOST=0.0.0.0 \
    GYM_TCP_PORT=4040 \
    GYM_TCP_IDLE_TIMEOUT=1800
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/bin ./bin
USER node
EXPOSE 4040
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/gym-tcp.js"]
CMD ["serve", "--host", "0.0.0.0"]
