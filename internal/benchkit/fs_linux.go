package benchkit

import (
	"fmt"
	"syscall"
)

// Magic numbers of statfs(2)'s f_type (linux/magic.h).
var fileSystems = map[int64]string{
	0xEF53:     "ext4", // ext2, ext3 and ext4 share it
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x2FC12FC1: "zfs",
	0xF2F52010: "f2fs",
	0x794C7630: "overlay",
	0x6969:     "nfs",
	0x01021994: "tmpfs",
	0x858458F6: "ramfs",
}

// inMemory are the file systems whose fsync reaches no disk.
var inMemory = map[string]bool{"tmpfs": true, "ramfs": true}

// fileSystem names the file system dir is on and says whether it is in memory.
func fileSystem(dir string) (name string, memory bool, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", false, fmt.Errorf("statfs: %w", err)
	}
	name, ok := fileSystems[int64(st.Type)]
	if !ok {
		name = fmt.Sprintf("file system 0x%x", st.Type)
	}
	return name, inMemory[name], nil
}
