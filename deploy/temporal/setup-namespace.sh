#!/bin/sh
# One-shot job: makes sure the Temporal namespace of EXPE-CT exists with the
# configured retention and carries the custom search attributes the workflows
# set. Safe to run at every start: an existing namespace gets its retention
# brought back to the configured value, existing attributes are left alone.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${EXPECTCT_NAMESPACE:-expectct}"
RETENTION="${NAMESPACE_RETENTION:-720h}"
# Only status and country: visibility is not encrypted, so no personal data.
SEARCH_ATTRIBUTES="ExpectctStatus ExpectctCountry"

t() {
	temporal --address "$ADDRESS" "$@"
}

attempt=1
until t operator cluster health 2>/dev/null | grep -q SERVING; do
	if [ "$attempt" -ge 60 ]; then
		echo "temporal-namespace: the Temporal frontend at $ADDRESS is not serving after $attempt attempts" >&2
		exit 1
	fi
	attempt=$((attempt + 1))
	sleep 2
done

if t operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
	echo "temporal-namespace: namespace $NAMESPACE exists; setting its retention to $RETENTION"
	t operator namespace update --namespace "$NAMESPACE" --retention "$RETENTION"
else
	echo "temporal-namespace: creating namespace $NAMESPACE with retention $RETENTION"
	t operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
		--description "EXPE-CT applications (DAECT)"
fi

# A new namespace takes a few seconds to reach every Temporal service, and
# until then adding search attributes fails: retry.
for name in $SEARCH_ATTRIBUTES; do
	attempt=1
	until t operator search-attribute list --namespace "$NAMESPACE" 2>/dev/null | grep -qw "$name"; do
		if [ "$attempt" -ge 30 ]; then
			echo "temporal-namespace: could not register search attribute $name on $NAMESPACE" >&2
			exit 1
		fi
		t operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword || true
		attempt=$((attempt + 1))
		sleep 2
	done
	echo "temporal-namespace: search attribute $name (Keyword) is registered on $NAMESPACE"
done
