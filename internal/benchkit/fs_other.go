//go:build !linux

package benchkit

// fileSystem cannot tell the file system outside Linux; the fsync figures
// still show what the directory is.
func fileSystem(string) (name string, memory bool, err error) { return "unknown", false, nil }
