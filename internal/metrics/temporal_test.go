package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/daect/expectct/internal/metrics"
)

func TestTemporalMetricsReachPrometheus(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := metrics.NewTemporalHandler(reg)
	tagged := h.WithTags(map[string]string{"task_queue": "expectct", "activity_type": "RecordTransition"})
	tagged.Counter("temporal_activity_execution_failed").Inc(2)
	tagged.Counter("temporal_activity_execution_failed").Inc(1)
	tagged.Gauge("temporal_worker_task_slots_available").Update(7)
	tagged.Timer("temporal_activity_execution_latency").Record(250 * time.Millisecond)
	// A later use with other tags folds into the labels fixed at first use.
	h.WithTags(map[string]string{"other": "x"}).Counter("temporal_activity_execution_failed").Inc(1)

	want := `
# HELP temporal_activity_execution_failed Temporal SDK temporal_activity_execution_failed
# TYPE temporal_activity_execution_failed counter
temporal_activity_execution_failed{activity_type="",task_queue=""} 1
temporal_activity_execution_failed{activity_type="RecordTransition",task_queue="expectct"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "temporal_activity_execution_failed"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "temporal_activity_execution_latency_seconds", "temporal_worker_task_slots_available"); err != nil || n != 2 {
		t.Fatalf("timer and gauge: %d series, %v", n, err)
	}
}
