package benchkit

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestProbeDiskTimesEveryFsync(t *testing.T) {
	dir := t.TempDir()
	d, err := ProbeDisk(dir, 20)
	if errors.Is(err, ErrNotADisk) {
		// A TMPDIR in memory: the refusal is the behaviour under test.
		if fs, memory, _ := fileSystem(dir); !memory {
			t.Fatalf("refused %s on %s, which is not in memory: %v", dir, fs, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Syncs) != 20 {
		t.Fatalf("%d fsyncs timed, want 20", len(d.Syncs))
	}
	for i, s := range d.Syncs {
		if s <= 0 {
			t.Errorf("fsync %d took %s", i, s)
		}
	}
	if d.FS == "" || d.Dir != dir {
		t.Errorf("disk = %+v, want the directory and a file system name", d)
	}
	left, err := filepath.Glob(filepath.Join(dir, ".fsync-probe-*"))
	if err != nil || len(left) != 0 {
		t.Errorf("the probe left %v behind (%v)", left, err)
	}
	if got := d.Merge(d); len(got.Syncs) != 40 || len(d.Syncs) != 20 {
		t.Errorf("merge: %d and %d fsyncs, want 40 and the original 20", len(got.Syncs), len(d.Syncs))
	}
}

func TestProbeDiskRefusesBadArguments(t *testing.T) {
	if _, err := ProbeDisk(t.TempDir(), 0); err == nil {
		t.Error("probing with 0 fsyncs succeeded")
	}
	if _, err := ProbeDisk(filepath.Join(t.TempDir(), "missing"), 1); err == nil || errors.Is(err, ErrNotADisk) {
		t.Errorf("probing a missing directory: %v, want an error that is not ErrNotADisk", err)
	}
}

func TestQuantileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i))
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.5, 50}, {0.99, 99}, {0.995, 100}, {1, 100}} {
		if got := Quantile(ds, tc.q); got != tc.want {
			t.Errorf("Quantile(1..100, %v) = %d, want %d", tc.q, got, tc.want)
		}
	}
	if ds[0] != 100 {
		t.Error("Quantile sorted its argument in place")
	}
	if got := Quantile(nil, 0.5); got != 0 {
		t.Errorf("Quantile(nil) = %d, want 0", got)
	}
}
