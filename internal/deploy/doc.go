// Package deploy holds the checks of the deployment files at the root of the
// repository: docker-compose.yml, the Dockerfile and the files under deploy/.
// It has no code of its own; its tests keep the compose stack startable with a
// single `docker compose up --build`, scalable, and pinned to exact images.
package deploy
