// Package benchkit holds what the committed benchmarks share: a probe of the
// disk a benchmark writes to, so its figures say what they ran on, and an
// open-loop HTTP load generator. It is imported only from _test.go files.
package benchkit

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// probeWrite is what one probe step appends before its fsync: one page, as a
// SQLite WAL commit of a small transaction appends a few.
const probeWrite = 4096

// DefaultSyncs is how many fsyncs a probe times by default.
const DefaultSyncs = 200

// ErrNotADisk is returned by ProbeDisk for a directory in memory (tmpfs,
// ramfs), where fsync returns at once: a durability figure measured there
// says nothing about a disk.
var ErrNotADisk = errors.New("the directory is in memory, not on a disk")

// Disk is what a benchmark's directory is on and how long an fsync takes
// there, measured in the same run as the benchmark's figures.
type Disk struct {
	Dir string
	// FS names the file system (ext4, xfs, overlay, ...), "unknown" when the
	// platform does not say.
	FS string
	// Syncs holds each timed fsync, in the order they were made.
	Syncs []time.Duration
}

// ProbeDisk times syncs appends of one page to a new file in dir, each
// followed by fsync, and removes the file. It refuses a directory in memory
// with ErrNotADisk.
func ProbeDisk(dir string, syncs int) (Disk, error) {
	if syncs < 1 {
		return Disk{}, fmt.Errorf("probing %s: %d fsyncs, want at least 1", dir, syncs)
	}
	fs, inMemory, err := fileSystem(dir)
	if err != nil {
		return Disk{}, fmt.Errorf("probing %s: %w", dir, err)
	}
	if inMemory {
		return Disk{}, fmt.Errorf("probing %s (%s): %w; point TMPDIR at a directory on disk", dir, fs, ErrNotADisk)
	}
	f, err := os.CreateTemp(dir, ".fsync-probe-*")
	if err != nil {
		return Disk{}, fmt.Errorf("probing %s: %w", dir, err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	d := Disk{Dir: dir, FS: fs, Syncs: make([]time.Duration, 0, syncs)}
	page := make([]byte, probeWrite)
	for range syncs {
		if _, err := f.Write(page); err != nil {
			return Disk{}, fmt.Errorf("probing %s: %w", dir, err)
		}
		start := time.Now()
		if err := f.Sync(); err != nil {
			return Disk{}, fmt.Errorf("probing %s: %w", dir, err)
		}
		d.Syncs = append(d.Syncs, time.Since(start))
	}
	return d, nil
}

// Merge returns d with the fsyncs of other added, for a probe taken before a
// benchmark and one taken after it.
func (d Disk) Merge(other Disk) Disk {
	d.Syncs = append(slices.Clone(d.Syncs), other.Syncs...)
	return d
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the timed fsyncs.
func (d Disk) Quantile(q float64) time.Duration { return Quantile(d.Syncs, q) }

// String says what the disk is, for a benchmark's log.
func (d Disk) String() string {
	return fmt.Sprintf("%s on %s: fsync of a 4 KiB append p50 %s, p99 %s, max %s (%d fsyncs)",
		d.Dir, d.FS, ms(d.Quantile(0.5)), ms(d.Quantile(0.99)), ms(d.Quantile(1)), len(d.Syncs))
}

// Report adds the fsync figures to b's result line, beside the benchmark's
// own, and logs the file system, which a metric cannot carry.
func (d Disk) Report(b *testing.B) {
	b.Helper()
	b.ReportMetric(millis(d.Quantile(0.5)), "fsync-p50-ms")
	b.ReportMetric(millis(d.Quantile(0.99)), "fsync-p99-ms")
	b.Logf("disk: %s", d)
}

// ProbeBenchDisk probes dir for b and fails b when dir is not on a disk.
func ProbeBenchDisk(b *testing.B, dir string) Disk {
	b.Helper()
	d, err := ProbeDisk(dir, DefaultSyncs)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of ds by the nearest-rank
// method, which never interpolates a value that was not measured; 0 when ds
// is empty.
func Quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// millis is d in milliseconds, for a benchmark metric.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", millis(d)) }
