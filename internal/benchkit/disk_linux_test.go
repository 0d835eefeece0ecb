package benchkit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mount is one line of /proc/self/mountinfo.
type mount struct{ point, fsType string }

// readMounts reads the kernel's list of this process's mounts.
func readMounts(t *testing.T) []mount {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ms []mount
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		// "36 35 98:0 /root /mnt rw,noatime master:1 - ext4 /dev/root rw"
		pre, post, ok := strings.Cut(line, " - ")
		fields, after := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(after) < 1 {
			t.Fatalf("unexpected mountinfo line %q", line)
		}
		point := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(fields[4])
		ms = append(ms, mount{point: point, fsType: after[0]})
	}
	return ms
}

// mountOf returns the mount dir is under: the longest mount point that
// contains it, the last mounted when several share it.
func mountOf(t *testing.T, ms []mount, dir string) mount {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	var best mount
	for _, m := range ms {
		under := m.point == "/" || real == m.point || strings.HasPrefix(real, m.point+"/")
		if under && len(m.point) >= len(best.point) {
			best = m
		}
	}
	return best
}

// TestFileSystemNamesItsDirectory holds the reading of statfs against the
// kernel's own list of mounts.
func TestFileSystemNamesItsDirectory(t *testing.T) {
	dir := t.TempDir()
	fs, memory, err := fileSystem(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := mountOf(t, readMounts(t), dir)
	if want.fsType == "ext2" || want.fsType == "ext3" {
		want.fsType = "ext4" // one magic number for the three
	}
	if fs != want.fsType {
		t.Errorf("fileSystem(%s) = %s, the kernel mounts %s as %s", dir, fs, want.point, want.fsType)
	}
	if memory != (fs == "tmpfs" || fs == "ramfs") {
		t.Errorf("fileSystem(%s) says in memory = %v for %s", dir, memory, fs)
	}
}

// TestProbeDiskRefusesTmpfs probes a writable tmpfs mount of this machine
// (Linux mounts /dev/shm as one).
func TestProbeDiskRefusesTmpfs(t *testing.T) {
	var dir string
	for _, m := range readMounts(t) {
		if m.fsType == "tmpfs" && writable(m.point) {
			dir = m.point
			break
		}
	}
	if dir == "" {
		t.Fatal("no writable tmpfs mount to test the refusal on (expected /dev/shm)")
	}
	d, err := ProbeDisk(dir, 1)
	if !errors.Is(err, ErrNotADisk) {
		t.Fatalf("probing %s (tmpfs) = %+v, %v; want ErrNotADisk", dir, d, err)
	}
	if !strings.Contains(err.Error(), "tmpfs") || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("error %q does not say tmpfs and what to do", err)
	}
}

// writable reports whether a file can be created in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".writable-*")
	if err != nil {
		return false
	}
	_ = f.Close()
	return os.Remove(f.Name()) == nil
}
