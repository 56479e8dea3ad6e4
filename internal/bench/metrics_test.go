package bench

import (
	"strings"
	"testing"
)

const exposition = `# HELP expectct_http_request_duration_seconds API request latency by route.
# TYPE expectct_http_request_duration_seconds histogram
expectct_http_request_duration_seconds_bucket{route="POST /v1/applications/{id}/opinion",le="0.005"} 0
expectct_http_request_duration_seconds_sum{route="POST /v1/applications/{id}/opinion"} 1.5
expectct_http_request_duration_seconds_count{route="POST /v1/applications/{id}/opinion"} 10
expectct_http_request_duration_seconds_sum{route="GET /v1/applications/{id}"} 0.2
expectct_http_request_duration_seconds_count{route="GET /v1/applications/{id}"} 20
temporal_activity_execution_latency_seconds_sum{activity_type="RecordTransition",namespace="default",task_queue="q"} 4
temporal_activity_execution_latency_seconds_count{activity_type="RecordTransition",namespace="default",task_queue="q"} 100
temporal_activity_execution_latency_seconds_sum{activity_type="RecordTransition",namespace="default",task_queue="other"} 1
temporal_activity_execution_latency_seconds_count{activity_type="RecordTransition",namespace="default",task_queue="other"} 100
temporal_workflow_task_execution_latency_seconds_sum{namespace="default"} 0.3
temporal_workflow_task_execution_latency_seconds_count{namespace="default"} 30
go_gc_duration_seconds_sum 9
weird{a="x \"quoted\" }",b="y"} 1
`

func TestParseHistograms(t *testing.T) {
	h, err := parseHistograms(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	want := histSums{
		"expectct_http_request_duration_seconds|POST /v1/applications/{id}/opinion": {1.5, 10},
		"expectct_http_request_duration_seconds|GET /v1/applications/{id}":          {0.2, 20},
		"temporal_activity_execution_latency_seconds|RecordTransition":              {5, 200}, // task queues summed
		"temporal_workflow_task_execution_latency_seconds|":                         {0.3, 30},
	}
	if len(h) != len(want) {
		t.Fatalf("parsed %v", h)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %v, want %v", k, h[k], v)
		}
	}
}

func TestParseSampleEscapes(t *testing.T) {
	name, labels, v, ok := parseSample(`weird{a="x \"quoted\" }",b="y"} 1.25`)
	if !ok || name != "weird" || labels["a"] != `x "quoted" }` || labels["b"] != "y" || v != 1.25 {
		t.Fatalf("parseSample = %q %v %v %v", name, labels, v, ok)
	}
}

func TestServerTimesSince(t *testing.T) {
	before := map[string]histSums{"api": {"expectct_http_request_duration_seconds|GET /x": {1, 10}}}
	after := map[string]histSums{
		"api":    {"expectct_http_request_duration_seconds|GET /x": {3, 30}},
		"worker": {"temporal_workflow_task_execution_latency_seconds|": {0.5, 50}},
	}
	got := since(after, before)
	want := []ServerTime{
		{Source: "api", Name: "http_request_duration GET /x", Count: 20, MeanMs: 100},
		{Source: "worker", Name: "workflow_task_execution_latency", Count: 50, MeanMs: 10},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("since = %+v, want %+v", got, want)
	}
}

func TestParseGoRuntime(t *testing.T) {
	g, err := parseGoRuntime(strings.NewReader(`# HELP go_goroutines Number of goroutines.
go_goroutines 4883
go_memstats_heap_alloc_bytes 1.3649352e+08
go_memstats_stack_inuse_bytes 8.0379904e+07
temporal_sticky_cache_size{task_queue="a",workflow_type="Application"} 4800
temporal_sticky_cache_size{task_queue="b",workflow_type="Other"} 44
`))
	if err != nil {
		t.Fatal(err)
	}
	if g.Goroutines != 4883 || g.HeapAlloc != 136493520 || g.StackInuse != 80379904 || g.StickyCached != 4844 {
		t.Fatalf("parsed %+v", g)
	}
}
