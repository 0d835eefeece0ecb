package budget

import (
	"errors"
	"testing"
	"time"

	"github.com/infra-agent/infra-agent/config"
)

func TestLimits(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	var warned []string
	tr := New(config.Limits{Turns: 2, Tokens: 100, ToolCalls: 3, PlanRuns: 1, Timeout: time.Minute}, clock,
		func(limit string, used, max int64) { warned = append(warned, limit) })
	limitOf := func(err error) string {
		var ex *Exceeded
		if errors.As(err, &ex) {
			return ex.Limit
		}
		return ""
	}
	if tr.StartTurn() != nil || tr.StartTurn() != nil || limitOf(tr.StartTurn()) != Turns {
		t.Error("the third turn was allowed")
	}
	for range 3 {
		if err := tr.StartToolCall(); err != nil {
			t.Fatal(err)
		}
	}
	if limitOf(tr.StartToolCall()) != ToolCalls {
		t.Error("the fourth tool call was allowed")
	}
	if tr.StartPlanRun() != nil || limitOf(tr.StartPlanRun()) != PlanRuns || tr.Remaining() != 0 {
		t.Error("the second plan run was allowed")
	}
	tr.AddTokens(99)
	if tr.Check() != nil {
		t.Error("99 of 100 tokens is over")
	}
	tr.AddTokens(1)
	if limitOf(tr.StartToolCall()) != Tokens || limitOf(tr.Check()) != Tokens {
		t.Error("100 of 100 tokens is not the limit")
	}
	now = now.Add(time.Minute)
	if limitOf(tr.Check()) != Timeout {
		t.Error("the timeout is not reached after a minute")
	}
	if got := len(warned); got != 4 {
		t.Errorf("warnings %v, want one per limit crossed", warned)
	}
	u := tr.Used()
	if u.Turns != 2 || u.ToolCalls != 3 || u.PlanRuns != 1 || u.Tokens != 100 || u.Elapsed != time.Minute {
		t.Errorf("Used = %+v", u)
	}
}
