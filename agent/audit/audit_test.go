package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestEventsAreRedactedAndCorrelated(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "job-1", "run-2")
	l.Emit(Event{Type: TypeToolCall, Tool: "write_file", Args: `{"content":"access_key = \"AKIAIOSFODNN7EXAMPLE\""}`, Outcome: "refused", Detail: "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"})
	l.Emit(Event{Type: TypeBudgetWarning, Data: map[string]any{"limit": "turns"}})
	var nilLog *Log
	nilLog.Emit(Event{Type: TypeError})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || strings.Contains(buf.String(), "AKIA") || strings.Contains(buf.String(), "ghp_") {
		t.Fatalf("trail:\n%s", buf.String())
	}
	for _, line := range lines {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.JobID != "job-1" || e.RunID != "run-2" || e.Time.IsZero() {
			t.Errorf("event %s: %+v, %v", line, e, err)
		}
	}
	if l.Err() != nil || nilLog.Err() != nil {
		t.Error("unexpected error")
	}
}
