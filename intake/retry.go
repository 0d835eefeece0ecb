package intake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// DefaultLease is how long a replica's claim on a delivery lasts unless it
// renews it.
const DefaultLease = 30 * time.Second

// RetryPolicy says when a delivery whose handler failed is tried again: after
// Backoff, doubled before each next retry up to MaxBackoff, as long as the
// attempt starts within Window of the delivery's arrival. Then it fails for
// good, and runs again only if GitHub delivers it again.
type RetryPolicy struct {
	Backoff, MaxBackoff time.Duration
	Window              time.Duration
}

// MaxBackoffFactor is how far the wait between retries grows: up to this
// many times the first.
const MaxBackoffFactor = 10

// DefaultRetryPolicy retries after 1, 2, 4 and 8 minutes, then every 10
// minutes, for 2 hours: an hour-long GitHub outage that starts when a
// delivery arrives still ends before its retries do (see
// TestDefaultRetriesOutlastAnHourLongOutage).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Backoff: time.Minute, MaxBackoff: MaxBackoffFactor * time.Minute, Window: 2 * time.Hour}
}

func (p RetryPolicy) validate() error {
	if p.Backoff <= 0 || p.MaxBackoff < p.Backoff || p.Window < 0 {
		return fmt.Errorf("retry policy %+v: backoff must be positive, max backoff at least the backoff, window not negative", p)
	}
	return nil
}

// Next returns the wait before the next attempt of a delivery that has failed
// attempts times and arrived age ago, and false when that attempt would start
// past the window.
func (p RetryPolicy) Next(attempts int, age time.Duration) (time.Duration, bool) {
	wait := p.Backoff
	for i := 1; i < attempts && wait < p.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, p.MaxBackoff)
	return wait, age+wait <= p.Window
}

// replicaName names this process in the store's leases: the host, the
// process and a random part (a restarted process is a new replica; pids are
// reused in containers).
func replicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
