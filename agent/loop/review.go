package loop

import (
	"context"
	"fmt"
	"strings"

	"github.com/infra-agent/infra-agent/agent/brief"
	"github.com/infra-agent/infra-agent/agent/tools"
)

// maxReviewComments bounds the comments a review model may leave.
const maxReviewComments = 20

// review is a review job: nothing is written to the checkout (it works on a
// copy). The deterministic fixes become the suggested change, and a model,
// when configured, may comment on lines with read-only tools.
func (r *run) review(ctx context.Context) (Result, error) {
	if err := r.deterministic(ctx); err != nil {
		return r.finish(), err
	}
	if r.opts.Model != nil {
		r.env.Comment = func(c tools.ReviewComment) error {
			if len(r.res.ReviewComments) >= maxReviewComments {
				return fmt.Errorf("at most %d comments per review", maxReviewComments)
			}
			data, err := r.ws.ReadFile(c.Path)
			if err != nil {
				return err
			}
			if n := strings.Count(string(data), "\n") + 1; c.Line > n {
				return fmt.Errorf("%s has %d lines", c.Path, n)
			}
			c.Body = brief.Sanitize(c.Body, 4000)
			r.res.ReviewComments = append(r.res.ReviewComments, c)
			return nil
		}
		if err := r.converse(ctx); err != nil {
			return r.finish(), err
		}
	}
	if err := r.collectFiles(); err != nil {
		return r.finish(), err
	}
	r.res.Validation = summarise(r.baseline, len(r.targets) == 0)
	r.res.Remaining = r.judge(r.latest).remaining
	r.res.Status = StatusReviewed
	return r.finish(), nil
}
