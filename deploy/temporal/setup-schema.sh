#!/bin/sh
# One-shot job: creates, or upgrades to the version this admin-tools image
# carries, the schemas of Temporal's two PostgreSQL databases.
#
# Safe to run at every start: `setup-schema -v 0.0` only initialises the schema
# version table of a database that has none, and `update-schema` applies only
# the versions that are missing. Upgrading the Temporal server therefore means:
# bump the server and admin-tools images together, then `docker compose up`.
set -eu

: "${POSTGRES_SEEDS:?}" "${DB_PORT:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

# temporal-sql-tool reads the password from SQL_PASSWORD.
sqltool() {
	db="$1"
	shift
	temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
		-u "$POSTGRES_USER" --db "$db" "$@"
}

# PostgreSQL is reported healthy before this job starts; the loop only rides
# out a restart of the database in between.
attempt=1
until sqltool "$DBNAME" setup-schema -v 0.0; do
	if [ "$attempt" -ge 30 ]; then
		echo "temporal-schema: PostgreSQL at $POSTGRES_SEEDS:$DB_PORT still refuses us after $attempt attempts" >&2
		exit 1
	fi
	attempt=$((attempt + 1))
	sleep 2
done
sqltool "$DBNAME" update-schema -d "$SCHEMA_DIR/temporal/versioned"

sqltool "$VISIBILITY_DBNAME" setup-schema -v 0.0
sqltool "$VISIBILITY_DBNAME" update-schema -d "$SCHEMA_DIR/visibility/versioned"

echo "temporal-schema: $DBNAME and $VISIBILITY_DBNAME are up to date"
