#!/bin/sh
# Creates the three databases of the stack and their owners. The official
# PostgreSQL image runs the files of /docker-entrypoint-initdb.d only when the
# data directory is empty, that is on the very first start of the volume; on
# later starts this file is not read again, so changing a password here does not
# change it in an existing database (see docs/operations.md).
#
# The image sources this file (it need not be executable) inside its own
# entrypoint, which already stops on the first error: no `set -e` or `exit`
# here, so as not to change the entrypoint's own shell options.
#
#   expectct              owned by role expectct (migrations only); the api and
#                         the worker log in as expectct_api, member of
#                         expectct_app: read and append to the journals, no more
#   temporal              owned by role temporal: Temporal's persistence
#   temporal_visibility   owned by role temporal: Temporal's visibility store
#
# Each role can connect only to its own databases.

: "${EXPECTCT_DB_PASSWORD:?EXPECTCT_DB_PASSWORD must be set}"
: "${EXPECTCT_DB_APP_PASSWORD:?EXPECTCT_DB_APP_PASSWORD must be set}"
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc \
	--username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
	--set expectct_password="$EXPECTCT_DB_PASSWORD" \
	--set expectct_app_password="$EXPECTCT_DB_APP_PASSWORD" \
	--set temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE expectct LOGIN PASSWORD :'expectct_password';
CREATE DATABASE expectct OWNER expectct ENCODING 'UTF8';
REVOKE ALL ON DATABASE expectct FROM PUBLIC;
-- The rights themselves are granted on the tables by the migrations.
CREATE ROLE expectct_app NOLOGIN;
GRANT CONNECT ON DATABASE expectct TO expectct_app;
CREATE ROLE expectct_api LOGIN PASSWORD :'expectct_app_password' IN ROLE expectct_app;

CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal ENCODING 'UTF8';
CREATE DATABASE temporal_visibility OWNER temporal ENCODING 'UTF8';
REVOKE ALL ON DATABASE temporal FROM PUBLIC;
REVOKE ALL ON DATABASE temporal_visibility FROM PUBLIC;
SQL
